"""The PR bot end to end, over HTTP only: signed webhooks in, the fake GitHub's comments, check
runs, statuses and deployments out, environments that are real databases with a prepared history.

The service and its worker run in this process on loopback (`bot.web.local.LocalService`, the
machinery of `serve --with-worker`) with the real job handlers; each test starts its own, with the
settings it needs. Everything logged at DEBUG by every logger, and everything the bot published,
is kept; the last test greps it for every secret the module used.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from conftest import fresh_database
from pr_bot_harness import (
    MAIN_TAG,
    PR_PATH,
    PR_TAG,
    Environments,
    Scenario,
    environment_roles,
    history,
    main_files,
    open_scenario,
    running_bot,
    when_of,
)
from service_harness import wait_for

from bot.comment import ENVIRONMENTS_START
from bot.control.approvals import refusals
from bot.control.schema import setup
from bot.fake_github import FakeGitHub
from bot.fake_github.state import CheckRun, Comment
from bot.github import MARKER

SUFFIX = uuid.uuid4().hex[:10]
SECRET = f"pr-bot-webhook-secret-{SUFFIX}"
PASSWORD = f"pr-bot-owner-password-{SUFFIX}"
READONLY_PASSWORD = f"pr-bot-readonly-password-{SUFFIX}"
SECRETS: list[str] = [SECRET, PASSWORD, READONLY_PASSWORD]
PUBLISHED: list[str] = []
LOG = io.StringIO()


@pytest.fixture(scope="module", autouse=True)
def everything_logged() -> Iterator[None]:
    handler = logging.StreamHandler(LOG)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="module")
def control(control_admin_url: str) -> Iterator[str]:
    with fresh_database(control_admin_url) as url:
        asyncio.run(setup(url))
        yield url


@pytest.fixture(scope="module")
def environments(admin_url: str) -> Iterator[Environments]:
    with environment_roles(admin_url, f"sw_prbot_{SUFFIX}", PASSWORD, READONLY_PASSWORD) as envs:
        yield envs


@pytest.fixture
def github(fake_github: FakeGitHub) -> Iterator[FakeGitHub]:
    """The fake GitHub; afterwards, what the bot published there and the tokens it was given are
    kept for the secrets test."""
    yield fake_github
    state = fake_github.state
    with state.lock:
        PUBLISHED.extend(c.body for c in state.comments.values())
        for run in state.check_runs_by_id.values():
            PUBLISHED.extend([run.title or "", run.summary or "", run.text or ""])
            PUBLISHED.extend(str(a) for a in run.annotations)
        PUBLISHED.extend(f"{s.description} {s.target_url}" for s in state.statuses_by_id.values())
        PUBLISHED.extend(f"{d.description} {d.statuses}" for d in state.deployments_by_id.values())
        SECRETS.extend(state.credentials)  # installation tokens and plain tokens
    SECRETS.append(fake_github.app_identity.private_key_pem.splitlines()[1])


def the_comment(state: Any, scenario: Scenario) -> Comment:
    (comment,) = wait_for(lambda: state.comments_on(scenario.repo, scenario.number), what="the comment")
    return comment  # type: ignore[no-any-return]


def finished_run(state: Any, repo: str, sha: str) -> CheckRun:
    return wait_for(  # type: ignore[no-any-return]
        lambda: next((r for r in state.check_runs(repo, sha) if r.conclusion is not None), None),
        what=f"a completed check run on {sha[:12]}")


def matrix_row(body: str, environment: str) -> str:
    return next(line for line in body.splitlines() if line.startswith(f"| `{environment}` |"))


# --- the pull request's comment and check run --------------------------------------------------------


def test_an_opened_pull_request_gets_one_comment_and_a_check_run(
    github: FakeGitHub, control: str, environments: Environments
) -> None:
    state = github.state
    staging = environments.database("staging", upto="0010_backfill_todo_status")
    production = environments.database("production", upto=MAIN_TAG)
    scenario = open_scenario(state)
    with running_bot(control, github, SECRET, {"staging": staging, "production": production}) as bot:
        bot.pull_request(scenario, "opened")
        comment = the_comment(state, scenario)
        run = finished_run(state, scenario.repo, scenario.head)
        metrics = httpx.get(f"{bot.service.url}/metrics").text

    body = comment.body
    assert comment.user == github.app_identity.bot_login and body.rstrip().endswith(MARKER)
    assert body.startswith("## schemawarden\n\n1 file, 2 statements: 2 errors. **Fails**")
    # each finding at its statement's line, with the lock and the safer way
    assert f"### `{PR_PATH}` (migration `{PR_TAG}`)" in body
    assert "🛑 **error** SW101 require-concurrent-index-creation (lock, line 1)" in body
    assert "SHARE on <code>todo</code>" in body and 'CREATE INDEX CONCURRENTLY "todo_title_idx"' in body
    assert "🛑 **error** SW302 drop-column (data-loss, line 2)" in body
    # the rollback, proven in a scratch database on the base's schema (0011 replayed): the column
    # comes back (its values cannot), the index goes; the locks PostgreSQL really took beside the model's
    assert '**Rollback**: ⚠️ irreversible: column user.about is dropped: its values are lost' in body
    assert "<details><summary>Rollback SQL</summary>" in body
    assert 'ALTER TABLE public."user" ADD COLUMN about text;' in body and "DROP INDEX public.todo_title_idx;" in body
    assert "| traced in a scratch database |" in body
    # the matrix: each environment's recorded version, read from its history by the read-only role
    assert ENVIRONMENTS_START in body
    assert matrix_row(body, "staging") == (
        "| `staging` | auto (on merge) | `0010_backfill_todo_status` | pending (1) | — |")
    assert matrix_row(body, "production") == (
        f"| `production` | label `deploy:production` | `{MAIN_TAG}` | pending (1) | 🛑 out of order: "
        f"`{PR_TAG}` is older than `{MAIN_TAG}`, applied there already (drizzle-orm's migrator would skip it) |")
    # the check run: failure, annotated on the migration's lines (paths from the repository root)
    assert run.conclusion == "failure" and run.name == "schemawarden"
    assert sorted((a["path"], a["start_line"], a["annotation_level"], a["title"]) for a in run.annotations) == [
        (PR_PATH, 1, "failure", "SW101 require-concurrent-index-creation"),
        (PR_PATH, 2, "failure", "SW302 drop-column"),
    ]
    assert 'schemawarden_github_api_calls_total{method="POST",status="2xx"}' in metrics
    assert history(production[0])[-1] == when_of(main_files(), MAIN_TAG)  # read, never written


def test_a_second_push_updates_the_same_comment(github: FakeGitHub, control: str, environments: Environments) -> None:
    state = github.state
    scenario = open_scenario(state)
    staging = environments.database("staging", upto=MAIN_TAG)
    with running_bot(control, github, SECRET, {"staging": staging}) as bot:
        bot.pull_request(scenario, "opened")
        first = the_comment(state, scenario)
        assert "SW101" in first.body
        fixed = 'CREATE INDEX CONCURRENTLY "todo_title_idx" ON "todo" USING btree ("title");'
        scenario.push({PR_PATH: fixed})
        bot.pull_request(scenario, "synchronize")
        finished_run(state, scenario.repo, scenario.head)
        wait_for(lambda: bot.idle(scenario.repo), what="the jobs to finish")

    (comment,) = state.comments_on(scenario.repo, scenario.number)
    assert comment.id == first.id and "SW101" not in comment.body and "SW302" not in comment.body
    assert "1 file, 1 statement: " in comment.body
    assert len(state.requests_to("POST", f"/repos/{scenario.repo}/issues/{scenario.number}/comments")) == 1


def test_a_redelivery_is_processed_once(github: FakeGitHub, control: str, environments: Environments) -> None:
    from bot.fake_github.webhooks import pull_request_event

    state = github.state
    scenario = open_scenario(state)
    with running_bot(control, github, SECRET, {"staging": environments.database("staging", upto=MAIN_TAG)}) as bot:
        payload = pull_request_event(state, scenario.repo, scenario.number, "opened")
        delivery_id = str(uuid.uuid4())
        assert bot.deliver("pull_request", payload, delivery_id).json()["outcome"] == "queued"
        assert bot.deliver("pull_request", payload, delivery_id).json()["outcome"] == "duplicate"
        finished_run(state, scenario.repo, scenario.head)
        wait_for(lambda: bot.idle(scenario.repo), what="the jobs to finish")

    assert len(state.comments_on(scenario.repo, scenario.number)) == 1
    assert len(state.requests_to("POST", f"/repos/{scenario.repo}/issues/{scenario.number}/comments")) == 1
    assert len(state.requests_to("POST", f"/repos/{scenario.repo}/check-runs")) == 1


def test_a_pull_request_without_schema_changes_gets_a_neutral_check_run_and_no_comment(
    github: FakeGitHub, control: str, environments: Environments
) -> None:
    state = github.state
    repo = f"acme-{uuid.uuid4().hex[:8]}/shop"
    state.create_repository(repo, main_files())
    state.push(repo, "docs", {"README.md": "# The shop\n\nNow documented.\n"})
    scenario = Scenario(state, repo, state.open_pull_request(repo, "docs").number, "docs")
    with running_bot(control, github, SECRET, {"staging": environments.database("staging", upto=None)}) as bot:
        bot.pull_request(scenario, "opened")
        run = finished_run(state, repo, scenario.head)
        wait_for(lambda: bot.idle(repo), what="the job to finish")
    assert run.conclusion == "neutral" and run.title == "No schema changes"
    assert state.comments_on(repo, scenario.number) == []


def test_with_a_token_the_verdict_is_a_commit_status(
    github: FakeGitHub, control: str, environments: Environments
) -> None:
    state = github.state
    scenario = open_scenario(state)
    token = state.issue_token("ci-bot")
    staging = environments.database("staging", upto=MAIN_TAG)
    with running_bot(control, github, SECRET, {"staging": staging}, token=token) as bot:
        bot.pull_request(scenario, "opened")
        comment = the_comment(state, scenario)
        (status,) = wait_for(lambda: state.statuses(scenario.repo, scenario.head), what="the commit status")
    assert comment.user == "ci-bot" and "SW302" in comment.body
    assert (status.state, status.context) == ("failure", "schemawarden")
    assert status.description.startswith("1 file, 2 statements: 2 errors")
    assert state.check_runs(scenario.repo) == []


# --- the order of analyses ----------------------------------------------------------------------------


def test_an_older_analysis_finishing_after_a_newer_one_does_not_overwrite_it(
    github: FakeGitHub, control: str, environments: Environments
) -> None:
    state = github.state
    scenario = open_scenario(state)
    first_head = scenario.head
    # the first analysis stops at its read of the head's migrations until released
    held = state.hold("GET", f"/repos/{scenario.repo}/git/trees/{first_head}")
    with running_bot(control, github, SECRET, {"staging": environments.database("staging", upto=MAIN_TAG)}) as bot:
        bot.pull_request(scenario, "opened")
        assert held.arrived.wait(30), "the first analysis never read the head's migrations"
        fixed = 'CREATE INDEX CONCURRENTLY "todo_title_idx" ON "todo" USING btree ("title");'
        second_head = scenario.push({PR_PATH: fixed})
        bot.pull_request(scenario, "synchronize")
        finished_run(state, scenario.repo, second_head)  # the newer analysis is published first
        published = state.comments_on(scenario.repo, scenario.number)[0].body
        held.release.set()
        wait_for(lambda: bot.idle(scenario.repo), what="the older analysis to finish")

    (comment,) = state.comments_on(scenario.repo, scenario.number)
    assert comment.body == published and "SW101" not in comment.body
    assert state.check_runs(scenario.repo, first_head) == []  # the older verdict was dropped too
    writes = [r for r in state.requests if r.method in ("POST", "PATCH") and "/comments" in r.path]
    assert len(writes) == 1


# --- whose policy, whose SQL -------------------------------------------------------------------------


def test_a_fork_that_edits_the_policy_is_judged_by_the_default_branch_policy(
    github: FakeGitHub, control: str, environments: Environments
) -> None:
    state = github.state
    lenient = '[rules]\nSW101 = "off"\nSW302 = "off"\n'
    scenario = open_scenario(state, fork="mallory", pr_extra={"schemawarden.toml": lenient,
                                                               ".github/workflows/ci.yml": "on: push\n"})
    staging = environments.database("staging", upto=MAIN_TAG)
    before = history(staging[0])
    with running_bot(control, github, SECRET, {"staging": staging}) as bot:
        bot.pull_request(scenario, "opened")
        comment = the_comment(state, scenario)
        run = finished_run(state, scenario.repo, scenario.head)
        wait_for(lambda: bot.idle(scenario.repo), what="the job to finish")
    body = comment.body
    assert "SW101 require-concurrent-index-creation" in body and "SW302 drop-column" in body
    assert run.conclusion == "failure"
    assert "comes from mallory-" in body and "its SQL runs only in scratch databases" in body
    assert "changes `schemawarden.toml`: it is judged by the policy on `main`" in body
    assert "changes a workflow (`.github/workflows/ci.yml`)" in body
    assert history(staging[0]) == before  # the environment was only read


def test_an_unreachable_environment_is_said_in_the_matrix_and_the_analysis_is_posted(
    github: FakeGitHub, control: str, environments: Environments
) -> None:
    state = github.state
    scenario = open_scenario(state, policy=None, when_after_ms=30_000)
    staging = environments.database("staging", upto=MAIN_TAG)
    down = (f"postgresql://{environments.role}:{PASSWORD}@127.0.0.1:1/qa", None)
    with running_bot(control, github, SECRET, {"staging": staging, "qa": down}) as bot:
        bot.pull_request(scenario, "opened")
        comment = the_comment(state, scenario)
        finished_run(state, scenario.repo, scenario.head)
    assert matrix_row(comment.body, "qa").startswith(
        "| `qa` | auto (on merge) | ⚠️ not read: cannot connect to environment 'qa' at 127.0.0.1:1/qa")
    assert matrix_row(comment.body, "staging").endswith(f"| `{MAIN_TAG}` | pending (1) | — |")
    assert "SW302" in comment.body


# --- approvals by label ------------------------------------------------------------------------------


def test_a_label_by_someone_without_permission_is_removed_refused_and_recorded(
    github: FakeGitHub, control: str, environments: Environments
) -> None:
    state = github.state
    scenario = open_scenario(state, when_after_ms=30_000)
    state.set_permission(scenario.repo, "eve", "write")
    production = environments.database("production", upto=MAIN_TAG)
    before = history(production[0])
    with running_bot(control, github, SECRET, {"production": production}) as bot:
        state.merge_pull_request(scenario.repo, scenario.number)
        bot.pull_request(scenario, "closed")
        wait_for(lambda: bot.idle(scenario.repo), what="the merge's reconcile")
        state.add_label(scenario.repo, scenario.number, "deploy:production")
        bot.pull_request(scenario, "labeled", sender="eve", label="deploy:production")
        wait_for(lambda: bot.idle(scenario.repo), what="the label's reconcile")

    assert state.pulls[(scenario.repo, scenario.number)].labels == []
    refusal = next(c for c in state.comments_on(scenario.repo, scenario.number) if "schemawarden:refusal" in c.body)
    assert "the label `deploy:production` added by @eve does not approve `production`" in refusal.body
    assert "eve's permission on" in refusal.body and "is write" in refusal.body
    with psycopg.connect(control, autocommit=True) as conn:
        (recorded,) = refusals(conn, repository=scenario.repo)
    assert (recorded.labeller, recorded.environment, recorded.label) == ("eve", "production", "deploy:production")
    assert history(production[0]) == before
    assert state.deployments(scenario.repo) == []


def test_a_label_by_a_maintainer_applies_records_the_approval_and_reports_a_deployment(
    github: FakeGitHub, control: str, environments: Environments
) -> None:
    state = github.state
    scenario = open_scenario(state, when_after_ms=30_000)
    state.set_permission(scenario.repo, "maria", "maintain")
    staging = environments.database("staging", upto="0010_backfill_todo_status")
    production = environments.database("production", upto=MAIN_TAG)
    with running_bot(control, github, SECRET, {"staging": staging, "production": production}) as bot:
        bot.pull_request(scenario, "opened")
        the_comment(state, scenario)
        merged = state.merge_pull_request(scenario.repo, scenario.number)
        bot.pull_request(scenario, "closed")
        wait_for(lambda: bot.idle(scenario.repo), what="the merge's reconciles")
        # staging (auto) took main's two new migrations; production (label) nothing yet
        pr_when = when_of(main_files(), MAIN_TAG)
        assert len(history(staging[0])) == 13 and pr_when in history(staging[0])
        assert len(history(production[0])) == 12
        state.add_label(scenario.repo, scenario.number, "deploy:production")
        bot.pull_request(scenario, "labeled", sender="maria", label="deploy:production")
        wait_for(lambda: len(history(production[0])) == 13, what="production to get the migration")
        wait_for(lambda: bot.idle(scenario.repo), what="the label's reconcile")

    with psycopg.connect(control, autocommit=True) as conn:
        approvals = conn.execute(
            "SELECT environment, approved_by, label, migrations, applied_at IS NOT NULL FROM "
            "schemawarden_control.approvals WHERE repository = %s", (scenario.repo,)).fetchall()
    assert approvals == [("production", "maria", "deploy:production", [PR_TAG], True)]
    deployments = {d.environment: d for d in state.deployments(scenario.repo)}
    assert set(deployments) == {"staging", "production"}
    assert all(d.sha == merged for d in deployments.values())
    assert [s["state"] for s in deployments["production"].statuses] == ["in_progress", "success"]
    assert deployments["production"].statuses[-1]["description"] == f"applied {PR_TAG}"
    body = state.comments_on(scenario.repo, scenario.number)[0].body
    assert matrix_row(body, "production").endswith(f"| `{PR_TAG}` | applied | — |")


def test_an_approval_revoked_by_unlabel_before_the_merge_applies_nothing(
    github: FakeGitHub, control: str, environments: Environments
) -> None:
    state = github.state
    scenario = open_scenario(state, when_after_ms=30_000)
    state.set_permission(scenario.repo, "maria", "maintain")
    production = environments.database("production", upto=MAIN_TAG)
    with running_bot(control, github, SECRET, {"production": production}) as bot:
        state.add_label(scenario.repo, scenario.number, "deploy:production")
        bot.pull_request(scenario, "labeled", sender="maria", label="deploy:production")
        wait_for(lambda: bot.idle(scenario.repo), what="the label's job")  # approved; not merged: nothing to apply
        state.take_label(scenario.repo, scenario.number, "deploy:production")
        assert bot.pull_request(scenario, "unlabeled", sender="maria", label="deploy:production").json()["outcome"] \
            == "revoked"
        state.merge_pull_request(scenario.repo, scenario.number)
        bot.pull_request(scenario, "closed")
        wait_for(lambda: bot.idle(scenario.repo), what="the merge's reconcile")

    with psycopg.connect(control, autocommit=True) as conn:
        rows = conn.execute("SELECT revoked_by, applied_at FROM schemawarden_control.approvals WHERE repository = %s",
                            (scenario.repo,)).fetchall()
    assert rows == [("maria", None)]
    assert len(history(production[0])) == 12
    assert state.deployments(scenario.repo) == []


@pytest.mark.secrets
def test_nothing_logged_or_published_holds_a_secret() -> None:
    logged = LOG.getvalue()
    assert "webhook event=pull_request" in logged and "job " in logged  # the log was captured
    everything = logged + "\n".join(PUBLISHED)
    leaked = [s[:12] + "…" for s in SECRETS if s and s in everything]
    assert leaked == []
