"""SW301: DROP TABLE of an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import on_existing, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, OperationKind.DROP_TABLE):
        yield Hit(
            statement,
            f'DROP TABLE {quoted(op.relation)} deletes the table and all its rows for good, and the application '
            "version still running during the rollout may still query it.",
        )


RULE = Rule(
    code="SW301",
    name="drop-table",
    category=Category.DATA_LOSS,
    severity=Severity.ERROR,
    summary="Dropping a table loses its data; stop using it first and keep a backup.",
    rationale=(
        "DROP TABLE cannot be rolled back once committed: the rows are gone unless restored from a "
        "backup. During a rollout the previous application version keeps running and fails as soon as "
        "it touches the table. Remove the table from the code first, deploy, keep a copy, and drop it "
        "in a later migration."
    ),
    safer=(
        "-- after no deployed code reads or writes it, and with a copy kept:\n"
        'ALTER TABLE "legacy_events" RENAME TO "legacy_events_to_drop_20250101";\n'
        "-- a later migration:\n"
        'DROP TABLE "legacy_events_to_drop_20250101";'
    ),
    bad='DROP TABLE "legacy_events";',
    good='CREATE TABLE "scratch" ("id" bigint PRIMARY KEY);\nDROP TABLE "scratch";',
    check=check,
    needs=frozenset({OperationKind.DROP_TABLE}),
)
