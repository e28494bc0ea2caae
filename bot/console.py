"""Terminal and JSON output of the reconciler commands (plan, apply, status).

Human output is plain text, coloured and with a progress bar only when it goes to a terminal
(kept free of rendering libraries: `apply` runs in deploy pipelines, where start-up time counts);
`--format json` prints one JSON document with no secrets in it (environments are named, and their
target is `{host, port, database}`, never the URL, user or password). Output to a pipe whose reader
has gone (`| head`) is dropped quietly (`bot.commands.write`); `-v` logs each step through the
`bot.console` logger.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from bot.commands import silence, write
from policies.statements import Statement
from reconciler.apply import ApplyResult, MigrationOutcome, SilentObserver
from reconciler.apply.watch import Running
from reconciler.database.connect import Target
from reconciler.environments import EnvironmentConfig
from reconciler.locking import LockHolder
from reconciler.migrations import Migration, MigrationSet
from reconciler.plan import Plan

log = logging.getLogger(__name__)

_COLOURS = {"bold": "1", "red": "31", "green": "32", "yellow": "33"}


def _paint(text: str, style: str, stream: TextIO | None = None) -> str:
    """ANSI colour for a terminal, the bare text anywhere else."""
    stream = stream or sys.stdout
    return f"\033[{_COLOURS[style]}m{text}\033[0m" if stream.isatty() else text


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _say(line: str = "") -> None:
    write(sys.stdout, line + "\n")


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

    write(sys.stdout, "\n".join([line(header), *(line(r) for r in rows)]) + "\n")


@dataclass(frozen=True)
class Gate:
    """An environment's gate as the output shows it: its kind, and whether this run satisfies it.

    `approved_by` and `reason` are the recorded approval (`--approved-by`, `--reason`), if any.
    """

    kind: str
    satisfied: bool
    approved_by: str | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        """`gate` (its kind, as `status` gives it), `gate_satisfied`, `approval` ({by, reason} or null)."""
        approval = {"by": self.approved_by, "reason": self.reason} if self.approved_by else None
        return {"gate": self.kind, "gate_satisfied": self.satisfied, "approval": approval}


GATE_HOW_TO = "give --approved-by NAME --reason TEXT (both recorded in schemawarden.apply_log)"


@dataclass(frozen=True)
class StatusRow:
    """One environment in `status`: its target and plan, or why it could not be read.

    `error_kind` is `configuration` (no usable URL) or `unreachable` or `error` when `error` is set;
    `target` is None when the environment has no URL.
    """

    env: EnvironmentConfig
    target: Target | None
    plan: Plan | None
    error: str | None = None
    error_kind: str | None = None


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


def print_plan(
    env: EnvironmentConfig,
    target: Target,
    where: str,
    gate: Gate,
    migration_set: MigrationSet,
    plan: Plan,
    fmt: str,
) -> None:
    """The plan of one environment: `where` names it and its target in text, `target` in JSON."""
    log.info(
        "plan for %s: %d applied, %d pending (%d runnable), %d open problems",
        where,
        len(plan.applied),
        len(plan.pending),
        len(plan.runnable),
        len(plan.open_problems),
    )
    if fmt == "json":
        _print_json(
            {
                "environment": env.name,
                "target": target.as_json(),
                **gate.as_json(),
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
    _print_gate(env, gate)
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


def _print_gate(env: EnvironmentConfig, gate: Gate) -> None:
    if gate.kind == "auto" and not gate.approved_by:
        return
    if gate.satisfied:
        _say(f"  gate: {gate.kind}, approved by {gate.approved_by}: {gate.reason}")
    else:
        _say(f"  gate: {gate.kind}, {_paint('not satisfied', 'yellow')}: to apply, {GATE_HOW_TO}")


def print_apply(
    result: ApplyResult, target: Target, where: str, gate: Gate, migration_set: MigrationSet, fmt: str
) -> None:
    """What apply did to one environment (or, for a dry run, would do)."""
    if fmt == "json":
        _print_json(
            {
                "environment": result.environment,
                "target": target.as_json(),
                **gate.as_json(),
                "warnings": list(migration_set.warnings),
                "dry_run": result.dry_run,
                "ok": result.ok,
                "plan": plan_json(result.plan),
                "outcomes": [outcome_json(o) for o in result.outcomes],
            }
        )
        return
    if result.dry_run:
        _say(_paint("Dry run", "bold") + f" of {where}: nothing was changed.")
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
    """Every environment: target, gate, recorded version, pending count and problems (or its error)."""
    if fmt == "json":
        _print_json(
            {
                "migrations": migration_set.source,
                "warnings": list(migration_set.warnings),
                "environments": [
                    {
                        "name": r.env.name,
                        "target": r.target.as_json() if r.target else None,
                        "gate": r.env.gate,
                        "error": r.error,
                        "error_kind": r.error_kind,
                        **(plan_json(r.plan) if r.plan else {}),
                    }
                    for r in rows
                ],
            }
        )
        return
    table: list[tuple[str, str, str, str, str, str]] = []
    for row in rows:
        target = str(row.target) if row.target else "-"
        if row.plan is None:
            state = {"configuration": "not configured"}.get(row.error_kind or "", row.error_kind or "error")
            table.append((row.env.name, row.env.gate, target, state, "-", row.error or ""))
            continue
        last = row.plan.last_applied
        problems = ", ".join(sorted({p.kind.value for p in row.plan.open_problems})) or "none"
        table.append(
            (
                row.env.name,
                row.env.gate,
                target,
                last.tag if last else "none",
                str(len(row.plan.pending)),
                problems,
            )
        )
    _columns(("environment", "gate", "target", "recorded version", "pending", "problems"), table)
    _print_warnings(migration_set)


def _print_warnings(migration_set: MigrationSet) -> None:
    for warning in migration_set.warnings:
        _say(f"  {_paint('warning', 'yellow')}: {warning}")


def _print_problems(plan: Plan) -> None:
    for problem in plan.problems:
        note = " (accepted by an explicit decision)" if problem.accepted else ""
        _say(f"  {_paint(problem.kind.value, 'yellow')}{note}: {problem.message}")


def _print_json(document: dict[str, Any]) -> None:
    write(sys.stdout, json.dumps(document, indent=2) + "\n")


class _LoggingObserver(SilentObserver):
    """Logs each step at INFO (shown with `-v`); the base of the terminal and CI observers."""

    def migration_started(self, migration: Migration, position: int, total: int) -> None:
        log.info(
            "migration %d/%d: %s (%d statements)",
            position + 1,
            total,
            migration.tag,
            len(migration.statements),
        )

    def statement_finished(self, migration: Migration, statement: Statement) -> None:
        log.info("%s line %d done: %s", migration.tag, statement.line, _excerpt(statement.sql))

    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None:
        log.info(
            "%s line %d: lock timeout, retry %d in %.1fs", migration.tag, statement.line, attempt, wait_s
        )

    def waiting_for_runner(self, holder: LockHolder | None) -> None:
        log.info("waiting for %s to finish", holder.describe() if holder else "another runner")

    def migration_finished(self, outcome: MigrationOutcome) -> None:
        log.info(
            "%s %s in %.0f ms (%d statements, %d attempts)%s",
            outcome.tag,
            outcome.status,
            outcome.duration_ms,
            outcome.statements_run,
            outcome.attempts,
            f": {outcome.error}" if outcome.error else "",
        )


def _excerpt(sql: str, limit: int = 100) -> str:
    """A statement on one line, cut at `limit` characters."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def running_text(statement: Statement, running: Running) -> str:
    """A long statement as progress shows it: line, elapsed time, the SQL, what it waits on."""
    sql_text = " ".join(statement.sql.split())
    sql_text = sql_text if len(sql_text) <= 60 else sql_text[:57] + "..."
    text = f"line {statement.line} running {running.elapsed_s:.0f}s: {sql_text}"
    if running.blockers:
        text += "; waiting for " + "; ".join(b.describe() for b in running.blockers)
    elif running.wait_event:
        text += f" ({running.wait_event})"
    return text


def orphan_text(holder: LockHolder, terminating: bool) -> str:
    what = "ending" if terminating else "waiting for"
    return f"{what} the backend of a runner that died: {holder.describe_work()}"


# elapsed seconds at which a long statement is reported again on a log (not a terminal)
_REPORT_AT_S = (2, 5, 10, 20, 30, 60)


class _ProgressObserver(_LoggingObserver):
    """A one-line progress bar on the terminal, redrawn in place; retries and waits on their own lines."""

    WIDTH = 30

    def __init__(self) -> None:
        self.drawn = False

    def migration_started(self, migration: Migration, position: int, total: int) -> None:
        super().migration_started(migration, position, total)
        filled = self.WIDTH * position // max(total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        write(sys.stdout, f"\r\033[K[{bar}] {position}/{total} {migration.tag}")
        self._flush()
        self.drawn = True

    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None:
        super().retrying(migration, statement, attempt, wait_s)
        self._line(f"lock timeout at {migration.tag} line {statement.line}; retry {attempt} in {wait_s:.1f}s")

    def waiting_for_runner(self, holder: LockHolder | None) -> None:
        super().waiting_for_runner(holder)
        self._line(f"waiting for {holder.describe() if holder else 'another runner'} to finish")

    def waiting_for_orphan(self, holder: LockHolder, terminating: bool) -> None:
        super().waiting_for_orphan(holder, terminating)
        self._line(orphan_text(holder, terminating))

    def recovering(self, migration: Migration, statement: Statement, says: str) -> None:
        super().recovering(migration, statement, says)
        self._line(f"{migration.tag} line {statement.line}: {says}")

    def statement_running(self, migration: Migration, statement: Statement, running: Running) -> None:
        write(sys.stdout, f"\r\033[K  {migration.tag} {running_text(statement, running)}"[:200])
        self._flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            write(sys.stdout, "\r\033[K")
            self._flush()

    def _line(self, text: str) -> None:
        self.clear()
        write(sys.stdout, f"  {text}\n")

    @staticmethod
    def _flush() -> None:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            silence(sys.stdout)  # the terminal is gone; the apply goes on


class _LineObserver(_LoggingObserver):
    """Plain lines on stderr when there is no terminal (CI logs)."""

    def __init__(self) -> None:
        self._reported_s = 0.0

    def migration_started(self, migration: Migration, position: int, total: int) -> None:
        super().migration_started(migration, position, total)
        write(sys.stderr, f"[{position + 1}/{total}] {migration.tag}\n")

    def retrying(self, migration: Migration, statement: Statement, attempt: int, wait_s: float) -> None:
        super().retrying(migration, statement, attempt, wait_s)
        write(
            sys.stderr,
            f"  lock timeout at {migration.tag} line {statement.line}; retry {attempt} in {wait_s:.1f}s\n",
        )

    def waiting_for_runner(self, holder: LockHolder | None) -> None:
        super().waiting_for_runner(holder)
        write(sys.stderr, f"  waiting for {holder.describe() if holder else 'another runner'} to finish\n")

    def waiting_for_orphan(self, holder: LockHolder, terminating: bool) -> None:
        super().waiting_for_orphan(holder, terminating)
        write(sys.stderr, f"  {orphan_text(holder, terminating)}\n")

    def recovering(self, migration: Migration, statement: Statement, says: str) -> None:
        super().recovering(migration, statement, says)
        write(sys.stderr, f"  {migration.tag} line {statement.line}: {says}\n")

    def statement_running(self, migration: Migration, statement: Statement, running: Running) -> None:
        due: float = next((at for at in _REPORT_AT_S if at > self._reported_s), self._reported_s + 60)
        if running.elapsed_s < due:
            return
        self._reported_s = due
        write(sys.stderr, f"  {running_text(statement, running)}\n")

    def statement_finished(self, migration: Migration, statement: Statement) -> None:
        super().statement_finished(migration, statement)
        self._reported_s = 0.0


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
        yield _LoggingObserver()
