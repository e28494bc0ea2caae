"""SW403: a NOT NULL column without default added to an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import on_existing, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, OperationKind.ADD_COLUMN):
        if op.not_null and op.default is None and not op.generated_stored:
            yield Hit(
                statement,
                f'Adding {quoted(op.relation)}."{op.columns[0]}" as NOT NULL without a default fails if the table '
                "has rows, and once added, inserts from the application version still running (which "
                "does not know the column) fail.",
            )


RULE = Rule(
    code="SW403",
    name="add-not-null-column-without-default",
    category=Category.COMPATIBILITY,
    severity=Severity.ERROR,
    summary="New NOT NULL columns need a default.",
    rationale=(
        "ADD COLUMN ... NOT NULL without DEFAULT is rejected when the table has rows (existing rows "
        "would be NULL). When it succeeds (an empty table in one environment), every INSERT from the "
        "previous application version, which does not set the column, fails. Add it with a constant "
        "default (instant from PostgreSQL 11), or nullable and tighten later."
    ),
    safer="ALTER TABLE \"users\" ADD COLUMN \"tier\" text NOT NULL DEFAULT 'basic';",
    bad='ALTER TABLE "users" ADD COLUMN "tier" text NOT NULL;',
    good="ALTER TABLE \"users\" ADD COLUMN \"tier\" text NOT NULL DEFAULT 'basic';",
    check=check,
    needs=frozenset({OperationKind.ADD_COLUMN}),
)
