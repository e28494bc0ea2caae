"""What the bot asks of GitHub, in the bot's words, and the one way to get it (`connect`).

`GitHub` is the interface the jobs use; `bot.github.client.PyGitHubClient` implements it on
PyGithub (GitHub App or token authentication, retries that honour GitHub's rate-limit headers,
creates that are never duplicated by a retry, folder reads in a bounded number of calls).
Repositories are named `"owner/name"`; shas are full 40-character commit ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.render.sticky import STICKY_MARKER

from .config import ApiUsage, GitHubConfig, UsageSnapshot
from .errors import (
    GitHubAuthenticationFailed,
    GitHubError,
    GitHubNotFound,
    GitHubPermissionDenied,
    GitHubRateLimited,
    GitHubRejected,
    GitHubUnavailable,
)

MARKER = STICKY_MARKER
"""The hidden marker of the bot's one sticky comment on a pull request."""

Conclusion = Literal["success", "failure", "neutral", "action_required", "cancelled", "skipped", "timed_out"]
Role = Literal["admin", "maintain", "write", "triage", "read", "none"]
DeploymentState = Literal["error", "failure", "inactive", "in_progress", "queued", "pending", "success"]


@dataclass(frozen=True)
class PullRequestInfo:
    """A pull request as the analysis needs it."""

    repo: str
    number: int
    title: str
    author: str
    state: Literal["open", "closed"]
    draft: bool
    merged: bool
    head_sha: str
    head_ref: str
    head_repo: str | None
    """"owner/name" the head branch lives in (None when that fork was deleted)."""
    base_sha: str
    base_ref: str
    default_branch: str
    labels: tuple[str, ...]
    html_url: str

    @property
    def from_fork(self) -> bool:
        """True when the head is not in the base repository (its SQL runs only in scratch databases)."""
        return self.head_repo != self.repo


@dataclass(frozen=True)
class ChangedFile:
    """One file a pull request changes; `previous_path` is set for a rename."""

    path: str
    status: Literal["added", "removed", "modified", "renamed", "copied", "changed", "unchanged"]
    previous_path: str | None = None


@dataclass(frozen=True)
class Annotation:
    """A note on lines of a file of the head commit (a check run annotation)."""

    path: str
    start_line: int
    end_line: int
    level: Literal["notice", "warning", "failure"]
    message: str
    title: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The outcome of one analysis of one commit, published as a check run (App) or a commit
    status (token: GitHub lets only Apps create check runs).

    `external_id` names this verdict: publishing the same one again (a retry, a redelivery)
    updates the run that carries it instead of creating another. `conclusion` None means
    "in progress". Annotations go out in GitHub's batches of 50, each exactly once.
    """

    name: str
    external_id: str
    conclusion: Conclusion | None
    title: str
    summary: str
    text: str | None = None
    annotations: tuple[Annotation, ...] = ()
    details_url: str | None = None


@dataclass(frozen=True)
class Posted:
    """What GitHub holds now: the comment, check run, status or deployment `id` and its page."""

    id: int
    url: str
    created: bool
    """False when an existing object was found and updated (or left as it was)."""


class GitHub(Protocol):
    """Everything the bot does on GitHub. Every method raises a `GitHubError` subclass on failure
    (after the retries that make sense), never a PyGithub or HTTP exception."""

    def remember_installation(self, repo: str, installation_id: int) -> None:
        """Which App installation serves `repo` (webhook payloads say so); saves one lookup.
        Ignored in token mode."""

    def pull_request(self, repo: str, number: int) -> PullRequestInfo:
        """The pull request now (its head sha may be newer than the webhook's)."""

    def changed_files(self, repo: str, number: int) -> list[ChangedFile]:
        """The files the pull request changes (GitHub lists at most 3000)."""

    def folder_files(self, repo: str, ref: str, folder: str,
                     include: Callable[[str], bool] | None = None) -> dict[str, bytes]:
        """Every file below `folder` at `ref` (a sha or branch) as {path relative to the folder:
        bytes} (`include` filters relative paths), in a bounded number of API calls whatever the
        number of files; blobs are cached by sha across refs. {} when the folder does not exist."""

    def file(self, repo: str, ref: str, path: str) -> bytes | None:
        """One file's bytes at `ref`, or None when there is no such file."""

    def upsert_comment(self, repo: str, number: int, body: str, marker: str = MARKER) -> Posted:
        """Create or update THE comment carrying `marker`, looked up among the bot's own comments
        only (a person's reply may quote the marker). The marker is appended when `body` lacks
        it; a body over GitHub's 65,536 characters is cut with a note, never refused."""

    def edit_comment(self, repo: str, number: int, change: Callable[[str], str],
                     marker: str = MARKER) -> Posted | None:
        """Update THE comment carrying `marker` (the bot's own) to `change(its body)`; None, and
        nothing created, when there is none. Sent only when the body changes."""

    def branch_head(self, repo: str, branch: str) -> str:
        """The commit sha `branch` points at now."""

    def publish_verdict(self, repo: str, head_sha: str, verdict: Verdict) -> Posted:
        """A check run (App) or a commit status (token) for `head_sha`; see `Verdict`."""

    def permission(self, repo: str, login: str) -> Role:
        """`login`'s role on `repo` (GitHub's role name: maintain is not folded into write)."""

    def remove_label(self, repo: str, number: int, label: str) -> bool:
        """Take `label` off issue or pull request `number`; False when it was not on it."""

    def create_deployment(self, repo: str, sha: str, environment: str, key: str, *,
                          description: str, production: bool, transient: bool = False) -> Posted:
        """A GitHub deployment of `sha` to `environment`; `key` names it (a retry or a second call
        with the same key returns the existing deployment)."""

    def set_deployment_status(self, repo: str, deployment_id: int, state: DeploymentState, *,
                              description: str, log_url: str | None = None,
                              environment_url: str | None = None) -> None:
        """A new status of a deployment (GitHub keeps them all; the newest counts)."""

    @property
    def usage(self) -> ApiUsage:
        """The call and rate-limit counters, for metrics."""

    def close(self) -> None:
        """Close connections (when the service stops)."""


def connect(config: GitHubConfig, usage: ApiUsage | None = None) -> GitHub:
    """The PyGithub-backed client for `config` (creates no connection until the first call)."""
    from .client import PyGitHubClient

    return PyGitHubClient(config, usage=usage)


__all__ = [
    "MARKER",
    "Annotation",
    "ApiUsage",
    "ChangedFile",
    "Conclusion",
    "DeploymentState",
    "GitHub",
    "GitHubAuthenticationFailed",
    "GitHubConfig",
    "GitHubError",
    "GitHubNotFound",
    "GitHubPermissionDenied",
    "GitHubRateLimited",
    "GitHubRejected",
    "GitHubUnavailable",
    "Posted",
    "PullRequestInfo",
    "Role",
    "UsageSnapshot",
    "Verdict",
    "connect",
]
