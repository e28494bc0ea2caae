"""The data-safety faults found on real histories (issue 8), each reproduced on a real PostgreSQL.

Every failure message is checked against the database's state afterwards: what it says was
rolled back is not there, what it says stays applied is there.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from builders import journal_set
from policies.statements import Statement
from reconciler.apply import ApplyOptions, ApplyResult, SilentObserver, apply_environment
from reconciler.apply.watch import Running
from reconciler.environments import EnvironmentConfig
from reconciler.history import HistoryTable
from reconciler.locking import WORK_NAMESPACE, LockHolder
from reconciler.migrations import Migration, MigrationSet
from reconciler.plan import Approvals, ProblemKind, make_plan

FAST = EnvironmentConfig(name="staging", lock_timeout=200, lock_retries=2, retry_backoff=20)


def apply(url: str, migration_set: MigrationSet, env: EnvironmentConfig = FAST, **options: object) -> ApplyResult:
    return apply_environment(env, url, migration_set, ApplyOptions(actor="test", **options))  # type: ignore[arg-type]


def rows(url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params or None).fetchall()


def scalar(url: str, query: str, *params: object) -> object:
    return rows(url, query, *params)[0][0]


@contextlib.contextmanager
def holding(url: str, *statements: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Another session with an open transaction that ran `statements` (its locks held until the block ends)."""
    conn = psycopg.connect(url, application_name="long transaction")
    try:
        for statement in statements:
            conn.execute(statement)
        yield conn
    finally:
        conn.rollback()
        conn.close()


def server_major(url: str) -> int:
    return int(str(scalar(url, "SHOW server_version_num"))) // 10000


# -- 1. transaction control inside a migration -------------------------------------------------------


def test_a_commit_inside_a_migration_is_refused_before_anything_runs(database_url: str, tmp_path: Path) -> None:
    migration_set = journal_set(
        tmp_path, [("0000_a", "CREATE TABLE a (id int);\nCOMMIT;\nALTER TABLE missing ADD COLUMN x int;")]
    )
    result = apply(database_url, migration_set)

    assert not result.ok and result.outcomes == ()
    problem = result.plan.open_problems[0]
    assert problem.kind is ProblemKind.TRANSACTION_CONTROL
    assert problem.message.startswith("0000_a.sql:2: COMMIT inside a migration")
    assert scalar(database_url, "SELECT to_regclass('a')") is None  # nothing committed
    assert rows(database_url, "SELECT to_regclass('drizzle.__drizzle_migrations')") == [(None,)]


def test_a_file_wrapped_in_begin_commit_is_one_transaction(database_url: str, tmp_path: Path) -> None:
    migration_set = journal_set(
        tmp_path, [("0000_a", "BEGIN;\nCREATE TABLE a (id int);\nALTER TABLE missing ADD COLUMN x int;\nCOMMIT;")]
    )
    result = apply(database_url, migration_set)

    assert not result.ok and result.outcomes[0].status == "failed"
    assert "nothing of 0000_a was applied" in (result.outcomes[0].error or "")
    assert scalar(database_url, "SELECT to_regclass('a')") is None
    fixed = journal_set(tmp_path / "fixed", [("0000_a", "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;")])
    assert apply(database_url, fixed).ok
    assert scalar(database_url, "SELECT to_regclass('a')::text") == "a"


# -- 2. a half-applied migration whose file is then edited ---------------------------------------------

PARTIAL_BASE = "CREATE TABLE acct (id int PRIMARY KEY, bal int);\nINSERT INTO acct VALUES (1, 100);"
PARTIAL_BROKEN = (
    "UPDATE acct SET bal = bal * 2;\n--> statement-breakpoint\n"
    "CREATE INDEX CONCURRENTLY acct_bal_idx ON acct (bal);\n--> statement-breakpoint\n"
    "ALTER TABLE acct ADD COLUMN note text REFERENCES missing (id);"
)
PARTIAL_FIXED = PARTIAL_BROKEN.replace("REFERENCES missing (id)", "DEFAULT ''")


def test_an_edited_partly_applied_migration_is_never_run_again_from_the_top(
    database_url: str, tmp_path: Path
) -> None:
    broken = journal_set(tmp_path / "v1", [("0000_base", PARTIAL_BASE), ("0001_double", PARTIAL_BROKEN)])
    first = apply(database_url, broken)
    failure = first.outcomes[-1]
    assert failure.status == "failed" and failure.partial and failure.error_line == 5
    assert "stay applied: 0001_double is partly applied" in (failure.error or "")
    assert scalar(database_url, "SELECT bal FROM acct") == 200  # the UPDATE committed before the index
    assert scalar(database_url, "SELECT count(*) FROM schemawarden.apply_progress") == 2

    fixed = journal_set(tmp_path / "v2", [("0000_base", PARTIAL_BASE), ("0001_double", PARTIAL_FIXED)])
    refused = apply(database_url, fixed)
    assert refused.outcomes == () and not refused.ok
    partial = [p for p in refused.plan.open_problems if p.kind is ProblemKind.PARTIAL]
    assert partial and "--resume-partial 0001_double" in partial[0].message
    assert scalar(database_url, "SELECT bal FROM acct") == 200

    resumed = apply(database_url, fixed, approvals=Approvals(resume_partial=frozenset({"0001_double"})))
    assert resumed.ok and resumed.outcomes[0].statements_run == 1
    assert scalar(database_url, "SELECT bal FROM acct") == 200  # the UPDATE ran once in all
    assert scalar(database_url, "SELECT count(*) FROM schemawarden.apply_progress") == 0
    decision = scalar(
        database_url, "SELECT decision FROM schemawarden.apply_log WHERE status = 'applied' ORDER BY id DESC LIMIT 1"
    )
    assert decision == "resumed partly applied: 0001_double"


def test_resuming_is_refused_when_a_statement_that_ran_was_edited(database_url: str, tmp_path: Path) -> None:
    broken = journal_set(tmp_path / "v1", [("0000_base", PARTIAL_BASE), ("0001_double", PARTIAL_BROKEN)])
    apply(database_url, broken)
    rewritten = PARTIAL_FIXED.replace("bal * 2", "bal * 3")
    edited = journal_set(tmp_path / "v2", [("0000_base", PARTIAL_BASE), ("0001_double", rewritten)])
    plan = apply(database_url, edited, approvals=Approvals(resume_partial=frozenset({"0001_double"}))).plan
    assert [p.kind for p in plan.open_problems] == [ProblemKind.PARTIAL]
    assert "no longer in the file" in plan.open_problems[0].message
    assert scalar(database_url, "SELECT bal FROM acct") == 200


# -- 3. the runner lock and an orphaned backend ---------------------------------------------------------


class Recorder(SilentObserver):
    def __init__(self) -> None:
        self.orphans: list[tuple[LockHolder, bool]] = []
        self.running: list[Running] = []
        self.recovered: list[str] = []

    def waiting_for_orphan(self, holder: LockHolder, terminating: bool) -> None:
        self.orphans.append((holder, terminating))

    def statement_running(self, migration: Migration, statement: Statement, running: Running) -> None:
        self.running.append(running)

    def recovering(self, migration: Migration, statement: Statement, says: str) -> None:
        self.recovered.append(says)


def _orphan(url: str, seconds: float) -> tuple[threading.Thread, list[int], list[object]]:
    """A backend that holds the work lock and runs a statement, as a dead runner's would.

    Returns the thread, the backend's pid and (once its statement has ended) the server's time then.
    """
    pid: list[int] = []
    ended: list[object] = []
    ready = threading.Event()

    def run() -> None:
        with psycopg.connect(url, autocommit=True, application_name="schemawarden apply staging by ghost") as conn:
            conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (WORK_NAMESPACE, str(HistoryTable())))
            pid.append(conn.info.backend_pid)
            ready.set()
            with contextlib.suppress(psycopg.errors.AdminShutdown):  # ended by --terminate-orphans
                conn.execute("SELECT pg_sleep(%s)", (seconds,))
                ended.append(conn.execute("SELECT clock_timestamp()").fetchone()[0])  # type: ignore[index]

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(10)
    return thread, pid, ended


def test_a_dead_runners_backend_is_waited_for_never_run_beside(database_url: str, tmp_path: Path) -> None:
    migration_set = journal_set(tmp_path, [("0000_a", "CREATE TABLE a (id int);")])
    thread, pid, ended = _orphan(database_url, 1.5)
    observer = Recorder()
    result = apply_environment(FAST, database_url, migration_set, ApplyOptions(actor="test"), observer)
    thread.join()
    assert result.ok
    assert [(h.pid, t) for h, t in observer.orphans] == [(pid[0], False)]
    assert "pg_sleep" in observer.orphans[0][0].query
    # it started only after the orphan was gone: its row was written after the orphan's statement ended
    started = scalar(database_url, "SELECT min(started_at) FROM schemawarden.apply_log")
    assert ended and started > ended[0]  # type: ignore[operator]


def test_terminate_orphans_ends_the_dead_runners_backend(database_url: str, tmp_path: Path) -> None:
    migration_set = journal_set(tmp_path, [("0000_a", "CREATE TABLE a (id int);")])
    thread, pid, _ = _orphan(database_url, 60)
    observer = Recorder()
    options = ApplyOptions(actor="test", terminate_orphans=True)
    result = apply_environment(FAST, database_url, migration_set, options, observer)
    thread.join(timeout=10)
    assert result.ok and not thread.is_alive()
    assert [(h.pid, t) for h, t in observer.orphans] == [(pid[0], True)]


# -- 4. non-transactional kinds: interrupted, then finished -----------------------------------------------


def test_detach_partition_concurrently_interrupted_is_finalized(database_url: str, tmp_path: Path) -> None:
    if server_major(database_url) < 14:
        pytest.skip("DETACH PARTITION ... CONCURRENTLY exists from PostgreSQL 14")
    base = (
        "CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);\n"
        "CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
    )
    migration_set = journal_set(
        tmp_path, [("0000_base", base), ("0001_detach", "ALTER TABLE m DETACH PARTITION m_2024 CONCURRENTLY;")]
    )
    assert apply(database_url, migration_set, stop_at="0000_base").ok
    with holding(database_url, "SELECT count(*) FROM m"):
        failed = apply(database_url, migration_set)
        error = failed.outcomes[0].error or ""
        assert failed.outcomes[0].status == "failed" and "lock_timeout" in error
        assert "nothing of it was rolled back" in error and "detach pending" in error
        assert "long transaction" in error and "still running" in error
        assert scalar(database_url, "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'm_2024'::regclass")
    observer = Recorder()
    result = apply_environment(FAST, database_url, migration_set, ApplyOptions(actor="test"), observer)
    assert result.ok, result.outcomes
    assert any("FINALIZE" in says for says in observer.recovered)
    assert scalar(database_url, "SELECT count(*) FROM pg_inherits WHERE inhrelid = 'm_2024'::regclass") == 0


def test_reindex_concurrently_interrupted_leaves_one_leftover_and_cleans_it(database_url: str, tmp_path: Path) -> None:
    if server_major(database_url) < 12:
        pytest.skip("REINDEX ... CONCURRENTLY exists from PostgreSQL 12")
    base = "CREATE TABLE r (id int);\nCREATE INDEX r_id_idx ON r (id);\nINSERT INTO r SELECT generate_series(1, 100);"
    migration_set = journal_set(
        tmp_path, [("0000_base", base), ("0001_reindex", "REINDEX INDEX CONCURRENTLY r_id_idx;")]
    )
    assert apply(database_url, migration_set, stop_at="0000_base").ok
    invalid = "SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indrelid = 'r'::regclass"
    with holding(database_url, "INSERT INTO r VALUES (0)"):  # a writer: REINDEX CONCURRENTLY waits for it
        failed = apply(database_url, migration_set)
        assert failed.outcomes[0].status == "failed" and failed.outcomes[0].attempts == 3
        assert scalar(database_url, invalid) == 1  # each retry dropped the previous attempt's _ccnew
    assert apply(database_url, migration_set).ok
    assert scalar(database_url, invalid) == 0
    assert scalar(database_url, "SELECT count(*) FROM pg_index WHERE indrelid = 'r'::regclass") == 1


def test_cleanup_of_an_invalid_index_waits_no_longer_than_lock_timeout(database_url: str, tmp_path: Path) -> None:
    base = "CREATE TABLE c (id int);"
    migration_set = journal_set(
        tmp_path, [("0000_base", base), ("0001_index", "CREATE INDEX CONCURRENTLY c_id_idx ON c (id);")]
    )
    assert apply(database_url, migration_set, stop_at="0000_base").ok
    with holding(database_url, "INSERT INTO c VALUES (1)"):
        failed = apply(database_url, migration_set)  # build, cleanup and retries all meet the writer
        error = failed.outcomes[0].error or ""
        assert failed.outcomes[0].status == "failed" and "lock_timeout (200 ms)" in error
        assert "INVALID index" in error
    result = apply(database_url, migration_set)
    assert result.ok
    assert scalar(database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'c_id_idx'::regclass") is True


# -- 5. history matched as drizzle matches it -------------------------------------------------------------

CUSTOM = "-- Custom SQL migration file, put your code below! --"


def test_identical_migrations_are_told_apart_by_created_at(database_url: str, tmp_path: Path) -> None:
    migration_set = journal_set(
        tmp_path,
        [("0000_a", "CREATE TABLE a (id int);"), ("0001_custom", CUSTOM), ("0002_b", "CREATE TABLE b (id int);"),
         ("0003_custom", CUSTOM)],
    )
    assert apply(database_url, migration_set, stop_at="0001_custom").ok
    plan = apply(database_url, migration_set, dry_run=True).plan
    assert [p.migration.tag for p in plan.pending] == ["0002_b", "0003_custom"] and plan.problems == ()
    assert apply(database_url, migration_set).ok
    after = apply(database_url, migration_set, dry_run=True).plan
    assert after.pending == () and after.problems == ()


def test_a_history_row_recorded_twice_is_reported(tmp_path: Path) -> None:
    from reconciler.history import HistoryRow

    migration_set = journal_set(tmp_path, [("0000_a", "CREATE TABLE a (id int);")])
    m = migration_set.migrations[0]
    plan = make_plan(migration_set, [HistoryRow(1, m.hash, m.when), HistoryRow(2, m.hash, m.when)])
    assert [p.kind for p in plan.problems] == [ProblemKind.UNKNOWN]
    assert "records 0000_a a second time" in plan.problems[0].message


# -- 6. messages true to the database ---------------------------------------------------------------------


def test_a_failure_shows_postgresqls_hint(database_url: str, tmp_path: Path) -> None:
    migration_set = journal_set(
        tmp_path,
        [("0000_t", "CREATE TABLE t (c text);"), ("0001_type", 'ALTER TABLE t ALTER COLUMN c SET DATA TYPE integer;')],
    )
    result = apply(database_url, migration_set)
    error = result.outcomes[-1].error or ""
    assert "HINT: You might need to specify \"USING c::integer\"." in error
    assert "nothing of 0001_type was applied" in error
    assert scalar(database_url, "SELECT format_type(atttypid, -1) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'c'") == "text"


def test_lock_timeout_names_the_blocker_seen_while_waiting_and_counts_statements_once(
    database_url: str, tmp_path: Path
) -> None:
    migration_set = journal_set(
        tmp_path, [("0000_t", "CREATE TABLE t (id int);"), ("0001_col", "ALTER TABLE t ADD COLUMN x int;")]
    )
    env = EnvironmentConfig(name="staging", lock_timeout=600, lock_retries=1, retry_backoff=20)
    assert apply(database_url, migration_set, env, stop_at="0000_t").ok
    with holding(database_url, "SELECT * FROM t") as holder:
        pid = holder.info.backend_pid
        result = apply(database_url, migration_set, env)
    error = result.outcomes[0].error or ""
    assert f"pid {pid} (long transaction, idle in transaction" in error and "still running" in error
    assert "nothing of 0001_col was applied" in error and result.outcomes[0].attempts == 2
    assert scalar(database_url, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'x'") == 0
    retried = apply(database_url, migration_set, env)
    assert retried.ok and retried.outcomes[0].statements_run == 1


def test_a_long_statement_is_reported_while_it_runs(database_url: str, tmp_path: Path) -> None:
    migration_set = journal_set(tmp_path, [("0000_slow", "SELECT pg_sleep(1);")])
    observer = Recorder()
    assert apply_environment(FAST, database_url, migration_set, ApplyOptions(actor="test"), observer).ok
    assert observer.running and observer.running[-1].elapsed_s >= 0.5
    assert any(r.wait_event == "Timeout: PgSleep" for r in observer.running)


def test_accepting_a_tampered_file_with_nothing_pending_is_recorded(database_url: str, tmp_path: Path) -> None:
    original = journal_set(tmp_path / "v1", [("0000_a", "CREATE TABLE a (id int);")])
    assert apply(database_url, original).ok
    edited = journal_set(tmp_path / "v2", [("0000_a", "CREATE TABLE a (id bigint);")])
    result = apply(database_url, edited, approvals=Approvals(accept_tampered_reason="hotfix reviewed in #7"))
    assert result.ok and result.outcomes == ()
    assert rows(
        database_url, "SELECT migration_tag, status, decision FROM schemawarden.apply_log WHERE status = 'accepted'"
    ) == [("0000_a", "accepted", "accepted tampered history: hotfix reviewed in #7")]


def test_drop_index_concurrently_interrupted_is_finished_by_the_next_run(database_url: str, tmp_path: Path) -> None:
    base = "CREATE TABLE d (id int);\nCREATE INDEX d_id_idx ON d (id);"
    migration_set = journal_set(
        tmp_path, [("0000_base", base), ("0001_drop", "DROP INDEX CONCURRENTLY d_id_idx;")]
    )
    assert apply(database_url, migration_set, stop_at="0000_base").ok
    with holding(database_url, "SELECT * FROM d"):  # a reader: the drop waits for it after marking the index
        failed = apply(database_url, migration_set)
        error = failed.outcomes[0].error or ""
        assert failed.outcomes[0].status == "failed" and "lock_timeout" in error
        assert "nothing of it was rolled back" in error
    left = rows(database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('d_id_idx')")
    assert left in ([], [(False,)])  # gone, or left INVALID by the interrupted drop
    assert apply(database_url, migration_set).ok
    assert scalar(database_url, "SELECT to_regclass('d_id_idx')") is None


# -- a run stopped before a migration whose `when` is below an earlier one's ----------------------------


def test_a_stopped_run_is_not_taken_for_a_late_merge(database_url: str, tmp_path: Path) -> None:
    # kan's journal has entries whose `when` is below the previous entry's; a run that stops just
    # before one must not report it as merged late on the next run
    migrations = [("0000_a", "CREATE TABLE a (id int);"), ("0001_b", "CREATE TABLE b (id int);"),
                  ("0002_c", "CREATE TABLE c (id int);")]
    whens = [1_700_000_000_000, 1_700_000_009_000, 1_700_000_005_000]
    folder = journal_set(tmp_path, migrations, whens)
    assert apply(database_url, folder, stop_at="0001_b").ok

    result = apply(database_url, folder)

    assert result.ok and [o.tag for o in result.outcomes] == ["0002_c"]
    [problem] = result.plan.problems
    assert problem.kind is ProblemKind.OUT_OF_ORDER and problem.accepted
    assert "already in the folder when that was applied" in problem.message


def test_a_migration_merged_after_the_newest_was_applied_still_needs_a_decision(
    database_url: str, tmp_path: Path
) -> None:
    first = [("0000_a", "CREATE TABLE a (id int);"), ("0001_b", "CREATE TABLE b (id int);")]
    assert apply(database_url, journal_set(tmp_path / "v1", first, [1_700_000_000_000, 1_700_000_009_000])).ok
    merged_late = journal_set(
        tmp_path / "v2", [*first, ("0002_c", "CREATE TABLE c (id int);")],
        [1_700_000_000_000, 1_700_000_009_000, 1_700_000_005_000],
    )
    result = apply(database_url, merged_late)
    assert result.outcomes == () and [p.kind for p in result.plan.open_problems] == [ProblemKind.OUT_OF_ORDER]
    assert "--allow-out-of-order 0002_c" in result.plan.open_problems[0].message
    assert scalar(database_url, "SELECT to_regclass('c')") is None
