"""Watching the statement that runs: how long, what it waits for, and who blocks it.

While a statement runs on the work connection, a background thread looks at that backend from a
connection of its own (`pg_stat_activity`, `pg_blocking_pids()`), so that a long statement is
shown with its elapsed time and what it waits on, and a lock timeout names the sessions that
really blocked it while it waited, not whoever holds a lock afterwards. Fast statements cost
nothing: the first look is taken only once a statement has run for `interval_s`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg

Conn = psycopg.Connection[tuple[object, ...]]
OWN_APPLICATION = "schemawarden apply"  # application_name prefix of every runner's sessions
# what a Blocker is read from, as pg_stat_activity (alias `a`) names it
BLOCKER_COLUMNS = """a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''),
    extract(epoch FROM now() - a.xact_start)::int,
    left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 120)"""


@dataclass(frozen=True)
class Blocker:
    """A session that blocked the statement, as seen while it waited."""

    pid: int
    application_name: str
    state: str
    transaction_age_s: int | None
    query: str

    @classmethod
    def from_row(cls, row: tuple[object, ...]) -> Blocker:
        """A row of `BLOCKER_COLUMNS`."""
        pid, app, state, age, query = row
        return cls(int(str(pid)), str(app), str(state), None if age is None else int(str(age)), str(query))

    def describe(self) -> str:
        own = (
            " — a schemawarden runner's own backend, left running by a runner that died"
            if self.application_name.startswith(OWN_APPLICATION)
            else ""
        )
        age = f", transaction open {self.transaction_age_s}s" if self.transaction_age_s is not None else ""
        app = f"{self.application_name}, " if self.application_name else ""
        return f"pid {self.pid} ({app}{self.state or 'unknown state'}{age}, last query: {self.query}){own}"


@dataclass(frozen=True)
class Running:
    """What the watched statement is doing now: elapsed seconds, wait event, blockers."""

    elapsed_s: float
    wait_event: str | None
    blockers: tuple[Blocker, ...]


class StatementWatch:
    """One background thread per apply; `watching()` marks the statement being executed."""

    def __init__(
        self,
        connect: Callable[[], Conn],
        work_pid: int,
        on_running: Callable[[Running], None],
        interval_s: float = 0.25,
    ) -> None:
        self._connect = connect
        self._work_pid = work_pid
        self._on_running = on_running
        self._interval_s = interval_s
        self._conn: Conn | None = None
        self._started_at: float | None = None
        self._seen: dict[int, Blocker] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="schemawarden-watch", daemon=True)

    def __enter__(self) -> StatementWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Mark a statement as running for the duration of the block; clears what was seen."""
        with self._lock:
            self._seen = {}
            self._started_at = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._started_at = None

    def blockers_seen(self) -> list[Blocker]:
        """Every session seen blocking the statement of the last `watching()` block."""
        with self._lock:
            return list(self._seen.values())

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            with self._lock:
                started = self._started_at
            if started is None or time.monotonic() - started < self._interval_s:
                continue
            try:
                running = self._look(time.monotonic() - started)
            except psycopg.Error:
                self._conn = None  # the next look reconnects; watching must never stop the apply
                continue
            with self._lock:
                if self._started_at != started:
                    continue  # that statement has finished meanwhile
                for blocker in running.blockers:
                    self._seen[blocker.pid] = blocker
            self._on_running(running)

    def _look(self, elapsed_s: float) -> Running:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        row = self._conn.execute(
            "SELECT wait_event_type, wait_event, pg_blocking_pids(pid) FROM pg_stat_activity WHERE pid = %s",
            (self._work_pid,),
        ).fetchone()
        if row is None:
            return Running(elapsed_s, None, ())
        wait_type, wait_event, pids = row
        blockers: list[Blocker] = []
        if pids:
            rows = self._conn.execute(
                f"SELECT {BLOCKER_COLUMNS} FROM pg_stat_activity AS a WHERE a.pid = ANY(%s)", (pids,)
            ).fetchall()
            blockers = [Blocker.from_row(r) for r in rows]
        event = f"{wait_type}: {wait_event}" if wait_type else None
        return Running(elapsed_s, event, tuple(blockers))


def still_running(conn: Conn, pids: list[int]) -> set[int]:
    """Which of these backends still exist."""
    if not pids:
        return set()
    rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchall()
    return {int(str(r[0])) for r in rows}
