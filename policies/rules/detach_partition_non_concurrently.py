"""SW111: DETACH PARTITION without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import lock_words, on_existing
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, result in on_existing(unit, OperationKind.DETACH_PARTITION):
        if op.concurrently or op.detail == "finalize":
            continue
        advice = (
            "use DETACH PARTITION ... CONCURRENTLY"
            if unit.pg_version >= 14
            else f"CONCURRENTLY needs PostgreSQL 14 (target is {unit.pg_version}): detach at a quiet time"
        )
        yield Hit(
            statement,
            f'DETACH PARTITION "{op.name}" {lock_words(result, op.relation)}, the partitioned table, so every '
            f"partition is blocked too; {advice}.",
        )


RULE = Rule(
    code="SW111",
    name="detach-partition-non-concurrently",
    category=Category.LOCK,
    severity=Severity.WARNING,
    summary="Detach partitions CONCURRENTLY (PostgreSQL 14+).",
    rationale=(
        "ALTER TABLE ... DETACH PARTITION takes ACCESS EXCLUSIVE on the partitioned table, so queries "
        "on every partition wait, and the request itself queues behind running queries. From "
        "PostgreSQL 14, DETACH PARTITION ... CONCURRENTLY needs only SHARE UPDATE EXCLUSIVE on the "
        "parent; it cannot run inside a transaction block."
    ),
    safer='ALTER TABLE "events" DETACH PARTITION "events_2023" CONCURRENTLY;  -- outside a transaction block',
    bad='ALTER TABLE "events" DETACH PARTITION "events_2023";',
    good='ALTER TABLE "events" DETACH PARTITION "events_2023" CONCURRENTLY;',
    check=check,
    needs=frozenset({OperationKind.DETACH_PARTITION}),
)
