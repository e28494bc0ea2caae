"""SW602: a statement that cannot run in a transaction block, in a migration that runs in one."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import MAY_RUN_OUTSIDE_TRANSACTION, OperationKind, runs_outside_transaction
from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    if not unit.context.transactional:
        return
    in_transaction = True
    has_transaction_control = OperationKind.TRANSACTION in unit.by_kind
    for statement in unit.statements:
        if has_transaction_control:
            control = [op.detail for op in statement.operations if op.kind is OperationKind.TRANSACTION]
            if control:
                in_transaction = control[-1] in ("begin", "start")
                continue
            if not in_transaction:
                continue
        for op in statement.operations:
            if runs_outside_transaction(op):
                what = statement.sql.split("(")[0].split('"')[0].strip().upper()[:60]
                if unit.context.drizzle_applies:
                    yield Hit(
                        statement,
                        f"{what} cannot run inside a transaction block, and drizzle-orm's migrator runs every "
                        "migration in one, so the deploy fails here (ERROR 25001). Put the statement alone in its "
                        "own migration and run it outside the migrator, or let schemawarden apply the "
                        "migrations (`applied_by = \"schemawarden\"`): it runs such statements on their own.",
                        severity=Severity.ERROR,
                    )
                else:
                    yield Hit(
                        statement,
                        f"{what} cannot run inside a transaction block: schemawarden's apply runs it on its own, "
                        "outside one, but `drizzle-kit migrate` (a developer's machine, CI) fails here.",
                        severity=Severity.INFO,
                    )
                break


RULE = Rule(
    code="SW602",
    name="concurrently-in-transaction",
    category=Category.PROCESS,
    severity=Severity.ERROR,
    summary="CONCURRENTLY (and VACUUM) cannot run in drizzle's migration transaction.",
    rationale=(
        "CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DETACH PARTITION CONCURRENTLY, VACUUM "
        "and a few others refuse to run inside a transaction block. drizzle-orm's migrator wraps all "
        "pending migrations in one transaction, so such a migration fails there (and everything before "
        "it in the run is rolled back). schemawarden's apply runs these statements by themselves, "
        "outside a transaction; keep each in a migration of its own so either tool can apply it. An "
        "error where drizzle applies the migrations (the deploy fails), information where "
        "schemawarden does (`applied_by`)."
    ),
    safer=(
        "-- migrations/0042_orders_customer_idx.sql, containing only:\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_customer_id_idx" ON "orders" ("customer_id");'
    ),
    bad='CREATE INDEX CONCURRENTLY "orders_customer_id_idx" ON "orders" ("customer_id");',
    good='CREATE INDEX CONCURRENTLY "orders_customer_id_idx" ON "orders" ("customer_id");',
    check=check,
    needs=MAY_RUN_OUTSIDE_TRANSACTION,
    good_context={"transactional": False},
)
