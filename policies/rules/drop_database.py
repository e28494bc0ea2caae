"""SW309: DROP DATABASE."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in operations(unit, OperationKind.DROP_DATABASE):
        yield Hit(statement, f'DROP DATABASE "{op.name}" deletes a whole database; it has no place in a migration.')


RULE = Rule(
    code="SW309",
    name="drop-database",
    category=Category.DATA_LOSS,
    severity=Severity.ERROR,
    summary="Never drop a database from a migration.",
    rationale=(
        "A migration runs against every environment, production included. DROP DATABASE removes every "
        "table in the named database at once and cannot be rolled back (it cannot even run inside a "
        "transaction block). Databases are provisioned and retired by operations, not by migrations."
    ),
    safer="-- retire databases through your provisioning tooling, with a final backup",
    bad='DROP DATABASE "analytics";',
    good='DROP TABLE IF EXISTS "analytics_scratch_20240101";',
    check=check,
    needs=frozenset({OperationKind.DROP_DATABASE}),
)
