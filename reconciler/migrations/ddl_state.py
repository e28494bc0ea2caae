"""drizzle-kit 1.x DDL state: rows by entity type and key, and the replay of snapshot deltas.

drizzle-kit 1.0 (`src/dialects/postgres/ddl.ts`, `createDDL`) describes a schema as rows: a JSON
object with an `entityType` (`tables`, `columns`, `indexes`, ...) and the fields of that type. A
row's key is `<entityType>\\0<JSON list of its identity fields>`, as drizzle-kit writes it in a
delta. Deltas (`create` a row, `drop`/`alter`/`rename` the row named by a key) are applied as its
`applyDeltas` does (`reconstruct.ts`): a rename also moves the rows that name the renamed one (the
columns of a renamed table, the index columns of a renamed column), following its `edges`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]

# Fields of each entity type, in drizzle-kit's order (a pushed row gets every field, missing ones
# null, then `entityType`), and the fields of its identity. From createDDL in ddl.ts, rc.5.
FIELDS: dict[str, tuple[str, ...]] = {
    "schemas": ("name",),
    "tables": ("schema", "name", "isRlsEnabled"),
    "enums": ("schema", "name", "values"),
    "columns": (
        "schema", "table", "name", "type", "typeSchema", "notNull", "dimensions", "default", "generated",
        "identity",
    ),
    "indexes": (
        "schema", "table", "name", "nameExplicit", "columns", "isUnique", "where", "with", "method",
        "concurrently",
    ),
    "fks": (
        "schema", "table", "name", "nameExplicit", "columns", "schemaTo", "tableTo", "columnsTo", "onUpdate",
        "onDelete",
    ),
    "pks": ("schema", "table", "name", "columns", "nameExplicit"),
    "uniques": ("schema", "table", "name", "nameExplicit", "columns", "nullsNotDistinct"),
    "checks": ("schema", "table", "name", "value"),
    "sequences": ("schema", "name", "incrementBy", "minValue", "maxValue", "startWith", "cacheSize", "cycle"),
    "roles": (
        "name", "superuser", "createDb", "createRole", "inherit", "canLogin", "replication", "bypassRls",
        "connLimit", "password", "validUntil",
    ),
    "privileges": ("grantor", "grantee", "schema", "table", "type", "isGrantable"),
    "policies": ("schema", "table", "name", "as", "for", "roles", "using", "withCheck"),
    "views": ("schema", "name", "definition", "with", "withNoData", "using", "tablespace", "materialized"),
}

IDENTITY: dict[str, tuple[str, ...]] = {
    "schemas": ("name",),
    "tables": ("schema", "name"),
    "enums": ("schema", "name"),
    "columns": ("schema", "table", "name"),
    "indexes": ("schema", "name"),
    "fks": ("schema", "table", "name"),
    "pks": ("schema", "table", "name"),
    "uniques": ("schema", "table", "name"),
    "checks": ("schema", "table", "name"),
    "sequences": ("schema", "name"),
    "roles": ("name",),
    "privileges": ("schema", "table", "grantor", "grantee", "type"),
    "policies": ("schema", "table", "name"),
    "views": ("schema", "name"),
}


@dataclass(frozen=True)
class Edge:
    """A row of one type names a row of `target`: `scalars` maps the target's fields to this row's,
    `list_field` (with `pick`, `skip_when`) holds the names of several targets (index columns)."""

    target: str
    scalars: tuple[tuple[str, str], ...]
    list_target_field: str | None = None
    list_field: str | None = None
    pick: str | None = None
    skip_when: str | None = None
    user_type_only: bool = False  # columns -> enums: only when typeSchema is set and not pg_catalog


def _table(target: str = "tables") -> Edge:
    return Edge(target, (("schema", "schema"), ("name", "table")))


def _columns(
    list_field: str, schema: str = "schema", table: str = "table", pick: str | None = None, skip_when: str | None = None
) -> Edge:
    return Edge("columns", (("schema", schema), ("table", table)), "name", list_field, pick, skip_when)


EDGES: dict[str, tuple[Edge, ...]] = {
    "tables": (Edge("schemas", (("name", "schema"),)),),
    "enums": (Edge("schemas", (("name", "schema"),)),),
    "sequences": (Edge("schemas", (("name", "schema"),)),),
    "views": (Edge("schemas", (("name", "schema"),)),),
    "checks": (_table(),),
    "policies": (_table(), Edge("roles", (), "name", "roles")),
    "privileges": (_table(), Edge("roles", (("name", "grantee"),)), Edge("roles", (("name", "grantor"),))),
    "columns": (
        _table(),
        Edge("enums", (("schema", "typeSchema"), ("name", "type")), user_type_only=True),
    ),
    "indexes": (_table(), _columns("columns", pick="value", skip_when="isExpression")),
    "pks": (_table(), _columns("columns")),
    "uniques": (_table(), _columns("columns")),
    "fks": (
        _table(),
        _columns("columns"),
        Edge("tables", (("schema", "schemaTo"), ("name", "tableTo"))),
        _columns("columnsTo", schema="schemaTo", table="tableTo"),
    ),
}


class SnapshotChainError(ValueError):
    """A state that drizzle-kit could not replay either (the message says which row or snapshot)."""


def identity_of(entity_type: str, row: Mapping[str, Any]) -> str:
    """The identity part of a row's key: JSON of its identity fields, as JavaScript writes it."""
    return _js_json([row.get(field) for field in IDENTITY[entity_type]])


def key_of(row: Mapping[str, Any]) -> str:
    """A row's key as drizzle-kit writes it in a delta: `<entityType>\\0<identity>`."""
    entity_type = str(row["entityType"])
    return f"{entity_type}\0{identity_of(entity_type, row)}"


def _js_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class DdlState:
    """Rows by entity type and identity, in drizzle-kit's order (types as in FIELDS, then insertion)."""

    def __init__(self, rows: Iterable[Mapping[str, Any]] = ()) -> None:
        self._store: dict[str, dict[str, Row]] = {entity_type: {} for entity_type in FIELDS}
        for row in rows:
            prepared = _prepare(row)
            bucket = self._store[prepared["entityType"]]
            identity = identity_of(prepared["entityType"], prepared)
            if identity in bucket:
                raise SnapshotChainError(
                    f"the snapshot lists two rows of {prepared['entityType']} with the key {identity}"
                )
            bucket[identity] = prepared

    def rows(self) -> list[Row]:
        """Every row, in the order drizzle-kit lists them (`ddl.entities.list()`)."""
        return [row for bucket in self._store.values() for row in bucket.values()]

    def find(self, key: str) -> Row | None:
        entity_type, _, identity = key.partition("\0")
        return self._store.get(entity_type, {}).get(identity)

    def keyed(self) -> dict[str, Row]:
        return {key_of(row): row for row in self.rows()}

    def copy(self) -> DdlState:
        twin = DdlState()
        twin._store = {t: {k: copy.deepcopy(r) for k, r in bucket.items()} for t, bucket in self._store.items()}
        return twin

    def apply(self, deltas: Sequence[Mapping[str, Any]]) -> None:
        """Apply a snapshot's deltas in order, as drizzle-kit's `applyDeltas` does."""
        for delta in deltas:
            op = delta.get("op")
            if op == "create":
                self._create(delta["row"])
            elif op == "drop":
                self._drop(str(delta["key"]))
            elif op in ("alter", "rename"):
                self._update(str(delta["key"]), delta.get("set") or {}, str(op))
            else:
                raise SnapshotChainError(f"unknown delta op {op!r}")

    def _create(self, raw: Mapping[str, Any]) -> None:
        row = _prepare(raw)
        bucket = self._store[row["entityType"]]
        identity = identity_of(row["entityType"], row)
        stored = bucket.get(identity)
        if stored is None:
            bucket[identity] = row
        elif any(stored[field] != raw.get(field) for field in stored if field != "entityType"):
            raise SnapshotChainError(
                f"the create delta adds {row['entityType']} {identity}, and another row with other values "
                "already has this key"
            )

    def _drop(self, key: str) -> None:
        entity_type, _, identity = key.partition("\0")
        self._store.get(entity_type, {}).pop(identity, None)

    def _update(self, key: str, changes: Mapping[str, Any], op: str) -> None:
        row = self.find(key)
        if row is None:
            return
        entity_type = row["entityType"]
        saved = {t: {k: dict(r) for k, r in bucket.items()} for t, bucket in self._store.items()}
        old_row = dict(row)
        old_identity = identity_of(entity_type, row)
        row.update({field: value for field, value in changes.items() if field in row})
        if identity_of(entity_type, row) == old_identity:
            return
        self._relocate_dependents(entity_type, old_identity, old_row, row)
        seen: set[str] = set()
        for row_now in self.rows():
            key_now = key_of(row_now)
            if key_now in seen:
                self._restore(saved)
                raise SnapshotChainError(
                    f"the {op} delta moves {entity_type} {old_identity} onto {key_now.partition(chr(0))[2]}, "
                    "which another row of that type already has"
                )
            seen.add(key_now)
        self._rekey()

    def _relocate_dependents(self, entity_type: str, old_identity: str, old_row: Row, new_row: Row) -> None:
        """Move the rows that name a renamed row, and theirs in turn (drizzle-kit's `update`)."""
        index = self._reverse_index()
        visited = {f"{entity_type}\0{old_identity}"}
        queue: list[tuple[str, str, Row, Row]] = [(entity_type, old_identity, old_row, new_row)]
        position = 0
        while position < len(queue):
            moved_type, moved_identity, before, after = queue[position]
            position += 1
            for dependent_type, dependent, edge in index.get(f"{moved_type}\0{moved_identity}", []):
                patch = _relocation(edge, dependent, before, after)
                if patch is None:
                    continue
                dependent_before = dict(dependent)
                identity_before = identity_of(dependent_type, dependent)
                dependent.update(patch)
                qualified = f"{dependent_type}\0{identity_before}"
                if identity_of(dependent_type, dependent) != identity_before and qualified not in visited:
                    visited.add(qualified)
                    queue.append((dependent_type, identity_before, dependent_before, dependent))

    def _reverse_index(self) -> dict[str, list[tuple[str, Row, Edge]]]:
        index: dict[str, list[tuple[str, Row, Edge]]] = {}
        for entity_type, bucket in self._store.items():
            for row in bucket.values():
                for edge in EDGES.get(entity_type, ()):
                    for target_identity in _edge_targets(edge, row):
                        index.setdefault(f"{edge.target}\0{target_identity}", []).append((entity_type, row, edge))
        return index

    def _rekey(self) -> None:
        rows = self.rows()
        for bucket in self._store.values():
            bucket.clear()
        for row in rows:
            self._store[row["entityType"]][identity_of(row["entityType"], row)] = row

    def _restore(self, saved: dict[str, dict[str, Row]]) -> None:
        self._store = saved


def _prepare(raw: Mapping[str, Any]) -> Row:
    entity_type = raw.get("entityType")
    if entity_type not in FIELDS:
        raise SnapshotChainError(
            f"unknown entity type {entity_type!r} (known: {', '.join(FIELDS)}); a newer drizzle-kit wrote it"
        )
    row: Row = {field: None for field in FIELDS[entity_type]}
    for field, value in raw.items():
        if field in row:
            row[field] = value
    row["entityType"] = entity_type
    return row


def _edge_targets(edge: Edge, row: Row) -> list[str]:
    if edge.user_type_only and not (row.get("typeSchema") and row.get("typeSchema") != "pg_catalog"):
        return []
    target = {target_field: row.get(source) for target_field, source in edge.scalars}
    if edge.list_field is None or edge.list_target_field is None:
        return [identity_of(edge.target, target)]
    elements = row.get(edge.list_field)
    if not isinstance(elements, list):
        return []
    identities = []
    for element in elements:
        if edge.skip_when and isinstance(element, dict) and element.get(edge.skip_when):
            continue
        name = element.get(edge.pick) if edge.pick and isinstance(element, dict) else element
        if isinstance(name, str):
            identities.append(identity_of(edge.target, {**target, edge.list_target_field: name}))
    return identities


def _relocation(edge: Edge, row: Row, before: Row, after: Row) -> dict[str, Any] | None:
    """The fields of `row` to change when the row it names moves from `before` to `after`."""
    if edge.user_type_only and not (row.get("typeSchema") and row.get("typeSchema") != "pg_catalog"):
        return None
    if any(row.get(source) != before.get(target_field) for target_field, source in edge.scalars):
        return None
    patch = {source: after.get(target_field) for target_field, source in edge.scalars}
    if edge.list_field is None or edge.list_target_field is None:
        return patch
    elements = row.get(edge.list_field)
    if not isinstance(elements, list):
        return None
    changed = False
    moved = []
    for element in elements:
        skip = edge.skip_when and isinstance(element, dict) and element.get(edge.skip_when)
        name = element.get(edge.pick) if edge.pick and isinstance(element, dict) else element
        if skip or name != before.get(edge.list_target_field):
            moved.append(element)
            continue
        changed = True
        new_name = after.get(edge.list_target_field)
        moved.append({**element, edge.pick: new_name} if edge.pick and isinstance(element, dict) else new_name)
    if not changed:
        return None
    patch[edge.list_field] = moved
    return patch
