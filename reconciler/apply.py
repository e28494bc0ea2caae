"""Apply a plan to one environment, safely.

Unlike drizzle-orm's migrator: one runner at a time (advisory lock), each migration in its own
transaction with `lock_timeout` and `statement_timeout`, statements that cannot run in a
transaction run alone with their progress recorded (so a killed run resumes at the right
statement and rebuilds an INVALID index), bounded retries on lock timeouts, a stop at the first
failure, and an audit row for every attempt. History rows are exactly drizzle's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import psycopg
from psycopg import sql

from policies.errors import SchemawardenError
from policies.execution import Step, StepKind, plan_steps, relations_of
from policies.statements import Statement
from reconciler import audit
from reconciler.connect import connect_environment, server_major
from reconciler.environments import EnvironmentConfig
from reconciler.history import (
    HistoryTable,
    ensure_history_table,
    history_columns,
    read_history,
    record_applied,
)
from reconciler.locking import LockHolder, lock_holder, try_lock, unlock, wait_for_lock
from reconciler.migrations import Layout, Migration, MigrationSet
from reconciler.plan import Approvals, Plan, make_plan

Conn = psycopg.Connection[tuple[object, ...]]


class RunnerLockHeld(SchemawardenError):
    """Another runner is applying to this environment."""

    def __init__(self, environment: str, holder: LockHolder | None) -> None:
        who = holder.describe() if holder else "a session that has just ended"
        super().__init__(
            f"environment {environment!r} is being migrated by {who}. Wait for it to finish "
            "(or run with --wait to queue behind it)"
        )


class ApplyObserver(Protocol):
    """What a front end (progress bar, logs) hears while migrations run."""

    def migration_started(self, migration: Migration, position: int, total: int) -> None: ...
    def statement_finished(self, migration: Migration, statement: Statement) -> None: ...
    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None: ...
    def waiting_for_runner(self, holder: LockHolder | None) -> None: ...
    def migration_finished(self, outcome: MigrationOutcome) -> None: ...


class SilentObserver:
    """The observer for callers that only want the result."""

    def migration_started(self, migration: Migration, position: int, total: int) -> None:
        return None

    def statement_finished(self, migration: Migration, statement: Statement) -> None:
        return None

    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None:
        return None

    def waiting_for_runner(self, holder: LockHolder | None) -> None:
        return None

    def migration_finished(self, outcome: MigrationOutcome) -> None:
        return None


@dataclass(frozen=True)
class ApplyOptions:
    """Who applies, for which change, and how."""

    actor: str
    pull_request: int | None = None
    commit_sha: str | None = None
    wait: bool = False
    dry_run: bool = False
    stop_at: str | None = None
    approvals: Approvals = field(default_factory=Approvals)


@dataclass(frozen=True)
class MigrationOutcome:
    """How one migration attempt ended."""

    tag: str
    status: str  # "applied" or "failed"
    duration_ms: float
    statements_run: int
    attempts: int
    error: str | None = None
    error_line: int | None = None
    partial: bool = False


@dataclass(frozen=True)
class ApplyResult:
    """The plan as seen under the runner lock, and what became of each runnable migration."""

    environment: str
    plan: Plan
    outcomes: tuple[MigrationOutcome, ...]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return all(o.status == "applied" for o in self.outcomes) and not self.plan.open_problems


class _StepFailed(Exception):
    """A step ended in an error that stops the migration; carries the user-facing message."""

    def __init__(self, message: str, statement: Statement, sqlstate: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.statement = statement
        self.sqlstate = sqlstate


def apply_environment(
    env: EnvironmentConfig,
    url: str,
    migration_set: MigrationSet,
    options: ApplyOptions,
    observer: ApplyObserver | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ApplyResult:
    """Bring one environment up to the migration set, as far as the plan allows."""
    observer = observer or SilentObserver()
    table = HistoryTable(env.history_schema, env.history_table)
    app_name = f"schemawarden apply {env.name} by {options.actor}"[:63]
    with connect_environment(env, url, app_name) as control:
        if options.dry_run:
            plan = make_plan(migration_set, read_history(control, table), options.approvals, options.stop_at)
            return ApplyResult(env.name, plan, (), dry_run=True)
        with connect_environment(env, url, app_name) as work:
            _take_runner_lock(control, table, env, options, observer)
            try:
                return _Runner(env, table, control, work, options, observer, sleep).run(migration_set)
            finally:
                if not control.closed and not control.broken:
                    unlock(control, table)


def _take_runner_lock(
    control: Conn, table: HistoryTable, env: EnvironmentConfig, options: ApplyOptions, observer: ApplyObserver
) -> None:
    if try_lock(control, table):
        return
    holder = lock_holder(control, table)
    if not options.wait:
        raise RunnerLockHeld(env.name, holder)
    observer.waiting_for_runner(holder)
    wait_for_lock(control, table)


class _Runner:
    """Applies the runnable prefix of the plan while holding the environment's lock."""

    def __init__(
        self,
        env: EnvironmentConfig,
        table: HistoryTable,
        control: Conn,
        work: Conn,
        options: ApplyOptions,
        observer: ApplyObserver,
        sleep: Callable[[float], None],
    ) -> None:
        self.env, self.table, self.control, self.work = env, table, control, work
        self.options, self.observer, self.sleep = options, observer, sleep
        self.pg_major = server_major(work)
        self.attempt = audit.Attempt(
            environment=env.name,
            history_table=str(table),
            actor=options.actor,
            pull_request=options.pull_request,
            commit_sha=options.commit_sha,
            decision=_decision_text(options.approvals),
        )

    def run(self, migration_set: MigrationSet) -> ApplyResult:
        audit.ensure_audit_tables(self.control)
        audit.use_audit_connection(self.control)
        audit.mark_interrupted(self.control, str(self.table))
        plan = make_plan(
            migration_set,
            read_history(self.control, self.table),
            self.options.approvals,
            self.options.stop_at,
        )
        runnable = plan.runnable
        if runnable:
            self._check_history_columns(migration_set.layout)
            with self.work.transaction():
                ensure_history_table(self.work, self.table, migration_set.layout)
        outcomes: list[MigrationOutcome] = []
        for position, migration in enumerate(runnable):
            self.observer.migration_started(migration, position, len(runnable))
            outcome = self._apply_migration(migration)
            outcomes.append(outcome)
            self.observer.migration_finished(outcome)
            if outcome.status != "applied":
                break
        return ApplyResult(self.env.name, plan, tuple(outcomes), dry_run=False)

    def _check_history_columns(self, layout: Layout) -> None:
        """A drizzle 1.x folder needs the 1.x history table, which drizzle upgrades itself."""
        if layout is not Layout.DRIZZLE_1:
            return
        columns = history_columns(self.control, self.table)
        if columns and "name" not in columns:
            raise SchemawardenError(
                f"{self.env.label}: {self.table} is a drizzle 0.x history table but the migrations "
                "folder is in the drizzle 1.x layout. Run drizzle-orm 1.x's migrator once (it upgrades "
                "the table), then apply with schemawarden"
            )

    def _apply_migration(self, migration: Migration) -> MigrationOutcome:
        started = time.perf_counter()
        steps = plan_steps(migration.statements, self.pg_major)
        if not steps or steps[-1].kind is StepKind.AUTOCOMMIT:
            # an empty migration is still recorded, as drizzle does; after a last autocommit
            # statement, the history row needs a transaction of its own
            steps.append(Step(StepKind.TRANSACTION, ()))
        history_table = str(self.table)
        # progress rows exist only for migrations cut into several steps; skip the round trips otherwise
        multi_step = len(steps) > 1
        done = audit.completed_steps(self.control, history_table, migration.hash) if multi_step else set()
        resuming = multi_step and (
            bool(done) or audit.was_interrupted(self.control, history_table, migration.hash)
        )
        entry = audit.open_entry(self.control, self.attempt, migration.tag, migration.hash)
        committed_any = bool(done)
        try:
            for index, step in enumerate(steps):
                if index in done:
                    continue
                last = index == len(steps) - 1
                self._run_with_retries(migration, step, index, last, resuming, entry)
                committed_any = committed_any or not last
        except _StepFailed as failure:
            partial = committed_any
            message = failure.message
            if partial:
                message += (
                    f" The steps before line {failure.statement.line} had to be committed on their own "
                    "(they cannot share a transaction with what follows) and stay applied; the next "
                    "apply resumes at this statement."
                )
            self._close(entry, "failed", message, failure.statement.line, failure.sqlstate)
            return MigrationOutcome(
                migration.tag,
                "failed",
                _ms_since(started),
                len(entry.statements),
                entry.attempts,
                error=message,
                error_line=failure.statement.line,
                partial=partial,
            )
        return MigrationOutcome(
            migration.tag, "applied", _ms_since(started), len(entry.statements), entry.attempts
        )

    def _close(
        self,
        entry: audit.LogEntry,
        status: str,
        error: str | None = None,
        line: int | None = None,
        sqlstate: str | None = None,
    ) -> None:
        if self.control.broken or self.control.closed:
            return  # the connection is gone: the row stays `running` and is marked interrupted next time
        with audit.durably(self.control):
            audit.close_entry(self.control, entry, status, error, line, sqlstate)

    def _run_with_retries(
        self, migration: Migration, step: Step, index: int, last: bool, resuming: bool, entry: audit.LogEntry
    ) -> None:
        for attempt in range(self.env.lock_retries + 1):
            first_record = len(entry.statements)
            try:
                self._run_step(migration, step, index, last, resuming, entry)
                return
            except psycopg.Error as exc:
                if step.kind is StepKind.TRANSACTION:  # the log must not claim what was rolled back
                    for record in entry.statements[first_record:]:
                        if record.outcome == "ok":
                            record.outcome = "rolled back"
                statement = self._failed_statement(step, entry)
                retry = isinstance(exc, psycopg.errors.LockNotAvailable) and attempt < self.env.lock_retries
                if not retry:
                    raise self._failure(migration, statement, exc, attempt + 1) from None
                wait_s = self.env.retry_delay_s(attempt, random.random())
                entry.attempts += 1
                self.observer.retrying(migration, statement, attempt + 1, wait_s)
                self.sleep(wait_s)

    def _failure(
        self, migration: Migration, statement: Statement, exc: psycopg.Error, attempts: int
    ) -> _StepFailed:
        """The user-facing account of an error that stops the migration."""
        where = f"{migration.tag} line {statement.line}"
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            message = self._lock_timeout_message(migration, statement, attempts)
        elif isinstance(exc, psycopg.errors.QueryCanceled):
            message = (
                f"{where}: ran longer than statement_timeout ({self.env.statement_timeout} ms) and was "
                "cancelled; the migration's transaction was rolled back. Make the change without a long "
                "lock or rewrite (batched updates, CREATE INDEX CONCURRENTLY, NOT VALID then VALIDATE), "
                "or raise statement_timeout for this environment."
            )
        else:
            primary = exc.diag.message_primary or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            message = (
                f"{where}: {primary}"
                + (f" (SQLSTATE {exc.sqlstate})" if exc.sqlstate else "")
                + ". The migration's transaction was rolled back; earlier migrations stay applied "
                "and later ones were not attempted."
            )
        return _StepFailed(message, statement, exc.sqlstate)

    def _run_step(
        self, migration: Migration, step: Step, index: int, last: bool, resuming: bool, entry: audit.LogEntry
    ) -> None:
        history_table = str(self.table)
        if step.kind is StepKind.AUTOCOMMIT:
            statement = step.statements[0]
            if self._concurrent_index_already_done(step, resuming):
                entry.statements.append(
                    audit.StatementRecord(statement.line, statement.sql, 0.0, "already done")
                )
            else:
                self._set_session_timeouts()
                try:
                    self._execute(migration, statement, entry)
                finally:
                    if not self.work.broken:
                        self.work.execute("RESET lock_timeout; RESET statement_timeout")
            with audit.durably(self.control):
                audit.record_step(self.control, history_table, migration.hash, index)
            return
        with self._transaction():
            for statement in step.statements:
                self._execute(migration, statement, entry)
            if last:  # history row, progress and the audit row's outcome commit together
                record_applied(self.work, self.table, migration)
                if index > 0:
                    audit.clear_progress(self.work, history_table, migration.hash)
                audit.close_entry(self.work, entry, "applied")
            else:
                audit.record_step(self.work, history_table, migration.hash, index)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One migration transaction, opened with its timeouts in a single round trip."""
        self.work.execute(
            f"BEGIN; SET LOCAL lock_timeout = '{int(self.env.lock_timeout)}ms'; "
            f"SET LOCAL statement_timeout = '{int(self.env.statement_timeout)}ms'"
        )
        try:
            yield
        except BaseException:
            if not self.work.broken:
                self.work.execute("ROLLBACK")
            raise
        self.work.execute("COMMIT")

    def _execute(self, migration: Migration, statement: Statement, entry: audit.LogEntry) -> None:
        started = time.perf_counter()
        record = audit.StatementRecord(statement.line, statement.sql, 0.0, "running")
        entry.statements.append(record)
        try:
            self.work.execute(statement.sql)  # no parameters: sent as written, like drizzle does
        except psycopg.Error:
            record.outcome = "failed"
            record.duration_ms = _ms_since(started)
            raise
        record.outcome = "ok"
        record.duration_ms = _ms_since(started)
        self.observer.statement_finished(migration, statement)

    def _set_session_timeouts(self) -> None:
        """Timeouts for a statement that runs outside a transaction (reset right after it)."""
        self.work.execute(
            "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
            (f"{self.env.lock_timeout}ms", f"{self.env.statement_timeout}ms"),
        )

    def _concurrent_index_already_done(self, step: Step, resuming: bool) -> bool:
        """Handle what a killed or failed CONCURRENTLY step left behind.

        An INVALID index of that name is dropped so the build starts clean; a valid one (or,
        for a drop, a missing one) left by an interrupted attempt means the step is done.
        """
        if step.index is None:
            return False
        row = self.work.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (step.index,)
        ).fetchone()
        if step.creates_index:
            if row is not None and not row[0]:
                self.work.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.SQL(step.index)))
                return False
            return row is not None and resuming
        return row is None and resuming

    def _failed_statement(self, step: Step, entry: audit.LogEntry) -> Statement:
        failed = next((r for r in reversed(entry.statements) if r.outcome == "failed"), None)
        if failed is not None:
            for statement in step.statements:
                if statement.line == failed.line:
                    return statement
        return step.statements[0] if step.statements else Statement(sql="", line=0, chunk=0)

    def _lock_timeout_message(self, migration: Migration, statement: Statement, attempts: int) -> str:
        blockers = _blockers(self.control, statement.sql)
        who = "; ".join(blockers) if blockers else "a session that has since released it"
        return (
            f"{migration.tag} line {statement.line}: could not take its lock within lock_timeout "
            f"({self.env.lock_timeout} ms) in {attempts} attempts; blocked by {who}. Nothing of this "
            "migration was applied (readers were never queued behind it for longer than the timeout). "
            "Apply again when that transaction has ended, or end it."
        )


def _blockers(conn: Conn, statement_sql: str) -> list[str]:
    """Sessions holding locks on the relations the statement touches: pid, age and query."""
    described: list[str] = []
    for relation in relations_of(statement_sql):
        rows = conn.execute(
            """
            SELECT DISTINCT a.pid, a.state, extract(epoch FROM now() - a.xact_start)::int,
                   left(regexp_replace(a.query, '\\s+', ' ', 'g'), 120)
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.granted AND l.relation = to_regclass(%s) AND l.pid <> pg_backend_pid()
            """,
            (relation,),
        ).fetchall()
        for pid, state, age, query in rows:
            described.append(f"pid {pid} ({state}, transaction open {age}s, last query: {query})")
    return described


def _decision_text(approvals: Approvals) -> str | None:
    parts: list[str] = []
    if approvals.accept_tampered_reason:
        parts.append(f"accepted tampered history: {approvals.accept_tampered_reason}")
    if approvals.allow_out_of_order:
        parts.append("allowed out of order: " + ", ".join(sorted(approvals.allow_out_of_order)))
    if approvals.allow_unknown:
        parts.append("allowed unknown history rows")
    return "; ".join(parts) or None


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
