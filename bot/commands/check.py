"""`schemawarden check`: judge SQL files or migration folders and print the verdict.

Locally and in CI it answers "what will this migration lock, rewrite or lose?". With
`--base`, it judges only what a branch adds, and flags edits to migrations that already
existed on the base: those have been applied somewhere and must not change.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from bot.commands import EXIT_OK, EXIT_PROBLEM, without_cycle_collection
from bot.judge import (
    HeadFolder,
    Target,
    base_schema_from,
    context_of,
    judge_change,
    migration_tag,
    sort_changes,
)
from bot.render import FORMATS, Format, render_bytes, summarize
from policies.analysis import analyze_folder, analyze_sql, check_change_set
from policies.context import ScratchFailure
from policies.errors import ConfigurationError, MigrationSetError
from policies.policy_file import Policy, load_policy
from policies.report import FileReport, Severity
from policies.schema.model import Schema
from policies.schema.snapshot import schema_from_snapshot
from policies.versions import is_supported, supported_range
from reconciler.migrations import (
    JOURNAL,
    Layout,
    MigrationSet,
    load_migration_files,
    load_migration_set,
    snapshot_path,
)

if TYPE_CHECKING:
    from bot.proving import ProofGroup

DEFAULT_CONFIG = "schemawarden.toml"
__all__ = ["Target", "judge", "judge_branch", "judge_paths", "register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="judge migrations: locks, rewrites, data loss, risk",
        description="Judge SQL files or Drizzle migration folders. Exit 1 when a finding at or above "
        "the failing severity remains, 2 on a usage or configuration error.",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="SQL files or migration folders (default: the policy's)"
    )
    parser.add_argument(
        "--base", metavar="GITREF", help="judge only migrations the working tree adds compared with GITREF"
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--pg-version", type=int, metavar="N", help=f"PostgreSQL major version ({supported_range()})")
    parser.add_argument(
        "--fail-on", choices=[s.value for s in Severity], help="failing severity (default: the policy's)"
    )
    parser.add_argument(
        "--config", metavar="FILE", help=f"policy file (default: ./{DEFAULT_CONFIG} if present)"
    )
    parser.add_argument(
        "--prove",
        action="store_true",
        help="also run each migration, its generated rollback and the migration again in a scratch database "
        "(SCHEMAWARDEN_SCRATCH_URL, else the embedded PostgreSQL): rollback SQL with its status, and the "
        "locks PostgreSQL really took",
    )
    parser.add_argument("--data-dir", type=Path, help="folder of the embedded PostgreSQL (with --prove)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Judge, print in the chosen format, and return 1 when the failing severity is reached."""
    policy = read_policy(args.config)
    pg_version = policy.pg_version if args.pg_version is None else args.pg_version
    if not is_supported(pg_version):
        raise ConfigurationError(f"--pg-version {pg_version} is not supported (allowed: {supported_range()})")
    fail_on = Severity(args.fail_on or policy.fail_on)
    # Judging and rendering a corpus allocates millions of acyclic objects: the collector stays off
    # until the reports are freed, so it never walks them (not even once when it is switched back on).
    with without_cycle_collection():
        output, failed = _judge_and_render(args, policy, pg_version, fail_on)
    sys.stdout.flush()
    sys.stdout.buffer.write(output)
    sys.stdout.buffer.flush()
    return EXIT_PROBLEM if failed else EXIT_OK


def _judge_and_render(
    args: argparse.Namespace, policy: Policy, pg_version: int, fail_on: Severity
) -> tuple[bytes, bool]:
    """The output in the chosen format, and whether the failing severity is reached."""
    scopes: list[str] = list(args.paths) or [policy.migrations.folder]

    def judged(version: int, failures: Mapping[str, ScratchFailure] | None = None) -> list[FileReport]:
        if args.base:
            return judge_branch(args.base, scopes, policy, version, failures)
        return judge_paths(scopes, policy, version, explicit=bool(args.paths), scratch_failures=failures)

    reports = _proven(args, scopes, policy, pg_version, judged) if args.prove else judged(pg_version)
    fmt: Format = args.format
    color = fmt == "text" and sys.stdout.isatty()
    output = render_bytes(fmt, reports, fail_on, color=color, docs_url=policy.docs_url)
    return output, summarize(reports, fail_on).failed


def _proven(
    args: argparse.Namespace,
    scopes: Sequence[str],
    policy: Policy,
    pg_version: int,
    judged: Callable[[int, Mapping[str, ScratchFailure] | None], list[FileReport]],
) -> list[FileReport]:
    """`check --prove`: the migrations proven in a scratch database, then judged knowing what
    PostgreSQL refused there (SW611), with each rollback and lock trace attached."""
    # the database side is loaded only for a proof: a plain `check` stays quick to start
    from bot.proving import (
        attach,
        environment_targets,
        open_scratch_server,
        progress_done,
        progress_on_stderr,
        prove_groups,
    )
    from bot.settings import load_settings

    groups = proof_groups(args.base, scopes, policy)
    settings = load_settings(Path(args.config) if args.config else None, data_dir=args.data_dir)
    targets = environment_targets(settings.environments.values())
    with open_scratch_server(settings.scratch_url, settings.data_dir, targets) as server:
        try:
            proven = prove_groups(server, groups, pg_version, progress_on_stderr)
        finally:
            progress_done()
    reports = judged(pg_version, proven.failures)
    server_version = proven.pg_major
    predicted = None
    if server_version is not None and server_version != pg_version and is_supported(server_version):
        predicted = judged(server_version, proven.failures)  # what the lock model says for that server
    return attach(reports, proven, predicted)


def proof_groups(base: str | None, scopes: Sequence[str], policy: Policy) -> list[ProofGroup]:
    """What `--prove` runs: each drizzle folder in scope, every migration on the ones before it, or
    with `base` the migrations the working tree adds, on the base commit's migration set. Loose SQL
    files are not proven (nothing says what schema they meet): a note on stderr says so."""
    from bot.proving import ProofGroup

    groups: list[ProofGroup] = []
    loose: list[str] = []
    added = {t.path for t in changed_migrations(base, scopes)[0]} if base else None
    for name in scopes:
        path = Path(name)
        folder = _drizzle_folder(path, policy.migrations.format) if path.is_dir() else None
        if folder is None:
            loose.append(name)
            continue
        shown = [(_display(path / m.path), m) for m in folder.migrations]
        if added is None:
            groups.append(ProofGroup((), tuple(shown)))
            continue
        files = _files_at(base or "", path)
        try:
            before = load_migration_files(files, f"{base}:{path.as_posix()}").migrations if files else ()
        except MigrationSetError as exc:
            raise ConfigurationError(
                f"--prove: the migrations folder at {base} cannot be replayed, so nothing can be proven on it: {exc}"
            ) from None
        new = tuple((p, m) for p, m in shown if p in added)
        if new:
            groups.append(ProofGroup(tuple(before), new))
    if loose:
        print(
            f"schemawarden: --prove: {', '.join(loose)}: not a drizzle migrations folder, so not proven "
            "(the schema these files meet is unknown); prove a folder, or a branch with --base",
            file=sys.stderr,
        )
    return groups


def read_policy(config: str | None) -> Policy:
    """The policy from `--config`, else ./schemawarden.toml, else the defaults."""
    path = Path(config) if config else Path(DEFAULT_CONFIG)
    if not path.is_file():
        if config:
            raise ConfigurationError(f"{config}: no such policy file")
        return Policy.defaults()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read the policy file: {exc}") from exc
    return load_policy(text, str(path))


def judge(
    targets: Sequence[Target],
    policy: Policy,
    pg_version: int,
    scratch_failures: Mapping[str, ScratchFailure] | None = None,
) -> list[FileReport]:
    """Each file on its own, against tables that already exist (loose files are not a history)."""
    context = context_of(policy, pg_version, (), scratch_failures=scratch_failures)
    with without_cycle_collection():
        return [analyze_sql(t.path, t.text, context, migration=t.migration) for t in targets]


def judge_paths(
    scopes: Sequence[str],
    policy: Policy,
    pg_version: int,
    explicit: bool = True,
    scratch_failures: Mapping[str, ScratchFailure] | None = None,
) -> list[FileReport]:
    """SQL files and migration folders as named: a drizzle folder's migrations in journal order,
    each against the schema the ones before it leave (and its unlisted SQL files as findings);
    loose SQL files and other folders' files each on their own."""
    reports: list[FileReport] = []
    loose: list[Target] = []
    for name in scopes:
        path = Path(name)
        folder = _drizzle_folder(path, policy.migrations.format) if path.is_dir() else None
        if folder is not None:
            if loose:
                reports += judge(loose, policy, pg_version, scratch_failures)
                loose = []
            reports += judge_folder(path, folder, policy, pg_version, scratch_failures)
        else:
            loose += _targets([name], explicit, policy.migrations.format)
    return reports + (judge(loose, policy, pg_version, scratch_failures) if loose else [])


def judge_folder(
    path: Path,
    migrations: MigrationSet,
    policy: Policy,
    pg_version: int,
    scratch_failures: Mapping[str, ScratchFailure] | None = None,
) -> list[FileReport]:
    """A drizzle folder as its history: every migration against the replay of those before it, with
    drizzle-kit's snapshots filling what the replay could not read; then its unlisted SQL files."""
    unlisted = tuple(_display(path / p) for p in migrations.unlisted)
    context = replace(context_of(policy, pg_version, (), scratch_failures=scratch_failures), unlisted_files=unlisted)
    files = [(_display(path / m.path), m.text, m.tag) for m in migrations.migrations]

    def snapshot(position: int) -> Schema | None:
        found = snapshot_path(path, migrations.migrations[position]) if 0 <= position < len(files) else None
        return _read_snapshot(found) if found is not None else None

    with without_cycle_collection():
        reports = analyze_folder(files, context, snapshots=snapshot)
        return reports + check_change_set(context)


def _read_snapshot(path: Path) -> Schema | None:
    """A drizzle-kit snapshot file as a schema; None (and no error) when it cannot be read: it only
    ever fills gaps."""
    try:
        return schema_from_snapshot(orjson.loads(path.read_bytes()))
    except (OSError, orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        return None


def _drizzle_folder(path: Path, layout: str) -> MigrationSet | None:
    """The migration set of a drizzle folder (journal, or `<timestamp>_name/migration.sql`), else None."""
    is_drizzle = (path / JOURNAL).is_file() or any(path.glob("*/migration.sql"))
    if not is_drizzle and layout == "auto":
        return None
    return load_migration_set(path, None if layout == "auto" else Layout(layout))


def judge_branch(
    base: str,
    scopes: Sequence[str],
    policy: Policy,
    pg_version: int,
    scratch_failures: Mapping[str, ScratchFailure] | None = None,
) -> list[FileReport]:
    """What the working tree adds over `base`, judged as one pull request, plus edited migrations
    (`bot.judge.judge_change`, given what local git and the working tree hold).

    Added migrations are judged in journal order as one deploy on the schema of the base's
    migration set (replayed from the base commit), with facts carried between them (a table the
    first creates is new in the second); the rules about the change as a whole see every changed
    path. An added SQL file that the journal does not list is a finding, not a migration.
    """
    targets, changed, edited = changed_migrations(base, scopes)
    for name in scopes:
        if not Path(name).exists():  # judging nothing would pass a branch that was never judged
            raise ConfigurationError(
                f"{name}: no such migrations folder here; pass the folder drizzle-kit writes to, "
                "or set [migrations] folder in schemawarden.toml"
            )
    before: Schema | None = None
    folders: list[HeadFolder] = []
    for name in scopes:
        path = Path(name)
        head = _drizzle_folder(path, policy.migrations.format) if path.is_dir() else None
        if head is None:
            continue
        folders.append(HeadFolder(_display(path), head))
        if before is None:
            before = base_schema(base, path, policy, pg_version)
    return judge_change(targets, changed, edited, folders, before, policy, pg_version, scratch_failures)


def base_schema(base: str, folder: Path, policy: Policy, pg_version: int) -> Schema:
    """The schema the base commit's migration set leaves: its migrations replayed from an empty
    database (an empty, complete schema when the base has no such folder)."""
    return base_schema_from(_files_at(base, folder), f"{base}:{folder.as_posix()}", pg_version)


def _files_at(base: str, folder: Path) -> dict[str, bytes]:
    """The files under `folder` at commit `base`, by path relative to the folder (two git calls)."""
    prefix = folder.as_posix().rstrip("/") + "/"
    listing = _git("ls-tree", "-r", "-z", "--name-only", base, "--", prefix, what=f"git ls-tree {base}")
    names = [n for n in listing.split("\0") if n.startswith(prefix) and (n.endswith(".sql") or n.endswith(JOURNAL))]
    if not names:
        return {}
    request = "".join(f"{base}:./{name}\n" for name in names).encode()
    try:
        done = subprocess.run(["git", "cat-file", "--batch"], input=request, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ConfigurationError(f"--base {base}: cannot read {folder} there ({exc})") from exc
    files: dict[str, bytes] = {}
    out, position = done.stdout, 0
    for name in names:
        header_end = out.index(b"\n", position)
        header = out[position:header_end].split()
        if len(header) < 3 or header[1] != b"blob":
            position = header_end + 1
            continue
        size = int(header[2])
        files[name[len(prefix):]] = out[header_end + 1 : header_end + 1 + size]
        position = header_end + 1 + size + 1
    return files


def _targets(paths: Iterable[str], explicit: bool, layout: str = "auto") -> list[Target]:
    """Every SQL file named or found in the named migration folders, folders in journal order."""
    targets: list[Target] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            targets.extend(migration_files(path, layout))
        elif path.is_file():
            targets.append(Target(_display(path), _read_sql(path)))
        elif explicit:
            raise ConfigurationError(f"{name}: no such file or folder")
        else:
            raise ConfigurationError(
                f"{name}: the migrations folder of the policy does not exist; "
                "pass SQL files or folders, or set [migrations] folder in schemawarden.toml"
            )
    return targets


def migration_files(folder: Path, layout: str = "auto") -> list[Target]:
    """The migrations of a folder in the order they apply.

    A drizzle folder (journal, or `<timestamp>_name/migration.sql`) is read by the reconciler's
    loader, exactly as it will be applied; any other folder of SQL files in name order.
    """
    is_drizzle = (folder / JOURNAL).is_file() or any(folder.glob("*/migration.sql"))
    if is_drizzle or layout != "auto":
        loaded = load_migration_set(folder, None if layout == "auto" else Layout(layout))
        return [Target(_display(folder / m.path), m.text, m.tag) for m in loaded.migrations]
    return [Target(_display(p), _read_sql(p)) for p in sql_files_under(folder)]


def sql_files_under(folder: Path) -> list[Path]:
    """Every `*.sql` file below `folder`, in path order, not following links to folders.

    What `sorted(p for p in folder.rglob("*.sql") if p.is_file())` gives, from `os.scandir`,
    whose entries know their type without a `stat` call each (a few thousand files are common).
    """
    found: list[tuple[tuple[str, ...], str]] = []
    pending: list[tuple[str, ...]] = [()]
    while pending:
        parts = pending.pop()
        with os.scandir(folder.joinpath(*parts)) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((*parts, entry.name))
                elif entry.name.endswith(".sql") and entry.is_file():
                    found.append((parts, entry.name))
    found.sort(key=lambda item: (*item[0], item[1]))
    return [folder.joinpath(*parts, name) for parts, name in found]


def changed_migrations(
    base: str, scopes: Sequence[str]
) -> tuple[list[Target], list[str], list[tuple[str, str]]]:
    """Against `base`: the migration files added (to judge), all changed paths, and edited ones.

    Edited means modified or deleted: the base had that migration, so an environment may
    already have applied it. Untracked files count as added, as they will be in the PR.
    """
    _git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", what=f"--base {base}: not a commit here")
    status = _git("diff", "--name-status", "--no-renames", "--relative", "-z", base, "--", what="git diff")
    untracked = _git("ls-files", "--others", "--exclude-standard", "-z", what="git ls-files")
    fields = status.split("\0")
    changes = [(fields[i][:1], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]
    changes += [("A", name) for name in untracked.split("\0") if name]
    added, edited = sort_changes(changes, scopes)
    targets = [Target(name, _read_sql(Path(name)), migration_tag(name)) for name in added]
    return targets, sorted({name for _, name in changes}), edited


def _git(*args: str, what: str) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise ConfigurationError("--base needs git, which is not installed") from exc
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise ConfigurationError(f"{what}" + (f" ({detail[0]})" if detail else ""))
    return done.stdout


def _display(path: Path) -> str:
    """Paths as the user and code scanning expect them: relative to here when possible, POSIX."""
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _read_sql(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc.strerror}") from exc
