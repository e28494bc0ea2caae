"""The errors of the GitHub client: one family under `SchemawardenError`, each message saying what
failed and what to do. Messages hold GitHub's own message and request id, never a credential."""

from __future__ import annotations

from policies.errors import EXIT_USAGE, SchemawardenError


class GitHubError(SchemawardenError):
    """A GitHub API request failed. `status` is the HTTP status (None: no answer at all);
    `request_id` is GitHub's `X-GitHub-Request-Id`, for GitHub Support."""

    def __init__(self, message: str, *, status: int | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id


class GitHubAuthenticationFailed(GitHubError):
    """GitHub refused the credentials (401): a wrong App id or private key, a revoked token."""

    exit_code = EXIT_USAGE


class GitHubNotFound(GitHubError):
    """404: the repository, pull request, file or ref does not exist, or the credentials may not
    see it (GitHub answers 404, not 403, for a repository the App is not installed on)."""


class GitHubPermissionDenied(GitHubError):
    """403 that is not a rate limit: the App or token lacks a permission."""


class GitHubRejected(GitHubError):
    """422: GitHub understood the request and refused its content."""


class GitHubUnavailable(GitHubError):
    """No usable answer after the retries: 5xx, time-outs or connection failures."""


class GitHubRateLimited(GitHubUnavailable):
    """The rate limit would need a longer wait than the client's cap allows."""
