"""SW407: renaming a type, domain, sequence, function, schema or enum value the application names."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit

# Renamed objects that queries name (casts, nextval(), calls, qualified names). Tables, views and
# columns are SW401/SW402; indexes, constraints and triggers are not named by queries.
NAMED_BY_QUERIES = frozenset(
    {"type", "domain", "sequence", "function", "procedure", "routine", "aggregate", "schema"}
)


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in operations(unit, OperationKind.RENAME_OBJECT, OperationKind.RENAME_ENUM_VALUE):
        if unit.is_new_object(op.name):
            continue
        if op.kind is OperationKind.RENAME_ENUM_VALUE:
            yield Hit(
                statement,
                f"Renaming value '{op.value}' of enum {quoted(op.name)} to '{op.new_name}' breaks the application "
                "version still running during the rollout: it still writes and compares the old value.",
            )
        elif op.detail in NAMED_BY_QUERIES:
            yield Hit(
                statement,
                f'Renaming {op.detail} {quoted(op.name)} to "{op.new_name}" breaks the application version still '
                f"running during the rollout wherever its queries name the {op.detail} (casts, nextval(), "
                "function calls, qualified names).",
            )


RULE = Rule(
    code="SW407",
    name="rename-object",
    category=Category.COMPATIBILITY,
    severity=Severity.WARNING,
    summary="Renaming a type, sequence, function, schema or enum value breaks the running application.",
    rationale=(
        "The application version deployed before the migration keeps running until the rollout ends. "
        "Queries that cast to a type or domain, call nextval() on a sequence, call a function, qualify "
        "names with a schema or write an enum value use the old name and fail once it changes. Columns "
        "that use the object are bound by identity and keep working, so the risk is in the code: a "
        "warning, since not every object is named by queries. Add the new name alongside, move the code, "
        "then drop the old one; for an enum, add the new value and migrate the rows."
    ),
    safer=(
        "ALTER TYPE \"order_status\" ADD VALUE 'dispatched';\n"
        "-- deploy code that writes 'dispatched', then in a later migration:\n"
        "UPDATE \"orders\" SET \"status\" = 'dispatched' WHERE \"status\" = 'shipped';"
    ),
    bad="ALTER TYPE \"order_status\" RENAME VALUE 'shipped' TO 'dispatched';",
    good="ALTER TYPE \"order_status\" ADD VALUE 'dispatched';",
    check=check,
    needs=frozenset({OperationKind.RENAME_OBJECT, OperationKind.RENAME_ENUM_VALUE}),
)
