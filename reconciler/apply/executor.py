"""Executing one migration: its steps, under the environment's timeouts, with bounded retries.

Each step is one transaction (`SET LOCAL lock_timeout`, `statement_timeout`) or one statement
that PostgreSQL runs only outside a transaction (session timeouts set around it). Before every
attempt at such a statement, its recovery recipe (`policies.recovery`) finds and finishes what an
interrupted attempt left behind. Committed steps of an unfinished migration are recorded in
`schemawarden.apply_progress` by migration tag with the keys of their statements, so the next
run skips exactly those. Failures are told as the database now is: what was rolled back, what
stays committed, PostgreSQL's own DETAIL and HINT, and who blocked the statement while it waited.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import psycopg

from policies.execution import Step, StepKind, plan_steps, relations_of, statement_keys
from policies.recovery import Then
from policies.statements import Statement
from reconciler import audit
from reconciler.apply.events import ApplyObserver, MigrationOutcome
from reconciler.apply.watch import BLOCKER_COLUMNS, Blocker, Running, StatementWatch, still_running
from reconciler.database.connect import ServerError
from reconciler.environments import EnvironmentConfig
from reconciler.history import HistoryTable, record_applied
from reconciler.migrations import Migration
from reconciler.plan import PendingMigration

Conn = psycopg.Connection[tuple[object, ...]]


class StepFailed(Exception):
    """A step ended in an error that stops the migration; carries the user-facing message."""

    def __init__(self, message: str, statement: Statement, sqlstate: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.statement = statement
        self.sqlstate = sqlstate


class MigrationExecutor:
    """Runs pending migrations on the work connection, recording on the control connection."""

    def __init__(
        self,
        env: EnvironmentConfig,
        table: HistoryTable,
        control: Conn,
        work: Conn,
        watch: StatementWatch,
        attempt: audit.Attempt,
        observer: ApplyObserver,
        pg_major: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.env, self.table, self.control, self.work, self.watch = env, table, control, work, watch
        self.attempt, self.observer, self.pg_major, self.sleep = attempt, observer, pg_major, sleep
        self.history_table = str(table)
        self._current: tuple[Migration, Statement] | None = None

    def on_running(self, running: Running) -> None:
        """Called by the watch thread while a statement runs."""
        current = self._current
        if current is not None:
            self.observer.statement_running(current[0], current[1], running)

    def apply(self, item: PendingMigration) -> MigrationOutcome:
        migration = item.migration
        started = time.perf_counter()
        steps = plan_steps(migration.statements, self.pg_major)
        if not steps or steps[-1].kind is StepKind.AUTOCOMMIT:
            # an empty migration is still recorded, as drizzle does; after a last autocommit
            # statement, the history row needs a transaction of its own
            steps.append(Step(StepKind.TRANSACTION, ()))
        keys = dict(zip(migration.statements, statement_keys(migration.statements), strict=True))
        if item.restart:
            with audit.durably(self.control):
                audit.clear_progress(self.control, self.history_table, migration.tag)
        done = item.resume.statement_keys if item.resume else frozenset()
        committed_lines: list[int] = list(item.resume.lines) if item.resume else []
        # only a recovery recipe reads `resuming`: spare the other migrations the round trip
        resuming = bool(done) or (
            any(step.recovery for step in steps)
            and audit.was_interrupted(self.control, self.history_table, migration.tag)
        )
        # progress rows exist only for migrations cut into steps, or resumed: spare the others a DELETE
        clear_progress = len(steps) > 1 or bool(done)
        entry = audit.open_entry(self.control, self.attempt, migration.tag, migration.hash)
        try:
            for index, step in enumerate(steps):
                step_keys = [keys[s] for s in step.statements]
                if step_keys and all(k in done for k in step_keys):
                    for statement in step.statements:
                        entry.statements.append(
                            audit.StatementRecord(statement.line, statement.sql, 0.0, "already done")
                        )
                    continue
                last = index == len(steps) - 1
                self._run_with_retries(
                    migration, step, index, step_keys, last, resuming, entry, committed_lines, clear_progress
                )
                if not last:
                    committed_lines.append(step.statements[0].line)
        except StepFailed as failure:
            self._close(entry, "failed", failure.message, failure.statement.line, failure.sqlstate)
            return MigrationOutcome(
                migration.tag,
                "failed",
                _ms_since(started),
                _took_effect(entry),
                entry.attempts,
                error=failure.message,
                error_line=failure.statement.line,
                partial=bool(committed_lines),
            )
        return MigrationOutcome(migration.tag, "applied", _ms_since(started), _took_effect(entry), entry.attempts)

    # -- steps -----------------------------------------------------------------------------------

    def _run_with_retries(
        self,
        migration: Migration,
        step: Step,
        index: int,
        step_keys: list[str],
        last: bool,
        resuming: bool,
        entry: audit.LogEntry,
        committed_lines: list[int],
        clear_progress: bool,
    ) -> None:
        for attempt in range(self.env.lock_retries + 1):
            first_record = len(entry.statements)
            try:
                if step.kind is StepKind.AUTOCOMMIT:
                    self._run_alone(migration, step, index, step_keys, resuming or attempt > 0, entry)
                else:
                    self._run_transaction(migration, step, index, step_keys, last, entry, clear_progress)
                return
            except psycopg.Error as exc:
                if step.kind is StepKind.TRANSACTION:  # the log must not claim what was rolled back
                    for record in entry.statements[first_record:]:
                        if record.outcome == "ok":
                            record.outcome = "rolled back"
                statement = _failed_statement(step, entry)
                retry = isinstance(exc, psycopg.errors.LockNotAvailable) and attempt < self.env.lock_retries
                if not retry:
                    raise self._failure(migration, step, statement, exc, attempt + 1, committed_lines) from None
                wait_s = self.env.retry_delay_s(attempt, random.random())
                entry.attempts += 1
                self.observer.retrying(migration, statement, attempt + 1, wait_s)
                self.sleep(wait_s)

    def _run_transaction(
        self,
        migration: Migration,
        step: Step,
        index: int,
        step_keys: list[str],
        last: bool,
        entry: audit.LogEntry,
        clear_progress: bool,
    ) -> None:
        def bookkeeping() -> None:
            if last:  # history row, progress and the audit row's outcome commit with the migration
                record_applied(self.work, self.table, migration)
                if clear_progress:
                    audit.clear_progress(self.work, self.history_table, migration.tag)
                audit.close_entry(self.work, entry, "applied")
            else:
                audit.record_step(
                    self.work, self.history_table, migration.tag, migration.hash, index,
                    step.statements[0].line, step_keys,
                )

        with self._transaction(bookkeeping):
            for statement in step.statements:
                self._execute(migration, statement, entry)

    def _run_alone(
        self, migration: Migration, step: Step, index: int, step_keys: list[str], resuming: bool, entry: audit.LogEntry
    ) -> None:
        """One statement outside a transaction: recovery first, all under the session timeouts."""
        statement = step.statements[0]
        self._set_session_timeouts()
        try:
            if self._recover(migration, step, resuming, entry):
                entry.statements.append(audit.StatementRecord(statement.line, statement.sql, 0.0, "already done"))
            else:
                self._execute(migration, statement, entry)
        finally:
            if not self.work.broken and not self.work.closed:
                self.work.execute("RESET lock_timeout; RESET statement_timeout")
        with audit.durably(self.control):
            audit.record_step(
                self.control, self.history_table, migration.tag, migration.hash, index, statement.line, step_keys
            )

    def _recover(self, migration: Migration, step: Step, resuming: bool, entry: audit.LogEntry) -> bool:
        """Run the statement's recovery recipe; True when its effect is already there (skip it)."""
        target = step.recovery
        if target is None:
            return False
        state, leftovers = self._probe(target.recipe.probe, target.probe_parameters)
        response = target.recipe.responses.get(state)
        if response is None or (response.only_when_resuming and not resuming):
            return False
        statement = step.statements[0]
        cleanup = target.cleanup_statements(response, leftovers)
        if cleanup or response.then is Then.SKIP:
            self.observer.recovering(migration, statement, response.says)
        for sql_text in cleanup:
            self._execute(migration, Statement(sql=sql_text, line=statement.line, chunk=statement.chunk), entry,
                          outcome="cleanup")
        return response.then is Then.SKIP

    def _probe(self, probe: str, parameters: dict[str, str]) -> tuple[str, list[str]]:
        row = self.work.execute(probe, parameters).fetchone()
        if row is None:
            return "", []
        leftovers = row[1] if isinstance(row[1], list) else []
        return str(row[0]), [str(x) for x in leftovers]

    @contextmanager
    def _transaction(self, bookkeeping: Callable[[], None]) -> Iterator[None]:
        """One migration transaction: opened with its timeouts in one round trip, and closed with its
        bookkeeping (`bookkeeping()`'s statements) and the COMMIT in one more (a pipeline)."""
        self.work.execute(
            f"BEGIN; SET LOCAL lock_timeout = '{int(self.env.lock_timeout)}ms'; "
            f"SET LOCAL statement_timeout = '{int(self.env.statement_timeout)}ms'"
        )
        try:
            yield
            with self.work.pipeline():
                bookkeeping()
                self.work.execute("COMMIT")
        except BaseException:
            if not self.work.broken and not self.work.closed:
                self.work.execute("ROLLBACK")
            raise

    def _execute(
        self, migration: Migration, statement: Statement, entry: audit.LogEntry, outcome: str = "ok"
    ) -> None:
        started = time.perf_counter()
        record = audit.StatementRecord(statement.line, statement.sql, 0.0, "running")
        entry.statements.append(record)
        self._current = (migration, statement)
        try:
            with self.watch.watching():
                self.work.execute(statement.sql)  # no parameters: sent as written, like drizzle does
        except psycopg.Error:
            record.outcome = "failed"
            record.duration_ms = _ms_since(started)
            raise
        finally:
            self._current = None
        record.outcome = outcome
        record.duration_ms = _ms_since(started)
        self.observer.statement_finished(migration, statement)

    def _set_session_timeouts(self) -> None:
        """Timeouts for a statement that runs outside a transaction (reset right after it)."""
        self.work.execute(
            "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
            (f"{self.env.lock_timeout}ms", f"{self.env.statement_timeout}ms"),
        )

    def _close(
        self, entry: audit.LogEntry, status: str, error: str | None, line: int | None, sqlstate: str | None
    ) -> None:
        if self.control.broken or self.control.closed:
            return  # the connection is gone: the row stays `running` and is marked interrupted next time
        with audit.durably(self.control):
            audit.close_entry(self.control, entry, status, error, line, sqlstate)

    # -- messages ---------------------------------------------------------------------------------

    def _failure(
        self,
        migration: Migration,
        step: Step,
        statement: Statement,
        exc: psycopg.Error,
        attempts: int,
        committed_lines: Sequence[int],
    ) -> StepFailed:
        """The account of an error that stops the migration, true to the database's state now."""
        where = f"{migration.tag} line {statement.line}"
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            what = (
                f"could not take its lock within lock_timeout ({self.env.lock_timeout} ms) in "
                f"{_count(attempts, 'attempt')}; blocked by {self._blockers(statement)}."
            )
        elif isinstance(exc, psycopg.errors.QueryCanceled):
            what = (
                f"ran longer than statement_timeout ({self.env.statement_timeout} ms) and was cancelled. "
                "Make the change without a long lock or rewrite (batched updates, CREATE INDEX "
                "CONCURRENTLY, NOT VALID then VALIDATE), or raise statement_timeout for this environment."
            )
        else:
            what = ServerError.of(exc).describe()
        return StepFailed(
            f"{where}: {what} {self._state_after(migration, step, committed_lines)}", statement, exc.sqlstate
        )

    def _state_after(self, migration: Migration, step: Step, committed_lines: Sequence[int]) -> str:
        """What of the migration is committed now, and what the next apply does."""
        if step.kind is StepKind.AUTOCOMMIT:
            told = (
                "This statement runs outside a transaction (PostgreSQL refuses it inside one), so nothing "
                "of it was rolled back"
            )
            leftover = self._leftover(step)
            told += f"; {leftover}, which the next apply handles first." if leftover else "."
        elif committed_lines:
            told = "This step's transaction was rolled back."
        else:
            told = (
                f"The migration's transaction was rolled back: nothing of {migration.tag} was applied. Earlier "
                "migrations stay applied; later ones were not attempted."
            )
            return told
        if committed_lines:
            lines = ", ".join(str(line) for line in committed_lines)
            told += (
                f" The steps starting at lines {lines} had to commit on their own (they cannot share a "
                f"transaction with what follows) and stay applied: {migration.tag} is partly applied, as "
                f"recorded in schemawarden.apply_progress. Later migrations were not attempted. Fix the cause "
                f"and apply again: it resumes at line {step.statements[0].line} (after editing the file, "
                "apply asks for --resume-partial or --restart-partial)."
            )
        else:
            told += f" Nothing else of {migration.tag} was committed; later migrations were not attempted."
        return told

    def _leftover(self, step: Step) -> str | None:
        """What an interrupted non-transactional statement left, in the words of its recipe."""
        target = step.recovery
        if target is None or self.work.broken or self.work.closed:
            return None
        try:
            state, _ = self._probe(target.recipe.probe, target.probe_parameters)
        except psycopg.Error:
            return None
        response = target.recipe.responses.get(state)
        if response is None or (response.cleanup is None and response.then is Then.RUN):
            return None
        return f"it left this behind: {response.says.split(':')[0]}"

    def _blockers(self, statement: Statement) -> str:
        """The sessions seen blocking the statement while it waited, and whether they still run."""
        seen = self.watch.blockers_seen()
        if not seen:
            seen = _lock_holders(self.control, statement.sql)
        if not seen:
            return "a session that ended before it could be seen"
        alive = still_running(self.control, [b.pid for b in seen])
        return "; ".join(
            b.describe() + (" — still running" if b.pid in alive else " — it has ended since") for b in seen
        )


def _lock_holders(conn: Conn, statement_sql: str) -> list[Blocker]:
    """Sessions holding locks on the relations the statement names (when the wait was too short to see)."""
    found: list[Blocker] = []
    for relation in relations_of(statement_sql):
        rows = conn.execute(
            f"""SELECT DISTINCT {BLOCKER_COLUMNS}
                FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
                WHERE l.granted AND l.relation = to_regclass(%s) AND l.pid <> pg_backend_pid()""",
            (relation,),
        ).fetchall()
        found.extend(Blocker.from_row(r) for r in rows)
    return found


def _failed_statement(step: Step, entry: audit.LogEntry) -> Statement:
    failed = next((r for r in reversed(entry.statements) if r.outcome == "failed"), None)
    if failed is not None:
        for statement in step.statements:
            if statement.line == failed.line and statement.sql == failed.sql:
                return statement
    return step.statements[0] if step.statements else Statement(sql="", line=0, chunk=0)


def _took_effect(entry: audit.LogEntry) -> int:
    """Statements that took effect in this attempt (retries and rolled-back runs not counted)."""
    return sum(1 for record in entry.statements if record.outcome == "ok")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
