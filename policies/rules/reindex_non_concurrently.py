"""SW109: REINDEX without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in operations(unit, OperationKind.REINDEX):
        if op.concurrently or statement.is_new(op.relation):
            continue
        if op.detail == "system":
            continue  # the system catalogs cannot be reindexed concurrently: there is no safer way
        advice = (
            "use REINDEX ... CONCURRENTLY"
            if unit.pg_version >= 12
            else "build a new index CONCURRENTLY and drop the old one (no REINDEX CONCURRENTLY before 12)"
        )
        yield Hit(
            statement,
            f'REINDEX {op.detail or ""} {quoted(op.relation)} blocks writes to the table and reads that use '
            f"the index while it rebuilds; {advice}.",
        )


RULE = Rule(
    code="SW109",
    name="reindex-non-concurrently",
    category=Category.LOCK,
    severity=Severity.WARNING,
    summary="Rebuild indexes with REINDEX CONCURRENTLY.",
    rationale=(
        "REINDEX takes a SHARE lock on the table (no writes) and ACCESS EXCLUSIVE on each index it "
        "rebuilds (no reads that would use it) for the length of the rebuild. REINDEX CONCURRENTLY "
        "(PostgreSQL 12+) builds the replacement alongside and swaps it in under brief locks. REINDEX "
        "SYSTEM is not flagged: the system catalogs cannot be reindexed concurrently."
    ),
    safer='REINDEX INDEX CONCURRENTLY "orders_customer_id_idx";  -- outside a transaction block',
    bad='REINDEX TABLE "orders";',
    good='REINDEX TABLE CONCURRENTLY "orders";',
    check=check,
    needs=frozenset({OperationKind.REINDEX}),
)
