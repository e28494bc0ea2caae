"""Shared check for rules that object to a column type in new column definitions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache

from policies.expressions import base_type, display_type
from policies.operations import OperationKind
from policies.rules._helpers import NEW_COLUMN_KINDS, quoted
from policies.rules._rule import Hit
from policies.type_changes import normalise
from policies.unit import MigrationUnit

COLUMN_TYPE_KINDS = NEW_COLUMN_KINDS | {OperationKind.ALTER_COLUMN_TYPE}
"""The operations that give a column its type (what `columns_of_type` reads)."""


def columns_of_type(
    unit: MigrationUnit, matches: Callable[[str], bool], message: Callable[[str, str], str]
) -> Iterator[Hit]:
    """Hits for every new column (CREATE TABLE, ADD COLUMN, ALTER ... TYPE) whose type matches.

    `matches` receives the normalised type (`varchar(20)`, `timestamp`); `message` the column
    reference and the type as written.
    """
    for statement, op, column, written in unit.written_types:
        if matches(normalise(written)):
            yield Hit(statement, message(f'{quoted(op.relation)}."{column}"', display_type(written)))


@lru_cache(maxsize=4096)  # a project writes a few dozen distinct types, thousands of times
def base(type_text: str) -> str:
    """The type without modifiers or array brackets: `varchar(20)[]` -> `varchar`."""
    return base_type(type_text).removesuffix("[]").split("(")[0]
