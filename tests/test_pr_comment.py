"""The sticky comment's parts, and the bot judging a pull request exactly as `check --base` judges
the same branch in a local clone."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pr_bot_harness import PR_PATH, main_files, pull_request_change

from bot.commands.check import judge_branch
from bot.comment import ENVIRONMENTS_END, ENVIRONMENTS_START, Comment, EnvironmentRow, with_environments
from bot.fake_github import FakeGitHub
from bot.github import PullRequestInfo
from bot.github.client import PyGitHubClient
from bot.jobs import AnalysePullRequest
from bot.pull_request import analyse
from bot.render.markdown import GITHUB_COMMENT_LIMIT, comment_length
from bot.settings import load_service_settings
from policies.policy_file import load_policy
from policies.report import (
    Category,
    FileReport,
    Finding,
    Rollback,
    RollbackStatus,
    Severity,
    StatementReport,
)

ROWS = (
    EnvironmentRow("staging", "auto (on merge)", "0010_backfill", "pending (1)"),
    EnvironmentRow("production", "label `deploy:production`", "0011_due", "pending (1)",
                   ("out of order: `0012` is older than `0011_due`",)),
    EnvironmentRow("qa", "auto (on merge)", error="cannot connect to environment 'qa' at db:5432/qa | refused"),
)


def report(path: str = "migrations/0012_x.sql", rollback: Rollback | None = None, findings: int = 1) -> FileReport:
    statement = StatementReport(2, 'ALTER TABLE "user" DROP COLUMN "about"')
    found = tuple(
        Finding("SW302", "drop-column", Category.DATA_LOSS, Severity.ERROR, 2, f"Dropping user.about ({n})",
                'ALTER TABLE "user" DROP COLUMN "about";')
        for n in range(findings)
    )
    return FileReport(path, "0012_x", (statement,), found, rollback)


def test_the_layout_summary_notes_matrix_then_files() -> None:
    body = Comment((report(),), Severity.ERROR, None, ROWS, ("This pull request comes from a fork.",)).render()
    order = [body.index(part) for part in ("## schemawarden", "1 file, 1 statement: 1 error. **Fails**",
                                           "> This pull request comes from a fork.", "### Environments",
                                           ENVIRONMENTS_START, ENVIRONMENTS_END, "### `migrations/0012_x.sql`",
                                           "<!-- schemawarden -->")]
    assert order == sorted(order)
    assert "| `production` | label `deploy:production` | `0011_due` | pending (1) | 🛑 out of order:" in body
    assert "⚠️ not read: cannot connect to environment 'qa' at db:5432/qa &#124; refused | — | — |" in body


def test_a_proven_rollback_is_shown_with_its_sql() -> None:
    proven = Rollback(RollbackStatus.IRREVERSIBLE, 'ALTER TABLE "user" ADD COLUMN "about" text;',
                      reason="the values of user.about are lost")
    body = Comment((report(rollback=proven),), Severity.ERROR, None, ROWS).render()
    assert "**Rollback**: ⚠️ irreversible: the values of user.about are lost" in body
    assert 'ALTER TABLE "user" ADD COLUMN "about" text;' in body.split("**Rollback**")[1]


def test_the_matrix_alone_is_replaced() -> None:
    body = Comment((report(),), Severity.ERROR, None, ROWS).render()
    applied = (EnvironmentRow("production", "label `deploy:production`", "0012_x", "applied"),)
    changed = with_environments(body, applied)
    assert "| `production` | label `deploy:production` | `0012_x` | applied | — |" in changed
    assert "`staging`" not in changed and "out of order" not in changed
    assert changed.replace(changed[changed.index(ENVIRONMENTS_START):changed.index(ENVIRONMENTS_END)], "") == \
        body.replace(body[body.index(ENVIRONMENTS_START):body.index(ENVIRONMENTS_END)], "")
    assert with_environments("a person's comment", applied) == "a person's comment"


def test_a_huge_report_folds_under_githubs_limit_and_keeps_the_matrix() -> None:
    reports = tuple(report(f"migrations/{n:04d}_x.sql", findings=40) for n in range(200))
    body = Comment(reports, Severity.ERROR, None, ROWS, ("note",)).render()
    assert comment_length(body) <= GITHUB_COMMENT_LIMIT
    assert "**Folded to fit a GitHub comment**" in body and "| `production` |" in body and "> note" in body


# --- the same judgement as check --base ---------------------------------------------------------------


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _write(root: Path, files: dict[str, bytes | str | None]) -> None:
    for name, data in files.items():
        path = root / name
        if data is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)


def opened(
    fake_github: FakeGitHub, app_client: Callable[..., PyGitHubClient], repo: str,
    files: dict[str, bytes], change: Mapping[str, bytes | str | None],
) -> tuple[PyGitHubClient, AnalysePullRequest, PullRequestInfo]:
    """`repo` on the fake GitHub with `files` on main and a pull request of `change`: the App's
    client, the analysis job an `opened` delivery gives, and the pull request as the client reads it."""
    state = fake_github.state
    state.create_repository(repo, files)
    head = state.push(repo, "change", change)
    number = state.open_pull_request(repo, "change").number
    client = app_client()
    pull = client.pull_request(repo, number)
    job = AnalysePullRequest(delivery_id="d", repository=repo, number=number, action="opened", head_sha=head,
                             head_ref="change", head_repository=repo, base_ref="main", base_sha=pull.base_sha,
                             updated_at=datetime.now(UTC))
    return client, job, pull


def test_the_bot_judges_a_pull_request_as_check_base_judges_the_branch(
    fake_github: FakeGitHub, app_client: Callable[..., PyGitHubClient], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = '[rules]\nSW606 = "warning"\n'
    files = main_files(policy)
    edited = files["migrations/0010_backfill_todo_status.sql"] + b"\n-- edited after it was applied\n"
    change: dict[str, bytes | str | None] = {
        **pull_request_change(files),
        "migrations/0010_backfill_todo_status.sql": edited,
        "migrations/stray.sql": "DROP TABLE session;\n",
    }
    client, job, pull = opened(fake_github, app_client, "acme/parity", files, change)
    analysis = analyse(client, job, pull, load_service_settings({}))
    bot = sorted((a.path, a.start_line, a.title.split()[0] if a.title else "", a.level)
                 for a in analysis.verdict.annotations)

    _write(tmp_path, files)
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "main")
    _git(tmp_path, "checkout", "-qb", "change")
    _write(tmp_path, change)
    monkeypatch.chdir(tmp_path)
    parsed = load_policy(policy, "schemawarden.toml")
    reports = judge_branch("main", ["migrations"], parsed, parsed.pg_version)
    level = {"error": "failure", "warning": "warning", "info": "notice"}
    cli = sorted((r.path, f.line or 1, f.code, level[f.severity.value]) for r in reports for f in r.findings)

    assert bot == cli
    codes = {code for _, _, code, _ in bot}
    assert {"SW101", "SW302", "SW606", "SW690", "SW610"} <= codes, codes
    assert (PR_PATH, 1, "SW606", "warning") in bot  # the default branch's policy raised SW606


def test_where_the_service_applies_findings_are_for_its_apply_not_drizzles_migrator(
    fake_github: FakeGitHub, app_client: Callable[..., PyGitHubClient],
) -> None:
    """The demo's comment said the environment was applied "auto (on merge)" by schemawarden and, in
    SW606, that drizzle-orm's migrator sets no lock_timeout: the service applies to the
    environments it serves, so without `applied_by` in the policy it judges for its own apply."""
    files = main_files('[rules]\nSW606 = "warning"\n')
    client, job, pull = opened(fake_github, app_client, "acme/applier", files, pull_request_change(files))

    def codes(settings: dict[str, str]) -> set[str]:
        analysis = analyse(client, job, pull, load_service_settings(settings))
        return {a.title.split()[0] for a in analysis.verdict.annotations if a.title}

    assert "SW606" in codes({})
    served = codes({"SCHEMAWARDEN_ENV_STAGING_URL": "postgresql://app@127.0.0.1:1/staging"})
    assert "SW606" not in served and "SW101" in served
