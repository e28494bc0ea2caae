"""The PR bot part of `schemawarden demo`: the bundled sample project as a pull request.

The sample project (`reconciler/sample`) is pushed to a repository of a local stand-in for GitHub
(`bot.fake_github`, served on a loopback port of this process: no account, no network); a pull
request adds a risky migration (a plain CREATE INDEX and a column drop). The real webhook service
and a worker run in this process on another loopback port (`bot.web.local.LocalService`); a
signed `pull_request` webhook is posted to it over HTTP, the worker runs the real analysis job
against the stand-in, and the comment it posted is returned. The environment `staging` is the
demo's database, where the sample's migrations were just applied.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from typing import TextIO

import httpx

from bot.commands import write
from bot.control.schema import setup
from bot.fake_github import FakeGitHub, FakeGitHubState, make_app_identity
from bot.fake_github.openapi import Description
from bot.fake_github.webhooks import delivery, pull_request_event
from bot.settings import load_service_settings
from bot.web.local import LocalService
from bot.worker import WorkerOptions
from policies.errors import SchemawardenError
from reconciler.migrations import JOURNAL, SAMPLE_PROJECT

REPOSITORY = "acme/todo-app"
BRANCH = "drop-user-about"
RISKY_TAG = "0011_drop_user_about"
RISKY_SQL = (
    'CREATE INDEX "todo_title_idx" ON "todo" USING btree ("title");--> statement-breakpoint\n'
    'ALTER TABLE "user" DROP COLUMN "about";'
)
WAIT_S = 60.0


@dataclass(frozen=True)
class PullRequestDemo:
    """What the demo's pull request got: the comment's markdown and the check run's outcome."""

    repository: str
    number: int
    comment: str
    conclusion: str | None
    title: str | None
    seconds: float
    """From the webhook posted to the comment posted."""


def sample_files() -> dict[str, bytes]:
    """The sample project as a repository: its migrations folder, schema and drizzle config."""
    files: dict[str, bytes] = {}
    for part in ("migrations", "src"):
        root = SAMPLE_PROJECT / part
        for path in sorted(root.rglob("*")):
            if path.is_file():
                files[f"{part}/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    files["drizzle.config.ts"] = (SAMPLE_PROJECT / "drizzle.config.ts").read_bytes()
    return files


def risky_change(files: dict[str, bytes], tag: str = RISKY_TAG, sql: str = RISKY_SQL,
                 when_after_ms: int = 60_000) -> dict[str, bytes | str | None]:
    """What `drizzle-kit generate` writes for a new migration `tag` with `sql`: the SQL file and
    the journal with its entry (`when` this long after the newest), plus the schema source change."""
    journal = json.loads(files[f"migrations/{JOURNAL}"])
    last = journal["entries"][-1]
    journal["entries"].append({"idx": last["idx"] + 1, "version": last["version"], "when": last["when"] + when_after_ms,
                               "tag": tag, "breakpoints": True})
    schema = files["src/models/Schema.ts"].decode().replace("  about: text('about'),\n", "")
    schema = schema.replace("    index('todo_owner_id_idx').on(table.ownerId),\n",
                            "    index('todo_owner_id_idx').on(table.ownerId),\n    index('todo_title_idx').on(table.title),\n")
    return {f"migrations/{tag}.sql": sql, f"migrations/{JOURNAL}": json.dumps(journal, indent=2) + "\n",
            "src/models/Schema.ts": schema}


def open_sample_pull_request(state: FakeGitHubState, repository: str = REPOSITORY) -> int:
    """The sample project on the default branch and a pull request adding the risky migration;
    returns its number."""
    files = sample_files()
    state.create_repository(repository, files)
    state.push(repository, BRANCH, risky_change(files), message="Drop user.about, index todo.title")
    return state.open_pull_request(repository, BRANCH, title="Drop user.about, index todo.title",
                                   user="contributor").number


def run_pull_request_demo(control_url: str, staging_url: str) -> PullRequestDemo:
    """Serve the stand-in GitHub and the bot on loopback, deliver the pull request's `opened`
    webhook, and return what the bot posted. `control_url` names an empty database (its schema is
    set up here); `staging_url` the demo's environment. Raises SchemawardenError when the bot has
    not commented within `WAIT_S` seconds."""
    asyncio.run(setup(control_url))
    github = FakeGitHub(make_app_identity(slug="schemawarden"), Description(validate=False)).start()
    try:
        state = github.state
        number = open_sample_pull_request(state)
        secret = secrets.token_hex(16)
        settings = load_service_settings({
            "SCHEMAWARDEN_WEBHOOK_SECRET": secret,
            "SCHEMAWARDEN_GITHUB_APP_ID": str(github.app_identity.id),
            "SCHEMAWARDEN_GITHUB_PRIVATE_KEY": github.app_identity.private_key_pem,
            "SCHEMAWARDEN_GITHUB_API_URL": github.url,
            "SCHEMAWARDEN_GITHUB_SECONDS_BETWEEN_WRITES": "0",  # the stand-in has no secondary limits
            "SCHEMAWARDEN_ENV_STAGING_URL": staging_url,
        })
        with LocalService(settings, control_url, options=WorkerOptions(concurrency=2, idle_poll_s=0.2)) as service:
            body, headers = delivery("pull_request", pull_request_event(state, REPOSITORY, number, "opened"), secret)
            started = time.monotonic()
            answer = httpx.post(f"{service.url}/webhooks/github", content=body, headers=headers, timeout=10)
            if answer.status_code != 202:
                raise SchemawardenError(f"the webhook service answered {answer.status_code}: {answer.text}")
            comment = _wait_for_comment(state, number, started)
            elapsed = time.monotonic() - started
            runs = _wait_for_check_run(state, started)
        return PullRequestDemo(REPOSITORY, number, comment, runs[0] if runs else None, runs[1] if runs else None,
                               elapsed)
    finally:
        github.stop()


def print_pull_request_demo(shown: PullRequestDemo, out: TextIO) -> None:
    """What the bot did, for a terminal: the check run's outcome, then the comment's markdown."""
    rule = "-" * 78
    verdict = f"check run: {shown.conclusion} ({shown.title})" if shown.conclusion else "no check run yet"
    write(out, f"\nThe PR bot: pull request #{shown.number} of {shown.repository} adds {RISKY_TAG} (a plain "
               "CREATE INDEX and a column drop),\non a local stand-in for GitHub. The webhook service and a "
               f"worker answered in {shown.seconds:.2f} s;\n{verdict}. The comment it posted:\n\n"
               f"{rule}\n{shown.comment.rstrip()}\n{rule}\n")
    out.flush()


def _wait_for_comment(state: FakeGitHubState, number: int, started: float) -> str:
    while time.monotonic() - started < WAIT_S:
        posted = state.comments_on(REPOSITORY, number)
        if posted:
            return posted[0].body
        time.sleep(0.02)
    raise SchemawardenError(f"the bot did not comment within {WAIT_S:.0f} s; run with -v to see its log")


def _wait_for_check_run(state: FakeGitHubState, started: float) -> tuple[str | None, str | None] | None:
    while time.monotonic() - started < WAIT_S:
        done = [run for run in state.check_runs(REPOSITORY) if run.conclusion is not None]
        if done:
            return done[0].conclusion, done[0].title
        time.sleep(0.02)
    return None
