"""SW101: CREATE INDEX without CONCURRENTLY on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import held_words, lock_words, on_existing, quoted
from policies.rules._recipes import create_index_concurrently, partitioned_index
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, result in on_existing(unit, OperationKind.CREATE_INDEX):
        if op.concurrently:
            continue
        table = statement.schema.table(op.relation)
        if table is not None and table.partitioned:
            if op.option("only") is not None:
                continue  # ON ONLY a partitioned table: a catalog entry, no rows read
            partitions = statement.schema.partitions(op.relation)
            recipe = partitioned_index(statement, op, partitions)
            yield Hit(
                statement,
                f"CREATE INDEX {op.name or ''} on the partitioned table {quoted(op.relation)} takes "
                f"{held_words(result, op.relation)} and the same on each of its partitions ({len(partitions)}) while "
                "it reads them all; PostgreSQL refuses CONCURRENTLY on a partitioned table, so build the index "
                "ON ONLY the table, CONCURRENTLY on each partition, and attach them.".replace("  ", " "),
                safer=recipe,
                no_recipe=None if recipe else "no recipe fits this index (expressions, WHERE or options): build "
                "it ON ONLY the table, CONCURRENTLY on each partition, then ALTER INDEX ... ATTACH PARTITION",
            )
            continue
        yield Hit(
            statement,
            f"CREATE INDEX {op.name or ''} {lock_words(result, op.relation)} while it reads the "
            "whole table to build the index; use CREATE INDEX CONCURRENTLY.".replace("  ", " "),
            safer=create_index_concurrently(statement),
        )


RULE = Rule(
    code="SW101",
    name="require-concurrent-index-creation",
    category=Category.LOCK,
    severity=Severity.ERROR,
    summary="Create indexes on existing tables with CONCURRENTLY.",
    rationale=(
        "A plain CREATE INDEX takes a SHARE lock on the table for the whole build: reads go on, but "
        "every INSERT, UPDATE and DELETE waits until the index is built, which on a large table is "
        "minutes. CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE instead and lets writes "
        "continue, at the price of two table scans and not running inside a transaction block."
    ),
    safer=(
        "-- in a migration of its own, outside a transaction block:\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_customer_id_idx" ON "orders" ("customer_id");'
    ),
    bad='CREATE INDEX "orders_customer_id_idx" ON "orders" ("customer_id");',
    good='CREATE INDEX CONCURRENTLY "orders_customer_id_idx" ON "orders" ("customer_id");',
    check=check,
    needs=frozenset({OperationKind.CREATE_INDEX}),
)
