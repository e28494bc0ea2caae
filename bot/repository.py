"""What the bot reads of a managed repository through GitHub: the policy of the default branch,
the migrations folder at a commit, what a pull request changes in it, and the environments.

The policy file is always read from the default branch, never from a pull request: a pull request
that edits `schemawarden.toml` (or comes from a fork) is judged by the policy it would change.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.environment_matrix import EnvironmentTarget
from bot.github import ChangedFile, GitHub
from bot.judge import ChangeKind, HeadFolder, Target, migration_tag, sort_changes
from bot.settings import CONFIG_FILE, ServiceSettings, environment_configs
from policies.errors import ConfigurationError, MigrationSetError
from policies.policy_file import Policy, load_policy
from reconciler.migrations import JOURNAL, Layout, MigrationSet, load_migration_files

WORKFLOWS = ".github/workflows/"


def read_policy(github: GitHub, repo: str, branch: str) -> Policy:
    """`schemawarden.toml` of `branch` (the default branch), or the defaults when it has none.

    Raises ConfigurationError naming the file and what is wrong in it.
    """
    data = github.file(repo, branch, CONFIG_FILE)
    if data is None:
        return Policy.defaults()
    where = f"{CONFIG_FILE} on {branch}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{where}: not UTF-8 text; re-save it as UTF-8") from None
    return load_policy(text, where)


def migration_files(github: GitHub, repo: str, ref: str, policy: Policy) -> dict[str, bytes]:
    """The journal and SQL files of the policy's migrations folder at `ref` (relative path ->
    bytes; drizzle-kit's snapshots are left out: the judgement replays the SQL)."""
    return github.folder_files(repo, ref, policy.migrations.folder.strip("/"), include=_wanted)


def migration_set(files: dict[str, bytes], source: str, policy: Policy) -> MigrationSet:
    """The migration set of a folder's files, in the layout the policy names (MigrationSetError)."""
    layout = None if policy.migrations.format == "auto" else Layout(policy.migrations.format)
    return load_migration_files(files, source, layout)


def change_kinds(files: Iterable[ChangedFile]) -> list[tuple[ChangeKind, str]]:
    """A pull request's changed files as git's kinds of change (a rename: the old path deleted, the
    new one added)."""
    kinds: list[tuple[ChangeKind, str]] = []
    for f in files:
        if f.status == "unchanged":
            continue
        if f.status == "renamed" and f.previous_path:
            kinds += [("D", f.previous_path), ("A", f.path)]
        else:
            kinds.append(({"added": "A", "copied": "A", "removed": "D"}.get(f.status, "M"), f.path))
    return kinds


def touches_schema(paths: Iterable[str], policy: Policy) -> bool:
    """Whether a path is a schema source (the policy's globs) or in the migrations folder."""
    folder = policy.migrations.folder.strip("/") + "/"
    return any(
        path.startswith(folder) or any(fnmatch.fnmatch(path, glob) for glob in policy.migrations.schema_globs)
        for path in paths
    )


@dataclass(frozen=True)
class PullRequestMigrations:
    """A pull request's change to the migrations folder, ready for `bot.judge.judge_change`."""

    added: tuple[Target, ...]
    edited: tuple[tuple[str, str], ...]
    head: HeadFolder

    @property
    def tags(self) -> tuple[str, ...]:
        """The migrations it adds, in journal order (the unlisted SQL files are not migrations)."""
        added = {t.path for t in self.added}
        return tuple(m.tag for m in self.head.migrations.migrations if self.head.shown(m.path) in added)


def pull_request_migrations(
    changes: Sequence[tuple[ChangeKind, str]], head_files: dict[str, bytes], head: MigrationSet, policy: Policy
) -> PullRequestMigrations:
    """What `changes` add and edit in the policy's migrations folder, the added files' text taken
    from the head's files. Raises MigrationSetError for an added file that is not UTF-8."""
    folder = policy.migrations.folder.strip("/")
    added_paths, edited = sort_changes(changes, [folder])
    added: list[Target] = []
    for path in added_paths:
        data = head_files.get(path[len(folder) + 1 :])
        if data is None:
            continue  # not in the head commit after all (added, then removed by a later change)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationSetError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})", "Re-save it as UTF-8") from None
        added.append(Target(path, text, migration_tag(path)))
    return PullRequestMigrations(tuple(added), tuple(edited), HeadFolder(folder, head))


def environment_targets(
    settings: ServiceSettings, repo: str, policy: Policy, source: str, *, reading: bool
) -> list[EnvironmentTarget]:
    """The environments the service serves for `repo`, with the settings the policy gives them
    and the URL to use: the read-only role's when `reading` and it is set, else the owner's."""
    served = settings.environments_of(repo) or ()
    urls = {env.name.lower(): (env.url.get_secret_value() if env.url else "") for env in served}
    configs = environment_configs(policy.environments, source, urls)
    by_name = {name.lower(): config for name, config in configs.items()}
    return [
        EnvironmentTarget(by_name[env.name.lower()], env.reading_url if reading else env.url)
        for env in served
    ]


def _wanted(relative: str) -> bool:
    return relative.endswith(".sql") or relative == JOURNAL
