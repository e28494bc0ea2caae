"""SW303: DROP SCHEMA."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    created = {op.name for _, op, _ in operations(unit, OperationKind.CREATE_SCHEMA)}
    for statement, op, _ in operations(unit, OperationKind.DROP_SCHEMA):
        if op.name not in created:
            cascade = " and, with CASCADE, every table in it" if op.cascade else ""
            yield Hit(statement, f'DROP SCHEMA "{op.name}" deletes the schema{cascade} for good.')


RULE = Rule(
    code="SW303",
    name="drop-schema",
    category=Category.DATA_LOSS,
    severity=Severity.ERROR,
    summary="Dropping a schema loses everything in it.",
    rationale=(
        "DROP SCHEMA removes the namespace and, with CASCADE, every table, view, function and type "
        "inside it, with their data. It cannot be undone without a backup. Drop the objects one by "
        "one, deliberately, after they are out of use."
    ),
    safer='-- drop the tables it holds deliberately first, then:\nDROP SCHEMA "reporting";  -- RESTRICT: fails if not empty',
    bad='DROP SCHEMA "reporting" CASCADE;',
    good='CREATE SCHEMA "scratch";\nDROP SCHEMA "scratch";',
    check=check,
    needs=frozenset({OperationKind.DROP_SCHEMA}),
)
