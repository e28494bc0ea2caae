"""Small Drizzle migration folders written by tests, in the exact shapes drizzle-kit writes."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.migrations import SAMPLE_PROJECT, MigrationSet, load_migration_set

SAMPLE = SAMPLE_PROJECT
SAMPLE_MIGRATIONS = SAMPLE / "migrations"
BASE_WHEN = 1_795_000_000_000


def write_journal_folder(
    folder: Path, migrations: list[tuple[str, str]], whens: list[int] | None = None
) -> Path:
    """A drizzle-kit 0.x folder: `<tag>.sql` files and meta/_journal.json, in the given order."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta").mkdir(exist_ok=True)
    entries = []
    for idx, (tag, sql) in enumerate(migrations):
        (folder / f"{tag}.sql").write_bytes(sql.encode("utf-8"))
        when = whens[idx] if whens else BASE_WHEN + idx * 1000
        entries.append({"idx": idx, "version": "7", "when": when, "tag": tag, "breakpoints": True})
    journal = {"version": "7", "dialect": "postgresql", "entries": entries}
    (folder / "meta" / "_journal.json").write_text(json.dumps(journal, indent=2))
    return folder


def journal_set(
    folder: Path, migrations: list[tuple[str, str]], whens: list[int] | None = None
) -> MigrationSet:
    return load_migration_set(write_journal_folder(folder, migrations, whens))
