"""Applying migrations to a real PostgreSQL: the faults of RELIABILITY.md, one scenario each."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from builders import SAMPLE, SAMPLE_MIGRATIONS, journal_set
from policies.errors import SchemawardenError
from reconciler.apply import ApplyOptions, ApplyResult, RunnerLockHeld, apply_environment
from reconciler.database.connect import EnvironmentUnreachable
from reconciler.environments import EnvironmentConfig
from reconciler.migrations import MigrationSet, load_migration_set
from reconciler.plan import Approvals

FAST = EnvironmentConfig(name="staging", lock_timeout=200, lock_retries=2, retry_backoff=50)


def apply(
    url: str, migration_set: MigrationSet, env: EnvironmentConfig = FAST, **options: object
) -> ApplyResult:
    return apply_environment(env, url, migration_set, ApplyOptions(actor="test", **options))  # type: ignore[arg-type]


def history(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            'SELECT id, hash, created_at FROM "drizzle"."__drizzle_migrations" ORDER BY id'
        ).fetchall()


def apply_log(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT migration_tag, status, attempts, error, error_line FROM schemawarden.apply_log ORDER BY id"
        ).fetchall()


def scalar(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def test_sample_project_applies_and_records_exactly_drizzles_rows(database_url: str) -> None:
    migration_set = load_migration_set(SAMPLE_MIGRATIONS)
    result = apply(database_url, migration_set)
    assert result.ok and [o.tag for o in result.outcomes] == [m.tag for m in migration_set.migrations]
    assert history(database_url) == [(i + 1, m.hash, m.when) for i, m in enumerate(migration_set.migrations)]
    assert (
        scalar(
            database_url,
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'todo' AND column_name = 'status'",
        )
        == 1
    )
    again = apply(database_url, migration_set)
    assert again.ok and again.outcomes == () and again.plan.pending == ()
    assert len(history(database_url)) == len(migration_set.migrations)


def test_drizzle_1_layout_records_name_and_folder_time(database_url: str) -> None:
    migration_set = load_migration_set(SAMPLE / "extras" / "kit-1.0.0-rc.5-fresh" / "migrations")
    assert apply(database_url, migration_set).ok
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            'SELECT hash, created_at, name, applied_at IS NOT NULL FROM "drizzle"."__drizzle_migrations" ORDER BY id'
        ).fetchall()
    assert rows == [(m.hash, m.when, m.tag, True) for m in migration_set.migrations]


def test_concurrent_index_and_enum_value_used_in_the_same_migration_apply(
    database_url: str, tmp_path: Path
) -> None:
    # drizzle-orm's migrator fails on both: it runs everything in one transaction.
    migration_set = journal_set(
        tmp_path,
        [
            (
                "0000_base",
                "CREATE TYPE mood AS ENUM ('ok');\n--> statement-breakpoint\nCREATE TABLE t (id int, m mood);",
            ),
            (
                "0001_online",
                "ALTER TYPE mood ADD VALUE 'great';\n--> statement-breakpoint\n"
                "INSERT INTO t VALUES (1, 'great');\n--> statement-breakpoint\n"
                'CREATE INDEX CONCURRENTLY "t_m_idx" ON t (m);',
            ),
        ],
    )
    result = apply(database_url, migration_set)
    assert result.ok, result.outcomes
    assert scalar(database_url, "SELECT m::text FROM t") == "great"
    assert (
        scalar(database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_m_idx'::regclass") is True
    )
    assert len(history(database_url)) == 2


def test_two_concurrent_applies_exactly_one_applies(database_url: str, tmp_path: Path) -> None:
    slow = journal_set(
        tmp_path, [("0000_slow", "CREATE TABLE a (id int);\n--> statement-breakpoint\nSELECT pg_sleep(1.5);")]
    )
    results: list[ApplyResult | Exception] = []

    def runner() -> None:
        try:
            results.append(apply(database_url, slow))
        except SchemawardenError as exc:
            results.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    for thread in threads:
        thread.join()
    applied = [r for r in results if isinstance(r, ApplyResult)]
    refused = [r for r in results if isinstance(r, RunnerLockHeld)]
    assert len(applied) == 1 and len(refused) == 1
    assert "is being migrated by schemawarden apply staging by test (pid" in str(refused[0])
    assert len(history(database_url)) == 1


def test_a_waiting_runner_queues_and_then_finds_nothing_to_do(database_url: str, tmp_path: Path) -> None:
    slow = journal_set(
        tmp_path, [("0000_slow", "CREATE TABLE a (id int);\n--> statement-breakpoint\nSELECT pg_sleep(1);")]
    )
    first = threading.Thread(target=apply, args=(database_url, slow))
    first.start()
    time.sleep(0.3)
    second = apply(database_url, slow, wait=True)
    first.join()
    assert second.ok and second.outcomes == ()
    assert len(history(database_url)) == 1


def test_lock_held_by_another_session_times_out_retries_and_leaves_nothing_half_applied(
    database_url: str, tmp_path: Path
) -> None:
    base = journal_set(tmp_path / "base", [("0000_t", "CREATE TABLE t (id int);")])
    assert apply(database_url, base).ok
    migration_set = journal_set(
        tmp_path / "next",
        [
            ("0000_t", "CREATE TABLE t (id int);"),
            (
                "0001_add",
                "CREATE TABLE side (id int);\n--> statement-breakpoint\nALTER TABLE t ADD COLUMN note text;",
            ),
        ],
    )
    with psycopg.connect(database_url) as blocker:
        blocker.execute("SELECT * FROM t")  # an open transaction holding ACCESS SHARE on t
        blocker_pid = blocker.info.backend_pid
        started = time.monotonic()
        result = apply(database_url, migration_set)
        elapsed = time.monotonic() - started
        blocker.rollback()
    outcome = result.outcomes[0]
    assert outcome.status == "failed" and outcome.attempts == 3 and not outcome.partial
    assert f"pid {blocker_pid}" in (outcome.error or "")
    assert "lock_timeout (200 ms) in 3 attempts" in (outcome.error or "")
    assert elapsed < 5
    assert scalar(database_url, "SELECT to_regclass('side') IS NULL") is True
    assert len(history(database_url)) == 1
    assert apply_log(database_url)[-1][:3] == ("0001_add", "failed", 3)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT statements FROM schemawarden.apply_log WHERE migration_tag = '0001_add'"
        ).fetchone()
    assert row is not None
    # each attempt ran CREATE TABLE (line 1), then waited on t (line 3); nothing claims to be applied
    assert [(s["line"], s["outcome"]) for s in row[0]] == [(1, "rolled back"), (3, "failed")] * 3


def test_failure_half_way_keeps_earlier_migrations_and_never_tries_later_ones(
    database_url: str, tmp_path: Path
) -> None:
    migration_set = journal_set(
        tmp_path,
        [
            ("0000_ok", "CREATE TABLE a (id int);"),
            (
                "0001_broken",
                "CREATE TABLE b (id int);\n--> statement-breakpoint\nALTER TABLE missing ADD COLUMN x int;",
            ),
            ("0002_later", "CREATE TABLE c (id int);"),
        ],
    )
    result = apply(database_url, migration_set)
    assert [(o.tag, o.status) for o in result.outcomes] == [("0000_ok", "applied"), ("0001_broken", "failed")]
    assert '0001_broken line 3: relation "missing" does not exist (SQLSTATE 42P01)' in (
        result.outcomes[1].error or ""
    )
    assert (
        scalar(
            database_url,
            "SELECT to_regclass('a') IS NOT NULL AND to_regclass('b') IS NULL AND to_regclass('c') IS NULL",
        )
        is True
    )
    assert [row[:2] for row in apply_log(database_url)] == [("0000_ok", "applied"), ("0001_broken", "failed")]
    assert apply_log(database_url)[1][4] == 3
    assert len(history(database_url)) == 1


def test_statement_timeout_rolls_back_and_says_how_long(database_url: str, tmp_path: Path) -> None:
    env = EnvironmentConfig(name="staging", statement_timeout="300ms")
    migration_set = journal_set(
        tmp_path, [("0000_slow", "CREATE TABLE a (id int);\n--> statement-breakpoint\nSELECT pg_sleep(2);")]
    )
    outcome = apply(database_url, migration_set, env=env).outcomes[0]
    assert outcome.status == "failed"
    assert "statement_timeout (300 ms)" in (outcome.error or "") and "CONCURRENTLY" in (outcome.error or "")
    assert scalar(database_url, "SELECT to_regclass('a') IS NULL") is True


def test_tampered_history_refuses_apply_unless_a_reason_is_recorded(
    database_url: str, tmp_path: Path
) -> None:
    assert apply(database_url, journal_set(tmp_path / "v1", [("0000_a", "CREATE TABLE a (id int);")])).ok
    edited = journal_set(
        tmp_path / "v2", [("0000_a", "CREATE TABLE a (id bigint);"), ("0001_b", "CREATE TABLE b (id int);")]
    )
    refused = apply(database_url, edited)
    assert not refused.ok and refused.outcomes == ()
    assert refused.plan.problems[0].kind.value == "tampered"
    accepted = apply(database_url, edited, approvals=Approvals(accept_tampered_reason="reviewed in #42"))
    assert [o.tag for o in accepted.outcomes] == ["0001_b"]
    assert scalar(database_url, "SELECT decision FROM schemawarden.apply_log ORDER BY id DESC LIMIT 1") == (
        "accepted tampered history: reviewed in #42"
    )


def test_unreachable_environment_is_named_without_its_password() -> None:
    env = EnvironmentConfig(name="production")
    url = "postgresql://owner:s3cret-Pa55@127.0.0.1:1/app"
    with pytest.raises(EnvironmentUnreachable) as caught:
        apply_environment(env, url, load_migration_set(SAMPLE_MIGRATIONS), ApplyOptions(actor="test"))
    message = str(caught.value)
    assert "environment 'production'" in message
    assert "s3cret-Pa55" not in message and url not in message


def test_dry_run_changes_nothing(database_url: str) -> None:
    result = apply(database_url, load_migration_set(SAMPLE_MIGRATIONS), dry_run=True)
    assert result.dry_run and len(result.plan.pending) == 11
    assert (
        scalar(database_url, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('drizzle', 'schemawarden')")
        == 0
    )


def test_a_drizzle_1_folder_on_a_drizzle_0_history_table_is_refused_with_the_way_out(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute('CREATE SCHEMA "drizzle"')
        conn.execute(
            'CREATE TABLE "drizzle"."__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)'
        )
    migration_set = load_migration_set(SAMPLE / "extras" / "kit-1.0.0-rc.5-fresh" / "migrations")
    with pytest.raises(SchemawardenError) as caught:
        apply(database_url, migration_set)
    assert "drizzle 0.x history table" in str(caught.value) and "upgrades the table" in str(caught.value)
    assert scalar(database_url, "SELECT to_regclass('account') IS NULL") is True
