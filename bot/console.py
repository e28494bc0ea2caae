"""Terminal and JSON output of the reconciler commands (plan, apply, status).

Human output is plain text, coloured and with a progress bar only when it goes to a terminal
(kept free of rendering libraries: `apply` runs in deploy pipelines, where start-up time counts);
`--format json` prints one JSON document with no secrets in it (environments are named, never
their URLs).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from policies.statements import Statement
from reconciler.apply import ApplyResult, MigrationOutcome, SilentObserver
from reconciler.environments import EnvironmentConfig
from reconciler.locking import LockHolder
from reconciler.migrations import Migration, MigrationSet
from reconciler.plan import Plan

_COLOURS = {"bold": "1", "red": "31", "green": "32", "yellow": "33"}


def _paint(text: str, style: str, stream: TextIO | None = None) -> str:
    """ANSI colour for a terminal, the bare text anywhere else."""
    stream = stream or sys.stdout
    return f"\033[{_COLOURS[style]}m{text}\033[0m" if stream.isatty() else text


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _say(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _columns(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()
) -> None:
    """Rows as aligned plain columns (the last column is not padded)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells[:-1], widths[:-1], strict=True))
        ]
        return "  " + "  ".join([*padded, cells[-1]])

    sys.stdout.write("\n".join([line(header), *(line(r) for r in rows)]) + "\n")


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
    _say(_paint(f"Plan for {where}", "bold"))
    _say(
        f"  migrations: {migration_set.source} ({migration_set.layout.value}, "
        f"{len(migration_set.migrations)} migrations)"
    )
    _say(f"  recorded version: {last.tag if last else 'none (empty history)'}")
    if plan.pending:
        _print_pending(plan)
    else:
        _say("  nothing pending: the environment is up to date")
    _print_problems(plan)
    _print_warnings(migration_set)


def _print_pending(plan: Plan) -> None:
    rows = [
        (
            str(number),
            item.migration.tag,
            str(len(item.migration.statements)),
            "ready" if item.runnable else "blocked: " + "; ".join(item.blocked_by),
        )
        for number, item in enumerate(plan.pending, 1)
    ]
    _columns(("#", "pending migration", "statements", "status"), rows, right=frozenset({0, 2}))


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
        _say(_paint("Dry run", "bold") + ": nothing was changed.")
        return
    applied = [o for o in result.outcomes if o.status == "applied"]
    failed = [o for o in result.outcomes if o.status != "applied"]
    for outcome in applied:
        _say(
            f"  {_paint('applied', 'green')} {outcome.tag} ({_count(outcome.statements_run, 'statement')}, "
            f"{outcome.duration_ms:.0f} ms"
            + (f", {outcome.attempts} attempts" if outcome.attempts > 1 else "")
            + ")"
        )
    for outcome in failed:
        _say(f"  {_paint('failed', 'red')}  {outcome.tag}: {outcome.error}")
    if not result.outcomes and not result.plan.runnable:
        _say("  nothing applied")
    _print_problems(result.plan)
    verdict = _paint("ok", "green") if result.ok else _paint("not ok", "red")
    _say(f"Result for {where}: {verdict}, {len(applied)} applied, {len(failed)} failed")


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
    table: list[tuple[str, str, str, str, str]] = []
    for row in rows:
        if row.plan is None:
            table.append((row.env.name, row.env.gate, "unreachable", "-", row.error or ""))
            continue
        last = row.plan.last_applied
        problems = ", ".join(sorted({p.kind.value for p in row.plan.open_problems})) or "none"
        table.append(
            (row.env.name, row.env.gate, last.tag if last else "none", str(len(row.plan.pending)), problems)
        )
    _columns(("environment", "gate", "recorded version", "pending", "problems"), table)
    _print_warnings(migration_set)


def _print_warnings(migration_set: MigrationSet) -> None:
    for warning in migration_set.warnings:
        _say(f"  {_paint('warning', 'yellow')}: {warning}")


def _print_problems(plan: Plan) -> None:
    for problem in plan.problems:
        note = " (accepted by an explicit decision)" if problem.accepted else ""
        _say(f"  {_paint(problem.kind.value, 'yellow')}{note}: {problem.message}")


def _print_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


class _ProgressObserver(SilentObserver):
    """A one-line progress bar on the terminal, redrawn in place; retries and waits on their own lines."""

    WIDTH = 30

    def __init__(self) -> None:
        self.drawn = False

    def migration_started(self, migration: Migration, position: int, total: int) -> None:
        filled = self.WIDTH * position // max(total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stdout.write(f"\r\033[K[{bar}] {position}/{total} {migration.tag}")
        sys.stdout.flush()
        self.drawn = True

    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None:
        self._line(f"lock timeout at {migration.tag} line {statement.line}; retry {attempt} in {wait_s:.1f}s")

    def waiting_for_runner(self, holder: LockHolder | None) -> None:
        self._line(f"waiting for {holder.describe() if holder else 'another runner'} to finish")

    def clear(self) -> None:
        if self.drawn:
            sys.stdout.write("\r\033[K")
            sys.stdout.flush()

    def _line(self, text: str) -> None:
        self.clear()
        sys.stdout.write(f"  {text}\n")


class _LineObserver(SilentObserver):
    """Plain lines on stderr when there is no terminal (CI logs)."""

    def migration_started(self, migration: Migration, position: int, total: int) -> None:
        sys.stderr.write(f"[{position + 1}/{total}] {migration.tag}\n")

    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None:
        sys.stderr.write(
            f"  lock timeout at {migration.tag} line {statement.line}; retry {attempt} in {wait_s:.1f}s\n"
        )

    def waiting_for_runner(self, holder: LockHolder | None) -> None:
        sys.stderr.write(f"  waiting for {holder.describe() if holder else 'another runner'} to finish\n")


@contextmanager
def progress(fmt: str) -> Iterator[SilentObserver]:
    """The observer that suits where output goes: a bar on a terminal, lines otherwise."""
    if fmt == "text" and sys.stdout.isatty():
        bar = _ProgressObserver()
        try:
            yield bar
        finally:
            bar.clear()
    elif fmt == "text":
        yield _LineObserver()
    else:
        yield SilentObserver()
