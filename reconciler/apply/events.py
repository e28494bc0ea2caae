"""What apply takes and gives: options, per-migration outcomes, the result, and the observer.

The observer is how a front end (a progress bar, CI log lines, a job's log) hears what happens
while migrations run; every method has a silent default in `SilentObserver`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from policies.errors import SchemawardenError
from policies.statements import Statement
from reconciler.apply.watch import Running
from reconciler.locking import LockHolder
from reconciler.migrations import Migration
from reconciler.plan import Approvals, Plan


class RunnerLockHeld(SchemawardenError):
    """Another runner is applying to this environment."""

    def __init__(self, environment: str, holder: LockHolder | None) -> None:
        who = holder.describe() if holder else "a session that has just ended"
        super().__init__(
            f"environment {environment!r} is being migrated by {who}. Wait for it to finish "
            "(or run with --wait to queue behind it)"
        )


class OrphanedBackend(SchemawardenError):
    """A dead runner's backend is still running a statement, past the wait allowed for it."""


class ApplyObserver(Protocol):
    """What a front end hears while migrations run."""

    def migration_started(self, migration: Migration, position: int, total: int) -> None: ...
    def statement_finished(self, migration: Migration, statement: Statement) -> None: ...
    def statement_running(self, migration: Migration, statement: Statement, running: Running) -> None: ...
    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None: ...
    def recovering(self, migration: Migration, statement: Statement, says: str) -> None: ...
    def waiting_for_runner(self, holder: LockHolder | None) -> None: ...
    def waiting_for_orphan(self, holder: LockHolder, terminating: bool) -> None: ...
    def migration_finished(self, outcome: MigrationOutcome) -> None: ...


class SilentObserver:
    """The observer for callers that only want the result (and the base of the others)."""

    def migration_started(self, migration: Migration, position: int, total: int) -> None:
        return None

    def statement_finished(self, migration: Migration, statement: Statement) -> None:
        return None

    def statement_running(self, migration: Migration, statement: Statement, running: Running) -> None:
        return None

    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None:
        return None

    def recovering(self, migration: Migration, statement: Statement, says: str) -> None:
        return None

    def waiting_for_runner(self, holder: LockHolder | None) -> None:
        return None

    def waiting_for_orphan(self, holder: LockHolder, terminating: bool) -> None:
        return None

    def migration_finished(self, outcome: MigrationOutcome) -> None:
        return None


@dataclass(frozen=True)
class ApplyOptions:
    """Who applies, for which change, and how.

    `terminate_orphans`: end (pg_terminate_backend) a backend left running by a runner that died,
    instead of waiting for its statement to finish.
    """

    actor: str
    pull_request: int | None = None
    commit_sha: str | None = None
    wait: bool = False
    dry_run: bool = False
    stop_at: str | None = None
    approvals: Approvals = field(default_factory=Approvals)
    terminate_orphans: bool = False


@dataclass(frozen=True)
class MigrationOutcome:
    """How one migration attempt ended.

    `statements_run` counts the statements that took effect (a statement retried after a lock
    timeout counts once); `partial` is true when steps of the migration stay committed although
    it failed (recorded in `schemawarden.apply_progress`; the next apply resumes after them).
    """

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
