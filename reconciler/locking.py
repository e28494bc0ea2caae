"""One runner per environment, and no runner beside the backend of one that died.

Two session-level advisory locks, both keyed by the history table's name (advisory locks are
per database, so together the key is "per target database and history table"):

* the runner lock, held on the runner's control connection: a live runner. Its backend is idle
  while the work runs, so when the runner's process dies the server sees the socket close and
  ends the session at once, releasing the lock.
* the work lock, held on the work connection, which runs the migrations' statements. When the
  runner's process dies in the middle of a long statement (`CREATE INDEX CONCURRENTLY`), that
  backend goes on until the statement ends (PostgreSQL notices a dead client only when it next
  reads or writes the socket, or, from 14 on, every `client_connection_check_interval`), and the
  work lock goes with it.

So a new runner that gets the runner lock but not the work lock has met an orphaned backend of a
runner that died: it waits for it (bounded by the statement_timeout that backend runs under) or
ends it when asked to, and never runs beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from reconciler.history import HistoryTable

LOCK_NAMESPACE = 0x5357  # "SW": the runner lock
WORK_NAMESPACE = 0x5358  # the work lock

Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True)
class LockHolder:
    """The session holding one of an environment's locks, as PostgreSQL sees it.

    `running_for_seconds` is the age of its current statement (None when idle); `query` its
    current or last statement, shortened.
    """

    pid: int
    application_name: str
    client: str
    held_for_seconds: int
    state: str = ""
    query: str = ""
    running_for_seconds: int | None = None

    def describe(self) -> str:
        who = self.application_name or "an unnamed session"
        return f"{who} (pid {self.pid}, from {self.client}, connected {self.held_for_seconds}s ago)"

    def describe_work(self) -> str:
        running = f", running {self.running_for_seconds}s" if self.running_for_seconds is not None else ""
        return f"pid {self.pid} ({self.application_name or 'unnamed'}, {self.state or 'unknown state'}{running}: {self.query})"


def try_lock(conn: Conn, table: HistoryTable, namespace: int = LOCK_NAMESPACE) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (namespace, str(table))).fetchone()
    return bool(row and row[0])


def wait_for_lock(conn: Conn, table: HistoryTable, namespace: int = LOCK_NAMESPACE) -> None:
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (namespace, str(table)))


def unlock(conn: Conn, table: HistoryTable, namespace: int = LOCK_NAMESPACE) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (namespace, str(table)))


def lock_holder(conn: Conn, table: HistoryTable, namespace: int = LOCK_NAMESPACE) -> LockHolder | None:
    row = conn.execute(
        """
        SELECT a.pid, coalesce(a.application_name, ''),
               coalesce(host(a.client_addr), 'local socket'),
               extract(epoch FROM now() - a.backend_start)::int,
               coalesce(a.state, ''),
               left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 120),
               CASE WHEN a.state = 'active' THEN extract(epoch FROM now() - a.query_start)::int END
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = %s AND l.objid = hashtext(%s)::oid AND l.objsubid = 2
        """,
        (namespace, str(table)),
    ).fetchone()
    if row is None:
        return None
    return LockHolder(
        pid=int(str(row[0])),
        application_name=str(row[1]),
        client=str(row[2]),
        held_for_seconds=int(str(row[3])),
        state=str(row[4]),
        query=str(row[5]),
        running_for_seconds=None if row[6] is None else int(str(row[6])),
    )


class OrphanStillRunning(Exception):
    """The backend of a dead runner outlived the wait; carries what it is doing."""

    def __init__(self, holder: LockHolder, waited_s: float) -> None:
        super().__init__(holder.describe_work())
        self.holder = holder
        self.waited_s = waited_s


def take_work_lock(
    control: Conn,
    work: Conn,
    table: HistoryTable,
    *,
    terminate: bool,
    max_wait_s: float,
    on_orphan: Callable[[LockHolder, bool], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Take the work lock on `work`, first waiting for (or, with `terminate`, ending) an orphan.

    Call only while holding the runner lock on `control`: whoever holds the work lock then is a
    backend left by a runner that died. `on_orphan(holder, terminating)` is told once per orphan.
    Raises OrphanStillRunning when it is still there after `max_wait_s` seconds.
    """
    started = clock()
    told: set[int] = set()
    while not try_lock(work, table, WORK_NAMESPACE):
        holder = lock_holder(control, table, WORK_NAMESPACE)
        if holder is None:
            continue  # it has just gone: try again
        if holder.pid not in told:
            on_orphan(holder, terminate)
            told.add(holder.pid)
            if terminate:
                control.execute("SELECT pg_terminate_backend(%s)", (holder.pid,))
        if clock() - started > max_wait_s:
            raise OrphanStillRunning(holder, clock() - started)
        sleep(0.2)
