"""Terminal and JSON output of the reconciler commands (plan, apply, status).

Human output goes through rich (a progress bar only when stdout is a terminal); `--format json`
prints one JSON document with no secrets in it (environments are named, never their URLs).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from policies.statements import Statement
from reconciler.apply import ApplyResult, MigrationOutcome, SilentObserver
from reconciler.environments import EnvironmentConfig
from reconciler.locking import LockHolder
from reconciler.migrations import Migration, MigrationSet
from reconciler.plan import Plan

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass(frozen=True)
class StatusRow:
    """One environment in `status`: its plan, or why it could not be read."""

    env: EnvironmentConfig
    where: str
    plan: Plan | None
    error: str | None


def plan_json(plan: Plan) -> dict[str, Any]:
    last = plan.last_applied
    return {
        "applied": [m.tag for m in plan.applied],
        "recorded_version": last.tag if last else None,
        "pending": [
            {
                "tag": p.migration.tag,
                "when": p.migration.when,
                "hash": p.migration.hash,
                "runnable": p.runnable,
                "blocked_by": list(p.blocked_by),
            }
            for p in plan.pending
        ],
        "problems": [
            {"kind": p.kind.value, "tag": p.tag, "message": p.message, "accepted": p.accepted}
            for p in plan.problems
        ],
    }


def outcome_json(outcome: MigrationOutcome) -> dict[str, Any]:
    return {
        "tag": outcome.tag,
        "status": outcome.status,
        "duration_ms": round(outcome.duration_ms, 1),
        "statements_run": outcome.statements_run,
        "attempts": outcome.attempts,
        "error": outcome.error,
        "error_line": outcome.error_line,
        "partial": outcome.partial,
    }


def print_plan(env: EnvironmentConfig, where: str, migration_set: MigrationSet, plan: Plan, fmt: str) -> None:
    if fmt == "json":
        _print_json(
            {
                "environment": env.name,
                "migrations": migration_set.source,
                "warnings": list(migration_set.warnings),
                **plan_json(plan),
            }
        )
        return
    last = plan.last_applied
    _out.print(f"[bold]Plan for {where}[/bold]")
    _out.print(
        f"  migrations: {migration_set.source} ({migration_set.layout.value}, "
        f"{len(migration_set.migrations)} migrations)"
    )
    _out.print(f"  recorded version: {last.tag if last else 'none (empty history)'}")
    if plan.pending:
        _print_pending(plan)
    else:
        _out.print("  nothing pending: the environment is up to date")
    _print_problems(plan)
    _print_warnings(migration_set)


def _print_pending(plan: Plan) -> None:
    """The pending list as plain aligned lines: rich tables cost ~1 ms a row on long histories."""
    width = max(len(p.migration.tag) for p in plan.pending)
    lines = [f"  {'#':>3}  {'pending migration':<{width}}  statements  status"]
    for number, item in enumerate(plan.pending, 1):
        state = "ready" if item.runnable else "blocked: " + "; ".join(item.blocked_by)
        lines.append(
            f"  {number:>3}  {item.migration.tag:<{width}}  {len(item.migration.statements):>10}  {state}"
        )
    _out.file.write("\n".join(lines) + "\n")


def print_apply(result: ApplyResult, where: str, migration_set: MigrationSet, fmt: str) -> None:
    if fmt == "json":
        _print_json(
            {
                "environment": result.environment,
                "warnings": list(migration_set.warnings),
                "dry_run": result.dry_run,
                "ok": result.ok,
                "plan": plan_json(result.plan),
                "outcomes": [outcome_json(o) for o in result.outcomes],
            }
        )
        return
    if result.dry_run:
        _out.print("[bold]Dry run[/bold]: nothing was changed.")
        return
    applied = [o for o in result.outcomes if o.status == "applied"]
    failed = [o for o in result.outcomes if o.status != "applied"]
    for outcome in applied:
        _out.print(
            f"  [green]applied[/green] {outcome.tag} ({outcome.statements_run} statements, "
            f"{outcome.duration_ms:.0f} ms"
            + (f", {outcome.attempts} attempts" if outcome.attempts > 1 else "")
            + ")"
        )
    for outcome in failed:
        _out.print(f"  [red]failed[/red]  {outcome.tag}: {outcome.error}")
    if not result.outcomes and not result.plan.runnable:
        _out.print("  nothing applied")
    _print_problems(result.plan)
    verdict = "[green]ok[/green]" if result.ok else "[red]not ok[/red]"
    _out.print(f"Result for {where}: {verdict}, {len(applied)} applied, {len(failed)} failed")


def print_status(rows: list[StatusRow], migration_set: MigrationSet, fmt: str) -> None:
    if fmt == "json":
        _print_json(
            {
                "migrations": migration_set.source,
                "warnings": list(migration_set.warnings),
                "environments": [
                    {
                        "name": r.env.name,
                        "gate": r.env.gate,
                        "error": r.error,
                        **(plan_json(r.plan) if r.plan else {}),
                    }
                    for r in rows
                ],
            }
        )
        return
    table = Table("environment", "gate", "recorded version", "pending", "problems", box=None, pad_edge=False)
    for row in rows:
        if row.plan is None:
            table.add_row(row.env.name, row.env.gate, "[red]unreachable[/red]", "-", row.error or "")
            continue
        last = row.plan.last_applied
        problems = ", ".join(sorted({p.kind.value for p in row.plan.open_problems})) or "none"
        table.add_row(
            row.env.name, row.env.gate, last.tag if last else "none", str(len(row.plan.pending)), problems
        )
    _out.print(table)
    _print_warnings(migration_set)


def _print_warnings(migration_set: MigrationSet) -> None:
    for warning in migration_set.warnings:
        _out.print(f"  [yellow]warning[/yellow]: {warning}")


def _print_problems(plan: Plan) -> None:
    for problem in plan.problems:
        note = " (accepted by an explicit decision)" if problem.accepted else ""
        _out.print(f"  [yellow]{problem.kind.value}[/yellow]{note}: {problem.message}")


def _print_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


class _ProgressObserver(SilentObserver):
    """A progress bar over migrations, with retries and waits said on stderr."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("applying", total=None)

    def migration_started(self, migration: Migration, position: int, total: int) -> None:
        self.progress.update(self.task, total=total, completed=position, description=migration.tag)

    def migration_finished(self, outcome: MigrationOutcome) -> None:
        self.progress.advance(self.task)

    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None:
        self.progress.console.print(
            f"  lock timeout at {migration.tag} line {statement.line}; retry {attempt} in {wait_s:.1f}s"
        )

    def waiting_for_runner(self, holder: LockHolder | None) -> None:
        who = holder.describe() if holder else "another runner"
        self.progress.console.print(f"  waiting for {who} to finish")


class _LineObserver(SilentObserver):
    """Plain lines on stderr when there is no terminal (CI logs)."""

    def migration_started(self, migration: Migration, position: int, total: int) -> None:
        sys.stderr.write(f"[{position + 1}/{total}] {migration.tag}\n")  # plain: rich is slow per line

    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None:
        _err.print(
            f"  lock timeout at {migration.tag} line {statement.line}; retry {attempt} in {wait_s:.1f}s"
        )

    def waiting_for_runner(self, holder: LockHolder | None) -> None:
        _err.print(f"  waiting for {holder.describe() if holder else 'another runner'} to finish")


@contextmanager
def progress(fmt: str) -> Iterator[SilentObserver]:
    """The observer that suits where output goes: a bar on a terminal, lines otherwise."""
    if fmt == "text" and _out.is_terminal:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=_out, transient=True) as bar:
            yield _ProgressObserver(bar)
    elif fmt == "text":
        yield _LineObserver()
    else:
        yield SilentObserver()
