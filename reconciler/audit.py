"""The audit trail in each environment: `schemawarden.apply_log` and step progress.

Every attempt to apply a migration gets a row before it starts (status `running`) and is
closed with its outcome, written on a connection of its own so that it survives the rollback
of the migration. A row still `running` when the next runner takes the lock belongs to a
runner that died: it is marked `interrupted`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

AUDIT_SCHEMA = "schemawarden"

_DDL = [
    f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.apply_log (
        id bigserial PRIMARY KEY,
        environment text NOT NULL,
        history_table text NOT NULL,
        migration_tag text NOT NULL,
        migration_hash text NOT NULL,
        actor text NOT NULL,
        pull_request integer,
        commit_sha text,
        status text NOT NULL CHECK (status IN ('running', 'applied', 'failed', 'interrupted')),
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at timestamptz,
        attempts integer NOT NULL DEFAULT 1,
        statements jsonb NOT NULL DEFAULT '[]',
        error text,
        error_line integer,
        error_sqlstate text,
        decision text,
        rollback_sql text
    )""",
    f"""CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.apply_progress (
        history_table text NOT NULL,
        migration_hash text NOT NULL,
        step integer NOT NULL,
        completed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (history_table, migration_hash, step)
    )""",
]


@dataclass(frozen=True)
class Attempt:
    """Who applies what, from where: the context every log row carries."""

    environment: str
    history_table: str
    actor: str
    pull_request: int | None = None
    commit_sha: str | None = None
    decision: str | None = None


@dataclass
class StatementRecord:
    """One executed statement in the log: where it is, how long it took, how it ended."""

    line: int
    sql: str
    duration_ms: float
    outcome: str

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "sql": self.sql[:500],
            "duration_ms": round(self.duration_ms, 1),
            "outcome": self.outcome,
        }


@dataclass
class LogEntry:
    """What the log row of one migration attempt will be closed with."""

    id: int
    statements: list[StatementRecord] = field(default_factory=list)
    attempts: int = 1


def use_audit_connection(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Make a connection the audit writer: its commits do not wait for the WAL flush.

    The `running` row only has to outlive a dead client, not a crashed server (which rolls the
    migration back anyway), so it saves an fsync per migration. What must survive a server
    crash (progress of non-transactional steps, failures) is written `durably`; a migration's
    success is recorded in the migration's own, synchronous transaction.
    """
    conn.execute("SET synchronous_commit = off")


@contextmanager
def durably(conn: psycopg.Connection[tuple[object, ...]]) -> Iterator[None]:
    """A transaction on the audit connection that waits for its WAL flush."""
    with conn.transaction():
        conn.execute("SET LOCAL synchronous_commit = on")
        yield


def ensure_audit_tables(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    for ddl in _DDL:
        conn.execute(ddl)


def mark_interrupted(conn: psycopg.Connection[tuple[object, ...]], history_table: str) -> int:
    """Close rows left `running` by a runner that died; called only while holding the lock."""
    cur = conn.execute(
        f"""UPDATE {AUDIT_SCHEMA}.apply_log
            SET status = 'interrupted', finished_at = clock_timestamp(),
                error = coalesce(error, 'the runner stopped before finishing (killed or disconnected)')
            WHERE status = 'running' AND history_table = %s""",
        (history_table,),
    )
    return cur.rowcount


def open_entry(
    conn: psycopg.Connection[tuple[object, ...]], attempt: Attempt, tag: str, digest: str
) -> LogEntry:
    """Insert the `running` row (on the audit connection, see `use_audit_connection`)."""
    row = conn.execute(
        f"""INSERT INTO {AUDIT_SCHEMA}.apply_log
            (environment, history_table, migration_tag, migration_hash, actor, pull_request,
             commit_sha, status, decision)
            VALUES (%s, %s, %s, %s, %s, %s, %s, 'running', %s) RETURNING id""",
        (
            attempt.environment,
            attempt.history_table,
            tag,
            digest,
            attempt.actor,
            attempt.pull_request,
            attempt.commit_sha,
            attempt.decision,
        ),
    ).fetchone()
    assert row is not None
    return LogEntry(id=int(str(row[0])))


def close_entry(
    conn: psycopg.Connection[tuple[object, ...]],
    entry: LogEntry,
    status: str,
    error: str | None = None,
    error_line: int | None = None,
    sqlstate: str | None = None,
) -> None:
    conn.execute(
        f"""UPDATE {AUDIT_SCHEMA}.apply_log
            SET status = %s, finished_at = clock_timestamp(), attempts = %s, statements = %s,
                error = %s, error_line = %s, error_sqlstate = %s
            WHERE id = %s""",
        (
            status,
            entry.attempts,
            Jsonb([s.to_json() for s in entry.statements]),
            error,
            error_line,
            sqlstate,
            entry.id,
        ),
    )


def completed_steps(
    conn: psycopg.Connection[tuple[object, ...]], history_table: str, digest: str
) -> set[int]:
    rows = conn.execute(
        f"SELECT step FROM {AUDIT_SCHEMA}.apply_progress WHERE history_table = %s AND migration_hash = %s",
        (history_table, digest),
    ).fetchall()
    return {int(str(r[0])) for r in rows}


def record_step(
    conn: psycopg.Connection[tuple[object, ...]], history_table: str, digest: str, step: int
) -> None:
    conn.execute(
        f"""INSERT INTO {AUDIT_SCHEMA}.apply_progress (history_table, migration_hash, step)
            VALUES (%s, %s, %s) ON CONFLICT DO NOTHING""",
        (history_table, digest, step),
    )


def clear_progress(conn: psycopg.Connection[tuple[object, ...]], history_table: str, digest: str) -> None:
    conn.execute(
        f"DELETE FROM {AUDIT_SCHEMA}.apply_progress WHERE history_table = %s AND migration_hash = %s",
        (history_table, digest),
    )


def was_interrupted(conn: psycopg.Connection[tuple[object, ...]], history_table: str, digest: str) -> bool:
    """Whether an earlier attempt at this migration died or failed part way."""
    row = conn.execute(
        f"""SELECT 1 FROM {AUDIT_SCHEMA}.apply_log WHERE history_table = %s AND migration_hash = %s
            AND status IN ('interrupted', 'failed') LIMIT 1""",
        (history_table, digest),
    ).fetchone()
    return row is not None
