"""The lock-retry defaults: readers of a busy table stall briefly, and the migration still lands.

The backoff is a pure function of the settings (`EnvironmentConfig.retry_delay_s`); the promise
of the defaults is checked on a real PostgreSQL with a blocker, a reader and the real apply.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest
from pydantic import ValidationError

from builders import journal_set
from reconciler.apply import ApplyOptions, apply_environment
from reconciler.environments import EnvironmentConfig

DEFAULTS = EnvironmentConfig(name="staging", gate="auto")


def test_backoff_doubles_from_retry_backoff_and_stops_at_its_cap() -> None:
    env = EnvironmentConfig(name="e", retry_backoff=100, retry_backoff_max=350)
    ceilings = [env.retry_delay_s(attempt, 1.0) for attempt in range(5)]
    assert ceilings == [0.1, 0.2, 0.35, 0.35, 0.35]
    assert env.retry_delay_s(1, 0.0) == pytest.approx(0.1)  # equal jitter: half the ceiling at least
    assert env.retry_delay_s(1, 0.5) == pytest.approx(0.15)
    assert env.retry_delay_s(10_000, 1.0) == 0.35  # no overflow however many attempts


def test_backoff_refuses_inputs_outside_its_domain() -> None:
    with pytest.raises(ValueError, match="jitter"):
        DEFAULTS.retry_delay_s(0, 1.5)
    with pytest.raises(ValueError, match="attempt"):
        DEFAULTS.retry_delay_s(-1, 0.5)


def test_a_cap_below_the_first_backoff_is_a_configuration_error_naming_both() -> None:
    with pytest.raises(ValidationError, match=r"retry_backoff_max[\s\S]*below retry_backoff \(2000 ms\)"):
        EnvironmentConfig(name="e", retry_backoff="2s", retry_backoff_max="1s")


def test_defaults_stall_readers_half_a_second_at_most_yet_keep_trying_for_ten_seconds() -> None:
    """What the defaults promise, from the settings alone: the benchmark and the test below measure it."""
    assert DEFAULTS.lock_timeout <= 500
    assert all(DEFAULTS.retry_delay_s(a, 1.0) <= 1.0 for a in range(DEFAULTS.lock_retries))
    shortest_patience_s = (DEFAULTS.lock_retries + 1) * DEFAULTS.lock_timeout / 1000 + sum(
        DEFAULTS.retry_delay_s(a, 0.0) for a in range(DEFAULTS.lock_retries)
    )
    assert shortest_patience_s >= 9.5  # a 6 s blocker (benchmarks/lock_stall.py) is outlasted


def test_at_default_settings_a_blocked_migration_stalls_readers_briefly_and_lands_soon_after_the_blocker(
    database_url: str, tmp_path: Path
) -> None:
    """A transaction holds the table 1.5 s: readers wait at most about lock_timeout, then the ADD COLUMN lands."""
    base = [
        (
            "0000_t",
            "CREATE TABLE t (id int PRIMARY KEY);\n--> statement-breakpoint\nINSERT INTO t VALUES (1);",
        )
    ]
    options = ApplyOptions(actor="test")
    assert apply_environment(DEFAULTS, database_url, journal_set(tmp_path / "a", base), options).ok
    migration_set = journal_set(tmp_path / "b", [*base, ("0001_add", "ALTER TABLE t ADD COLUMN note text;")])

    stop = threading.Event()
    stalls_s: list[float] = []

    def read() -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            while not stop.is_set():
                started = time.monotonic()
                conn.execute("SELECT id FROM t WHERE id = 1")
                stalls_s.append(time.monotonic() - started)

    released_at: list[float] = []
    with psycopg.connect(database_url) as blocker:
        blocker.execute("SELECT * FROM t")  # an open transaction holding ACCESS SHARE on t

        def release() -> None:
            blocker.rollback()
            released_at.append(time.monotonic())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        timer = threading.Timer(1.5, release)
        timer.start()
        try:
            result = apply_environment(DEFAULTS, database_url, migration_set, options)
            finished_at = time.monotonic()
        finally:
            timer.join()
            stop.set()
            reader.join(timeout=10)

    outcome = result.outcomes[-1]
    assert result.ok and outcome.tag == "0001_add" and outcome.status == "applied"
    assert outcome.attempts >= 2  # it did meet the blocker and retried
    # the longest read queued behind the waiting ALTER for about lock_timeout (500 ms), not 2 s
    assert max(stalls_s) < 0.5 + 0.35
    # the cap on the backoff (1 s) bounds how long after the blocker the migration is still asleep
    assert finished_at - released_at[0] < 1.0 + 0.5
