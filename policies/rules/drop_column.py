"""SW302: DROP COLUMN on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import column_ref, on_existing
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, OperationKind.DROP_COLUMN):
        yield Hit(
            statement,
            f"Dropping {column_ref(op)} deletes its data for good, and the application version still "
            "running during the rollout fails on queries that name it.",
        )


RULE = Rule(
    code="SW302",
    name="drop-column",
    category=Category.DATA_LOSS,
    severity=Severity.ERROR,
    summary="Dropping a column loses its data and breaks code that still reads it.",
    rationale=(
        "DROP COLUMN is quick (the space is reclaimed later) but irreversible: a rollback can recreate "
        "the column, not its values. Code deployed before the migration keeps selecting or inserting "
        "the column until the new version is fully rolled out. Stop using the column in code first, "
        "deploy, then drop it in a later migration."
    ),
    safer=(
        "-- 1. deploy code that no longer reads or writes the column\n"
        "-- 2. a later migration, with a backup of the column if it matters:\n"
        'ALTER TABLE "users" DROP COLUMN "legacy_flag";'
    ),
    bad='ALTER TABLE "users" DROP COLUMN "legacy_flag";',
    good='ALTER TABLE "users" ADD COLUMN "nickname" text;',
    check=check,
    needs=frozenset({OperationKind.DROP_COLUMN}),
)
