"""What a migration renamed, so that a diff turns a rename back into a rename (not a drop and an add,
which loses a column's data and moves it last).

`Renames` maps names of schema `a` to names of schema `b` (keys of the model: `users`,
`app.users`); `renames_of(operations)` reads them from a migration's own classified statements,
following chains (`a -> b`, then `b -> c` is `a -> c`), and `inverted()` gives the renames back:

    rollback = render(diff(after, before, renames_of(operations).inverted()))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from policies.classify import classify
from policies.operations import Operation, OperationKind
from policies.parsing import in_execution_order, parse_migration
from policies.schema.model import relation_key
from policies.schema.names import bare_name, in_schema_of

K = OperationKind

_Nested = Mapping[str, Mapping[str, str]]


def split_key(key: str) -> tuple[str, str]:
    """A model key as (schema, name): `users` -> (`public`, `users`), `app.users` -> (`app`, `users`)."""
    schema, dot, name = key.partition(".")
    return (schema, name) if dot else ("public", key)


def join_key(schema: str, name: str) -> str:
    """The model key of `name` in `schema` (`public` left out, as `relation_key` does)."""
    return name if schema == "public" else f"{schema}.{name}"


@dataclass(frozen=True)
class Renames:
    """Renamed objects, from their name in `a` to their name in `b`.

    * `schemas`: schema names; an object in a renamed schema moves with it (no entry of its own).
    * `tables`: tables, views and materialized views (they share the model's `tables`), whole keys
      (`t` -> `app.t2`: a new schema is `SET SCHEMA`).
    * `columns`, `constraints`: per table (keyed by its name in `a`), old name -> new name.
    * `indexes`, `sequences`, `types` (enums, domains, composite types): whole keys.
    * `enum_values`: per type (keyed by its name in `a`), old value -> new value.
    """

    schemas: Mapping[str, str] = field(default_factory=dict)
    tables: Mapping[str, str] = field(default_factory=dict)
    columns: _Nested = field(default_factory=dict)
    constraints: _Nested = field(default_factory=dict)
    indexes: Mapping[str, str] = field(default_factory=dict)
    sequences: Mapping[str, str] = field(default_factory=dict)
    types: Mapping[str, str] = field(default_factory=dict)
    enum_values: _Nested = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(
            (self.schemas, self.tables, self.columns, self.constraints, self.indexes, self.sequences, self.types,
             self.enum_values)
        )

    def moved(self, key: str) -> str:
        """`key` after the schema renames alone."""
        schema, name = split_key(key)
        return join_key(self.schemas.get(schema, schema), name)

    def table(self, key: str) -> str:
        """The name in `b` of table (or view) `key` of `a`."""
        return self.tables.get(key) or self.moved(key)

    def type(self, key: str) -> str:
        """The name in `b` of type `key` of `a`."""
        return self.types.get(key) or self.moved(key)

    def inverted(self) -> Renames:
        """The renames from `b` back to `a`."""
        return Renames(
            schemas=_flip(self.schemas),
            tables=_flip(self.tables),
            columns={self.table(t): _flip(m) for t, m in self.columns.items() if m},
            constraints={self.table(t): _flip(m) for t, m in self.constraints.items() if m},
            indexes=_flip(self.indexes),
            sequences=_flip(self.sequences),
            types=_flip(self.types),
            enum_values={self.type(t): _flip(m) for t, m in self.enum_values.items() if m},
        )


def _flip(mapping: Mapping[str, str]) -> dict[str, str]:
    return {new: old for old, new in mapping.items()}


NO_RENAMES = Renames()


def renames_in_sql(text: str) -> Renames:
    """The renames of one migration's SQL text (statements inside DO blocks included)."""
    return renames_in_texts([text])


def renames_in_texts(texts: Iterable[str]) -> Renames:
    """The renames of several migrations run in order, from the names before the first to the
    names after the last (a column renamed in one and again in a later one maps first to last)."""
    return renames_of(
        op for text in texts for parsed in in_execution_order(parse_migration(text)) for op in classify(parsed)
    )


def renames_of(operations: Iterable[Operation]) -> Renames:
    """The renames that classified operations make, in order, from the names before the first to
    the names after the last (RENAME_TABLE, RENAME_COLUMN, RENAME_INDEX, RENAME_CONSTRAINT,
    RENAME_ENUM_VALUE, `rename_object` of a schema, sequence, type or domain, and SET SCHEMA).

    An object renamed twice maps from its first name to its last; one renamed back to its own
    name is left out. Renames of objects that the migration creates are kept: a diff ignores a
    rename whose object is not in the schema it starts from.
    """
    reader = _Reader()
    for op in operations:
        reader.read(op)
    return reader.result()


class _Reader:
    """Follows names through a migration: for each namespace, current name -> name before it."""

    def __init__(self) -> None:
        self.origin: dict[str, dict[str, str]] = {
            "schemas": {}, "tables": {}, "indexes": {}, "sequences": {}, "types": {}
        }
        self.nested: dict[str, dict[str, dict[str, str]]] = {"columns": {}, "constraints": {}, "enum_values": {}}

    def _rename(self, space: str, old: str, new: str) -> None:
        origin = self.origin[space]
        first = origin.pop(old, old)
        origin[new] = first

    def _first(self, space: str, current: str) -> str:
        return self.origin[space].get(current, current)

    def _rename_inside(self, space: str, owner: str, old: str, new: str) -> None:
        origin = self.nested[space].setdefault(owner, {})
        first = origin.pop(old, old)
        origin[new] = first

    def read(self, op: Operation) -> None:
        kind = op.kind
        if kind is K.RENAME_TABLE and op.relation and op.new_name:
            old = relation_key(op.relation)
            self._rename("tables", old, relation_key(in_schema_of(old, op.new_name)))
        elif kind is K.RENAME_INDEX and op.relation and op.new_name:
            old = relation_key(op.relation)
            self._rename("indexes", old, relation_key(in_schema_of(old, op.new_name)))
        elif kind is K.RENAME_COLUMN and op.relation and op.columns and op.new_name:
            table = self._first("tables", relation_key(op.relation))
            self._rename_inside("columns", table, op.columns[0], op.new_name)
        elif kind is K.RENAME_CONSTRAINT and op.relation and op.name and op.new_name:
            table = self._first("tables", relation_key(op.relation))
            self._rename_inside("constraints", table, op.name, op.new_name)
        elif kind is K.RENAME_ENUM_VALUE and op.name and op.value and op.new_name:
            enum = self._first("types", relation_key(op.name))
            self._rename_inside("enum_values", enum, op.value, op.new_name)
        elif kind is K.RENAME_OBJECT and op.name and op.new_name:
            self._rename_object(op.detail, op.name, op.new_name)
        elif kind is K.SET_SCHEMA and op.new_name:
            self._set_schema(op)

    def _rename_object(self, detail: str | None, name: str, new_name: str) -> None:
        if detail == "schema":
            self._rename("schemas", name, new_name)
            return
        space = {"sequence": "sequences", "type": "types", "domain": "types"}.get(detail or "")
        if space is not None:
            old = relation_key(name)
            self._rename(space, old, relation_key(in_schema_of(old, new_name)))

    def _set_schema(self, op: Operation) -> None:
        detail = op.detail or ""
        name = op.relation or op.name
        if not name or not op.new_name:
            return
        space = (
            "sequences" if detail == "sequence" else "types" if detail in ("type", "domain")
            else "tables" if op.relation else None
        )
        if space is not None:
            old = relation_key(name)
            self._rename(space, old, relation_key(f"{op.new_name}.{bare_name(old)}"))

    def result(self) -> Renames:
        def flat(space: str) -> dict[str, str]:
            return {first: now for now, first in self.origin[space].items() if first != now}

        def nested(space: str) -> dict[str, dict[str, str]]:
            found: dict[str, dict[str, str]] = {}
            for owner, origin in self.nested[space].items():
                names = {first: now for now, first in origin.items() if first != now}
                if names:
                    found[owner] = names
            return found

        return Renames(
            schemas=flat("schemas"), tables=flat("tables"), columns=nested("columns"),
            constraints=nested("constraints"), indexes=flat("indexes"), sequences=flat("sequences"),
            types=flat("types"), enum_values=nested("enum_values"),
        )
