"""SW401: RENAME COLUMN on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import column_ref, on_existing
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, OperationKind.RENAME_COLUMN):
        yield Hit(
            statement,
            f'Renaming {column_ref(op)} to "{op.new_name}" breaks the application version still running '
            "during the rollout: its queries name the old column.",
        )


RULE = Rule(
    code="SW401",
    name="rename-column",
    category=Category.COMPATIBILITY,
    severity=Severity.ERROR,
    summary="Renaming a column breaks the running application.",
    rationale=(
        "While a deployment rolls out, the old application version keeps running against the migrated "
        "database. A renamed column makes every query of the old version that names it fail. Add the "
        "new column, write to both, backfill, switch reads, and drop the old column later."
    ),
    safer=(
        'ALTER TABLE "users" ADD COLUMN "display_name" text;\n'
        "-- deploy code writing both; backfill in batches:\n"
        'UPDATE "users" SET "display_name" = "name" WHERE "display_name" IS NULL AND "id" BETWEEN 1 AND 10000;\n'
        "-- switch reads, deploy, then in a later migration drop \"name\""
    ),
    bad='ALTER TABLE "users" RENAME COLUMN "name" TO "display_name";',
    good='ALTER TABLE "users" ADD COLUMN "display_name" text;',
    check=check,
    needs=frozenset({OperationKind.RENAME_COLUMN}),
)
