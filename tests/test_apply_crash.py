"""A runner killed (SIGKILL) during a non-transactional step, then started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from builders import write_journal_folder
from policies.statements import Statement
from reconciler.apply import ApplyOptions, SilentObserver, apply_environment
from reconciler.environments import EnvironmentConfig
from reconciler.locking import LockHolder
from reconciler.migrations import Migration, load_migration_set

SLOW_FUNCTION = (
    "CREATE FUNCTION slow_id(i int) RETURNS int IMMUTABLE LANGUAGE plpgsql "
    "AS $$ BEGIN PERFORM pg_sleep(0.001); RETURN i; END $$;"
)
MIGRATIONS = [
    (
        "0000_base",
        "CREATE TABLE t (id int);\n--> statement-breakpoint\n"
        "INSERT INTO t SELECT generate_series(1, 4000);\n--> statement-breakpoint\n" + SLOW_FUNCTION,
    ),
    (
        "0001_index_online",
        "CREATE TABLE marker (n int);\n--> statement-breakpoint\n"
        "INSERT INTO marker VALUES (1);\n--> statement-breakpoint\n"
        'CREATE INDEX CONCURRENTLY "t_slow_idx" ON t (slow_id(id));\n--> statement-breakpoint\n'
        "INSERT INTO marker VALUES (2);",
    ),
]


class Recorder(SilentObserver):
    def __init__(self) -> None:
        self.orphans: list[LockHolder] = []
        self.recovered: list[str] = []

    def waiting_for_orphan(self, holder: LockHolder, terminating: bool) -> None:
        self.orphans.append(holder)

    def recovering(self, migration: Migration, statement: Statement, says: str) -> None:
        self.recovered.append(says)


def _wait_for_index_build(url: str, deadline_s: float = 20) -> int:
    deadline = time.monotonic() + deadline_s
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE state = 'active' "
                "AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND datname = current_database()"
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.05)
    raise AssertionError("the CONCURRENTLY build never started")


def test_killed_during_concurrent_index_build_resumes_and_rebuilds_the_invalid_index(
    database_url: str, tmp_path: Path
) -> None:
    folder = write_journal_folder(tmp_path / "migrations", MIGRATIONS)
    env = {**os.environ, "SCHEMAWARDEN_ENV_STAGING_URL": database_url}
    runner = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "apply", "--env", "staging", "--migrations", str(folder)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        build_pid = _wait_for_index_build(database_url)
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
    finally:
        if runner.poll() is None:
            runner.kill()
    # Only the client died. Its backend goes on building the index until the server notices the
    # dead client (every client_connection_check_interval from 14 on, else when the build ends);
    # the next runner must neither run beside it nor repeat what committed.
    observer = Recorder()
    result = apply_environment(
        EnvironmentConfig(name="staging"),
        database_url,
        load_migration_set(folder),
        ApplyOptions(actor="test"),
        observer,
    )

    assert result.ok and [o.tag for o in result.outcomes] == ["0001_index_online"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (build_pid,)).fetchone() == (0,)
    # the orphaned build was waited for (or had already been stopped by the server), and its INVALID
    # index dropped and built again
    assert observer.orphans or observer.recovered, "the next run saw neither the orphan nor its leftover"
    assert all(orphan.pid == build_pid for orphan in observer.orphans)
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_slow_idx'::regclass"
        ).fetchone() == (True,)
        # the statements before the CONCURRENTLY step ran once, the one after it ran once
        assert conn.execute("SELECT array_agg(n ORDER BY n) FROM marker").fetchone() == ([1, 2],)
        assert conn.execute('SELECT count(*) FROM "drizzle"."__drizzle_migrations"').fetchone() == (2,)
        log = conn.execute("SELECT migration_tag, status FROM schemawarden.apply_log ORDER BY id").fetchall()
        assert conn.execute("SELECT count(*) FROM schemawarden.apply_progress").fetchone() == (0,)
    assert log == [
        ("0000_base", "applied"),
        ("0001_index_online", "interrupted"),
        ("0001_index_online", "applied"),
    ]
