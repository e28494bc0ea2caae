"""Terminal output: one line per finding, compiler-style (`path:line`), so editors can jump to it.

Colour only when asked (the caller passes `color=True` when stdout is a TTY): escape codes in
a CI log or a file are noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.render.summary import ordered_findings, summarize
from policies.report import FileReport, Rollback, RollbackStatus, SaferKind, Severity

_RESET = "\033[0m"
_BOLD = "\033[1m"
_DIM = "\033[2m"
# What a finding's `safer` text is, said before it: a recipe for this statement, or the rule's
# example on made-up tables, or why no safe recipe fits.
_SAFER_LABEL = {SaferKind.RECIPE: "safer", SaferKind.EXAMPLE: "example", SaferKind.NONE: "no safe recipe"}
_COLOUR = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_ROLLBACK_COLOUR = {
    RollbackStatus.VERIFIED: "\033[32m", RollbackStatus.IRREVERSIBLE: "\033[33m", RollbackStatus.FAILED: "\033[31m",
}


def render(reports: Sequence[FileReport], fail_on: Severity = Severity.ERROR, color: bool = False) -> str:
    def paint(text: str, *codes: str) -> str:
        return "".join(codes) + text + _RESET if color else text

    lines: list[str] = []
    for report in reports:
        findings = ordered_findings(report)
        for statement in report.statements:
            for contradiction in statement.trace_contradictions or ():
                where = paint(f"{report.path}:{statement.line}", _BOLD)
                lines.append(f"{where}: lock model contradicted by the trace: {contradiction}")
        for finding in findings:
            where = f"{report.path}:{finding.line}" if finding.line is not None else report.path
            severity = paint(f"{finding.severity.value:<7}", _BOLD, _COLOUR[finding.severity])
            rule = f"{finding.code} {finding.name}"
            message = finding.message.replace("\n", "\n    ")
            lines.append(f"{paint(where, _BOLD)}: {severity} {rule}: {message}")
            label = _SAFER_LABEL[finding.safer_kind]
            for i, safer_line in enumerate(finding.safer.splitlines()):
                lead = f"    {label}: " if i == 0 else " " * (len(label) + 6)
                lines.append(paint(lead + safer_line, _DIM))
        if report.rollback is not None:
            lines.extend(_rollback_lines(report.path, report.rollback, paint))
    summary = summarize(reports, fail_on)
    verdict = (
        paint(f"failed (findings at or above {fail_on.value})", _BOLD, _COLOUR[Severity.ERROR])
        if summary.failed
        else paint("passed", _BOLD)
    )
    if lines:
        lines.append("")
    lines.append(f"schemawarden: {summary.headline()}; {verdict}")
    return "\n".join(lines) + "\n"


def _rollback_lines(path: str, rollback: Rollback, paint: Callable[..., str]) -> list[str]:
    """`path: rollback verified` (or irreversible/failed with the reason), notes, then the SQL."""
    status = paint(rollback.status.value, _BOLD, _ROLLBACK_COLOUR[rollback.status])
    head = f"{paint(path, _BOLD)}: rollback {status}"
    if rollback.reason:
        head += f": {rollback.reason}"
    lines = [head]
    lines += [f"    note: {note}" for note in rollback.notes]
    if rollback.sql.strip():
        lines += [paint("    " + line, _DIM) for line in rollback.shown_sql().splitlines()]
    return lines
