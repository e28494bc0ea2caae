"""GitHub App authentication: installation tokens cached until shortly before they expire, with one
refresh at a time per installation, whatever the number of threads.

PyGithub's `Auth.AppInstallationAuth` checks and replaces its token without a lock: threads that
find it stale together each request a new one. `InstallationTokens` takes a lock per installation
and looks again after acquiring it, so the threads that waited use the token the first one got.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from github.Auth import Auth
from github.GithubIntegration import GithubIntegration

from ._calls import Calls
from ._redact import SecretFilter


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    expires_at: float  # epoch seconds


class InstallationTokens:
    """Installation tokens by installation id. `clock` gives epoch seconds (a test may move it)."""

    def __init__(self, integration: GithubIntegration, calls: Calls, margin_s: float,
                 secrets: SecretFilter, clock: Callable[[], float] = time.time) -> None:
        self._integration = integration
        self._calls = calls
        self._margin = margin_s
        self._secrets = secrets
        self._clock = clock
        self._tokens: dict[int, _Token] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def token(self, installation_id: int) -> str:
        """A token of the installation valid for at least the margin; fetched when needed."""
        current = self._tokens.get(installation_id)
        if current is not None and self._fresh(current):
            return current.value
        with self._guard:
            lock = self._locks.setdefault(installation_id, threading.Lock())
        with lock:
            current = self._tokens.get(installation_id)
            if current is not None and self._fresh(current):
                return current.value
            granted = self._calls.once(
                f"creating an access token for installation {installation_id}",
                lambda: self._integration.get_access_token(installation_id),
                not_found="The GitHub App is not installed there any more (or the id is wrong): "
                          "install it again, or check the App id",
                method="POST",
            )
            token = _Token(granted.token, granted.expires_at.timestamp())
            self._secrets.add(token.value)
            self._tokens[installation_id] = token
            return token.value

    def _fresh(self, token: _Token) -> bool:
        return token.expires_at - self._margin > self._clock()

    def forget(self) -> bool:
        """Drop every cached token (GitHub refused one); True if there was any to drop."""
        with self._guard:
            had = bool(self._tokens)
            self._tokens.clear()
            return had


class InstallationAuth(Auth):
    """PyGithub authentication with the shared, locked token cache of one installation."""

    def __init__(self, tokens: InstallationTokens, installation_id: int) -> None:
        self._tokens = tokens
        self.installation_id = installation_id

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._tokens.token(self.installation_id)

    @property
    def _masked_token(self) -> str:
        return "token (installation token removed)"
