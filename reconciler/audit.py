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

from reconciler.plan import FolderSeen, Progress

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
        status text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at timestamptz,
        attempts integer NOT NULL DEFAULT 1,
        statements jsonb NOT NULL DEFAULT '[]',
        error text,
        error_line integer,
        error_sqlstate text,
        decision text,
        rollback_sql text,
        folder_head text,
        folder_size integer
    )""",
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = '{AUDIT_SCHEMA}'
                       AND table_name = 'apply_log' AND column_name = 'folder_head') THEN
            ALTER TABLE {AUDIT_SCHEMA}.apply_log ADD COLUMN folder_head text, ADD COLUMN folder_size integer;
        END IF;
    END $$""",
    # statuses: running, applied, failed, interrupted, and accepted (a decision recorded with nothing
    # applied); the constraint is replaced so that tables made by earlier versions gain new statuses
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'apply_log_status_check'
                       AND conrelid = '{AUDIT_SCHEMA}.apply_log'::regclass
                       AND pg_get_constraintdef(oid) LIKE '%accepted%') THEN
            ALTER TABLE {AUDIT_SCHEMA}.apply_log DROP CONSTRAINT IF EXISTS apply_log_status_check;
            ALTER TABLE {AUDIT_SCHEMA}.apply_log ADD CONSTRAINT apply_log_status_check
                CHECK (status IN ('running', 'applied', 'failed', 'interrupted', 'accepted'));
        END IF;
    END $$""",
    f"""CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.apply_progress (
        history_table text NOT NULL,
        migration_tag text NOT NULL,
        migration_hash text NOT NULL,
        step integer NOT NULL,
        first_line integer NOT NULL DEFAULT 0,
        statement_keys text[] NOT NULL DEFAULT '{{}}',
        completed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (history_table, migration_tag, migration_hash, step)
    )""",
    # progress tables of earlier versions were keyed by the file's hash alone
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = '{AUDIT_SCHEMA}'
                       AND table_name = 'apply_progress' AND column_name = 'migration_tag') THEN
            ALTER TABLE {AUDIT_SCHEMA}.apply_progress
                ADD COLUMN migration_tag text, ADD COLUMN first_line integer NOT NULL DEFAULT 0,
                ADD COLUMN statement_keys text[] NOT NULL DEFAULT '{{}}';
            UPDATE {AUDIT_SCHEMA}.apply_progress AS p SET migration_tag = coalesce(
                (SELECT l.migration_tag FROM {AUDIT_SCHEMA}.apply_log AS l
                 WHERE l.migration_hash = p.migration_hash ORDER BY l.id DESC LIMIT 1), p.migration_hash);
            ALTER TABLE {AUDIT_SCHEMA}.apply_progress ALTER COLUMN migration_tag SET NOT NULL,
                DROP CONSTRAINT apply_progress_pkey,
                ADD PRIMARY KEY (history_table, migration_tag, migration_hash, step);
        END IF;
    END $$""",
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
    folder_head: str | None = None  # the last migration of the folder applied from
    folder_size: int | None = None  # and how many it had (see reconciler.plan.FolderSeen)


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
    return LogEntry(id=_insert_row(conn, attempt, tag, digest, "running"))


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


def read_progress(conn: psycopg.Connection[tuple[object, ...]], history_table: str) -> dict[str, Progress]:
    """What earlier attempts committed of migrations not yet applied, by migration tag.

    Empty when the audit tables do not exist yet (nothing was ever applied by schemawarden).
    """
    exists = conn.execute("SELECT to_regclass(%s)", (f"{AUDIT_SCHEMA}.apply_progress",)).fetchone()
    if exists is None or exists[0] is None:
        return {}
    rows = conn.execute(
        f"""SELECT migration_tag, array_agg(DISTINCT migration_hash), array_agg(first_line ORDER BY first_line),
                   coalesce(array_agg(DISTINCT k) FILTER (WHERE k IS NOT NULL), '{{}}')
            FROM {AUDIT_SCHEMA}.apply_progress LEFT JOIN LATERAL unnest(statement_keys) AS k ON true
            WHERE history_table = %s GROUP BY migration_tag""",
        (history_table,),
    ).fetchall()
    progress: dict[str, Progress] = {}
    for tag, hashes, lines, keys in rows:
        progress[str(tag)] = Progress(
            tag=str(tag),
            hashes=frozenset(str(h) for h in hashes),  # type: ignore[attr-defined]
            statement_keys=frozenset(str(k) for k in keys),  # type: ignore[attr-defined]
            lines=tuple(sorted({int(str(line)) for line in lines})),  # type: ignore[attr-defined]
        )
    return progress


def read_folder_seen(
    conn: psycopg.Connection[tuple[object, ...]], history_table: str, digest: str
) -> FolderSeen | None:
    """The folder as seen by the run that applied the migration of this hash (None: not recorded)."""
    exists = conn.execute("SELECT to_regclass(%s)", (f"{AUDIT_SCHEMA}.apply_log",)).fetchone()
    if exists is None or exists[0] is None:
        return None
    if "folder_head" not in {
        str(r[0])
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'apply_log'",
            (AUDIT_SCHEMA,),
        ).fetchall()
    }:
        return None  # written by an earlier version, which did not record the folder
    row = conn.execute(
        f"""SELECT folder_head, folder_size FROM {AUDIT_SCHEMA}.apply_log
            WHERE history_table = %s AND migration_hash = %s AND status = 'applied'
            ORDER BY id DESC LIMIT 1""",
        (history_table, digest),
    ).fetchone()
    if row is None or row[0] is None or row[1] is None:
        return None
    return FolderSeen(head=str(row[0]), size=int(str(row[1])))


def record_step(
    conn: psycopg.Connection[tuple[object, ...]],
    history_table: str,
    tag: str,
    digest: str,
    step: int,
    first_line: int,
    keys: list[str],
) -> None:
    """Record that a step of a migration committed: its index, first line and statement keys."""
    conn.execute(
        f"""INSERT INTO {AUDIT_SCHEMA}.apply_progress
            (history_table, migration_tag, migration_hash, step, first_line, statement_keys)
            VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
        (history_table, tag, digest, step, first_line, keys),
    )


def clear_progress(conn: psycopg.Connection[tuple[object, ...]], history_table: str, tag: str) -> None:
    """Forget every recorded step of a migration (it is applied, or restarted by a decision)."""
    conn.execute(
        f"DELETE FROM {AUDIT_SCHEMA}.apply_progress WHERE history_table = %s AND migration_tag = %s",
        (history_table, tag),
    )


def was_interrupted(conn: psycopg.Connection[tuple[object, ...]], history_table: str, tag: str) -> bool:
    """Whether an earlier attempt at this migration died or failed part way."""
    row = conn.execute(
        f"""SELECT 1 FROM {AUDIT_SCHEMA}.apply_log WHERE history_table = %s AND migration_tag = %s
            AND status IN ('interrupted', 'failed') LIMIT 1""",
        (history_table, tag),
    ).fetchone()
    return row is not None


def record_decision(
    conn: psycopg.Connection[tuple[object, ...]], attempt: Attempt, tag: str, digest: str, what: str
) -> None:
    """A decision taken with nothing to apply (say, accepting a tampered file): an `accepted` row."""
    _insert_row(conn, attempt, tag, digest, "accepted", error=what)


def _insert_row(
    conn: psycopg.Connection[tuple[object, ...]],
    attempt: Attempt,
    tag: str,
    digest: str,
    status: str,
    error: str | None = None,
) -> int:
    """One apply_log row for a migration; closed at once (`finished_at`) unless it is `running`."""
    row = conn.execute(
        f"""INSERT INTO {AUDIT_SCHEMA}.apply_log
            (environment, history_table, migration_tag, migration_hash, actor, pull_request,
             commit_sha, status, decision, error, folder_head, folder_size, finished_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                    CASE WHEN %s = 'running' THEN NULL ELSE clock_timestamp() END) RETURNING id""",
        (
            attempt.environment,
            attempt.history_table,
            tag,
            digest,
            attempt.actor,
            attempt.pull_request,
            attempt.commit_sha,
            status,
            attempt.decision,
            error,
            attempt.folder_head,
            attempt.folder_size,
            status,
        ),
    ).fetchone()
    assert row is not None
    return int(str(row[0]))
