"""Apply a plan to one environment, safely: the entry point shared by the CLI and the bot's jobs.

Unlike drizzle-orm's migrator: one runner at a time and never beside a dead runner's backend
(`reconciler.locking`), each migration in its own transaction with `lock_timeout` and
`statement_timeout`, statements that cannot run in a transaction run alone with their progress
recorded by migration tag (`reconciler.apply.executor`), a stop at the first failure, and an
audit row for every attempt and every decision. History rows are exactly drizzle's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from policies.errors import SchemawardenError
from reconciler import audit
from reconciler.apply.events import (
    ApplyObserver,
    ApplyOptions,
    ApplyResult,
    MigrationOutcome,
    OrphanedBackend,
    RunnerLockHeld,
    SilentObserver,
)
from reconciler.apply.executor import Conn, MigrationExecutor
from reconciler.apply.watch import OWN_APPLICATION, StatementWatch
from reconciler.database.connect import connect_environment, server_major
from reconciler.environments import EnvironmentConfig
from reconciler.history import HistoryTable, ensure_history_table, history_columns, read_history
from reconciler.locking import (
    LockHolder,
    OrphanStillRunning,
    lock_holder,
    take_work_lock,
    try_lock,
    unlock,
    wait_for_lock,
)
from reconciler.migrations import Layout, MigrationSet
from reconciler.plan import Approvals, Plan, make_plan

# How often the server checks that the client of a running statement is still there (PostgreSQL
# 14+, docs: client_connection_check_interval): a runner that dies ends its statement this soon.
CLIENT_CHECK_INTERVAL = "1s"


def apply_environment(
    env: EnvironmentConfig,
    url: str,
    migration_set: MigrationSet,
    options: ApplyOptions,
    observer: ApplyObserver | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ApplyResult:
    """Bring one environment up to the migration set, as far as the plan allows.

    Raises RunnerLockHeld (another live runner, without `options.wait`), OrphanedBackend (a dead
    runner's statement still running after its statement_timeout), EnvironmentUnreachable.
    """
    observer = observer or SilentObserver()
    table = HistoryTable(env.history_schema, env.history_table)
    app_name = f"{OWN_APPLICATION} {env.name} by {options.actor}"[:63]
    with connect_environment(env, url, app_name) as control:
        if options.dry_run:
            return ApplyResult(env.name, current_plan(control, table, migration_set, options), (), dry_run=True)
        with connect_environment(env, url, app_name) as work:
            # migrations are sent as written, never prepared: psycopg need not follow each DROP or
            # ALTER with a DEALLOCATE ALL (a round trip each; 31 on dokploy)
            work.prepare_threshold = None
            _take_runner_lock(control, table, env, options, observer)
            try:
                _take_work_lock(control, work, table, env, options, observer, sleep)
                with StatementWatch(
                    lambda: connect_environment(env, url, f"{app_name} (watch)"[:63]),
                    work.info.backend_pid,
                    lambda running: executor.on_running(running),
                ) as watch:
                    executor = _executor(env, table, control, work, watch, migration_set, options, observer, sleep)
                    return _run(env, table, control, work, executor, migration_set, options, observer)
            finally:
                if not control.closed and not control.broken:
                    unlock(control, table)


def plan_environment(
    env: EnvironmentConfig, url: str, migration_set: MigrationSet, options: ApplyOptions | None = None
) -> Plan:
    """The plan for one environment as it stands (history and recorded progress), changing nothing.

    Raises EnvironmentUnreachable.
    """
    options = options or ApplyOptions(actor="plan")
    with connect_environment(env, url, f"schemawarden plan {env.name}"[:63]) as conn:
        return current_plan(conn, HistoryTable(env.history_schema, env.history_table), migration_set, options)


def current_plan(control: Conn, table: HistoryTable, migration_set: MigrationSet, options: ApplyOptions) -> Plan:
    """The plan from the environment's history, recorded progress and folder (read-only)."""
    history = read_history(control, table)
    newest = max(history, key=lambda row: row.created_at or 0, default=None)
    return make_plan(
        migration_set,
        history,
        options.approvals,
        options.stop_at,
        audit.read_progress(control, str(table)),
        audit.read_folder_seen(control, str(table), newest.hash) if newest else None,
    )


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


def _take_work_lock(
    control: Conn,
    work: Conn,
    table: HistoryTable,
    env: EnvironmentConfig,
    options: ApplyOptions,
    observer: ApplyObserver,
    sleep: Callable[[float], None],
) -> None:
    """Wait for (or end) the backend of a runner that died, then hold the work lock on `work`."""
    if server_major(work) >= 14:
        work.execute(f"SET client_connection_check_interval = '{CLIENT_CHECK_INTERVAL}'")
    # the orphan's statement runs under this environment's statement_timeout: it ends by then
    max_wait_s = env.statement_timeout / 1000 + 60

    def on_orphan(holder: LockHolder, terminating: bool) -> None:
        observer.waiting_for_orphan(holder, terminating)

    try:
        take_work_lock(
            control, work, table, terminate=options.terminate_orphans, max_wait_s=max_wait_s,
            on_orphan=on_orphan, sleep=sleep,
        )
    except OrphanStillRunning as exc:
        raise OrphanedBackend(
            f"{env.label}: a runner that died left its backend running, {exc.holder.describe_work()}, and it "
            f"is still there after {exc.waited_s:.0f}s. End it with --terminate-orphans (or "
            f"pg_terminate_backend({exc.holder.pid})), then apply again"
        ) from None


def _executor(
    env: EnvironmentConfig,
    table: HistoryTable,
    control: Conn,
    work: Conn,
    watch: StatementWatch,
    migration_set: MigrationSet,
    options: ApplyOptions,
    observer: ApplyObserver,
    sleep: Callable[[float], None],
) -> MigrationExecutor:
    attempt = audit.Attempt(
        environment=env.name,
        history_table=str(table),
        actor=options.actor,
        pull_request=options.pull_request,
        commit_sha=options.commit_sha,
        decision=_decision_text(options.approvals),
        folder_head=migration_set.migrations[-1].tag if migration_set.migrations else None,
        folder_size=len(migration_set.migrations),
    )
    return MigrationExecutor(env, table, control, work, watch, attempt, observer, server_major(work), sleep)


def _run(
    env: EnvironmentConfig,
    table: HistoryTable,
    control: Conn,
    work: Conn,
    executor: MigrationExecutor,
    migration_set: MigrationSet,
    options: ApplyOptions,
    observer: ApplyObserver,
) -> ApplyResult:
    audit.ensure_audit_tables(control)
    audit.use_audit_connection(control)
    audit.mark_interrupted(control, str(table))
    plan = current_plan(control, table, migration_set, options)
    runnable = plan.runnable_items
    if runnable:
        _check_history_columns(env, control, table, migration_set.layout)
        with work.transaction():
            ensure_history_table(work, table, migration_set.layout)
    elif plan.accepted_problems:
        _record_decisions(control, executor.attempt, plan, migration_set)
    outcomes: list[MigrationOutcome] = []
    for position, item in enumerate(runnable):
        observer.migration_started(item.migration, position, len(runnable))
        outcome = executor.apply(item)
        outcomes.append(outcome)
        observer.migration_finished(outcome)
        if outcome.status != "applied":
            break
    return ApplyResult(env.name, plan, tuple(outcomes), dry_run=False)


def _record_decisions(control: Conn, attempt: audit.Attempt, plan: Plan, migration_set: MigrationSet) -> None:
    """With nothing to apply, a decision taken (say, --accept-tampered) is still recorded, once per problem."""
    with audit.durably(control):
        for problem in plan.accepted_problems:
            migration = migration_set.by_tag(problem.tag) if problem.tag else None
            audit.record_decision(
                control, attempt, problem.tag or "", migration.hash if migration else "", problem.message
            )


def _check_history_columns(env: EnvironmentConfig, control: Conn, table: HistoryTable, layout: Layout) -> None:
    """A drizzle 1.x folder needs the 1.x history table, which drizzle upgrades itself."""
    if layout is not Layout.DRIZZLE_1:
        return
    columns = history_columns(control, table)
    if columns and "name" not in columns:
        raise SchemawardenError(
            f"{env.label}: {table} is a drizzle 0.x history table but the migrations "
            "folder is in the drizzle 1.x layout. Run drizzle-orm 1.x's migrator once (it upgrades "
            "the table), then apply with schemawarden"
        )


def _decision_text(approvals: Approvals) -> str | None:
    parts: list[str] = []
    if approvals.approved_by:
        parts.append(f"approved by {approvals.approved_by}: {approvals.approval_reason or 'no reason given'}")
    if approvals.accept_tampered_reason:
        parts.append(f"accepted tampered history: {approvals.accept_tampered_reason}")
    if approvals.allow_out_of_order:
        parts.append("allowed out of order: " + ", ".join(sorted(approvals.allow_out_of_order)))
    if approvals.allow_unknown:
        parts.append("allowed unknown history rows")
    if approvals.resume_partial:
        parts.append("resumed partly applied: " + ", ".join(sorted(approvals.resume_partial)))
    if approvals.restart_partial:
        parts.append("restarted partly applied: " + ", ".join(sorted(approvals.restart_partial)))
    return "; ".join(parts) or None
