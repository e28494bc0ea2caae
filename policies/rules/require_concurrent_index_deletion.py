"""SW102: DROP INDEX without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from policies.locks import ACCESS_EXCLUSIVE, Effect
from policies.operations import Operation, OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import blocking, held_words, on_existing
from policies.rules._recipes import drop_index_concurrently
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, result in on_existing(unit, OperationKind.DROP_INDEX):
        if not op.concurrently:
            yield Hit(
                statement,
                f'DROP INDEX "{op.name}" takes {_table_lock(result, op)} and waits behind every running query '
                "on it; use DROP INDEX CONCURRENTLY.",
                safer=drop_index_concurrently(op),
            )


def _table_lock(result: Effect, op: Operation) -> str:
    """The lock on the index's table, named when the schema knows it."""
    if op.other_relations:
        return held_words(result, op.other_relations[0]) + ", the index's table"
    mode = result.mode_on(op.relation or "") or ACCESS_EXCLUSIVE
    return f"{mode} on the index's table ({blocking(mode)})"


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
