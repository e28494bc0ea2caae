"""RELIABILITY.md, "Webhooks, GitHub and jobs" and "Secrets", for the GitHub client: GitHub answers
5xx, times out or rate-limits; a create GitHub performed before failing is not repeated; the
installation token is refreshed before it expires, once, whatever the threads; no secret is
printed. Waits are asserted from the fake's recorded request times, not by sleeping."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest

from bot.fake_github import FakeGitHub
from bot.github import (
    MARKER,
    Annotation,
    GitHubAuthenticationFailed,
    GitHubConfig,
    GitHubRateLimited,
    GitHubUnavailable,
    Verdict,
)
from bot.github.client import PyGitHubClient
from bot.github.config import ApiUsage
from bot.metrics import Metrics
from bot.settings import load_service_settings
from policies.errors import ConfigurationError

REPO = "acme/app"
PULL = "/repos/{owner}/{repo}/pulls/{pull_number}"
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
CHECK_RUNS = "/repos/{owner}/{repo}/check-runs"
Client = Callable[..., PyGitHubClient]


@pytest.fixture
def pull(fake_github: FakeGitHub) -> str:
    """A repository with pull request #1; returns its head sha."""
    state = fake_github.state
    state.create_repository(REPO)
    head = state.push(REPO, "feature", {"migrations/0001_x.sql": "select 1;"})
    state.open_pull_request(REPO, "feature")
    return head


def test_5xx_is_retried(fake_github: FakeGitHub, app_client: Client, pull: str) -> None:
    client = app_client()
    fake_github.state.fail("GET", PULL, status=502, times=2)
    assert client.pull_request(REPO, 1).head_sha == pull
    assert [r.status for r in fake_github.state.requests_to("GET", PULL)] == [502, 502, 200]
    usage = client.usage.snapshot()
    assert usage.retries == 2
    assert usage.calls == len(fake_github.state.requests)  # the lookup and token requests included
    assert usage.rate_limit_remaining == 4997  # the fake counts down from 5000 for each credential


def test_every_answer_reaches_the_metrics_by_method_and_status(fake_github: FakeGitHub, pull: str) -> None:
    metrics = Metrics()
    config = load_service_settings({
        "SCHEMAWARDEN_GITHUB_APP_ID": str(fake_github.app_identity.id),
        "SCHEMAWARDEN_GITHUB_PRIVATE_KEY": fake_github.app_identity.private_key_pem,
        "SCHEMAWARDEN_GITHUB_API_URL": fake_github.url,
        "SCHEMAWARDEN_GITHUB_SECONDS_BETWEEN_WRITES": "0",
    }).github_config()
    client = PyGitHubClient(config.model_copy(update={"backoff_s": 0.01, "timeout_s": 2}),
                            usage=ApiUsage(on_response=metrics.observe_github_response))
    try:
        fake_github.state.fail("GET", PULL, status=502)
        client.pull_request(REPO, 1)
        client.upsert_comment(REPO, 1, "hello")
    finally:
        client.close()
    text = metrics.render().decode()
    assert 'schemawarden_github_api_calls_total{method="GET",status="502"} 1.0' in text
    assert 'schemawarden_github_api_calls_total{method="POST",status="2xx"} 2.0' in text  # the token, the comment
    assert 'schemawarden_github_rate_limit_remaining{resource="core"}' in text


def test_a_timeout_is_retried(fake_github: FakeGitHub, app_client: Client, pull: str) -> None:
    client = app_client()
    client.pull_request(REPO, 1)
    fake_github.state.time_out("GET", PULL, delay=2.5)
    assert client.pull_request(REPO, 1).head_sha == pull
    first_try, retried = fake_github.state.requests_to("GET", PULL)[1:]
    assert retried.started - first_try.started >= 1.0  # the client gave up after its 1 s time-out
    assert client.usage.snapshot().retries == 1


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_rate_limit_waits_for_retry_after(fake_github: FakeGitHub, app_client: Client, pull: str,
                                                      status: int) -> None:
    client = app_client()
    fake_github.state.secondary_rate_limit("GET", PULL, retry_after=1, status=status)
    assert client.pull_request(REPO, 1).head_sha == pull
    limited, retried = fake_github.state.requests_to("GET", PULL)
    assert limited.status == status and retried.status == 200
    assert retried.started - limited.finished >= 1.0


@pytest.mark.parametrize("status", [403, 429])
def test_the_primary_rate_limit_waits_until_the_reset(fake_github: FakeGitHub, app_client: Client, pull: str,
                                                      status: int) -> None:
    client = app_client()
    client.pull_request(REPO, 1)  # token and installation known: the next call is one request
    reset = fake_github.state.primary_rate_limit(reset_in=0.5, status=status)
    assert client.pull_request(REPO, 1).head_sha == pull
    limited, retried = fake_github.state.requests_to("GET", PULL)[1:]
    assert limited.status == status and retried.status == 200
    assert retried.started >= reset  # no request spent before GitHub's reset
    assert client.usage.snapshot().rate_limit_remaining is not None


def test_a_wait_past_the_cap_is_a_clear_error_at_once(fake_github: FakeGitHub, app_client: Client,
                                                      pull: str) -> None:
    client = app_client(max_wait_s=5)
    client.pull_request(REPO, 1)
    fake_github.state.primary_rate_limit(reset_in=60)
    started = time.monotonic()
    with pytest.raises(GitHubRateLimited, match=r"rate-limited.*past the client's cap of 5 s"):
        client.pull_request(REPO, 1)
    assert time.monotonic() - started < 2
    assert [r.status for r in fake_github.state.requests_to("GET", PULL)][1:] == [403]


def test_an_outage_gives_up_after_the_attempts_with_a_clear_error(fake_github: FakeGitHub, app_client: Client,
                                                                  pull: str) -> None:
    client = app_client(max_attempts=3)
    client.pull_request(REPO, 1)
    fake_github.state.fail("GET", PULL, status=503, times=10)
    with pytest.raises(GitHubUnavailable, match=r"reading pull request acme/app#1: GitHub answered 503.*"
                                                 r"gave up after 3 attempts"):
        client.pull_request(REPO, 1)


def test_a_comment_posted_before_a_failure_is_not_posted_again(fake_github: FakeGitHub, app_client: Client,
                                                               pull: str) -> None:
    client = app_client()
    fake_github.state.fail("POST", COMMENTS, status=502, after=True)
    client.upsert_comment(REPO, 1, f"{MARKER}\nverdict")
    (comment,) = fake_github.state.comments_on(REPO, 1)
    assert comment.body == f"{MARKER}\nverdict"
    assert [r.status for r in fake_github.state.requests_to("POST", COMMENTS)] == [502]


def test_a_comment_whose_post_timed_out_is_not_posted_again(fake_github: FakeGitHub, app_client: Client,
                                                            pull: str) -> None:
    client = app_client()
    fake_github.state.time_out("POST", COMMENTS, delay=1.5, after=True)
    client.upsert_comment(REPO, 1, f"{MARKER}\nverdict")
    assert len(fake_github.state.comments_on(REPO, 1)) == 1
    assert len(fake_github.state.requests_to("POST", COMMENTS)) == 1


def _verdict(annotations: int) -> Verdict:
    notes = tuple(Annotation("migrations/0001_x.sql", 1, 1, "failure", f"finding {i}") for i in range(annotations))
    return Verdict("schemawarden", "pr-1:sha:1", "failure", "findings", "summary", annotations=notes)


def test_a_check_run_created_before_a_failure_is_not_created_again(fake_github: FakeGitHub, app_client: Client,
                                                                   pull: str) -> None:
    client = app_client()
    fake_github.state.fail("POST", CHECK_RUNS, status=500, after=True)
    fake_github.state.fail("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", status=502, after=True)
    client.publish_verdict(REPO, pull, _verdict(120))
    (run,) = fake_github.state.check_runs(REPO, pull)
    assert [a["message"] for a in run.annotations] == [f"finding {i}" for i in range(120)]
    assert run.external_id == "pr-1:sha:1" and run.conclusion == "failure"


def test_a_deployment_created_before_a_failure_is_not_created_again(fake_github: FakeGitHub,
                                                                    app_client: Client, pull: str) -> None:
    client = app_client()
    fake_github.state.fail("POST", "/repos/{owner}/{repo}/deployments", status=502, after=True)
    client.create_deployment(REPO, pull, "staging", "pr-1:staging", description="d", production=False)
    assert len(fake_github.state.deployments(REPO)) == 1


def test_the_installation_token_is_refreshed_before_expiry_once_whatever_the_threads(
    fake_github: FakeGitHub, app_client: Client, pull: str
) -> None:
    offset = [0.0]
    client = app_client(clock=lambda: time.time() + offset[0], token_refresh_margin_s=300)
    fake_github.state.token_lifetime = 400  # the first token: fresh for 100 s more (its last 300 s are the margin)
    client.pull_request(REPO, 1)
    tokens = "/app/installations/{installation_id}/access_tokens"
    assert len(fake_github.state.requests_to("POST", tokens)) == 1
    fake_github.state.token_lifetime = 3600
    offset[0] = 150  # 150 s later: within the first token's margin, stale though not expired
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            client.pull_request(REPO, 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(fake_github.state.requests_to("POST", tokens)) == 2
    assert all(r.status == 200 for r in fake_github.state.requests_to("GET", PULL))


def test_a_token_github_stopped_taking_is_replaced_once(fake_github: FakeGitHub, app_client: Client,
                                                        pull: str) -> None:
    client = app_client()
    client.pull_request(REPO, 1)
    fake_github.state.expire_tokens()
    assert client.pull_request(REPO, 1).head_sha == pull
    assert len(fake_github.state.requests_to("POST", "/app/installations/{installation_id}/access_tokens")) == 2
    assert [r.status for r in fake_github.state.requests_to("GET", PULL)] == [200, 401, 200]


def test_no_secret_in_logs_reprs_or_errors(fake_github: FakeGitHub, app_client: Client, pull: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    state = fake_github.state
    state.create_repository("acme/big", {f"migrations/{i:04d}.sql": f"select {i};" for i in range(30)})
    logging.getLogger("github").setLevel(logging.DEBUG)  # PyGithub logs every response body at DEBUG
    caplog.set_level(logging.DEBUG)
    key = fake_github.app_identity.private_key_pem
    client = app_client(blob_fetch_limit=5)
    client.upsert_comment(REPO, 1, "hello")
    client.folder_files("acme/big", "main", "migrations")  # through the archive: its URL carries a token
    state.fail("GET", PULL, status=502, times=10)
    errors: list[str] = []
    with pytest.raises(GitHubUnavailable) as outage:
        app_client(max_attempts=2).pull_request(REPO, 1)
    errors.append(str(outage.value))
    token = state.issue_token()
    token_client = PyGitHubClient(GitHubConfig.build(api_url=fake_github.url, token=token, timeout_s=1))
    token_client.publish_verdict(REPO, pull, _verdict(1))
    wrong = PyGitHubClient(GitHubConfig.build(api_url=fake_github.url, token=token + "x", timeout_s=1))
    with pytest.raises(GitHubAuthenticationFailed) as refused:
        wrong.pull_request(REPO, 1)
    errors.append(str(refused.value))
    with pytest.raises(ConfigurationError) as both:
        GitHubConfig.build(app_id=1, private_key=key, token=token)
    errors.append(str(both.value))
    reprs = [repr(client), repr(client.config), repr(token_client.config), str(token_client.config)]
    token_client.close()
    wrong.close()
    secrets = [token, *state.installation_tokens(), *state.archive_tokens, *key.splitlines()[1:-1]]
    assert len(state.installation_tokens()) >= 1 and len(state.archive_tokens) == 1
    assert any("access_tokens" in r.getMessage() for r in caplog.records)
    text = "\n".join([*(r.getMessage() for r in caplog.records), *errors, *reprs])
    leaked = [secret[:8] + "..." for secret in secrets if secret in text]
    assert leaked == []
