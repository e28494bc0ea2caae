"""One runner per environment: a session-level advisory lock keyed by the history table.

Advisory locks are per database, so the key (a fixed namespace plus the hash of the history
table's name) makes the lock "per target database and history table".
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from reconciler.history import HistoryTable

LOCK_NAMESPACE = 0x5357  # "SW"


@dataclass(frozen=True)
class LockHolder:
    """The session holding an environment's runner lock, as PostgreSQL sees it."""

    pid: int
    application_name: str
    client: str
    held_for_seconds: int

    def describe(self) -> str:
        who = self.application_name or "an unnamed session"
        return f"{who} (pid {self.pid}, from {self.client}, connected {self.held_for_seconds}s ago)"


def try_lock(conn: psycopg.Connection[tuple[object, ...]], table: HistoryTable) -> bool:
    row = conn.execute(
        "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (LOCK_NAMESPACE, str(table))
    ).fetchone()
    return bool(row and row[0])


def wait_for_lock(conn: psycopg.Connection[tuple[object, ...]], table: HistoryTable) -> None:
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (LOCK_NAMESPACE, str(table)))


def unlock(conn: psycopg.Connection[tuple[object, ...]], table: HistoryTable) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (LOCK_NAMESPACE, str(table)))


def lock_holder(conn: psycopg.Connection[tuple[object, ...]], table: HistoryTable) -> LockHolder | None:
    row = conn.execute(
        """
        SELECT a.pid, coalesce(a.application_name, ''),
               coalesce(host(a.client_addr), 'local socket'),
               extract(epoch FROM now() - a.backend_start)::int
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = %s AND l.objid = hashtext(%s)::oid AND l.objsubid = 2
        """,
        (LOCK_NAMESPACE, str(table)),
    ).fetchone()
    if row is None:
        return None
    return LockHolder(
        pid=int(str(row[0])),
        application_name=str(row[1]),
        client=str(row[2]),
        held_for_seconds=int(str(row[3])),
    )
