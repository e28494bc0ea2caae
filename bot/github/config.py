"""The GitHub client's configuration (typed; `bot.settings` builds it from the environment) and
its usage counter (API calls, retries, the last rate-limit figure) for the service's metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from policies.errors import ConfigurationError

DEFAULT_API_URL = "https://api.github.com"


class GitHubConfig(BaseModel):
    """How to reach GitHub: a GitHub App (`app_id` + `private_key`, PEM) or a `token`, never both.

    Times are in seconds. `max_wait_s` caps the total time one operation may spend waiting between
    retries (back-off and rate limits together); beyond it the operation fails with a clear error
    rather than hold a worker. The secrets are `SecretStr`: their repr is masked.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_url: str = DEFAULT_API_URL
    app_id: int | None = None
    private_key: SecretStr | None = None
    token: SecretStr | None = None
    timeout_s: int = Field(default=15, ge=1)
    max_attempts: int = Field(default=6, ge=1)
    max_wait_s: float = Field(default=120.0, ge=0)
    backoff_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    secondary_rate_wait_s: float = Field(default=60.0, ge=0)
    """Wait after a secondary rate limit that names no `Retry-After` (GitHub: at least a minute)."""
    token_refresh_margin_s: float = Field(default=300.0, ge=0)
    """An installation token is replaced this long before it expires (GitHub's last one hour)."""
    blob_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    blob_fetch_limit: int = Field(default=20, ge=0)
    """A folder read fetches at most this many blobs one by one; more, and it reads the archive."""
    seconds_between_writes: float = Field(default=1.0, ge=0)
    """Pause between two writes (POST, PATCH, DELETE) of one installation: GitHub asks for a
    second between mutating requests to stay clear of its secondary rate limits."""
    seconds_between_requests: float = Field(default=0.0, ge=0)
    """Pause between any two requests of one installation (PyGithub's default is 0.25)."""
    user_agent: str = "schemawarden"

    @model_validator(mode="after")
    def _one_way_in(self) -> GitHubConfig:
        app = self.app_id is not None or self.private_key is not None
        if app and self.token is not None:
            raise ValueError("give either a GitHub App (app id and private key) or a token, not both")
        if app and (self.app_id is None or self.private_key is None):
            raise ValueError("a GitHub App needs both its id and its private key")
        if not app and self.token is None:
            raise ValueError("no GitHub credentials: give a GitHub App (app id and private key) or a token")
        return self

    @property
    def mode(self) -> Literal["app", "token"]:
        return "token" if self.token is not None else "app"

    @classmethod
    def build(cls, **values: object) -> GitHubConfig:
        """The config, or a `ConfigurationError` saying what is wrong (no secret in it)."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise ConfigurationError(f"GitHub settings: {field + ': ' if field else ''}{first['msg']}") from None


@dataclass(frozen=True)
class UsageSnapshot:
    calls: int
    retries: int
    waited_s: float
    rate_limit_remaining: int | None


ResponseObserver = Callable[[str, str, "int | None", str], None]
"""Told of every answer: (method, status, X-RateLimit-Remaining or None, X-RateLimit-Resource).
The status is GitHub's code for a failure (`"502"`, `"403"`), `"2xx"` for a success (PyGithub
does not hand its code back), `"timeout"` or `"unreachable"` when no answer came."""


class ApiUsage:
    """Counts every request the client sends (retries and token requests included), the retries,
    the seconds spent waiting, and the last `X-RateLimit-Remaining` GitHub sent. Thread-safe; the
    service reads it for its metrics (`snapshot()`), and `on_response` (the service's
    `Metrics.observe_github_response`) hears of each answer as it comes."""

    def __init__(self, on_response: ResponseObserver | None = None) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self._retries = 0
        self._waited = 0.0
        self._remaining: int | None = None
        self._on_response = on_response

    def record_call(self, remaining: int | None, method: str = "GET", status: str = "2xx",
                    resource: str | None = None) -> None:
        with self._lock:
            self._calls += 1
            if remaining is not None:
                self._remaining = remaining
        if self._on_response is not None:
            self._on_response(method, status, remaining, resource or "core")

    def record_retry(self, waited_s: float) -> None:
        with self._lock:
            self._retries += 1
            self._waited += waited_s

    def snapshot(self) -> UsageSnapshot:
        with self._lock:
            return UsageSnapshot(self._calls, self._retries, self._waited, self._remaining)
