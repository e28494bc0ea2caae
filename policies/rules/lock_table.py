"""SW107: an explicit LOCK TABLE."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import blocking, on_existing, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, OperationKind.LOCK_TABLE):
        mode = op.lock_mode or "ACCESS EXCLUSIVE"
        yield Hit(
            statement,
            f'LOCK TABLE {quoted(op.relation)} IN {mode} MODE {blocking(mode)} until the migration commits; '
            "set lock_timeout and keep the transaction short, or drop the explicit lock.",
        )


RULE = Rule(
    code="SW107",
    name="explicit-lock-table",
    category=Category.LOCK,
    severity=Severity.WARNING,
    summary="Avoid explicit LOCK TABLE in migrations.",
    rationale=(
        "An explicit LOCK TABLE holds its lock until the transaction ends, and a migration run by "
        "drizzle-orm is one transaction: every statement after it extends the time the table is "
        "blocked. Waiting for the lock also queues every later query on the table. Most migrations "
        "need no explicit lock; when one does, bound the wait with lock_timeout."
    ),
    safer="SET lock_timeout = '5s';\nLOCK TABLE \"orders\" IN SHARE ROW EXCLUSIVE MODE;  -- only if truly needed",
    bad='LOCK TABLE "orders";',
    good='ALTER TABLE "orders" ADD COLUMN "note" text;',
    check=check,
    needs=frozenset({OperationKind.LOCK_TABLE}),
)
