"""The PR comment body: per file, what each statement locks and rewrites, then the findings.

Reviewers read the table to see the blast radius of each statement at a glance, and open a
finding's details for the why and the safer way; the details are collapsed so a long migration does not
bury the verdict. Text from SQL is HTML-escaped: a statement must never break the table or
inject markup into the comment.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from bot.render.links import rule_url
from bot.render.summary import ordered_findings, summarize
from policies.report import FileReport, Finding, SaferKind, Severity, StatementReport
from policies.rules import rule_by_code

SQL_PREVIEW = 90
_ICON = {Severity.ERROR: "🛑", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}  # noqa: RUF001


def render(
    reports: Sequence[FileReport], fail_on: Severity = Severity.ERROR, docs_url: str | None = None
) -> str:
    summary = summarize(reports, fail_on)
    verdict = (
        f"**Fails**: findings at or above `{fail_on.value}`"
        if summary.failed
        else f"**Passes** (failing severity: `{fail_on.value}`)"
    )
    out = ["## schemawarden", "", f"{summary.headline()}. {verdict}.", ""]
    if not reports:
        out.append("No migration files to judge.")
    for report in reports:
        out.extend(_file_section(report, docs_url))
    return "\n".join(out).rstrip() + "\n"


def _file_section(report: FileReport, docs_url: str | None) -> list[str]:
    title = f"### `{_code_text(report.path)}`"
    if report.migration:
        title += f" (migration `{_code_text(report.migration)}`)"
    out = [title, ""]
    if report.statements:
        out += ["| line | statement | locks | rewrites / scans |", "|---:|---|---|---|"]
        out += [_statement_row(statement) for statement in report.statements]
        out.append("")
    findings = ordered_findings(report)
    if not findings:
        out += ["No findings.", ""]
    for finding in findings:
        out += _finding(finding, docs_url)
    return out


def _statement_row(statement: StatementReport) -> str:
    sql = " ".join(statement.sql.split())
    if len(sql) > SQL_PREVIEW:
        sql = sql[: SQL_PREVIEW - 1] + "…"
    locks = "<br>".join(f"{_cell(lock.mode)} on {_code(lock.relation)}" for lock in statement.locks)
    effects = [f"rewrites {_code(rel)}" for rel in statement.rewrites]
    effects += [f"scans {_code(rel)}" for rel in statement.scans]
    return f"| {statement.line} | {_code(sql)} | {locks or '—'} | {'<br>'.join(effects) or '—'} |"


def _finding(finding: Finding, docs_url: str | None) -> list[str]:
    where = f"line {finding.line}" if finding.line is not None else "file"
    rule = f"{finding.code} {_cell(finding.name)}"
    url = rule_url(finding.code, finding.name, docs_url)
    if url is not None:
        rule = f"[{rule}]({url})"
    out = [
        f"- {_ICON[finding.severity]} **{finding.severity.value}** {rule} "
        f"({finding.category.value}, {where}): {_cell(finding.message)}"
    ]
    if finding.safer_kind is SaferKind.NONE and finding.safer.strip():
        out.append(f"  No safe recipe: {_cell(finding.safer.strip())}")
    # Without a reference to link to, the comment says why the rule objects itself.
    known = rule_by_code(finding.code) if docs_url is None else None
    if known is not None and known.rationale.strip():
        out += _details("Why", html.escape(known.rationale.strip(), quote=False))
    if finding.safer and finding.safer_kind is not SaferKind.NONE:
        label = (
            "Example (not written for this statement)"
            if finding.safer_kind is SaferKind.EXAMPLE
            else "Safer way"
        )
        out += _details(label, _fence(finding.safer))
    return [*out, ""]


def _details(summary: str, body: str) -> list[str]:
    return [
        f"  <details><summary>{summary}</summary>",
        "",
        *(f"  {line}" for line in body.splitlines()),
        "",
        "  </details>",
    ]


def _fence(sql: str) -> str:
    """A fenced block longer than any run of backticks inside, so the SQL cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", sql)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}sql\n{sql}\n{ticks}"


def _code(text: str) -> str:
    return f"<code>{_cell(text)}</code>"


def _code_text(text: str) -> str:
    return text.replace("`", "'")


def _cell(text: str) -> str:
    """Escape for a table cell or an inline run: HTML, pipes and newlines."""
    return html.escape(text, quote=False).replace("|", "&#124;").replace("\n", " ")
