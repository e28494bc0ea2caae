"""The PR bot for tests: the real service and worker on loopback, the fake GitHub, real databases.

A `Scenario` is a repository on the fake GitHub holding the bundled sample project plus one more
migration on the default branch (`0011_add_todo_due`), and a pull request adding
`0012_drop_user_about` (a plain CREATE INDEX and a column drop). Environments are databases of
their own, owned by a role with a password, their history prepared by the real apply engine up to
a given migration. Everything the tests post goes over HTTP; what the bot did is read back from
the fake GitHub and the databases.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg import sql

from bot.demo import RISKY_SQL, risky_change, sample_files
from bot.fake_github import FakeGitHub, FakeGitHubState
from bot.fake_github.webhooks import delivery, pull_request_event
from bot.settings import load_service_settings
from bot.web.local import LocalService
from bot.worker import WorkerOptions
from reconciler.apply import ApplyOptions, apply_environment
from reconciler.database.embedded import drop_database, ensure_database, with_database
from reconciler.environments import EnvironmentConfig
from reconciler.migrations import JOURNAL, load_migration_files

MAIN_TAG = "0011_add_todo_due"
MAIN_SQL = 'ALTER TABLE "todo" ADD COLUMN "due" timestamp;'
PR_TAG = "0012_drop_user_about"
PR_PATH = f"migrations/{PR_TAG}.sql"
POLICY = """\
[environments.staging]
gate = "auto"

[environments.production]
gate = "label"
"""
QUEUE = "schemawarden_queue.pgqueuer"


def main_files(policy: str | None = POLICY) -> dict[str, bytes]:
    """The default branch: the sample project, `MAIN_TAG` and the policy file."""
    files = sample_files()
    files.update({k: v.encode() if isinstance(v, str) else v
                  for k, v in risky_change(files, MAIN_TAG, MAIN_SQL).items() if v is not None})
    if policy is not None:
        files["schemawarden.toml"] = policy.encode()
    return files


def pull_request_change(files: dict[str, bytes], sql_text: str = RISKY_SQL,
                        when_after_ms: int = -30_000) -> dict[str, bytes | str | None]:
    """The pull request's commit: `PR_TAG` with `sql_text`, its `when` this far from main's newest
    (negative: generated before main's last migration, so out of order where that one is applied)."""
    return risky_change(files, PR_TAG, sql_text, when_after_ms)


@dataclass
class Scenario:
    """A repository on the fake GitHub and its open pull request."""

    state: FakeGitHubState
    repo: str
    number: int
    branch: str = "drop-user-about"

    @property
    def head(self) -> str:
        return self.state.pulls[(self.repo, self.number)].head_sha

    def push(self, files: dict[str, bytes | str | None]) -> str:
        return self.state.push(self.repo, self.branch, files, message="another push")


def open_scenario(state: FakeGitHubState, *, policy: str | None = POLICY, when_after_ms: int = -30_000,
                  fork: str | None = None, pr_extra: dict[str, bytes | str | None] | None = None) -> Scenario:
    """A repository of its own (a name no other test uses) with `main_files(policy)` and a pull
    request adding `PR_TAG` (from `fork` when given, a copy of the repository)."""
    repo = f"acme-{uuid.uuid4().hex[:8]}/shop"
    files = main_files(policy)
    state.create_repository(repo, files)
    change = {**pull_request_change(files, when_after_ms=when_after_ms), **(pr_extra or {})}
    source = repo
    if fork is not None:
        source = f"{fork}-{uuid.uuid4().hex[:6]}/shop"
        state.create_repository(source, files, installed=False)
    state.push(source, "drop-user-about", change, message="Drop user.about")
    pull = state.open_pull_request(repo, "drop-user-about", head_repo=source if fork else None, user="contributor")
    return Scenario(state, repo, pull.number)


@dataclass
class Environments:
    """Databases standing for environments, each owned by `role` (password `password`)."""

    admin_url: str
    role: str
    password: str
    readonly_role: str
    readonly_password: str
    created: list[str] = field(default_factory=list)

    def database(self, name: str, upto: str | None, files: dict[str, bytes] | None = None) -> tuple[str, str]:
        """A fresh database where the default branch's migrations were applied up to `upto` (none:
        empty); returns (owner URL, read-only URL)."""
        database = f"sw_prbot_{name}_{uuid.uuid4().hex[:8]}"
        ensure_database(self.admin_url, database)
        self.created.append(database)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database),
                                                                        sql.Identifier(self.role)))
        owner = psycopg.conninfo.make_conninfo(with_database(self.admin_url, database), user=self.role,
                                               password=self.password)
        readonly = psycopg.conninfo.make_conninfo(with_database(self.admin_url, database),
                                                  user=self.readonly_role, password=self.readonly_password)
        if upto is not None:
            folder = {k.removeprefix("migrations/"): v for k, v in (files or main_files()).items()
                      if k.startswith("migrations/")}
            migrations = load_migration_files(folder, "main")
            env = EnvironmentConfig(name=name, gate="auto")
            result = apply_environment(env, owner, migrations, ApplyOptions(actor="test setup", stop_at=upto))
            assert result.ok, result
        with psycopg.connect(owner, autocommit=True) as conn:
            for schema in ("drizzle", "schemawarden"):
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema),
                                                                            sql.Identifier(self.readonly_role)))
                conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                    sql.Identifier(schema), sql.Identifier(self.readonly_role)))
        return owner, readonly

    def drop_all(self) -> None:
        for database in self.created:
            drop_database(self.admin_url, database)


@contextlib.contextmanager
def environment_roles(admin_url: str, prefix: str, password: str, readonly_password: str) -> Iterator[Environments]:
    """Two login roles with passwords (owner, read-only) and the databases made for them, all
    dropped when the block ends."""
    owner, readonly = f"{prefix}", f"{prefix}_ro"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for role, secret in ((owner, password), (readonly, readonly_password)):
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(secret)))
    envs = Environments(admin_url, owner, password, readonly, readonly_password)
    try:
        yield envs
    finally:
        envs.drop_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for role in (owner, readonly):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def history(url: str) -> list[str]:
    """The `created_at` of each row of drizzle's history (the journal's `when`), oldest first."""
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations')").fetchone()
        if exists is None or exists[0] is None:
            return []
        return [str(r[0]) for r in conn.execute("SELECT created_at FROM drizzle.__drizzle_migrations ORDER BY id")]


def when_of(files: dict[str, bytes], tag: str) -> str:
    journal = json.loads(files[f"migrations/{JOURNAL}"])
    return str(next(e["when"] for e in journal["entries"] if e["tag"] == tag))


class Bot:
    """The service and worker of one test, configured by `environ`, posting signed webhooks."""

    def __init__(self, control_url: str, environ: dict[str, str], secret: str) -> None:
        self.secret = secret
        self.settings = load_service_settings(environ)
        options = WorkerOptions(concurrency=4, heartbeat_timeout_s=30, idle_poll_s=0.2, first_retry_s=0.2,
                                max_retry_s=1.0, max_attempts=3)
        self.service = LocalService(self.settings, control_url, options=options).start()
        self.control_url = control_url

    def deliver(self, event: str, payload: dict[str, Any], delivery_id: str | None = None) -> httpx.Response:
        body, headers = delivery(event, payload, self.secret)
        if delivery_id is not None:
            headers["X-GitHub-Delivery"] = delivery_id
        return httpx.post(f"{self.service.url}/webhooks/github", content=body, headers=headers, timeout=10)

    def pull_request(self, scenario: Scenario, action: str, **extra: Any) -> httpx.Response:
        answer = self.deliver("pull_request", pull_request_event(scenario.state, scenario.repo, scenario.number,
                                                                 action, **extra))
        assert answer.status_code == 202, answer.text
        return answer

    def idle(self, repo: str) -> bool:
        """No job of `repo` is queued or running."""
        with psycopg.connect(self.control_url, autocommit=True) as conn:
            row = conn.execute(
                f"SELECT count(*) FROM {QUEUE} WHERE status IN ('queued', 'picked') "
                "AND convert_from(payload, 'UTF8')::jsonb ->> 'repository' = %s", (repo,)).fetchone()
        return row is not None and row[0] == 0

    def stop(self) -> None:
        self.service.stop()


@contextlib.contextmanager
def running_bot(control_url: str, github: FakeGitHub, secret: str, environments: dict[str, tuple[str, str | None]],
                *, token: str | None = None) -> Iterator[Bot]:
    """A bot serving `environments` (name -> owner URL, read-only URL), as the fake's App, or with
    `token` (token mode)."""
    environ = {"SCHEMAWARDEN_WEBHOOK_SECRET": secret, "SCHEMAWARDEN_GITHUB_API_URL": github.url,
               "SCHEMAWARDEN_GITHUB_SECONDS_BETWEEN_WRITES": "0",
               # proofs of the pull requests' migrations run on the control server (a superuser URL)
               "SCHEMAWARDEN_SCRATCH_URL": control_url}
    if token is None:
        environ["SCHEMAWARDEN_GITHUB_APP_ID"] = str(github.app_identity.id)
        environ["SCHEMAWARDEN_GITHUB_PRIVATE_KEY"] = github.app_identity.private_key_pem
    else:
        environ["SCHEMAWARDEN_GITHUB_TOKEN"] = token
    for name, (owner, readonly) in environments.items():
        environ[f"SCHEMAWARDEN_ENV_{name.upper()}_URL"] = owner
        if readonly is not None:
            environ[f"SCHEMAWARDEN_READONLY_{name.upper()}_URL"] = readonly
    bot = Bot(control_url, environ, secret)
    try:
        yield bot
    finally:
        bot.stop()


