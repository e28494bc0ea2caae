"""Shared check for rules that object to a column type in new column definitions."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from policies.expressions import base_type, display_type
from policies.operations import OperationKind
from policies.rules._helpers import new_columns, operations, quoted
from policies.rules._rule import Hit
from policies.type_changes import normalise
from policies.unit import MigrationUnit


def columns_of_type(
    unit: MigrationUnit, matches: Callable[[str], bool], message: Callable[[str, str], str]
) -> Iterator[Hit]:
    """Hits for every new column (CREATE TABLE, ADD COLUMN, ALTER ... TYPE) whose type matches.

    `matches` receives the normalised type (`varchar(20)`, `timestamp`); `message` the column
    reference and the type as written.
    """
    for statement, op, spec in new_columns(unit):
        if matches(normalise(spec.type)):
            yield Hit(statement, message(f'{quoted(op.relation)}."{spec.name}"', display_type(spec.type)))
    for statement, op, _ in operations(unit, OperationKind.ALTER_COLUMN_TYPE):
        if op.column_type and op.columns and matches(normalise(op.column_type)):
            yield Hit(statement, message(f'{quoted(op.relation)}."{op.columns[0]}"', display_type(op.column_type)))


def base(type_text: str) -> str:
    """The type without modifiers or array brackets: `varchar(20)[]` -> `varchar`."""
    return base_type(type_text).removesuffix("[]").split("(")[0]
