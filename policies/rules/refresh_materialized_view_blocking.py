"""SW110: REFRESH MATERIALIZED VIEW without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import lock_words, on_existing, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, result in on_existing(unit, OperationKind.REFRESH_MATERIALIZED_VIEW):
        if not op.concurrently:
            yield Hit(
                statement,
                f"REFRESH MATERIALIZED VIEW {quoted(op.relation)} {lock_words(result, op.relation)} while the "
                "query reruns; use REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view).",
            )


RULE = Rule(
    code="SW110",
    name="refresh-materialized-view-blocking",
    category=Category.LOCK,
    severity=Severity.WARNING,
    summary="Refresh materialized views CONCURRENTLY.",
    rationale=(
        "A plain REFRESH MATERIALIZED VIEW replaces the view's contents under ACCESS EXCLUSIVE: every "
        "query reading the view waits for the defining query to finish. With CONCURRENTLY the new "
        "contents are computed alongside and merged under an EXCLUSIVE lock that still allows reads; "
        "it requires a unique index on the view."
    ),
    safer=(
        'CREATE UNIQUE INDEX CONCURRENTLY "sales_summary_day_key" ON "sales_summary" ("day");\n'
        'REFRESH MATERIALIZED VIEW CONCURRENTLY "sales_summary";'
    ),
    bad='REFRESH MATERIALIZED VIEW "sales_summary";',
    good='REFRESH MATERIALIZED VIEW CONCURRENTLY "sales_summary";',
    check=check,
    needs=frozenset({OperationKind.REFRESH_MATERIALIZED_VIEW}),
)
