"""SW607: BEGIN/COMMIT/ROLLBACK inside a migration that runs in the migrator's transaction."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    if not unit.context.transactional:
        return
    for statement, op, _ in operations(unit, OperationKind.TRANSACTION):
        if op.detail in ("begin", "start", "commit", "end", "rollback", "prepare", "commit_prepared"):
            yield Hit(
                statement,
                f"{(op.detail or '').upper()} inside a migration: drizzle-orm already runs the migration in its "
                "own transaction, so this ends or nests it and part of the migration commits (or rolls "
                "back) apart from the rest and from the migrator's bookkeeping.",
            )


RULE = Rule(
    code="SW607",
    name="transaction-control-in-migration",
    category=Category.PROCESS,
    severity=Severity.WARNING,
    summary="Let the migrator own the transaction; no BEGIN/COMMIT in migrations.",
    rationale=(
        "drizzle-orm wraps all pending migrations in one transaction. A BEGIN inside only warns, but a "
        "COMMIT commits everything so far (earlier migrations included) before the migrator records "
        "them, and a failure after it leaves the database half-migrated with the history saying "
        "otherwise. Statements that must run outside a transaction belong in a migration of their own, "
        "which schemawarden's apply runs in autocommit."
    ),
    safer='ALTER TABLE "orders" ADD COLUMN "note" text;  -- no BEGIN/COMMIT around it',
    bad='BEGIN;\nALTER TABLE "orders" ADD COLUMN "note" text;\nCOMMIT;',
    good='ALTER TABLE "orders" ADD COLUMN "note" text;',
    check=check,
    needs=frozenset({OperationKind.TRANSACTION}),
)
