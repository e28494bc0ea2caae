"""Comparing two schemas of the model: equal, equal but for column order, or what still differs.

The proof of a rollback (`reconciler.prove`) compares the schema its round trip restored with the
schema before the migration. `==` on the model ignores the order of a table's columns (its
mappings are dicts) and says nothing of where two schemas differ; `compare` reads the differ
instead: what `diff(got, expected)` would still have to do is what differs, a column order that
no ALTER can restore is a note (never hidden), and a difference the differ cannot express (a
model field it does not compare) is named field by field, so that nothing passes unseen.
"""

from __future__ import annotations

from typing import NamedTuple

from policies.schema.changes import Change, ColumnOrder, RenameNotNull
from policies.schema.ddl import notes, render
from policies.schema.diff import diff
from policies.schema.model import Schema


class Comparison(NamedTuple):
    """How `got` differs from `expected`.

    * `remaining`: the changes (other than column order) that would still turn `got` into
      `expected`; empty when the two are equal;
    * `order_notes`: one sentence per table whose columns are in another order;
    * `unexpressed`: fields where the two differ although the differ finds nothing (a model field
      it does not compare): never empty when `got != expected` and `remaining` is.
    """

    remaining: tuple[Change, ...]
    order_notes: tuple[str, ...]
    unexpressed: tuple[str, ...]

    @property
    def equal(self) -> bool:
        """The same schema, column order aside."""
        return not self.remaining and not self.unexpressed

    def describe(self, pg_version: int, limit: int = 3) -> str:
        """What differs, shortly: the SQL that would still be needed, or the fields."""
        if self.remaining:
            statements = render(self.remaining, pg_version=pg_version)
            shown = "; ".join(" ".join(s.split()) for s in statements[:limit])
            more = f" (and {len(statements) - limit} more)" if len(statements) > limit else ""
            return f"it would still need: {shown}{more}"
        return "; ".join(self.unexpressed[:limit])


def compare(expected: Schema, got: Schema, pg_version: int) -> Comparison:
    """Compare `got` with `expected` (both introspected on a server of major version `pg_version`)."""
    changes = diff(got, expected)
    order = [c for c in changes if isinstance(c, ColumnOrder)]
    remaining = tuple(
        c for c in changes
        if not isinstance(c, ColumnOrder) and not (isinstance(c, RenameNotNull) and pg_version < 18)
    )
    order_notes = list(notes(order, pg_version=pg_version))
    for key, table in expected.tables.items():
        other = got.tables.get(key)
        if other is None or list(table.columns) == list(other.columns):
            continue
        if not any(c.table == key for c in order):
            order_notes.append(
                f"columns of {key} are in the order {', '.join(other.columns)} instead of "
                f"{', '.join(table.columns)}: PostgreSQL adds a column last and no ALTER moves one"
            )
    unexpressed = () if remaining or got == expected else _fields(expected, got)
    return Comparison(remaining, tuple(order_notes), unexpressed)


def _fields(expected: Schema, got: Schema, limit: int = 5) -> tuple[str, ...]:
    """The model's fields where two schemas differ, object by object."""
    found: list[str] = []
    for name in Schema._fields:
        want, have = getattr(expected, name), getattr(got, name)
        if want == have:
            continue
        if hasattr(want, "keys") and hasattr(have, "keys"):
            for key in sorted(set(want) | set(have), key=str):
                if want.get(key) != have.get(key):
                    found.append(f"{name}[{key!r}]: expected {want.get(key)!r}, found {have.get(key)!r}")
        else:
            found.append(f"{name}: expected {want!r}, found {have!r}")
        if len(found) >= limit:
            break
    return tuple(found[:limit])
