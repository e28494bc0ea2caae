"""SW204: VACUUM FULL."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in operations(unit, OperationKind.VACUUM):
        if op.full and not statement.is_new(op.relation):
            target = f'{quoted(op.relation)}' if op.relation else "every table in the database"
            yield Hit(
                statement,
                f"VACUUM FULL rewrites {target} under ACCESS EXCLUSIVE (blocks reads and writes); use plain "
                "VACUUM, or pg_repack for an online rewrite.",
            )


RULE = Rule(
    code="SW204",
    name="vacuum-full",
    category=Category.REWRITE,
    severity=Severity.ERROR,
    summary="Do not run VACUUM FULL in a migration.",
    rationale=(
        "VACUUM FULL writes a new copy of the table and its indexes while holding ACCESS EXCLUSIVE, so "
        "the table is unavailable for the whole copy, and it needs free disk space for a second copy. "
        "Plain VACUUM reclaims space for reuse without blocking; pg_repack rewrites online."
    ),
    safer='VACUUM (ANALYZE) "orders";  -- outside a transaction block',
    bad='VACUUM FULL "orders";',
    good='VACUUM (ANALYZE) "orders";',
    check=check,
    needs=frozenset({OperationKind.VACUUM}),
)
