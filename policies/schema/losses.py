"""Which changes destroy stored data when run on schema `a`: the prover reports a rollback that
contains one as `irreversible (why)`, still offering the SQL that restores the structure.

Data is lost when rows or values go (a table or column dropped), when values cannot come back
unchanged (a narrowing or rounding type change, a column that was generated becoming a plain one
that starts empty), when rows may hold an enum value that is removed (the conversion then fails on
them), and when a sequence's position goes (a sequence or identity dropped: the next value starts
again). Views, indexes, constraints, functions and generated values hold nothing that cannot be
made again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from policies.schema.changes import (
    AddColumn,
    AlterColumnType,
    Change,
    CreateTable,
    DropAttribute,
    DropColumn,
    DropIdentity,
    DropSequence,
    DropTable,
    RebuildComposite,
    RebuildDomain,
    RebuildEnum,
)
from policies.schema.model import Column, Schema
from policies.type_changes import is_narrowing, normalise


class Loss(NamedTuple):
    """A change that destroys data, and why, in one line naming the object."""

    change: Change
    reason: str


def losses(changes: Iterable[Change], a: Schema, b: Schema) -> tuple[Loss, ...]:
    """The changes of `changes` (from `diff(a, b)`) that destroy stored data when run on `a`."""
    listed = list(changes)
    recreated = {c.table.name for c in listed if isinstance(c, CreateTable)}
    readded = {(c.table, c.column.name): c.column for c in listed if isinstance(c, AddColumn)}
    found: list[Loss] = []
    for change in listed:
        reason = _reason(change, a, recreated, readded)
        if reason:
            found.append(Loss(change, reason))
    return tuple(found)


def _reason(change: Change, a: Schema, recreated: set[str], readded: Mapping[tuple[str, str], Column]) -> str | None:
    if isinstance(change, DropTable) and change.table.kind == "table":
        name = change.table.name
        partitions = a.partitions(change.table.name)
        if partitions:
            return f"table {name} is dropped with its partitions ({', '.join(partitions)}): their rows are lost"
        if change.table.name in recreated:
            return f"table {name} is dropped and created again (its partitioning changes): its rows are lost"
        return f"table {name} is dropped: its rows are lost"
    if isinstance(change, DropColumn):
        name = f"{change.table}.{change.column.name}"
        again = readded.get((change.table, change.column.name))
        if not change.column.generated:
            return f"column {name} is dropped: its values are lost"
        if again is not None and not again.generated:
            return f"column {name} is generated and becomes a plain column again: it starts empty"
        return None
    if isinstance(change, RebuildEnum) and change.removed:
        users = [f"{t.name}.{c.name}" for t, c in a.uses_type(change.name)]
        if users:
            values = ", ".join(f"'{v}'" for v in change.removed)
            return (
                f"enum {change.name} loses {values}: rows of {', '.join(users)} holding "
                f"{'it' if len(change.removed) == 1 else 'them'} cannot be converted"
            )
        return None
    if isinstance(change, RebuildComposite | DropAttribute):
        name = change.composite.name if isinstance(change, RebuildComposite) else change.type
        removed = change.removed if isinstance(change, RebuildComposite) else (change.attribute,)
        users = [f"{t.name}.{c.name}" for t, c in a.uses_type(name)]
        if removed and users:
            return f"type {name} loses attribute {', '.join(removed)}: its values in {', '.join(users)} are lost"
        return None
    if isinstance(change, RebuildDomain) and is_narrowing(change.old_base_type, change.domain.base_type):
        users = [f"{t.name}.{c.name}" for t, c in a.uses_type(change.domain.name)]
        return (
            f"domain {change.domain.name} changes type from {change.old_base_type} to {change.domain.base_type}: "
            f"values of {', '.join(users)} that do not fit are refused or cut"
        )
    if isinstance(change, AlterColumnType):
        return _type_loss(change)
    if isinstance(change, DropSequence):
        return f"sequence {change.sequence.name} is dropped: its current value is lost"
    if isinstance(change, DropIdentity):
        return (
            f"identity of column {change.table}.{change.column} is dropped: "
            "its sequence and current value are lost"
        )
    return None


_ROUNDING = {
    ("numeric", "int2"), ("numeric", "int4"), ("numeric", "int8"), ("float4", "int2"), ("float4", "int4"),
    ("float4", "int8"), ("float8", "int2"), ("float8", "int4"), ("float8", "int8"), ("float8", "float4"),
    ("numeric", "float4"), ("numeric", "float8"), ("timestamp", "date"), ("timestamptz", "date"),
    ("timestamp", "time"), ("timestamptz", "time"), ("timestamptz", "timetz"), ("interval", "time"),
    ("timetz", "time"),
}
"""Casts that keep a value of the new type but change it (rounding, a date without its time):
pg_cast functions whose results lose part of the input (datatype-numeric.html, datatype-datetime.html)."""


def _type_loss(change: AlterColumnType) -> str | None:
    name = f"{change.table}.{change.column}"
    old, new = normalise(change.old_type), normalise(change.new_type)
    base_old, base_new = old.split("(", 1)[0], new.split("(", 1)[0]
    if (base_old, base_new) in _ROUNDING:
        return f"column {name} changes type from {change.old_type} to {change.new_type}: values are rounded or cut"
    if is_narrowing(change.old_type, change.new_type):
        return (
            f"column {name} changes type from {change.old_type} to {change.new_type}: "
            "values that do not fit are refused or cut"
        )
    return None
