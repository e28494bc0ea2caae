"""Judging what a branch adds to its migrations: the core that `check --base` and the PR bot share.

Both hand in plain data: the changed paths with git's kind of change, the text of each added
migration, the head's migration sets and the files of the base's migrations folder. `check
--base` gathers them from local git and the working tree, the bot from the GitHub API (the
pull request's changed files, the folder at the head and at the base). The judgement is then one
and the same: the added migrations in journal order, as one deploy on the schema the base's
migrations leave; an edited or deleted migration that the base had is SW690; an added SQL file
that the journal does not list is SW610.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from bot.commands import without_cycle_collection
from policies.analysis import analyze_migration_texts, replay_schema
from policies.context import Context, ScratchFailure
from policies.errors import MigrationSetError
from policies.policy_file import Policy
from policies.report import FileReport
from policies.schema.model import Schema
from reconciler.migrations import MigrationSet, load_migration_files

ChangeKind = str
"""git's letter for a change of a path: `A` added, `M` modified, `D` deleted (others count as `M`)."""


@dataclass(frozen=True)
class Target:
    """One SQL file to judge: its path as shown to the user, its text and its journal tag."""

    path: str
    text: str
    migration: str | None = None


@dataclass(frozen=True)
class HeadFolder:
    """A drizzle migrations folder at the head: its path as shown (relative, POSIX) and its set."""

    path: str
    migrations: MigrationSet

    def shown(self, relative: str) -> str:
        """The path of a file of the folder as the user sees it."""
        return (PurePosixPath(self.path) / relative).as_posix()


def context_of(
    policy: Policy,
    pg_version: int,
    changed: Sequence[str],
    migration_changes: Mapping[str, str] | None = None,
    scratch_failures: Mapping[str, ScratchFailure] | None = None,
) -> Context:
    """The analysis context a policy gives, for a change of paths `changed`, with what a proof in
    scratch databases found refused (`scratch_failures`, path -> failure: SW611)."""
    return Context(
        pg_version=pg_version,
        rules=policy.severity_overrides(),
        changed_files=tuple(changed),
        schema_globs=policy.migrations.schema_globs,
        migrations_dir=policy.migrations.folder,
        migration_changes=dict(migration_changes or {}),
        applied_by=policy.applier(),
        scratch_failures=dict(scratch_failures or {}),
    )


def sort_changes(
    changes: Iterable[tuple[ChangeKind, str]], scopes: Sequence[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """The SQL files added within `scopes` (paths, in path order) and those edited there, as (path,
    `modified` or `deleted`): the base had them, so an environment may already have applied them."""
    scope_paths = [PurePosixPath(s) for s in scopes]
    added: list[str] = []
    edited: list[tuple[str, str]] = []
    for kind, name in sorted(changes, key=lambda c: c[1]):
        path = PurePosixPath(name)
        if path.suffix != ".sql" or not any(_within(path, scope) for scope in scope_paths):
            continue
        if kind == "A":
            added.append(path.as_posix())
        else:
            edited.append((path.as_posix(), "deleted" if kind == "D" else "modified"))
    return added, edited


def migration_tag(path: str) -> str:
    """The drizzle tag of a migration file: its stem (kit 0.x) or the folder of `migration.sql` (kit 1.x)."""
    posix = PurePosixPath(path)
    return posix.parent.name if posix.name == "migration.sql" else posix.stem


def base_schema_from(files: Mapping[str, bytes], source: str, pg_version: int) -> Schema:
    """The schema a base's migrations folder (relative path -> bytes) leaves: its migrations replayed
    from an empty database; an empty, complete schema when the base has no such folder, and an
    unknown one when the base folder cannot be read as drizzle reads it (judged without it)."""
    if not files:
        return Schema(complete=True)
    try:
        migrations = load_migration_files(files, source)
    except MigrationSetError:
        return Schema()
    return replay_schema([m.text for m in migrations.migrations], pg_version)


def judge_change(
    added: Sequence[Target],
    changed: Sequence[str],
    edited: Sequence[tuple[str, str]],
    folders: Sequence[HeadFolder],
    before: Schema | None,
    policy: Policy,
    pg_version: int,
    scratch_failures: Mapping[str, ScratchFailure] | None = None,
) -> list[FileReport]:
    """What a branch adds, judged as one deploy on `before`, plus its edited migrations.

    `added`: the SQL files it adds (of any folder in scope); `changed`: every path it changes (the
    rules about the change as a whole read them); `edited`: (path, `modified` | `deleted`) of
    migrations the base had; `folders`: the drizzle folders in scope at the head, whose journal
    orders the added migrations and names the unlisted SQL files. Added migrations come first in
    journal order, folder by folder, then the other added files as given. `scratch_failures`: what
    a proof found PostgreSQL refuses (SW611).
    """
    added_paths = {t.path for t in added}
    unlisted: list[str] = []
    ordered: list[Target] = []
    for folder in folders:
        unlisted += [folder.shown(p) for p in folder.migrations.unlisted if folder.shown(p) in added_paths]
        ordered += [
            Target(folder.shown(m.path), m.text, m.tag)
            for m in folder.migrations.migrations
            if folder.shown(m.path) in added_paths
        ]
    in_folders = {t.path for t in ordered} | set(unlisted)
    ordered += [t for t in added if t.path not in in_folders]
    migration_changes = {t.path: "added" for t in ordered} | dict.fromkeys(unlisted, "added") | dict(edited)
    context = replace(
        context_of(policy, pg_version, changed, migration_changes, scratch_failures), unlisted_files=tuple(unlisted)
    )
    with without_cycle_collection():
        reports = analyze_migration_texts([(t.path, t.text, t.migration) for t in ordered], context, before)
    # A report about an edited migration (SW690) names the migration's tag, as a judged one does.
    edited_paths = dict(edited)
    return [
        replace(r, migration=migration_tag(r.path)) if r.migration is None and r.path in edited_paths else r
        for r in reports
    ]


def _within(path: PurePosixPath, scope: PurePosixPath) -> bool:
    return path == scope or scope in path.parents or scope == PurePosixPath(".")
