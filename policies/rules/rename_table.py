"""SW402: RENAME of an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import on_existing, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, OperationKind.RENAME_TABLE):
        yield Hit(
            statement,
            f'Renaming {quoted(op.relation)} to "{op.new_name}" breaks the application version still running '
            "during the rollout: its queries name the old table.",
        )


RULE = Rule(
    code="SW402",
    name="rename-table",
    category=Category.COMPATIBILITY,
    severity=Severity.ERROR,
    summary="Renaming a table breaks the running application.",
    rationale=(
        "The application version deployed before the migration keeps running until the rollout ends, "
        "and every query it makes against the old table name fails once the table is renamed. Create "
        "the new table (or a view with the new name over the old one), move code over, then retire the "
        "old name."
    ),
    safer=(
        'ALTER TABLE "customers" RENAME TO "accounts";\n'
        'CREATE VIEW "customers" AS SELECT * FROM "accounts";  -- same transaction: old code keeps working\n'
        '-- drop the view once no deployed code uses "customers"'
    ),
    bad='ALTER TABLE "customers" RENAME TO "accounts";',
    good='CREATE VIEW "accounts" AS SELECT * FROM "customers";',
    check=check,
    needs=frozenset({OperationKind.RENAME_TABLE}),
)
