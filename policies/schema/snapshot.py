"""drizzle-kit's snapshots as schema models: what the SQL replay could not read.

drizzle-kit writes, beside each migration, a snapshot of the schema after it: `meta/<idx>_snapshot.json`
in kit 0.x (`tables` keyed by `schema.name`, each with `columns`; `enums` with `values`), and
`<folder>/snapshot.json` in kit 1.x (a flat `ddl` list of entities: `tables`, `columns`, `enums`,
`pks`, ...). The replay of the SQL is the source of truth, since it is what runs; a snapshot only
fills in tables, columns and enums the replay does not know (`fill_from`). Only the parts the
judgement uses are read; a snapshot of an unknown shape gives an empty schema, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.operations import ConstraintKind
from policies.schema.model import Column, Constraint, Schema, Table, relation_key


def schema_from_snapshot(snapshot: Mapping[str, Any]) -> Schema:
    """The tables (columns with types and nullability, primary keys) and enums of a drizzle-kit
    snapshot, 0.x or 1.x, as an incomplete schema (a snapshot says nothing of what SQL did by hand)."""
    if isinstance(snapshot.get("ddl"), list):
        return _from_ddl(snapshot["ddl"])
    tables: dict[str, Table] = {}
    for entry in (snapshot.get("tables") or {}).values():
        if not isinstance(entry, Mapping) or not entry.get("name"):
            continue
        key = _key(entry.get("schema"), str(entry["name"]))
        columns: dict[str, Column] = {}
        primary: list[str] = []
        for column in (entry.get("columns") or {}).values():
            if isinstance(column, Mapping) and column.get("name"):
                name = str(column["name"])
                columns[name] = Column(name, str(column.get("type", "")), not_null=bool(column.get("notNull")))
                if column.get("primaryKey"):
                    primary.append(name)
        table = Table(key, columns=columns)
        if primary:
            table = table.with_constraint(Constraint(f"{key}_pkey", ConstraintKind.PRIMARY_KEY, tuple(primary)))
        tables[key] = table
    enums = {
        _key(e.get("schema"), str(e["name"])): tuple(str(v) for v in e.get("values") or ())
        for e in (snapshot.get("enums") or {}).values()
        if isinstance(e, Mapping) and e.get("name")
    }
    return Schema(tables=tables, enums=enums)


def _from_ddl(entities: list[Any]) -> Schema:
    tables: dict[str, Table] = {}
    enums: dict[str, tuple[str, ...]] = {}
    for entity in entities:
        if not isinstance(entity, Mapping):
            continue
        kind = entity.get("entityType")
        if kind == "tables" and entity.get("name"):
            key = _key(entity.get("schema"), str(entity["name"]))
            tables.setdefault(key, Table(key, columns={}))
        elif kind == "columns" and entity.get("table") and entity.get("name"):
            key = _key(entity.get("schema"), str(entity["table"]))
            table = tables.setdefault(key, Table(key, columns={}))
            type_name = str(entity.get("type", ""))
            if entity.get("typeSchema") and entity["typeSchema"] != "public":
                type_name = f"{entity['typeSchema']}.{type_name}"
            type_name += "[]" * int(entity.get("dimensions") or 0)
            column = Column(str(entity["name"]), type_name, not_null=bool(entity.get("notNull")))
            tables[key] = table.with_column(column)
        elif kind == "enums" and entity.get("name"):
            enums[_key(entity.get("schema"), str(entity["name"]))] = tuple(str(v) for v in entity.get("values") or ())
    return Schema(tables=tables, enums=enums)


def _key(schema: Any, name: str) -> str:
    return relation_key(f"{schema}.{name}" if schema else name)


def fill_from(replayed: Schema, snapshot: Schema) -> Schema:
    """`replayed` with what only the snapshot knows: tables and enums it lacks, and the columns of
    its tables that a statement it could not read may have added. What the replay knows stands."""
    tables = dict(replayed.tables)
    changed = False
    for key, table in snapshot.tables.items():
        mine = tables.get(key)
        if mine is None:
            tables[key] = table._replace(complete=False)
            changed = True
        elif not mine.complete:
            missing = {n: c for n, c in table.columns.items() if n not in mine.columns}
            if missing:
                tables[key] = mine._replace(columns={**mine.columns, **missing})
                changed = True
    enums = {**snapshot.enums, **replayed.enums}
    if not changed and len(enums) == len(replayed.enums):
        return replayed
    return replayed._replace(tables=tables, enums=enums, complete=False)
