"""Helpers shared by tests: small Drizzle migration folders in the exact shapes drizzle-kit writes,
and views of the analysis to compare two ways of reaching one result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies import analysis
from policies.context import Context
from policies.operations import OperationKind
from policies.parsing import ParsedStatement
from policies.rules import Rule
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


def run_every_rule_on_every_migration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch off the analysis's skipping of rules by operation kind (`Rule.needs`), for comparison."""
    enabled = analysis._enabled

    def ungated(context: Context, change_set: bool, kinds: frozenset[OperationKind] | None = None) -> tuple[Rule, ...]:
        return enabled(context, change_set)

    monkeypatch.setattr(analysis, "_enabled", ungated)


def outline(parsed: list[ParsedStatement]) -> list[tuple[object, ...]]:
    """What the analysis reads of parsed statements (node locations aside: they count from the text parsed)."""
    return [(p.statement, p.shape, p.error, p.in_do_block, outline(list(p.inner))) for p in parsed]
