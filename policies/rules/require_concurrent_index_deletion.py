"""SW102: DROP INDEX without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import on_existing
from policies.rules._recipes import drop_index_concurrently
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, OperationKind.DROP_INDEX):
        if not op.concurrently:
            yield Hit(
                statement,
                f'DROP INDEX "{op.name}" takes ACCESS EXCLUSIVE on the index\'s table (blocks reads and '
                "writes) and waits behind every running query on it; use DROP INDEX CONCURRENTLY.",
                safer=drop_index_concurrently(op),
            )


RULE = Rule(
    code="SW102",
    name="require-concurrent-index-deletion",
    category=Category.LOCK,
    severity=Severity.WARNING,
    summary="Drop indexes with CONCURRENTLY.",
    rationale=(
        "DROP INDEX takes an ACCESS EXCLUSIVE lock on the table the index belongs to. The drop itself "
        "is quick, but the lock request queues behind long-running queries and every later query "
        "queues behind it, so a slow report can stall the application. DROP INDEX CONCURRENTLY waits "
        "for conflicting transactions without blocking others."
    ),
    safer=(
        "-- in a migration of its own, outside a transaction block:\n"
        'DROP INDEX CONCURRENTLY IF EXISTS "orders_status_idx";'
    ),
    bad='DROP INDEX "orders_status_idx";',
    good='DROP INDEX CONCURRENTLY IF EXISTS "orders_status_idx";',
    check=check,
    needs=frozenset({OperationKind.DROP_INDEX}),
)
