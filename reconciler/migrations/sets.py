"""Migration sets: a Drizzle migrations folder read exactly as drizzle-orm's migrator reads it.

Two layouts are read, never converted:

* drizzle-kit 0.x: `meta/_journal.json` lists `entries[] {idx, version, when, tag, breakpoints}`
  in apply order; the SQL of an entry is `<tag>.sql`.
* drizzle-kit 1.x: one folder per migration, `<YYYYMMDDHHMMSS>_name/migration.sql`, no journal;
  order is the folder name, `when` is the folder's timestamp read as UTC.

The hash is sha-256 of the file's bytes, as drizzle-orm computes it. Where drizzle would
silently skip or mis-order something (a SQL file missing from the journal, say), loading fails
with an error that names the file and the fix, so nothing is applied from a folder in doubt.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from policies.errors import MigrationSetError
from policies.statements import Statement, split_chunks, split_statements

SAMPLE_PROJECT = Path(__file__).resolve().parent.parent / "sample"  # the bundled drizzle-kit sample (demo, tests)
JOURNAL = "meta/_journal.json"
KNOWN_JOURNAL_VERSIONS = frozenset({"5", "6", "7"})
POSTGRES_DIALECTS = frozenset({"postgresql", "pg"})
V1_FOLDER = re.compile(r"^(\d{14})_[^/]+$")


class Layout(StrEnum):
    """How drizzle-kit wrote the folder."""

    DRIZZLE_0 = "drizzle-0"
    DRIZZLE_1 = "drizzle-1"


@dataclass(frozen=True)
class Migration:
    """One migration: a journal entry (0.x) or a migration folder (1.x), with its SQL."""

    idx: int
    tag: str
    when: int
    path: str
    sql: bytes
    layout: Layout
    breakpoints: bool = True

    @cached_property
    def hash(self) -> str:
        """sha-256 hex of the whole file, exactly what drizzle-orm stores in `hash`."""
        return hashlib.sha256(self.sql).hexdigest()

    @cached_property
    def text(self) -> str:
        return self.sql.decode("utf-8")

    @property
    def name(self) -> str | None:
        """What drizzle-orm 1.x stores in the history's `name` column (0.x stores nothing)."""
        return self.tag if self.layout is Layout.DRIZZLE_1 else None

    @cached_property
    def chunks(self) -> list[str]:
        """The queries drizzle-orm's migrator would send, one per breakpoint chunk."""
        return split_chunks(self.text)

    @cached_property
    def statements(self) -> list[Statement]:
        """Single statements with their file lines, for analysis and step-wise apply."""
        return split_statements(self.text)


@dataclass(frozen=True)
class MigrationSet:
    """The ordered migrations of one folder (one git ref)."""

    source: str
    layout: Layout
    migrations: tuple[Migration, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = ()  # things a person should know that do not stop an apply
    unlisted: tuple[str, ...] = ()
    """SQL files of a journal folder that no journal entry names (relative paths): never applied."""

    def by_tag(self, tag: str) -> Migration | None:
        return next((m for m in self.migrations if m.tag == tag), None)

    def by_hash(self, digest: str) -> Migration | None:
        return next((m for m in self.migrations if m.hash == digest), None)


def load_migration_set(folder: Path, layout: Layout | None = None) -> MigrationSet:
    """Read a migrations folder from disk."""
    if not folder.is_dir():
        raise MigrationSetError(
            str(folder),
            "migrations folder not found",
            "Pass the folder drizzle-kit writes to (its `out` setting) with --migrations, "
            "or set [migrations] folder in schemawarden.toml",
        )
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and _is_migration_file(relative):
            files[relative] = path.read_bytes()
    return load_migration_files(files, source=str(folder), layout=layout)


def load_migration_files(
    files: Mapping[str, bytes], source: str, layout: Layout | None = None
) -> MigrationSet:
    """Read a migrations folder given as relative POSIX path -> bytes (e.g. fetched from GitHub).

    Only the journal and SQL files matter; other entries (snapshots) are ignored.
    """
    relevant = {path: data for path, data in files.items() if _is_migration_file(path)}
    detected = _detect_layout(relevant, source)
    if layout is not None and layout is not detected:
        raise MigrationSetError(
            source,
            f"the folder is in {detected.value} layout but {layout.value} was configured",
            'Fix [migrations] format in schemawarden.toml, or set it to "auto"',
        )
    unlisted: tuple[str, ...] = ()
    if detected is Layout.DRIZZLE_0:
        migrations = _load_journal_layout(relevant, source)
        unlisted = _stray_files(relevant, migrations)
    else:
        migrations = _load_folder_layout(relevant, source)
    return MigrationSet(
        source=source, layout=detected, migrations=tuple(migrations),
        warnings=tuple(unlisted_warning(source, path) for path in unlisted), unlisted=unlisted,
    )


def snapshot_path(folder: Path, migration: Migration) -> Path | None:
    """drizzle-kit's snapshot of the schema after `migration`, if the folder has it.

    Kit 0.x writes `meta/<prefix>_snapshot.json`, the prefix being the tag's part before its first
    `_` (`0005` of `0005_cute_terror`, or a timestamp for timestamp-style tags); kit 1.x writes
    `<folder of the migration>/snapshot.json`.
    """
    if migration.layout is Layout.DRIZZLE_0:
        candidate = folder / "meta" / f"{migration.tag.split('_', 1)[0]}_snapshot.json"
    else:
        candidate = folder / migration.tag / "snapshot.json"
    return candidate if candidate.is_file() else None


def read_snapshot(path: Path) -> dict[str, Any]:
    """A drizzle-kit snapshot file parsed (an object with an `id`), or MigrationSetError naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MigrationSetError(str(path), f"cannot read the snapshot: {exc}", "Restore it from git") from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise MigrationSetError(str(path), "not a drizzle-kit snapshot (no id)", "Restore it from git")
    return data


def _is_migration_file(relative: str) -> bool:
    if relative == JOURNAL:
        return True
    parts = relative.split("/")
    if len(parts) == 1:
        return relative.endswith(".sql")
    return len(parts) == 2 and parts[1] == "migration.sql"


def _detect_layout(files: Mapping[str, bytes], source: str) -> Layout:
    if JOURNAL in files:
        return Layout.DRIZZLE_0
    if any("/" in path for path in files):
        return Layout.DRIZZLE_1
    if files:
        raise MigrationSetError(
            f"{source}/{JOURNAL}",
            "SQL files found but no drizzle journal",
            "Restore meta/_journal.json from git, or regenerate the folder with `drizzle-kit generate`",
        )
    raise MigrationSetError(
        source,
        "no migrations found (neither meta/_journal.json nor <timestamp>_name/migration.sql)",
        "Point --migrations at the folder drizzle-kit generates into",
    )


def _decode(path: str, data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MigrationSetError(
            f"{source}/{path}",
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            "Re-save the file as UTF-8; drizzle-orm would apply a mangled text",
            line=line,
        ) from None


def _load_journal_layout(files: Mapping[str, bytes], source: str) -> list[Migration]:
    journal_path = f"{source}/{JOURNAL}"
    journal_text = _decode(JOURNAL, files[JOURNAL], source)
    try:
        journal = json.loads(journal_text)
    except json.JSONDecodeError as exc:
        raise MigrationSetError(
            journal_path,
            f"malformed JSON: {exc.msg} (column {exc.colno})",
            "Fix the JSON (a merge conflict left in it?) or restore it from git",
            line=exc.lineno,
        ) from None
    entries = _journal_entries(journal, journal_path)

    migrations: list[Migration] = []
    seen_tags: set[str] = set()
    seen_idx: set[int] = set()
    for position, entry in enumerate(entries):
        idx, when, tag, breakpoints = _journal_entry_fields(entry, position, journal_path)
        if tag in seen_tags:
            raise MigrationSetError(
                journal_path,
                f"duplicate tag {tag!r} in entries[{position}]",
                "Remove the duplicated entry (a bad merge of two branches?) and "
                "regenerate the later migration",
            )
        if idx in seen_idx:
            raise MigrationSetError(
                journal_path,
                f"duplicate idx {idx} in entries[{position}] (tag {tag!r})",
                "Two branches generated migrations with the same number: regenerate one of them "
                "on top of the other with `drizzle-kit generate`",
            )
        seen_tags.add(tag)
        seen_idx.add(idx)
        sql_path = f"{tag}.sql"
        if sql_path not in files:
            raise MigrationSetError(
                f"{source}/{sql_path}",
                f"journal entry {tag!r} (entries[{position}] of {JOURNAL}) has no SQL file",
                "Restore the file from git, or remove the entry from the journal",
            )
        _decode(sql_path, files[sql_path], source)
        migrations.append(
            Migration(
                idx=idx,
                tag=tag,
                when=when,
                path=sql_path,
                sql=files[sql_path],
                layout=Layout.DRIZZLE_0,
                breakpoints=breakpoints,
            )
        )

    return migrations


def _stray_files(files: Mapping[str, bytes], migrations: list[Migration]) -> tuple[str, ...]:
    """SQL files of a journal folder that no journal entry names (relative paths, sorted).

    drizzle-orm never applies them and says nothing. They are reported, not refused: real
    projects ship such files (dokploy's 0130_abandoned_dagger.sql), and refusing the folder
    would block every deploy over a file that has never run anywhere.
    """
    known = {m.path for m in migrations}
    return tuple(sorted(p for p in files if p != JOURNAL and p.endswith(".sql") and p not in known))


def unlisted_warning(source: str, path: str) -> str:
    """What to say of a SQL file the journal does not list (in plan, apply, status and check)."""
    return (
        f"{source}/{path}: SQL file is not in {JOURNAL}, so neither drizzle-orm nor schemawarden will "
        "ever apply it. Create migrations with `drizzle-kit generate` (or `--custom` for hand-written "
        "SQL), or move files that are not migrations out of the folder"
    )


def _journal_entries(journal: object, journal_path: str) -> list[object]:
    if not isinstance(journal, dict) or not isinstance(journal.get("entries"), list):
        raise MigrationSetError(
            journal_path,
            'not a drizzle journal (expected an object with an "entries" list)',
            "Restore meta/_journal.json from git or regenerate it with drizzle-kit",
        )
    version = journal.get("version")
    if str(version) not in KNOWN_JOURNAL_VERSIONS:
        raise MigrationSetError(
            journal_path,
            f"unknown journal version {version!r} (known: {', '.join(sorted(KNOWN_JOURNAL_VERSIONS))})",
            "Upgrade schemawarden, or run `drizzle-kit up` to bring the folder to a known version",
        )
    dialect = journal.get("dialect")
    if dialect not in POSTGRES_DIALECTS:
        raise MigrationSetError(
            journal_path,
            f"dialect {dialect!r} is not PostgreSQL",
            "schemawarden manages PostgreSQL migrations only; point it at a postgresql drizzle folder",
        )
    entries: list[object] = journal["entries"]
    return entries


def _journal_entry_fields(entry: object, position: int, journal_path: str) -> tuple[int, int, str, bool]:
    def bad(what: str) -> MigrationSetError:
        return MigrationSetError(
            journal_path,
            f"entries[{position}] {what}",
            "Each entry needs idx (integer), when (integer ms), tag (string) and breakpoints "
            "(boolean); restore the journal from git or regenerate it",
        )

    if not isinstance(entry, dict):
        raise bad("is not an object")
    idx, when, tag = entry.get("idx"), entry.get("when"), entry.get("tag")
    breakpoints = entry.get("breakpoints", True)
    if not isinstance(idx, int) or isinstance(idx, bool):
        raise bad(f"has a bad idx {idx!r}")
    if not isinstance(when, int) or isinstance(when, bool):
        raise bad(f"has a bad when {when!r}")
    if not isinstance(tag, str) or not tag or "/" in tag:
        raise bad(f"has a bad tag {tag!r}")
    if not isinstance(breakpoints, bool):
        raise bad(f"has a bad breakpoints {breakpoints!r}")
    return idx, when, tag, breakpoints


def _load_folder_layout(files: Mapping[str, bytes], source: str) -> list[Migration]:
    stray = sorted(p for p in files if "/" not in p)
    if stray:
        raise MigrationSetError(
            f"{source}/{stray[0]}",
            "SQL file outside a migration folder; drizzle-orm 1.x reads only <timestamp>_name/migration.sql",
            "Move it into its own migration folder (`drizzle-kit generate --custom`) or out of the folder",
        )
    migrations: list[Migration] = []
    for idx, path in enumerate(sorted(files, key=_locale_order)):
        folder = path.split("/")[0]
        match = V1_FOLDER.match(folder)
        if not match:
            raise MigrationSetError(
                f"{source}/{path}",
                f"folder name {folder!r} does not start with a 14-digit timestamp",
                "Name migration folders as drizzle-kit does: YYYYMMDDHHMMSS_name",
            )
        _decode(path, files[path], source)
        migrations.append(
            Migration(
                idx=idx,
                tag=folder,
                when=_folder_millis(match.group(1), f"{source}/{path}"),
                path=path,
                sql=files[path],
                layout=Layout.DRIZZLE_1,
            )
        )
    return migrations


def _locale_order(name: str) -> tuple[tuple[tuple[int, str], ...], str]:
    """Folder order as drizzle-orm 1.x's `localeCompare` gives it (ICU root collation, ASCII names).

    Punctuation sorts before digits, digits before letters, letters case-insensitively, and on
    a tie lowercase first. drizzle's order depends on the machine's locale; this is the default
    one, and it only matters for folders created in the same second.
    """

    def char_class(char: str) -> int:
        return 2 if char.isalpha() else 1 if char.isdigit() else 0

    return tuple((char_class(c), c.casefold()) for c in name), name.swapcase()


def _folder_millis(stamp: str, path: str) -> int:
    """The folder's timestamp as UTC milliseconds, as drizzle-orm 1.x computes `created_at`."""
    try:
        moment = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise MigrationSetError(
            path,
            f"folder timestamp {stamp} is not a valid date and time",
            "Rename the folder with a real YYYYMMDDHHMMSS timestamp",
        ) from None
    return int(moment.timestamp()) * 1000
