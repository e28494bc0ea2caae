"""pytest fixtures of the fake GitHub (`bot.fake_github`): one server per session, a fresh state per test.

A test that makes the fake receive a request GitHub's OpenAPI description rejects, or that makes
the fake answer outside GitHub's shapes, fails at teardown with the violations listed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.fake_github.openapi import Description
from bot.fake_github.server import FakeGitHub
from bot.fake_github.state import make_app_identity
from bot.github import GitHubConfig
from bot.github.client import PyGitHubClient


@pytest.fixture(scope="session")
def fake_github_server() -> Iterator[FakeGitHub]:
    server = FakeGitHub(make_app_identity(), Description()).start()
    yield server
    server.stop()


@pytest.fixture
def fake_github(fake_github_server: FakeGitHub) -> Iterator[FakeGitHub]:
    """The fake GitHub with an empty state; fails the test if any request or answer broke
    GitHub's OpenAPI description (a test that means to break it clears `state.violations`)."""
    state = fake_github_server.reset()
    yield fake_github_server
    if state.violations:
        pytest.fail("the fake GitHub saw requests or gave answers outside GitHub's OpenAPI description:\n"
                    + "\n".join(state.violations), pytrace=False)


@pytest.fixture
def app_client(fake_github: FakeGitHub) -> Iterator[Callable[..., PyGitHubClient]]:
    """Builds the bot's GitHub client authenticated as the fake's App: `app_client(**settings)`
    (`GitHubConfig` fields; `clock=` for the token cache). Tests' defaults: a 1 s time-out, short
    back-off, no pause between writes. Clients are closed at teardown."""
    made: list[PyGitHubClient] = []

    def build(clock: Callable[[], float] = time.time, **overrides: Any) -> PyGitHubClient:
        values: dict[str, Any] = {"api_url": fake_github.url, "app_id": fake_github.app_identity.id,
                                  "private_key": fake_github.app_identity.private_key_pem, "timeout_s": 1,
                                  "backoff_s": 0.05, "backoff_max_s": 0.2, "seconds_between_writes": 0,
                                  **overrides}
        made.append(PyGitHubClient(GitHubConfig.build(**values), clock=clock))
        return made[-1]

    yield build
    for client in made:
        client.close()
