"""Writing a revert migration into a Drizzle migrations folder, in the folder's own layout.

`revert --to TAG --write` adds ONE new forward migration that brings the schema back to its state
at TAG, so a team rolls back the GitOps way: by a pull request that drizzle-orm's migrator (or
schemawarden) applies like any other migration. The SQL comes from the caller (computed and proven
against the head schema elsewhere); this module writes it where drizzle-kit would, together with
the snapshot drizzle-kit needs to keep generating from the reverted schema file:

* 0.x (journal) layout: `<NNNN>_revert_to_<TAG>.sql`, `meta/<NNNN>_snapshot.json` (the snapshot of
  TAG with a new `id` and `prevId` = the latest snapshot's id: drizzle-kit 0.x diffs the schema
  file against the snapshot whose file name sorts last) and a journal entry whose `when` is later
  than every other (drizzle-orm 0.x applies only entries newer than the newest applied one).
* 1.x layout: `<YYYYMMDDHHMMSS>_revert_to_<TAG>/migration.sql` and `snapshot.json`: in format 9
  (drizzle-kit 1.0.0-rc.5) a `diff` snapshot whose deltas take the head state (replayed from the
  base, as drizzle-kit does) to the state at TAG; in format 8 (the betas to rc.4) TAG's whole DDL;
  see `snapshot_chain`.

Existing migrations are never touched: the new files are written first, each to a temporary name
then renamed, and the journal last (same way), so a failure leaves the folder as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policies.errors import MigrationSetError
from reconciler.migrations.sets import (
    JOURNAL,
    Layout,
    Migration,
    MigrationSet,
    load_migration_set,
    read_snapshot,
    snapshot_path,
)
from reconciler.migrations.snapshot_chain import read_chain, revert_snapshot

BREAKPOINT = "--> statement-breakpoint\n"
"""What drizzle-kit writes between two statements (after the `;`, before the next statement)."""
EMPTY_META: dict[str, dict[str, str]] = {"columns": {}, "schemas": {}, "tables": {}}
"""The `_meta` drizzle-kit 0.x writes into every generated snapshot (writeResult's default)."""
TEMP_SUFFIX = ".schemawarden-tmp"
_TIMESTAMP = "%Y%m%d%H%M%S"


@dataclass(frozen=True)
class WrittenMigration:
    """What `write_revert_migration` added to the folder.

    `tag` is the journal tag (0.x) or the folder name (1.x); `when` (ms) is what drizzle-orm will
    store as `created_at`; paths are relative to the migrations folder, in the order written (the
    journal last). `notes` say what a reviewer should know (a clock behind the journal, say).
    """

    layout: Layout
    tag: str
    when: int
    sql_path: str
    snapshot_path: str
    journal_path: str | None
    snapshot_id: str
    parent_snapshot_ids: tuple[str, ...]
    notes: tuple[str, ...] = ()


def revert_name(to_tag: str) -> str:
    """The name part of a revert migration's tag (DESIGN's table): `revert_to_<TAG>`."""
    return f"revert_to_{to_tag}"


def migration_sql(statements: Sequence[str]) -> str:
    """The file text drizzle-kit would write for these statements.

    Each statement ends with `;` and is followed directly by `--> statement-breakpoint` and a
    newline (drizzle-kit joins its statements with that line); the file has no final newline.
    drizzle-orm's migrator splits on the breakpoint and runs each chunk as one query.
    """
    chunks = []
    for statement in statements:
        text = statement.strip()
        if text:
            chunks.append(text if text.endswith(";") else f"{text};")
    return BREAKPOINT.join(chunks)


def write_revert_migration(
    folder: Path,
    migration_set: MigrationSet,
    to_tag: str,
    statements: Sequence[str],
    *,
    now_ms: int | None = None,
) -> WrittenMigration:
    """Add one migration to `folder` that takes the schema back to its state at `to_tag`.

    `migration_set` is the set the statements were computed from (it must still be what the folder
    holds); `statements` are SQL statements, applied in order; `now_ms` is the current time in
    milliseconds since the epoch (default: the clock), from which the new tag and `when` are
    made, always later than every existing migration.

    Raises MigrationSetError (exit code 2) when `to_tag` is not a migration of the folder or is its
    latest, when there are no statements, when the folder has no drizzle-kit snapshots (or none for
    `to_tag`), when it changed since it was read, when the new tag or files exist already, or when
    drizzle-kit could not read its snapshot chain either. Nothing is written then.
    """
    target = migration_set.by_tag(to_tag)
    if target is None:
        known = ", ".join(m.tag for m in migration_set.migrations[-5:])
        raise MigrationSetError(
            migration_set.source,
            f"{to_tag!r} is not a migration of this folder (the latest are: {known})",
            "Pass the tag of the migration whose schema to return to, as its journal or folder names it",
        )
    if target is migration_set.migrations[-1]:
        raise MigrationSetError(
            migration_set.source,
            f"{to_tag} is the latest migration: there is nothing after it to revert",
            "Pass the tag of an earlier migration",
        )
    sql = migration_sql(statements)
    if not sql:
        raise MigrationSetError(
            migration_set.source,
            f"no statements to write: the schema at {to_tag} equals the schema at the head",
            "Nothing needs reverting; no migration was written",
        )
    _assert_unchanged(folder, migration_set)
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if migration_set.layout is Layout.DRIZZLE_0:
        return _write_journal_layout(folder, migration_set, target, sql, now)
    return _write_folder_layout(folder, migration_set, target, sql, now)


def _assert_unchanged(folder: Path, migration_set: MigrationSet) -> None:
    on_disk = load_migration_set(folder, migration_set.layout)
    if [(m.tag, m.hash) for m in on_disk.migrations] != [(m.tag, m.hash) for m in migration_set.migrations]:
        raise MigrationSetError(
            str(folder),
            "the migrations folder changed since the revert was computed",
            "Compute the revert again on the folder as it is now",
        )


# ---------------------------------------------------------------------------------------------
# drizzle-kit 0.x: journal, <tag>.sql, meta/<prefix>_snapshot.json


def _write_journal_layout(
    folder: Path, migration_set: MigrationSet, target: Migration, sql: str, now: int
) -> WrittenMigration:
    journal_file = folder / JOURNAL
    journal_text = journal_file.read_text(encoding="utf-8")
    journal: dict[str, Any] = json.loads(journal_text)
    last = journal["entries"][-1]
    notes: list[str] = []
    prefix = _next_prefix(str(last["tag"]), int(last["idx"]), now, journal_file)
    tag = f"{prefix}_{revert_name(target.tag)}"

    newest = max(m.when for m in migration_set.migrations)
    when = max(now, newest + 1)
    if when != now:
        notes.append(
            f"the clock ({now} ms) is not later than the newest journal entry ({newest} ms): `when` is set to "
            f"{when} so that drizzle-orm's migrator, which applies only entries newer than the newest applied "
            "one, applies it"
        )

    snapshots = _journal_snapshots(folder)
    if not snapshots:
        raise MigrationSetError(
            str(folder / "meta"),
            "the folder has no drizzle-kit snapshots (meta/NNNN_snapshot.json)",
            "drizzle-kit diffs the schema file against the latest snapshot, so a migration without one "
            "would make its next `generate` wrong; restore the snapshots from git, or apply the revert SQL "
            "(`schemawarden revert --to TAG` without --write) as a custom migration",
        )
    at_target = snapshot_path(folder, target)
    if at_target is None:
        raise MigrationSetError(
            str(folder / "meta" / f"{target.tag.split('_', 1)[0]}_snapshot.json"),
            f"{target.tag} has no snapshot, so the schema at it is unknown to drizzle-kit",
            "Restore the snapshot from git, or revert to a migration that has one",
        )
    latest = snapshots[-1]
    latest_id = str(read_snapshot(latest)["id"])
    if any(read_snapshot(path).get("prevId") == latest_id for path in snapshots):
        raise MigrationSetError(
            str(latest),
            f"another snapshot already names the latest snapshot ({latest_id}) as its parent",
            "drizzle-kit refuses such a folder too (a collision): resolve it with drizzle-kit first",
        )

    snapshot: dict[str, Any] = read_snapshot(at_target)
    snapshot_id = str(uuid.uuid4())
    snapshot["id"] = snapshot_id
    snapshot["prevId"] = latest_id
    snapshot["_meta"] = json.loads(json.dumps(EMPTY_META))
    snapshot_rel = f"meta/{prefix}_snapshot.json"
    if Path(snapshot_rel).name < latest.name:
        notes.append(
            f"drizzle-kit 0.x takes the snapshot whose file name sorts last as the latest ({latest.name}, "
            f"not {Path(snapshot_rel).name}): its next `generate` will diff against the wrong snapshot, as it "
            "would for any migration numbered past 9999"
        )

    sql_rel = f"{tag}.sql"
    for relative in (sql_rel, snapshot_rel):
        _refuse_existing(folder / relative)
    if any(entry.get("tag") == tag for entry in journal["entries"]):
        raise MigrationSetError(str(journal_file), f"the journal already has an entry {tag!r}", "Nothing was written")

    journal["entries"].append(
        {
            "idx": int(last["idx"]) + 1,
            "version": last.get("version", journal.get("version")),
            "when": when,
            "tag": tag,
            "breakpoints": True,
        }
    )
    placed: list[Path] = []
    try:
        _place(folder / sql_rel, sql.encode("utf-8"), placed)
        _place(folder / snapshot_rel, _js_json(snapshot).encode("utf-8"), placed)
        _replace(journal_file, _like(journal_text, journal).encode("utf-8"))
    except OSError as exc:
        for path in placed:
            path.unlink(missing_ok=True)
        raise MigrationSetError(
            str(folder), f"could not write the revert migration: {exc}", "Nothing was changed; fix the cause and retry"
        ) from None
    return WrittenMigration(
        layout=Layout.DRIZZLE_0,
        tag=tag,
        when=when,
        sql_path=sql_rel,
        snapshot_path=snapshot_rel,
        journal_path=JOURNAL,
        snapshot_id=snapshot_id,
        parent_snapshot_ids=(latest_id,),
        notes=tuple(notes),
    )


def _next_prefix(last_tag: str, last_idx: int, now: int, journal_file: Path) -> str:
    """The prefix drizzle-kit would give the next migration, following the folder's own scheme.

    drizzle-kit's `prepareMigrationMetadata` (src/utils/words.ts, 0.31): `index` = the next idx
    padded to 4 digits (`10000` after `9999`), `timestamp`/`supabase` = UTC YYYYMMDDHHMMSS, `unix` =
    seconds. A time-based prefix is made later than the last one even when the clock is behind.
    """
    prefix = last_tag.split("_", 1)[0]
    if prefix.isdigit() and len(prefix) == 14:
        last_ms = int(datetime.strptime(prefix, _TIMESTAMP).replace(tzinfo=UTC).timestamp()) * 1000
        return _utc_stamp(max(now, last_ms + 1000))
    if prefix.isdigit() and len(prefix) == 10:
        return str(max(now // 1000, int(prefix) + 1))
    if prefix.isdigit():
        return str(last_idx + 1).rjust(4, "0")
    raise MigrationSetError(
        str(journal_file),
        f"cannot tell how this folder numbers its migrations from the tag {last_tag!r}",
        "drizzle-kit prefixes tags with a number (0001_), a timestamp or unix seconds; name the revert "
        "migration by hand with `drizzle-kit generate --custom` and paste the SQL",
    )


def _journal_snapshots(folder: Path) -> list[Path]:
    """meta/ files drizzle-kit 0.x reads as snapshots (not starting with `_`), sorted as it sorts them."""
    meta = folder / "meta"
    if not meta.is_dir():
        return []
    return sorted((p for p in meta.iterdir() if p.is_file() and not p.name.startswith("_")), key=lambda p: p.name)


# ---------------------------------------------------------------------------------------------
# drizzle-kit 1.x: <YYYYMMDDHHMMSS>_name/{migration.sql,snapshot.json}


def _write_folder_layout(
    folder: Path, migration_set: MigrationSet, target: Migration, sql: str, now: int
) -> WrittenMigration:
    target_snapshot = folder / target.tag / "snapshot.json"
    if not target_snapshot.is_file() and any(folder.glob("*/snapshot.json")):
        raise MigrationSetError(
            str(target_snapshot),
            f"{target.tag} has no snapshot, so the schema at it is unknown to drizzle-kit",
            "Restore the snapshot from git, or revert to a migration that has one",
        )
    chain = read_chain(folder)
    snapshot_id = str(uuid.uuid4())
    snapshot = revert_snapshot(chain, read_snapshot(target_snapshot)["id"], snapshot_id)
    newest = max([m.when for m in migration_set.migrations] + [_folder_ms(s.folder) for s in chain.snapshots])
    when = max(now, newest + 1000) // 1000 * 1000
    notes = []
    if now < newest + 1000:
        notes.append(
            f"the clock is not a second past the newest migration folder: the folder is stamped "
            f"{_utc_stamp(when)} so that it sorts after every other"
        )
    name = f"{_utc_stamp(when)}_{revert_name(target.tag)}"
    final = folder / name
    _refuse_existing(final)
    try:
        building = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=folder.parent))
    except OSError as exc:
        raise MigrationSetError(str(folder.parent), f"cannot create a temporary folder: {exc}", "Nothing was written") from None
    try:
        _place(building / "migration.sql", sql.encode("utf-8"), [])
        _place(building / "snapshot.json", _js_json(snapshot).encode("utf-8"), [])
        _refuse_existing(final)
        os.rename(building, final)
    except OSError as exc:
        raise MigrationSetError(
            str(final), f"could not write the revert migration: {exc}", "Nothing was changed; fix the cause and retry"
        ) from None
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return WrittenMigration(
        layout=Layout.DRIZZLE_1,
        tag=name,
        when=when,
        sql_path=f"{name}/migration.sql",
        snapshot_path=f"{name}/snapshot.json",
        journal_path=None,
        snapshot_id=snapshot_id,
        parent_snapshot_ids=tuple(snapshot["prevIds"]),
        notes=tuple(notes),
    )


def _folder_ms(name: str) -> int:
    match = re.match(r"^(\d{14})", name)
    if not match:
        return 0
    return int(datetime.strptime(match.group(1), _TIMESTAMP).replace(tzinfo=UTC).timestamp()) * 1000


# ---------------------------------------------------------------------------------------------
# Files


def _utc_stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime(_TIMESTAMP)


def _js_json(value: Any) -> str:
    """`JSON.stringify(value, null, 2)`: two-space indent, non-ASCII as is, no final newline."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _like(original: str, value: Any) -> str:
    """`value` as JSON in the indentation and final newline of `original` (a journal someone's
    formatter rewrote keeps its look, so the pull request shows only the new entry)."""
    match = re.search(r"\n([ \t]+)\S", original)
    indent = match.group(1) if match else "  "
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return text + "\n" if original.endswith("\n") else text


def _refuse_existing(path: Path) -> None:
    if path.exists():
        raise MigrationSetError(
            str(path),
            "exists already; an existing migration is never overwritten",
            "Remove the earlier revert migration if it was never merged, or revert to another tag",
        )


def _place(path: Path, data: bytes, placed: list[Path]) -> None:
    """Write a new file under a temporary name, flush it to disk, then rename it into place."""
    _replace(path, data)
    placed.append(path)


def _replace(path: Path, data: bytes) -> None:
    temp = path.with_name(f"_{path.name}{TEMP_SUFFIX}")  # `_`: neither drizzle-kit nor the loader reads it
    try:
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
