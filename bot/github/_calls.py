"""Retries, as GitHub asks clients to retry, around operations made of single requests.

PyGithub's own retry (`GithubRetry`, a urllib3 `Retry`) is switched off: it re-sends a POST inside
one call, so a create GitHub performed before failing would be made twice before any lookup could
run; it caps each rate-limit wait but not the total; and it does not treat a 429 carrying only
`X-RateLimit-Reset` as the primary limit. Here instead:

* `Calls.once` sends ONE request (a PyGithub call that makes exactly one), counts it, notes the
  last `X-RateLimit-Remaining`, and turns a failure into `_Retry` (5xx, time-out, connection
  failure, rate limit: with the wait GitHub asked for) or a `GitHubError` (everything else);
* `Calls.run` runs a whole operation, and on `_Retry` waits and runs it again from the start.
  Operations are written so that running again is safe: a create looks up first (a comment by its
  marker, a check run by its `external_id`, a deployment by its key), so a POST that GitHub
  performed before failing is found, not repeated.

Waits: `Retry-After` seconds; until `X-RateLimit-Reset` (+1 s, as the reset is whole seconds) when
`X-RateLimit-Remaining` is 0; the configured secondary wait for a secondary limit without
`Retry-After`; otherwise exponential back-off with jitter. The total wait of one operation is
capped by `max_wait_s`, the attempts by `max_attempts`; past either, a clear `GitHubError`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests
from github.GithubException import GithubException
from github.Requester import Requester

from .config import ApiUsage, GitHubConfig
from .errors import (
    GitHubAuthenticationFailed,
    GitHubError,
    GitHubNotFound,
    GitHubPermissionDenied,
    GitHubRateLimited,
    GitHubRejected,
    GitHubUnavailable,
)

T = TypeVar("T")
log = logging.getLogger("bot.github")


class _Retry(Exception):  # a signal inside this module, not an error
    """The request may succeed if sent again after `wait` seconds (None: back off)."""

    def __init__(self, reason: str, wait: float | None = None, rate_limited: bool = False,
                 status: int | None = None, request_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.rate_limited = rate_limited
        self.status = status
        self.request_id = request_id


class Calls:
    """Sends requests for one client: counting, classifying failures, retrying operations."""

    def __init__(self, config: GitHubConfig, usage: ApiUsage, *,
                 sleep: Callable[[float], None] = time.sleep, wall: Callable[[], float] = time.time,
                 on_unauthorized: Callable[[], bool] | None = None) -> None:
        self.config = config
        self.usage = usage
        self._sleep = sleep
        self._wall = wall
        self.on_unauthorized = on_unauthorized

    def once(self, what: str, send: Callable[[], T], requester: Requester | None = None,
             not_found: str = "", method: str = "GET") -> T:
        """Send one request (`send` makes exactly one, with HTTP `method`) on behalf of `what`
        ("reading pull request acme/app#5"). `not_found` is the advice a 404 gets."""
        try:
            result = send()
        except (_Retry, GitHubError):
            raise  # from a request nested in this one (an installation token): already counted
        except GithubException as exc:
            headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
            self.usage.record_call(_int(headers.get("x-ratelimit-remaining")), method, str(exc.status),
                                   headers.get("x-ratelimit-resource"))
            raise self._classify(what, exc.status, headers, exc.data, not_found) from None
        except requests.Timeout:
            self.usage.record_call(None, method, "timeout")
            raise _Retry(f"{what}: GitHub did not answer within {self.config.timeout_s} s") from None
        except requests.ConnectionError as exc:
            self.usage.record_call(None, method, "unreachable")
            raise _Retry(f"{what}: could not connect to GitHub ({type(exc).__name__})") from None
        remaining = requester.rate_limiting[0] if requester is not None else -1
        self.usage.record_call(remaining if remaining >= 0 else None, method)
        return result

    def run(self, what: str, operation: Callable[[], T]) -> T:
        """Run `operation` until it succeeds, retrying on `_Retry` within the caps."""
        attempt, waited, refreshed = 1, 0.0, False
        while True:
            try:
                return operation()
            except GitHubAuthenticationFailed:
                if refreshed or self.on_unauthorized is None or not self.on_unauthorized():
                    raise
                refreshed = True  # a token GitHub no longer takes: fetch a new one, once
                log.info("%s: GitHub refused the installation token; fetching a new one", what)
            except _Retry as retry:
                kind = GitHubRateLimited if retry.rate_limited else GitHubUnavailable
                if attempt >= self.config.max_attempts:
                    raise kind(
                        f"{retry.reason}; gave up after {attempt} attempts. GitHub may be having an "
                        "outage (https://www.githubstatus.com); the job can be retried later",
                        status=retry.status, request_id=retry.request_id,
                    ) from None
                wait = retry.wait if retry.wait is not None else self._backoff(attempt)
                if waited + wait > self.config.max_wait_s:
                    raise kind(
                        f"{retry.reason}; the next try would have to wait {wait:.0f} s, past the "
                        f"client's cap of {self.config.max_wait_s:.0f} s of waiting per operation "
                        f"({waited:.0f} s already). Retry later, or raise the cap",
                        status=retry.status, request_id=retry.request_id,
                    ) from None
                log.warning("%s; retrying in %.1f s (attempt %d of %d)", retry.reason, wait, attempt + 1,
                            self.config.max_attempts)
                self._sleep(wait)
                waited += wait
                attempt += 1
                self.usage.record_retry(wait)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.config.backoff_max_s, self.config.backoff_s * 2.0 ** (attempt - 1))
        return float(ceiling * random.uniform(0.5, 1.0))

    def _classify(self, what: str, status: int, headers: Mapping[str, str], data: Any,
                  not_found: str) -> Exception:
        message = str(data.get("message", "")) if isinstance(data, dict) else ""
        request_id = headers.get("x-github-request-id")
        said = f"GitHub answered {status}" + (f" ({message})" if message else "")
        ref = f" [request {request_id}]" if request_id else ""
        if status >= 500:
            return _Retry(f"{what}: {said}{ref}", status=status, request_id=request_id)
        if status in (403, 429):
            limit = self._rate_limit_wait(headers, message)
            if limit is not None:
                return _Retry(f"{what}: rate-limited, {said}{ref}", wait=limit, rate_limited=True,
                              status=status, request_id=request_id)
            if status == 429:
                return _Retry(f"{what}: {said}{ref}", rate_limited=True, status=status, request_id=request_id)
            return GitHubPermissionDenied(
                f"{what}: {said}{ref}. The GitHub App (or token) lacks a permission this needs: grant it "
                "(contents read, pull requests, issues, checks, statuses and deployments write) and "
                "accept the new permissions on the installation", status=status, request_id=request_id)
        if status == 401:
            return GitHubAuthenticationFailed(
                f"{what}: {said}{ref}. GitHub rejected the credentials: check the App id and private "
                "key (or the token), and that the App is not suspended", status=status, request_id=request_id)
        if status == 404:
            return GitHubNotFound(f"{what}: {said}{ref}. {not_found}".rstrip(),
                                  status=status, request_id=request_id)
        if status == 422:
            return GitHubRejected(f"{what}: {said}{ref}", status=status, request_id=request_id)
        return GitHubError(f"{what}: {said}{ref}", status=status, request_id=request_id)

    def _rate_limit_wait(self, headers: Mapping[str, str], message: str) -> float | None:
        """Seconds GitHub asks us to wait, if this 403/429 is a rate limit (else None)."""
        retry_after = headers.get("retry-after")
        if retry_after is not None and retry_after.strip().isdigit():
            return float(retry_after)
        reset = _int(headers.get("x-ratelimit-reset"))
        if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            return max(reset - self._wall(), 0.0) + 1.0
        if Requester.isSecondaryRateLimitError(message):
            return self.config.secondary_rate_wait_s
        if Requester.isPrimaryRateLimitError(message):
            return self._backoff(1)
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None
