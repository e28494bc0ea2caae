"""drizzle-kit 1.x snapshot chains: the schema state at a migration, and a snapshot that goes back.

drizzle-kit 1.0.0-rc.5 (snapshot format "9") stores the whole DDL only in the folder's first
migration (`"type": "base"`, a `ddl` list of rows); every later `snapshot.json` is a `"diff"` whose
`deltas` move the state of its first parent (`prevIds[0]`) to its own. `drizzle-kit generate`
rebuilds the state of the folder's one leaf by replaying those deltas from the base
(`src/dialects/postgres/reconstruct.ts`, `folder.ts`), refuses a second base ("A folder must have
one base snapshot, which is its first migration") and diffs the schema file against the result.
Earlier 1.0 releases (the betas, rc.1 to rc.4: format "8") store the whole DDL in every snapshot and
diff against the snapshot whose path sorts last. `revert_snapshot` writes either.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.errors import MigrationSetError
from reconciler.migrations.ddl_state import DdlState, SnapshotChainError
from reconciler.migrations.sets import read_snapshot

ORIGIN = "00000000-0000-0000-0000-000000000000"
"""The parent id of a folder's first snapshot."""
DIFF_FORMAT = "9"  # drizzle-kit 1.0.0-rc.5: a base snapshot, then diffs
WHOLE_FORMAT = "8"  # drizzle-kit 1.0 betas to rc.4: the whole ddl in every snapshot


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
    """The snapshots of a 1.x folder, in drizzle-kit's reading order (snapshot paths sorted), all of
    one `format` ("8" or "9")."""

    def __init__(self, snapshots: Sequence[ChainSnapshot], format: str = DIFF_FORMAT, source: str = "") -> None:
        self.format = format
        self.source = source
        self.snapshots = list(snapshots)
        self.by_id = {s.id: s for s in self.snapshots}
        parents = {p for s in self.snapshots for p in s.prev_ids}
        self.leaf_ids = [s.id for s in self.snapshots if s.id not in parents][::-1]

    def state_at(self, snapshot_id: str) -> DdlState:
        """The state after the snapshot `snapshot_id`: its base's ddl, then the diffs up to it in order
        (format 8: its own ddl).

        Raises SnapshotChainError for a missing parent, a chain without a base, or a delta that
        cannot apply (drizzle-kit refuses the same folder).
        """
        diffs: list[ChainSnapshot] = []
        snapshot = self._lookup(snapshot_id)
        if self.format == WHOLE_FORMAT:
            return DdlState(snapshot.data.get("ddl") or [])
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


def read_chain(folder: Path) -> SnapshotChain:
    """Every `<sub>/snapshot.json` of a 1.x folder, sorted by path as drizzle-kit's `prepareOutFolder`
    sorts them, checked as drizzle-kit checks them before it reads the state of the head.

    Raises MigrationSetError (naming the file and the drizzle-kit command that fixes it) for a folder
    without snapshots, snapshots of another or mixed formats, not one base (format 9), or more than one
    leaf (branches not yet joined).
    """
    paths = sorted((p / "snapshot.json" for p in folder.iterdir() if (p / "snapshot.json").is_file()), key=str)
    if not paths:
        raise MigrationSetError(
            str(folder),
            "the folder has no drizzle-kit snapshots (<migration>/snapshot.json)",
            "drizzle-kit diffs the schema file against the snapshots, so a migration without one would make "
            "its next `generate` wrong; restore them from git, or apply the revert SQL "
            "(`schemawarden revert --to TAG` without --write) as a custom migration",
        )
    snapshots = [ChainSnapshot(folder=path.parent.name, data=read_snapshot(path)) for path in paths]
    formats = [(s.data.get("version"), s.data.get("dialect")) for s in snapshots]
    if len(set(formats)) != 1 or formats[0] not in {(DIFF_FORMAT, "postgres"), (WHOLE_FORMAT, "postgres")}:
        odd = next((p for p, f in zip(paths, formats, strict=True) if f != formats[0]), paths[0])
        raise MigrationSetError(
            str(odd),
            f"snapshot formats {sorted({str(f) for f in formats})}: schemawarden writes drizzle-kit 1.0's PostgreSQL "
            f"formats {WHOLE_FORMAT!r} (betas to rc.4) and {DIFF_FORMAT!r} (rc.5), one per folder",
            "Run `drizzle-kit up` with the drizzle-kit the project uses, then retry",
        )
    chain = SnapshotChain(snapshots, str(formats[0][0]), str(folder))
    bases = [s.folder for s in snapshots if s.is_base]
    if chain.format == DIFF_FORMAT and len(bases) != 1:
        raise MigrationSetError(
            str(folder),
            f"the folder has {len(bases)} base snapshots ({', '.join(bases) or 'none'}); drizzle-kit needs exactly "
            "one, in the first migration",
            "Restore the migration folders from git",
        )
    if len(chain.leaf_ids) != 1:
        folders = ", ".join(chain.by_id[i].folder for i in chain.leaf_ids)
        raise MigrationSetError(
            str(folder),
            f"the snapshots end in {len(chain.leaf_ids)} branches ({folders}), so there is no single head to revert from",
            "Join the branches first (the next `drizzle-kit generate` does), then revert",
        )
    return chain


def revert_snapshot(chain: SnapshotChain, target_id: str, snapshot_id: str) -> dict[str, Any]:
    """The `snapshot.json` of a new migration after the chain's leaf whose state is the state at
    `target_id`, as drizzle-kit would write it after generating that schema.

    Format 9: a `diff` whose deltas take the head state to the target's (both replayed as drizzle-kit
    replays them) with footprints for its branch check. Format 8: the target's whole ddl.
    Raises MigrationSetError when the chain cannot be replayed (drizzle-kit refuses it too).
    """
    (leaf_id,) = chain.leaf_ids
    if chain.format == WHOLE_FORMAT:
        ddl = copy.deepcopy(list(chain.by_id[target_id].data.get("ddl") or []))
        return {
            "version": WHOLE_FORMAT, "dialect": "postgres", "id": snapshot_id, "prevIds": [leaf_id], "ddl": ddl,
            "renames": [],
        }
    try:
        head, at_target = chain.state_at(leaf_id), chain.state_at(target_id)
    except SnapshotChainError as exc:
        raise MigrationSetError(
            chain.source,
            f"drizzle-kit cannot replay this folder's snapshots: {exc}",
            "Restore the migration folders from git (drizzle-kit generate refuses this folder too)",
        ) from None
    deltas = deltas_between(head, at_target)
    return {
        "type": "diff",
        "version": DIFF_FORMAT,
        "dialect": "postgres",
        "id": snapshot_id,
        "prevIds": [leaf_id],
        "footprints": footprints_of(deltas, head),
        "deltas": deltas,
    }
