"""What the catalog queries' rows share: the model's key of a name, the key of each relation by OID,
comments by object, column names by attnum. OIDs stop here: they never reach the model."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from policies.schema import ObjectKey, relation_key

Row = tuple[Any, ...]
"""A row of a catalog query, its columns in the order the query selects them (unpacked by name at
the head of each loop: tuples are the cheapest rows to build, and a large schema has tens of
thousands)."""


def key(schema: str, name: str) -> str:
    """The model's key of an object named `name` in `schema` (`relation_key`: `public.` dropped)."""
    return relation_key(f"{schema}.{name}")


def collation(schema: str | None, name: str | None) -> str | None:
    """A collation's name as the model keeps it: bare for PostgreSQL's own (`C`, `und-x-icu`),
    keyed otherwise (`myschema.mine`)."""
    if name is None:
        return None
    return name if schema == "pg_catalog" else key(str(schema), name)


class Names:
    """The key of each relation by OID: those in scope (tables, views, sequences, indexes) from their
    own rows, those outside it (`add`) from one more query."""

    def __init__(self, relations: Iterable[Row], indexes: Iterable[Row]) -> None:
        self.keys: dict[int, str] = {row[0]: key(row[1], row[2]) for row in relations}  # oid, schema, name
        self.keys.update((row[0], key(row[2], row[3])) for row in indexes)  # index oid, table oid, schema, name

    def missing(self, oids: Iterable[int]) -> list[int]:
        return sorted({oid for oid in oids if oid and oid not in self.keys})

    def add(self, rows: Iterable[Row]) -> None:
        self.keys.update((oid, key(schema, name)) for oid, schema, name in rows)

    def __getitem__(self, oid: int) -> str:
        return self.keys[oid]

    def get(self, oid: int | None) -> str | None:
        return self.keys[oid] if oid else None


def scope(relations: Iterable[Row]) -> dict[str, str]:
    """The OIDs in scope, by what the later queries read (`relations`: tables, views, materialized
    views; `tables`: tables and partitioned tables; `indexed`: those that have indexes; `sequences`),
    each as an `oid[]` literal (`{16390,16402}`: for thousands of OIDs, much cheaper to send than a
    list the driver adapts element by element)."""
    kinds = {"relations": "rpvm", "tables": "rp", "indexed": "rpm", "sequences": "S"}
    return {
        scope: "{" + ",".join([str(row[0]) for row in relations if row[3] in relkinds]) + "}"
        for scope, relkinds in kinds.items()
    }


def referenced(
    relations: Iterable[Row], columns: Iterable[Row], constraints: Iterable[Row], indexes: Iterable[Row],
    sequences: Iterable[Row],
) -> Iterator[int]:  # fmt: skip
    """The OIDs of the relations rows name that may lie outside the scope: the table a foreign key
    references, the sequence a default draws from, the relations a view reads, a partition's parent
    table and its index's parent index (the parent may be in a schema left out), the table owning a
    sequence (an extension's, say)."""
    for *_, referenced_table, _columns, _index, _definition, _inherited in constraints:
        yield referenced_table
    for *_, sequence, _not_null_name in columns:
        yield sequence
    for row in relations:
        _oid, _schema, _name, _kind, _unlogged, _rls, _forced, _options, _toast, parent, *_, depends_on, _acl, _owner = row
        yield parent
        yield from depends_on or ()
    for *_, parent in indexes:
        yield parent
    for *_, owner, _owner_column in sequences:
        yield owner


class Comments:
    """Comments by (catalog, OID, column number; 0 for the object itself)."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.texts = {(catalog, oid, column): text for catalog, oid, column, text in rows}
        self.found: dict[ObjectKey, str] = {}

    def note(self, kind: str, name: str, catalog: str, oid: int, column: int = 0) -> None:
        """Record the comment of object `oid` of `catalog`, if it has one, as (kind, name)."""
        text = self.texts.get((catalog, oid, column))
        if text is not None:
            self.found[(kind, name)] = text


class Attributes:
    """The column names of each relation by `attnum` (relation OID -> attnum -> name), to name the
    columns of keys, indexes and partition keys without a catalog lookup per row."""

    def __init__(self) -> None:
        self.names: dict[int, dict[int, str]] = {}

    def named(self, relation: int, attnums: Iterable[int]) -> tuple[str, ...]:
        """The columns `attnums` name, `(expression)` for 0 (an expression of an index or key)."""
        names = self.names.get(relation, {})
        return tuple([names.get(attnum, "(expression)") for attnum in attnums])
