"""The control database's schema: our own versioned migrations, and the queue library's tables.

`setup` installs or upgrades both under one advisory lock, so that several replicas starting at
once do it once (the others wait, then find nothing to do). Our migrations live here as a list;
each runs in its own transaction with its row in `schema_version`, so a crash leaves either the
whole step or none of it. Never edit a step once released: append a new one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg

from bot.control import queue
from bot.control.database import connect_async
from policies.errors import ConfigurationError

log = logging.getLogger(__name__)

SCHEMA = "schemawarden_control"
SETUP_LOCK = 0x53574354  # "SWCT": pg_advisory_lock(bigint) key of `setup`


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "deliveries, approvals and the newest published analysis per pull request",
        f"""
        CREATE TABLE {SCHEMA}.deliveries (
            delivery_id text PRIMARY KEY,
            event text NOT NULL,
            action text,
            repository text,
            received_at timestamptz NOT NULL DEFAULT now(),
            outcome text NOT NULL,
            jobs bigint[] NOT NULL DEFAULT '{{}}'
        );
        COMMENT ON TABLE {SCHEMA}.deliveries IS
            'One row per verified X-GitHub-Delivery: a redelivery finds its row and is not processed again';
        CREATE INDEX deliveries_received_at ON {SCHEMA}.deliveries (received_at);

        CREATE TABLE {SCHEMA}.approvals (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            repository text NOT NULL,
            environment text NOT NULL,
            pull_request integer NOT NULL,
            head_sha text NOT NULL,
            migrations text[] NOT NULL DEFAULT '{{}}',
            approved_by text NOT NULL,
            approved_at timestamptz NOT NULL DEFAULT now(),
            label text,
            revoked_at timestamptz,
            revoked_by text,
            applied_at timestamptz
        );
        COMMENT ON TABLE {SCHEMA}.approvals IS
            'Decisions that let migrations through an environment''s gate: who, when, via which label';
        CREATE UNIQUE INDEX approvals_one_standing ON {SCHEMA}.approvals
            (repository, environment, pull_request, head_sha, coalesce(label, ''))
            WHERE revoked_at IS NULL;

        CREATE TABLE {SCHEMA}.pull_request_analyses (
            repository text NOT NULL,
            pull_request integer NOT NULL,
            head_sha text NOT NULL,
            head_updated_at timestamptz NOT NULL,
            job_id bigint NOT NULL,
            published_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (repository, pull_request)
        );
        COMMENT ON TABLE {SCHEMA}.pull_request_analyses IS
            'The newest analysis published per pull request: an older one never overwrites it';
        """,
    ),
    Migration(
        2,
        "refused approvals (a label added by someone without the permission the policy asks)",
        f"""
        CREATE TABLE {SCHEMA}.approval_refusals (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            repository text NOT NULL,
            environment text NOT NULL,
            pull_request integer NOT NULL,
            head_sha text NOT NULL,
            label text NOT NULL,
            labeller text NOT NULL,
            reason text NOT NULL,
            job_id bigint NOT NULL,
            refused_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (job_id, environment)
        );
        COMMENT ON TABLE {SCHEMA}.approval_refusals IS
            'Approval labels refused: who added which label where, and why it did not count';
        """,
    ),
)
CURRENT_VERSION = MIGRATIONS[-1].version


@dataclass(frozen=True)
class SchemaStatus:
    """What `/readyz` reports: our schema's version against this build's, and the queue's tables.

    `queue_pending` counts the statements the queue library would still run (0: current).
    """

    version: int
    expected: int
    queue_pending: int

    @property
    def current(self) -> bool:
        return self.version >= self.expected and self.queue_pending == 0

    def problems(self) -> list[str]:
        found = []
        if self.version < self.expected:
            found.append(
                f"control schema version {self.version} is older than this build's {self.expected}: "
                "run `schemawarden setup`"
            )
        if self.queue_pending:
            found.append(
                f"the job queue's tables need {self.queue_pending} change(s): run `schemawarden setup`"
            )
        return found


MINIMUM_SERVER_VERSION = 120000
"""The control database needs PostgreSQL 12: the job queue's statements use `WITH ... AS
MATERIALIZED` (queries-with.html, new in 12)."""


def require_supported_server(server_version: int) -> None:
    """Raise ConfigurationError for a control database server older than 12 (`server_version` as
    libpq gives it: 110022 for 11.22). Environments and scratch servers may be 11; the control
    database may not."""
    if server_version < MINIMUM_SERVER_VERSION:
        raise ConfigurationError(
            f"the control database needs PostgreSQL 12 or later (the job queue's statements use "
            f"MATERIALIZED common table expressions); this server is {server_version // 10000}. Point "
            "SCHEMAWARDEN_CONTROL_URL at a newer server, or leave it unset for the embedded PostgreSQL"
        )


async def setup(url: str) -> list[str]:
    """Install or upgrade the control database (queue tables, then our migrations); returns what ran.

    Safe to run twice and from several processes at once: the work happens under one session
    advisory lock, and each step is planned after the lock is held. Raises
    ControlDatabaseUnreachable when the database cannot be reached, ConfigurationError when its
    server is older than PostgreSQL 12.
    """
    done: list[str] = []
    conn = await connect_async(url, application_name="schemawarden-setup")
    try:
        require_supported_server(conn.info.server_version)
        await conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            plan = await queue.queries(conn).apply_upgrade()
            if plan.statements:
                done.append(f"job queue: {len(plan.statements)} statement(s) in {queue.QUEUE_SCHEMA}")
            done += await _migrate(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
    finally:
        await conn.close()
    for line in done:
        log.info("setup: %s", line)
    return done


async def _migrate(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    await conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (
            version integer PRIMARY KEY,
            description text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )"""
    )
    version = await _version(conn)
    done = []
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                f"INSERT INTO {SCHEMA}.schema_version (version, description) VALUES (%s, %s)",
                (migration.version, migration.description),
            )
        done.append(f"control schema version {migration.version}: {migration.description}")
    return done


async def _version(conn: psycopg.AsyncConnection[Any]) -> int:
    exists = await (await conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",))).fetchone()
    if exists is None or exists[0] is None:
        return 0
    row = await (await conn.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_version")).fetchone()
    return int(row[0]) if row else 0


async def schema_status(conn: psycopg.AsyncConnection[Any]) -> SchemaStatus:
    """Our schema's version and the queue library's pending changes, read on `conn`."""
    plan = await queue.queries(conn).plan_upgrade()
    return SchemaStatus(version=await _version(conn), expected=CURRENT_VERSION, queue_pending=len(plan.statements))
