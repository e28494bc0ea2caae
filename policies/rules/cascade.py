"""SW306: CASCADE on DROP or TRUNCATE."""

from __future__ import annotations

from collections.abc import Iterator

from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement in unit.statements:
        cascading = [op for op in statement.operations if op.cascade]
        if cascading:
            what = cascading[0].relation or cascading[0].name or "the object"
            yield Hit(
                statement,
                f'CASCADE also removes whatever depends on "{what}" (views, foreign keys, columns of '
                "its type, referencing rows), none of which this statement names.",
            )


RULE = Rule(
    code="SW306",
    name="cascade",
    category=Category.DATA_LOSS,
    severity=Severity.WARNING,
    summary="Name what you drop; avoid CASCADE.",
    rationale=(
        "CASCADE widens a DROP or TRUNCATE to every dependent object: views, foreign keys, functions, "
        "columns of a dropped type, the rows of referencing tables. What goes is decided by the "
        "database at run time, not by the reviewed SQL, and may differ between environments."
    ),
    safer='DROP VIEW "active_users";\nDROP TABLE "users_old";  -- each dependent dropped explicitly',
    bad='DROP TABLE "users_old" CASCADE;',
    good='DROP VIEW "active_users";',
    check=check,
)
