"""The PR bot as it is deployed: `schemawarden serve --with-worker` as a process of its own, its
settings from environment variables only (the App's key from a file), talking over HTTP to the
fake GitHub served by this test process; then the process's whole output, at -vv, grepped for
every secret it was given or handed out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import fresh_database
from pr_bot_harness import PR_PATH, Environments, environment_roles, open_scenario
from service_harness import Processes, free_port, service_environment, wait_for

from bot.control.schema import setup
from bot.fake_github import FakeGitHub
from bot.fake_github.webhooks import delivery, pull_request_event

pytestmark = pytest.mark.workers

SUFFIX = uuid.uuid4().hex[:10]
SECRET = f"process-webhook-secret-{SUFFIX}"
PASSWORD = f"process-owner-password-{SUFFIX}"
READONLY_PASSWORD = f"process-readonly-password-{SUFFIX}"


@pytest.fixture
def environments(admin_url: str) -> Iterator[Environments]:
    with environment_roles(admin_url, f"sw_prproc_{SUFFIX}", PASSWORD, READONLY_PASSWORD) as envs:
        yield envs


def test_serve_with_worker_answers_a_pull_request_and_prints_no_secret(
    fake_github: FakeGitHub, control_admin_url: str, environments: Environments, tmp_path: Path,
) -> None:
    state = fake_github.state
    scenario = open_scenario(state, when_after_ms=30_000)
    staging, staging_readonly = environments.database("staging", upto="0011_add_todo_due")
    key = tmp_path / "app.pem"
    key.write_text(fake_github.app_identity.private_key_pem)
    with fresh_database(control_admin_url) as control:
        asyncio.run(setup(control))
        env = service_environment(
            control,
            SCHEMAWARDEN_WEBHOOK_SECRET=SECRET,
            SCHEMAWARDEN_GITHUB_APP_ID=str(fake_github.app_identity.id),
            SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH=str(key),
            SCHEMAWARDEN_GITHUB_API_URL=fake_github.url,
            SCHEMAWARDEN_ENV_STAGING_URL=staging,
            SCHEMAWARDEN_READONLY_STAGING_URL=staging_readonly,
        )
        (tmp_path / "logs").mkdir()
        processes = Processes(tmp_path / "logs", env)
        try:
            _, base = processes.serve(free_port(), "--with-worker", "-vv")
            body, headers = delivery("pull_request", pull_request_event(state, scenario.repo, scenario.number,
                                                                        "opened"), SECRET)
            assert httpx.post(f"{base}/webhooks/github", content=body, headers=headers, timeout=10).status_code == 202
            (comment,) = wait_for(lambda: state.comments_on(scenario.repo, scenario.number), 60, "the comment")
            wait_for(lambda: [r for r in state.check_runs(scenario.repo) if r.conclusion], 60, "the check run")
        finally:
            processes.stop_all()
        output = processes.output()
    assert f"### `{PR_PATH}`" in comment.body and "| `staging` | auto (on merge) | `0011_add_todo_due` |" in comment.body
    assert "job " in output and "successful" in output  # the worker ran it, and its log is here
    secrets = [SECRET, PASSWORD, READONLY_PASSWORD, fake_github.app_identity.private_key_pem.splitlines()[1],
               *state.installation_tokens()]
    assert state.installation_tokens(), "the App was given an installation token"
    leaked = [s[:12] + "…" for s in secrets if s in output]
    assert leaked == []
