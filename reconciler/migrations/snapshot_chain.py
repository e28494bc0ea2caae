"""drizzle-kit 1.x snapshot chains: the schema state at a migration, and the deltas between two states.

drizzle-kit 1.0.0-rc.5 (snapshot format "9") stores the whole DDL only in the folder's first
migration (`"type": "base"`, a `ddl` list of rows); every later `snapshot.json` is a `"diff"` whose
`deltas` (`create` a row, `drop`/`alter`/`rename` the row named by a key) move the state of its
first parent (`prevIds[0]`) to its own. `drizzle-kit generate` rebuilds the state of the folder's one
leaf by replaying those deltas from the base (`src/dialects/postgres/reconstruct.ts`, `folder.ts`),
refuses a second base ("A folder must have one base snapshot, which is its first migration") and
diffs the schema file against the result. This module replays a chain the same way, so that a new
migration can carry the deltas from the head state to an earlier one.

A row is a JSON object with an `entityType` (`tables`, `columns`, `indexes`, ...) and the fields of
that type; its key is `<entityType>\\0<JSON list of its identity fields>`, as drizzle-kit writes it
(`src/dialects/postgres/ddl.ts`: `createDDL`, its `identity` and `edges`). A rename moves the rows
that name the renamed one (the columns of a renamed table, say) as drizzle-kit's `update` does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ORIGIN = "00000000-0000-0000-0000-000000000000"
"""The parent id of a folder's first snapshot."""

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
    """A chain that drizzle-kit could not replay either (the message says which row or snapshot)."""


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


# ---------------------------------------------------------------------------------------------
# Chains


@dataclass(frozen=True)
class ChainSnapshot:
    """One `snapshot.json` of a 1.x folder: the folder it sits in and its parsed JSON."""

    folder: str
    data: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def prev_ids(self) -> list[str]:
        return [str(p) for p in self.data.get("prevIds") or []]

    @property
    def is_base(self) -> bool:
        return self.data.get("type") == "base"


class SnapshotChain:
    """The snapshots of a 1.x folder, in drizzle-kit's reading order (snapshot paths sorted)."""

    def __init__(self, snapshots: Sequence[ChainSnapshot]) -> None:
        self.snapshots = list(snapshots)
        self.by_id = {s.id: s for s in self.snapshots}
        parents = {p for s in self.snapshots for p in s.prev_ids}
        self.leaf_ids = [s.id for s in self.snapshots if s.id not in parents][::-1]

    def state_at(self, snapshot_id: str) -> DdlState:
        """The state after the snapshot `snapshot_id`: its base's ddl, then the diffs up to it in order.

        Raises SnapshotChainError for a missing parent, a chain without a base, or a delta that
        cannot apply (drizzle-kit refuses the same folder).
        """
        diffs: list[ChainSnapshot] = []
        snapshot = self._lookup(snapshot_id)
        while not snapshot.is_base:
            diffs.append(snapshot)
            first = snapshot.prev_ids[0] if snapshot.prev_ids else ORIGIN
            if first == ORIGIN:
                raise SnapshotChainError(f"the history of {snapshot.folder} does not reach a base snapshot")
            snapshot = self._lookup(first)
        state = DdlState(snapshot.data.get("ddl") or [])
        for diff in reversed(diffs):
            if len(diff.prev_ids) > 1:
                self._apply_other_parents(state, diff.prev_ids)
            try:
                state.apply(diff.data.get("deltas") or [])
            except SnapshotChainError as exc:
                raise SnapshotChainError(f"{diff.folder}: {exc}") from None
        return state

    def _apply_other_parents(self, state: DdlState, prev_ids: Sequence[str]) -> None:
        """A merge: the diffs only the other parents' histories hold, in folder order."""
        first, *others = prev_ids
        rest = self._history(others, known=self._history([first]))
        for snapshot in self.snapshots:
            if snapshot.id in rest and not snapshot.is_base:
                state.apply(snapshot.data.get("deltas") or [])

    def _history(self, ids: Iterable[str], known: set[str] | None = None) -> set[str]:
        found: set[str] = set()
        stack = list(ids)
        known = known or set()
        while stack:
            current = stack.pop()
            if current == ORIGIN or current in found or current in known:
                continue
            found.add(current)
            stack.extend(self._lookup(current).prev_ids)
        return found

    def _lookup(self, snapshot_id: str) -> ChainSnapshot:
        snapshot = self.by_id.get(snapshot_id)
        if snapshot is None:
            raise SnapshotChainError(f"snapshot {snapshot_id} is not in the migrations folder")
        return snapshot


def deltas_between(start: DdlState, end: DdlState) -> list[dict[str, Any]]:
    """Deltas that turn `start` into `end`, in drizzle-kit's order: creates, drops, then alters.

    Rows are matched by key (a rename shows as a drop and a create, which replays to the same
    state); an alter names the fields that differ with their new values.
    """
    before, after = start.keyed(), end.keyed()
    creates = [{"op": "create", "row": copy.deepcopy(row)} for key, row in after.items() if key not in before]
    drops = [{"op": "drop", "key": key} for key in before if key not in after]
    alters = []
    for key, row in before.items():
        target = after.get(key)
        if target is None or target == row:
            continue
        changed = {field: copy.deepcopy(target[field]) for field in target if row.get(field) != target[field]}
        alters.append({"op": "alter", "key": key, "set": changed})
    return [*creates, *drops, *alters]


# Where a row lives, for footprints: the table of a column, index, constraint, policy or privilege;
# the object itself otherwise. (kind in drizzle-kit's footprint nodes, target word, fields)
_HOMES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "schemas": ("sch", "schema", ("name",)),
    "tables": ("tbl", "table", ("schema", "name")),
    "enums": ("enum", "enum", ("schema", "name")),
    "sequences": ("seq", "sequence", ("schema", "name")),
    "views": ("view", "view", ("schema", "name")),
    "roles": ("role", "role", ("name",)),
}


def footprints_of(deltas: Sequence[Mapping[str, Any]], start: DdlState) -> list[dict[str, Any]]:
    """One footprint per object the deltas touch, claiming the whole object (a table for its columns,
    indexes and constraints), so drizzle-kit's branch check finds every conflicting sibling.

    drizzle-kit 1.x compares footprints only between branches that fork from one parent
    (`detectBranchConflicts`): a node one branch writes that the other reads or writes is a conflict.
    A node is `<s|n|e>|<kind>|<dotted name>`; a statement on a column or index reads its table's
    `n|tbl` or `e|tbl` node, which the revert's footprint writes.
    """
    homes: dict[tuple[str, ...], None] = {}
    for delta in deltas:
        row = delta["row"] if delta.get("op") == "create" else start.find(str(delta["key"]))
        if row is not None:
            homes[_home_of(row)] = None
    footprints = []
    for home in homes:
        kind, word, *names = home
        dotted = ".".join(names)
        schema_reads = [f"n|sch|{names[0]}"] if len(names) > 1 else []
        footprints.append(
            {
                "statementType": "revert",
                "statementTarget": [word, *names],
                "writes": [f"s|{kind}|{dotted}", f"n|{kind}|{dotted}", f"e|{kind}|{dotted}"],
                "reads": schema_reads,
            }
        )
    return footprints


def _home_of(row: Mapping[str, Any]) -> tuple[str, ...]:
    entity_type = str(row["entityType"])
    if entity_type in _HOMES:
        kind, word, fields = _HOMES[entity_type]
        return (kind, word, *(str(row.get(f)) for f in fields))
    return ("tbl", "table", str(row.get("schema")), str(row.get("table")))
