"""SW506: a foreign key whose referencing columns have no index (as far as the migration shows)."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations, quoted
from policies.rules._recipes import index_on
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit, relation_key

K = OperationKind


def check(unit: MigrationUnit) -> Iterator[Hit]:
    added_columns = {
        (relation_key(op.relation), op.columns[0])
        for _, op, _ in operations(unit, K.ADD_COLUMN)
        if op.relation and op.columns
    }
    for statement, op, _ in operations(unit, K.ADD_FOREIGN_KEY):
        if not op.relation or not op.columns:
            continue
        key = relation_key(op.relation)
        knowable = statement.is_new(op.relation) or all((key, c) in added_columns for c in op.columns)
        if knowable and not unit.schema_after.has_index_for(op.relation, op.columns):
            columns = ", ".join(f'"{c}"' for c in op.columns)
            yield Hit(
                statement,
                f'Foreign key {quoted(op.relation)} ({columns}) -> {quoted(op.referenced_relation)} has no index on its '
                f"columns: deleting or updating a referenced row scans all of \"{op.relation}\", and joins "
                "on the key are slow.",
                safer=index_on(op.relation, op.columns, existing=not statement.is_new(op.relation)),
            )


RULE = Rule(
    code="SW506",
    name="foreign-key-without-index",
    category=Category.DESIGN,
    severity=Severity.INFO,
    summary="Index the referencing columns of a foreign key.",
    rationale=(
        "PostgreSQL indexes the referenced (primary key) side of a foreign key, not the referencing "
        "side. Without an index there, every DELETE or key UPDATE on the referenced table scans the "
        "referencing table to check for dependants, under a lock, and ON DELETE CASCADE becomes slow. "
        "The rule judges what the migration (or pull request) shows: new tables and new columns."
    ),
    safer='CREATE INDEX "orders_customer_id_idx" ON "orders" ("customer_id");',
    bad=(
        'CREATE TABLE "orders" ("id" bigint PRIMARY KEY, "customer_id" bigint NOT NULL);\n'
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_customer_id_fk" FOREIGN KEY ("customer_id") '
        'REFERENCES "customers"("id");'
    ),
    good=(
        'CREATE TABLE "orders" ("id" bigint PRIMARY KEY, "customer_id" bigint NOT NULL);\n'
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_customer_id_fk" FOREIGN KEY ("customer_id") '
        'REFERENCES "customers"("id");\n'
        'CREATE INDEX "orders_customer_id_idx" ON "orders" ("customer_id");'
    ),
    check=check,
    needs=frozenset({K.ADD_FOREIGN_KEY}),
)
