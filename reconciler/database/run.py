"""Running migrations in a scratch database: statement by statement, as apply would, traced if asked.

`run_migration` executes one migration through the same execution plan as apply
(`policies.execution.plan_steps`: each transaction step between BEGIN and COMMIT, each statement that
PostgreSQL refuses in a transaction alone in autocommit) on the scratch role's connection, with the
server's `statement_timeout` set before every step. An extension statement
(`policies.execution.is_extension_statement`) runs as the superuser at the point where it occurs,
through the scratch database's helper (`ScratchDatabase.register_extension_statements`), inside the
step's transaction. With `trace=True`, each statement's locks, new data files and scans are read
around it (`reconciler.database.trace`). A failure raises `MigrationFailed` with PostgreSQL's own
SQLSTATE, message, DETAIL and HINT, the statement and its line in the file, and what stays committed.

`replay` runs a whole migration set this way without tracing: how a template is built.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import pq

from policies.errors import SchemawardenError
from policies.execution import Step, StepKind, is_extension_statement, plan_steps
from policies.lock_trace import StatementTrace
from policies.report import LockRef
from policies.statements import Statement, split_statements
from reconciler.database.connect import ServerError
from reconciler.database.scratch import ScratchDatabase
from reconciler.database.trace import Tracer
from reconciler.migrations import Migration, MigrationSet

Conn = psycopg.Connection[tuple[object, ...]]

WATCHDOG_GRACE_S = 1.0
"""How long past `statement_timeout` a statement may run before it is cancelled from outside (a
migration can turn the setting off: `SET statement_timeout = 0`)."""


@dataclass(frozen=True)
class StatementRun:
    """One statement executed: in step `step` (0-based) of the plan, in autocommit or in the step's
    transaction, as the superuser (an extension statement) or as the role, taking `duration_ms`
    (trace included); `trace` when tracing was asked for."""

    statement: Statement
    step: int
    autocommit: bool
    superuser: bool
    duration_ms: float
    trace: StatementTrace | None = None

    @property
    def traced_locks(self) -> tuple[LockRef, ...] | None:
        """The locks the statement took or strengthened (`StatementTrace.locks`); None when not traced
        or run in autocommit (its locks ended with it)."""
        return self.trace.locks if self.trace is not None else None

    @property
    def traced_rewrites(self) -> tuple[str, ...] | None:
        """The relations given a new data file, sorted; None when not traced."""
        return tuple(sorted(self.trace.rewrites)) if self.trace is not None else None


@dataclass(frozen=True)
class MigrationRun:
    """A migration executed whole: its statements in order, and the time taken (ms)."""

    source: str
    statements: tuple[StatementRun, ...]
    duration_ms: float


class MigrationFailed(SchemawardenError):
    """A migration failed in a scratch database (exit code 1): a finding about the migration.

    * `source`: the migration's file (or what the caller named); `statement`, `line`: the statement
      that failed and the file line PostgreSQL's error points at (the statement's position, or the
      line of a DO block's body, else the statement's first line);
    * `error`: PostgreSQL's SQLSTATE, message, DETAIL, HINT (None when the migration could not be
      planned: transaction control of its own);
    * `timed_out`: it ran past `statement_timeout`;
    * `committed`: statements of earlier steps, which committed on their own and stay applied;
      `outside_transaction`: the failing statement ran in autocommit, so whatever it did before
      failing stays (an INVALID index of CREATE INDEX CONCURRENTLY, say);
    * `completed`: the statements that ran before it, with their traces.
    """

    def __init__(
        self,
        source: str,
        statement: Statement | None,
        line: int | None,
        error: ServerError | None,
        reason: str,
        *,
        committed: tuple[Statement, ...] = (),
        outside_transaction: bool = False,
        timed_out: bool = False,
        completed: tuple[StatementRun, ...] = (),
    ) -> None:
        self.source, self.statement, self.line, self.error = source, statement, line, error
        self.committed, self.outside_transaction = committed, outside_transaction
        self.timed_out, self.completed = timed_out, completed
        where = f"{source} line {line}" if line is not None else source
        super().__init__(f"{where}: {reason} {self._state()}".rstrip())

    @property
    def sqlstate(self) -> str | None:
        return self.error.sqlstate if self.error else None

    def _state(self) -> str:
        told = []
        if self.outside_transaction:
            told.append(
                "The statement ran outside a transaction (PostgreSQL refuses it inside one): what it did "
                "before failing was not rolled back."
            )
        if self.committed:
            lines = ", ".join(str(statement.line) for statement in self.committed)
            told.append(f"The statements at lines {lines} committed in earlier steps and stay applied.")
        elif self.statement is not None and not self.outside_transaction:
            told.append("Its transaction was rolled back: nothing of it stays applied.")
        return " ".join(told)


def run_migration(db: ScratchDatabase, migration: Migration, *, trace: bool = False) -> MigrationRun:
    """Execute `migration` in `db` (on `db.connection()`) as apply would; see the module's doc.

    Raises `MigrationFailed`.
    """
    return run_statements(db, migration.statements, source=migration.path, trace=trace)


def run_sql(db: ScratchDatabase, text: str, *, source: str, trace: bool = False) -> MigrationRun:
    """Execute SQL text that is not a migration file (a rollback, say) like a migration; lines count
    from its first line. Raises `MigrationFailed`."""
    return run_statements(db, split_statements(text), source=source, trace=trace)


def replay(migrations: MigrationSet | Sequence[Migration], db: ScratchDatabase) -> None:
    """Execute every migration in order, untraced (how a template's schema is built).

    Each transaction step is sent as one query (BEGIN, its statements, COMMIT: a third fewer round
    trips than statement by statement); a step that fails is rolled back and run again statement by
    statement, so the error names its statement as `run_migration`'s would. Raises `MigrationFailed`
    for the first migration that fails; the ones before it stay applied.
    """
    for migration in migrations.migrations if isinstance(migrations, MigrationSet) else migrations:
        _Run(db, migration.statements, migration.path, trace=False).execute(batch=True)


def run_statements(
    db: ScratchDatabase, statements: Sequence[Statement], *, source: str, trace: bool = False
) -> MigrationRun:
    """Execute `statements` (one file's, in order) as `run_migration` does; `source` names the file."""
    return _Run(db, statements, source, trace).execute(batch=False)


class _Run:
    """One file's statements executing in a scratch database (the state of `run_statements`)."""

    def __init__(self, db: ScratchDatabase, statements: Sequence[Statement], source: str, trace: bool) -> None:
        self.db, self.statements, self.source = db, statements, source
        self.conn = db.connection()
        if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            raise ValueError("the scratch database's connection is inside a transaction: end it before running SQL")
        self.tracer = Tracer(self.conn) if trace else None
        self.runs: list[StatementRun] = []
        self.committed: list[Statement] = []
        self.sent: dict[int, str] = {}  # id(statement) -> the helper's call that runs it as the superuser

    def execute(self, batch: bool) -> MigrationRun:
        started = time.perf_counter()
        try:
            steps = plan_steps(self.statements, self.db.pg_major)
        except ValueError as exc:
            raise MigrationFailed(
                self.source, None, None, None,
                f"cannot be run statement by statement: {exc}. A migration runs in the transactions "
                "schemawarden opens; remove its own transaction control",
            ) from None
        extension = [statement for statement in self.statements if is_extension_statement(statement)]
        calls = self.db.register_extension_statements([statement.sql for statement in extension])
        self.sent = dict(zip(map(id, extension), calls, strict=True))
        limit_s = self.db.statement_timeout_ms / 1000 + WATCHDOG_GRACE_S
        with _Watchdog(self.conn, limit_s) as watchdog:
            for index, step in enumerate(steps):
                if not (batch and step.kind is StepKind.TRANSACTION and self._batch(step, watchdog)):
                    self._step(index, step, watchdog)
                self.committed.extend(step.statements)
        return MigrationRun(self.source, tuple(self.runs), _ms_since(started))

    def _begin(self, autocommit: bool) -> None:
        timeout = f"SET statement_timeout = {int(self.db.statement_timeout_ms)}"
        self.conn.execute(timeout if autocommit else f"{timeout}; BEGIN")

    def _batch(self, step: Step, watchdog: _Watchdog) -> bool:
        """Run a transaction step as one query; False (rolled back) when it failed."""
        # "\n;\n": a statement may end in a line comment, which would swallow a `;` on its line
        body = "\n;\n".join(self.sent.get(id(statement), statement.sql) for statement in step.statements)
        try:
            with watchdog.watching():
                self.conn.execute(f"SET statement_timeout = {int(self.db.statement_timeout_ms)};\nBEGIN;\n{body}\n;\nCOMMIT")
        except psycopg.Error:
            _roll_back(self.conn)
            return False
        except BaseException:
            _roll_back(self.conn)
            raise
        return True

    def _step(self, index: int, step: Step, watchdog: _Watchdog) -> None:
        autocommit = step.kind is StepKind.AUTOCOMMIT
        statement = step.statements[0]
        try:
            self._begin(autocommit)
            if self.tracer is not None:
                self.tracer.restart()
            for statement in step.statements:
                text = self.sent.get(id(statement), statement.sql)
                began = time.perf_counter()
                traced: StatementTrace | None = None
                with watchdog.watching():
                    if self.tracer is not None:
                        traced = self.tracer.execute(text)
                    else:
                        self.conn.execute(text)  # no parameters: sent as written, like drizzle does
                superuser = id(statement) in self.sent
                self.runs.append(StatementRun(statement, index, autocommit, superuser, _ms_since(began), traced))
            if not autocommit:
                self.conn.execute("COMMIT")
        except psycopg.Error as exc:
            _roll_back(self.conn)
            at_commit = bool(self.runs) and self.runs[-1].statement is statement and self.runs[-1].step == index
            raise _failure(
                self.source, statement, exc, id(statement) in self.sent, at_commit, self.db.statement_timeout_ms,
                watchdog.fired, autocommit, tuple(self.committed), tuple(self.runs),
            ) from None
        except BaseException:
            _roll_back(self.conn)
            raise


def _roll_back(conn: Conn) -> None:
    if not conn.closed and not conn.broken and conn.info.transaction_status != pq.TransactionStatus.IDLE:
        conn.execute("ROLLBACK")


def _failure(
    source: str,
    statement: Statement,
    exc: psycopg.Error,
    superuser: bool,
    at_commit: bool,
    timeout_ms: int,
    cancelled_by_watchdog: bool,
    autocommit: bool,
    committed: tuple[Statement, ...],
    completed: tuple[StatementRun, ...],
) -> MigrationFailed:
    error = ServerError.of(exc)
    if superuser:  # the error came through the helper: its position and call stack are the helper's
        error = ServerError(error.sqlstate, error.message, error.detail, error.hint)
    timed_out = isinstance(exc, psycopg.errors.QueryCanceled)
    if timed_out:
        turned_off = " (the migration had turned the setting off: cancelled from outside)" if cancelled_by_watchdog else ""
        reason = (
            f"ran longer than statement_timeout ({timeout_ms} ms) and was cancelled{turned_off}. In a scratch "
            "database, without the environment's data, a statement this slow loops or waits on itself."
        )
    else:
        reason = error.describe()
    if at_commit:
        reason = f"at the COMMIT of the step that ends here (a deferred constraint, say): {reason}"
    return MigrationFailed(
        source, statement, error_line(statement, error), error, reason,
        committed=committed, outside_transaction=autocommit, timed_out=timed_out, completed=completed,
    )


_PLPGSQL_LINE = re.compile(r"PL/pgSQL function inline_code_block line (\d+)")
_DOLLAR_QUOTE = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")


def error_line(statement: Statement, error: ServerError) -> int:
    """The file line an error points at: the statement's line plus the lines before PostgreSQL's
    position in it (a character index, 1-based), or, for an error inside a DO block, the line that
    PL/pgSQL names in its CONTEXT counted from the body's first line; else the statement's line."""
    if error.position is not None:
        return statement.line + statement.sql.count("\n", 0, max(error.position - 1, 0))
    found = _PLPGSQL_LINE.search(error.context or "")
    quote = _DOLLAR_QUOTE.search(statement.sql) if found else None
    if found and quote is not None and statement.sql.lstrip()[:2].upper() == "DO":
        return statement.line + statement.sql.count("\n", 0, quote.end()) + int(found.group(1)) - 1
    return statement.line


class _Watchdog:
    """Cancels the connection's running statement when it outlives `limit_s` seconds: one thread for
    a whole run, armed around each statement (`watching()`)."""

    def __init__(self, conn: Conn, limit_s: float) -> None:
        self.conn, self.limit_s = conn, limit_s
        self.fired = False
        self._deadline: float | None = None
        self._closed = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._watch, name="scratch statement watchdog", daemon=True)

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify()
        self._thread.join()

    @contextmanager
    def watching(self) -> Iterator[None]:
        with self._condition:
            self._deadline = time.monotonic() + self.limit_s
            self._condition.notify()
        try:
            yield
        finally:
            with self._condition:
                self._deadline = None

    def _watch(self) -> None:
        with self._condition:
            while not self._closed:
                if self._deadline is None:
                    self._condition.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._condition.wait(remaining)
                    continue
                self._deadline = None
                self.fired = True
                self.conn.cancel_safe()


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
