"""SW205: CLUSTER."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import held_words, operations, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, result in operations(unit, OperationKind.CLUSTER):
        if not statement.is_new(op.relation):
            target = f'{quoted(op.relation)}' if op.relation else "every previously clustered table"
            yield Hit(
                statement,
                f"CLUSTER rewrites {target} in index order while holding {held_words(result, op.relation)}; "
                "use pg_repack for an online reorder.",
            )


RULE = Rule(
    code="SW205",
    name="cluster",
    category=Category.REWRITE,
    severity=Severity.ERROR,
    summary="Do not run CLUSTER in a migration.",
    rationale=(
        "CLUSTER physically reorders a table by rewriting it completely, with its indexes, while "
        "holding ACCESS EXCLUSIVE: neither reads nor writes can proceed until it finishes. The order "
        "is not maintained afterwards anyway. pg_repack --order-by does the same online."
    ),
    safer="-- outside migrations: pg_repack --table=orders --order-by=created_at",
    bad='CLUSTER "orders" USING "orders_created_at_idx";',
    good='ANALYZE "orders";',
    check=check,
    needs=frozenset({OperationKind.CLUSTER}),
)
