"""The PR comment body: per file, what each statement locks and rewrites, then the findings.

Reviewers read the table to see the blast radius of each statement at a glance, and open a
finding's details for the why and the safer way; the details are collapsed so a long migration
does not bury the verdict. A file of more than `COLLAPSE_OVER` statements shows in the open only
the statements that lock beyond ACCESS SHARE, rewrite, scan or have a finding; its whole table is
collapsed under a one-line count. Text from SQL is HTML-escaped: a statement must never break the
table or inject markup into the comment.

GitHub refuses a comment body over `GITHUB_COMMENT_LIMIT` characters, and a repository's whole
history renders to far more. `render` therefore always returns a body that fits (less room for
the bot's sticky marker), folding detail by whole sections, never cutting a tag, a fence or an
entity. The summary, the verdict and every error and warning finding come first; what goes, in
order, each step file by file from the last file back until the body fits:

1. statement tables;
2. info findings (each file says how many it hides);
3. the collapsed details of the remaining findings (why, safer way, example);
4. files with nothing at warning or above;
5. the messages of error and warning findings: a file becomes one line under "Files in short
   form", its findings by rule, with their lines;
6. the remaining files, counted at the end ("N more files with M findings").

A note under the verdict says what was folded, with counts. The output is deterministic.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from bot.render.links import rule_url
from bot.render.sticky import STICKY_MARKER
from bot.render.summary import ordered_findings, summarize
from policies.report import (
    FileReport,
    Finding,
    Rollback,
    RollbackStatus,
    SaferKind,
    Severity,
    StatementReport,
)
from policies.rules import rule_by_code

GITHUB_COMMENT_LIMIT = 65536
"""GitHub's maximum issue/PR comment body, in characters."""
MARKER_MARGIN = 2 * len(STICKY_MARKER) + 16
"""Kept free under the limit: the marker and the newlines around it, twice over."""
SHORT_FORM_HEADING = "### Files in short form (errors and warnings: rule and lines)\n\n"
COLLAPSE_OVER = 10
"""A file with more statements than this gets its statement table collapsed."""
SQL_PREVIEW = 90
_ICON = {Severity.ERROR: "🛑", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}  # noqa: RUF001
_ROLLBACK_ICON = {RollbackStatus.VERIFIED: "✅", RollbackStatus.IRREVERSIBLE: "⚠️", RollbackStatus.FAILED: "🛑"}


def comment_length(text: str) -> int:
    """The length GitHub's limit counts, conservatively: UTF-16 code units, which are at least the
    number of characters (an emoji outside the BMP is one character but two units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def render(
    reports: Sequence[FileReport],
    fail_on: Severity = Severity.ERROR,
    docs_url: str | None = None,
    limit: int = GITHUB_COMMENT_LIMIT,
    after_verdict: str = "",
) -> str:
    """The comment body, folded to fit `limit` characters with the sticky marker added (a limit
    too small for even the summary and the counts gives that much, over the limit).

    `after_verdict` is markdown placed under the verdict, never folded (the PR bot's notes and
    environment matrix: `bot.comment`); it counts against the limit."""
    summary = summarize(reports, fail_on)
    verdict = (
        f"**Fails**: findings at or above `{fail_on.value}`"
        if summary.failed
        else f"**Passes** (failing severity: `{fail_on.value}`)"
    )
    head = f"## schemawarden\n\n{summary.headline()}. {verdict}.\n\n{after_verdict}"
    if not reports:
        return head + "No migration files to judge.\n"
    files = [_FileParts(report, docs_url) for report in reports]
    folds = [_Fold() for _ in files]
    budget = limit - MARKER_MARGIN

    def size() -> int:
        note, tail = _notes(files, folds)
        return (
            comment_length(head)
            + comment_length(note)
            + (comment_length(SHORT_FORM_HEADING) if any(f.terse for f in folds) else 0)
            + sum(part.size(fold) for part, fold in zip(files, folds, strict=True))
            + comment_length(tail)
        )

    steps: list[tuple[Callable[[_FileParts, _Fold], bool], Callable[[_Fold], None]]] = [
        (lambda p, f: f.table and p.has_table, _drop_table),
        (lambda p, f: f.infos and p.infos > 0, _drop_infos),
        (lambda p, f: f.details and p.has_details, _drop_details),
        (lambda p, f: f.shown and p.serious == 0, _drop_file),
        (lambda p, f: f.shown and not f.terse, _make_terse),
        (lambda p, f: f.shown, _drop_file),
    ]
    if size() > budget:
        for applies, fold in steps:
            for part, state in zip(reversed(files), reversed(folds), strict=True):
                if applies(part, state):
                    fold(state)
                    if size() <= budget:
                        break
            else:
                continue
            break
    note, tail = _notes(files, folds)
    out = [head, note]
    for part, state in zip(files, folds, strict=True):
        if state.terse and SHORT_FORM_HEADING not in out:
            out.append(SHORT_FORM_HEADING)  # the files in short form are the last ones shown
        out.append(part.text(state))
    out.append(tail)
    return "".join(out).rstrip() + "\n"


@dataclass
class _Fold:
    """What of one file is shown."""

    shown: bool = True
    table: bool = True
    infos: bool = True
    details: bool = True
    terse: bool = False


def _drop_table(fold: _Fold) -> None:
    fold.table = False


def _drop_infos(fold: _Fold) -> None:
    fold.infos = False


def _drop_details(fold: _Fold) -> None:
    fold.details = False


def _drop_file(fold: _Fold) -> None:
    fold.shown = False


def _make_terse(fold: _Fold) -> None:
    fold.terse = True
    fold.table = fold.infos = fold.details = False


@dataclass
class _FileParts:
    """One file's section, as whole pieces of markdown that folding keeps or leaves out."""

    report: FileReport
    docs_url: str | None
    findings: list[Finding] = field(init=False)
    heads: list[str] = field(init=False)
    details: list[str] = field(init=False)
    _sizes: dict[tuple[bool, bool, bool, bool, bool], int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.findings = ordered_findings(self.report)
        self.heads = [_finding_head(f, self.docs_url) for f in self.findings]
        self.details = [_finding_details(f, self.docs_url) for f in self.findings]

    @cached_property
    def heading(self) -> str:
        title = f"### `{_code_text(self.report.path)}`"
        if self.report.migration:
            title += f" (migration `{_code_text(self.report.migration)}`)"
        return title + "\n\n"

    @cached_property
    def table(self) -> str:
        return _statement_table(self.report, {f.line for f in self.findings if f.line is not None})

    @cached_property
    def contradictions(self) -> str:
        """Statements whose trace in a scratch database contradicts the lock model (never folded:
        each is a bug of the lock model that a reviewer must not trust blindly)."""
        said = [
            f"- line {s.line}: {_cell(text)}\n"
            for s in self.report.statements
            for text in s.trace_contradictions or ()
        ]
        if not said:
            return ""
        return "**The lock model's prediction differs from what PostgreSQL did** (trust the trace):\n\n" + "".join(said) + "\n"

    @property
    def has_table(self) -> bool:
        return bool(self.report.statements)

    @cached_property
    def infos(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.INFO)

    @cached_property
    def serious(self) -> int:
        return len(self.findings) - self.infos

    @cached_property
    def has_details(self) -> bool:
        rollback = self.report.rollback
        return any(self.details) or (rollback is not None and bool(rollback.sql.strip()))

    def hidden_details(self, fold: _Fold) -> int:
        """Findings in the open whose details are folded away."""
        if not fold.shown or fold.terse or fold.details:
            return 0
        return self._hidden_details[fold.infos]

    @cached_property
    def _hidden_details(self) -> dict[bool, int]:
        serious = sum(
            1
            for f, d in zip(self.findings, self.details, strict=True)
            if d and f.severity is not Severity.INFO
        )
        infos = sum(
            1 for f, d in zip(self.findings, self.details, strict=True) if d and f.severity is Severity.INFO
        )
        return {False: serious, True: serious + infos}

    def text(self, fold: _Fold) -> str:
        if not fold.shown:
            return ""
        if fold.terse:
            return self.terse
        out = [self.heading]
        if fold.table and self.has_table:
            out.append(self.table)
        out.append(self.contradictions)
        if not self.findings:
            out.append("No findings.\n\n")
        else:
            for finding, head, details in zip(self.findings, self.heads, self.details, strict=True):
                if finding.severity is Severity.INFO and not fold.infos:
                    continue
                out.append(head)
                if fold.details:
                    out.append(details)
                out.append("\n")
        if self.infos and not fold.infos:
            out.append(f"- and {_plural(self.infos, 'info finding')} not shown\n\n")
        if self.report.rollback is not None:
            out.append(_rollback(self.report.rollback, with_sql=fold.details))
        return "".join(out)

    def size(self, fold: _Fold) -> int:
        key = (fold.shown, fold.table, fold.infos, fold.details, fold.terse)
        if key not in self._sizes:
            self._sizes[key] = comment_length(self.text(fold))
        return self._sizes[key]

    @cached_property
    def terse(self) -> str:
        """The file as one list item: its error and warning findings by rule, with their lines."""
        groups: dict[tuple[int, str, str], list[int | None]] = {}
        for f in self.findings:
            if f.severity is not Severity.INFO:
                groups.setdefault((-f.severity.rank, f.code, f.name), []).append(f.line)
        said = []
        for (rank, code, name), found in sorted(groups.items()):
            icon = _ICON[Severity.ERROR if -rank == Severity.ERROR.rank else Severity.WARNING]
            numbers = [str(n) for n in dict.fromkeys(found) if n is not None]
            places = ["file"] if None in found else []
            if numbers:
                places.append(f"{'line' if len(numbers) == 1 else 'lines'} {', '.join(numbers)}")
            said.append(f"{icon} {code} {_cell(name)} {', '.join(places)}")
        return f"- `{_code_text(self.report.path)}`: {' · '.join(said) or 'no errors or warnings'}\n"

    @cached_property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)


def _notes(files: Sequence[_FileParts], folds: Sequence[_Fold]) -> tuple[str, str]:
    """The note under the verdict (what was folded) and the tail (files left out), or ''."""
    shown = [(p, f) for p, f in zip(files, folds, strict=True) if f.shown]
    parts = []
    tables = sum(1 for p, f in shown if p.has_table and not f.table)
    if tables:
        parts.append(f"{_plural(tables, 'statement table')}")
    infos = sum(p.infos for p, f in shown if not f.infos)
    if infos:
        parts.append(_plural(infos, "info finding"))
    details = sum(p.hidden_details(f) for p, f in shown)
    if details:
        parts.append(f"the details (why, safer way) of {_plural(details, 'finding')}")
    terse = sum(p.serious for p, f in shown if f.terse)
    hidden = [p for p, f in zip(files, folds, strict=True) if not f.shown]
    if not (parts or terse or hidden):
        return "", ""
    said = []
    if parts:
        said.append(f"{_join(parts)} not shown")
    if terse:
        said.append(f"{_plural(terse, 'error and warning finding')} in short form (rule and line)")
    if hidden:
        said.append(f"{_plural(len(hidden), 'file')} left out (counted at the end)")
    note = (
        f"**Folded to fit a GitHub comment**: {'; '.join(said)}. "
        "Run `schemawarden check` locally or see the check run for the whole report.\n\n"
    )
    tail = ""
    if hidden:
        counts = [
            _plural(n, word)
            for n, word in (
                (sum(p.errors for p in hidden), "error"),
                (sum(p.serious - p.errors for p in hidden), "warning"),
                (sum(p.infos for p in hidden), "info"),
            )
            if n
        ]
        found = sum(len(p.findings) for p in hidden)
        tail = (
            f"\n{_plural(len(hidden), 'more file')} with {_plural(found, 'finding')}"
            f"{' (' + ', '.join(counts) + ')' if counts else ''}: "
            "run `schemawarden check` locally or see the check run.\n"
        )
    return note, tail


def _statement_table(report: FileReport, finding_lines: set[int]) -> str:
    """The statement table; a long one collapsed, its notable statements kept in the open."""
    statements = report.statements
    if len(statements) <= COLLAPSE_OVER:
        return _table(statements) + "\n"
    notable = [s for s in statements if _notable(s) or s.line in finding_lines]
    out = ""
    if 0 < len(notable) <= COLLAPSE_OVER:
        out += _table(notable) + "\n"
    return (
        out
        + f"<details><summary>{_table_summary(statements)}</summary>\n\n{_table(statements)}\n</details>\n\n"
    )


def _table(statements: Sequence[StatementReport]) -> str:
    if any(statement.traced_locks is not None for statement in statements):
        rows = [
            "| line | statement | locks | rewrites / scans | traced in a scratch database |",
            "|---:|---|---|---|---|",
        ]
    else:
        rows = ["| line | statement | locks | rewrites / scans |", "|---:|---|---|---|"]
    rows += [_statement_row(statement) for statement in statements]
    return "\n".join(rows) + "\n"


def _blocking(statement: StatementReport) -> bool:
    return any(lock.mode.upper() != "ACCESS SHARE" for lock in statement.locks)


def _notable(statement: StatementReport) -> bool:
    """Worth seeing without opening the table: it locks beyond ACCESS SHARE, rewrites or scans."""
    return _blocking(statement) or bool(statement.rewrites) or bool(statement.scans)


def _table_summary(statements: Sequence[StatementReport]) -> str:
    """`12 statements: 3 take blocking locks, 1 rewrites a table`."""
    blocking = sum(1 for s in statements if _blocking(s))
    rewrites = sum(1 for s in statements if s.rewrites)
    scans = sum(1 for s in statements if s.scans)
    parts = [
        f"{blocking} {'takes a blocking lock' if blocking == 1 else 'take blocking locks'}"
        if blocking
        else "",
        f"{rewrites} {'rewrites a table' if rewrites == 1 else 'rewrite tables'}" if rewrites else "",
        f"{scans} {'scans a table' if scans == 1 else 'scan tables'}" if scans else "",
    ]
    said = ", ".join(p for p in parts if p) or "none locks beyond ACCESS SHARE"
    return f"{_plural(len(statements), 'statement')}: {said}"


def _statement_row(statement: StatementReport) -> str:
    sql = " ".join(statement.sql.split())
    if len(sql) > SQL_PREVIEW:
        sql = sql[: SQL_PREVIEW - 1] + "…"
    locks = "<br>".join(f"{_cell(lock.mode)} on {_code(lock.relation)}" for lock in statement.locks)
    effects = [f"rewrites {_code(rel)}" for rel in statement.rewrites]
    effects += [f"scans {_code(rel)}" for rel in statement.scans]
    row = f"| {statement.line} | {_code(sql)} | {locks or '—'} | {'<br>'.join(effects) or '—'} |"
    if statement.traced_locks is None:
        return row
    traced = [f"{_cell(lock.mode)} on {_code(lock.relation)}" for lock in statement.traced_locks]
    traced += [f"rewrote {_code(rel)}" for rel in statement.traced_rewrites or ()]
    return row + f" {'<br>'.join(traced) or '—'} |"


def _rollback(rollback: Rollback, with_sql: bool) -> str:
    """The rollback's status line (reason, notes) and, collapsed, its SQL (folded with the details)."""
    head = f"**Rollback**: {_ROLLBACK_ICON[rollback.status]} {rollback.status.value}"
    if rollback.status is RollbackStatus.VERIFIED:
        head += " (run in a scratch database: the schema came back exactly, and the migration applied again)"
    if rollback.reason:
        head += f": {_cell(rollback.reason)}"
    out = head + "\n"
    out += "".join(f"- note: {_cell(note)}\n" for note in rollback.notes)
    if with_sql and rollback.sql.strip():
        title = "Rollback SQL" if rollback.status is not RollbackStatus.FAILED else "Rollback SQL that did not prove (do not run)"
        out += "\n" + "".join(line[2:] + "\n" for line in _details(title, _fence(rollback.shown_sql().rstrip())).splitlines())
    return out + "\n"


def _finding_head(finding: Finding, docs_url: str | None) -> str:
    """The finding's line in the open, and `No safe recipe: ...` under it when so."""
    where = f"line {finding.line}" if finding.line is not None else "file"
    rule = f"{finding.code} {_cell(finding.name)}"
    url = rule_url(finding.code, finding.name, docs_url)
    if url is not None:
        rule = f"[{rule}]({url})"
    head = (
        f"- {_ICON[finding.severity]} **{finding.severity.value}** {rule} "
        f"({finding.category.value}, {where}): {_cell(finding.message)}\n"
    )
    if finding.safer_kind is SaferKind.NONE and finding.safer.strip():
        head += f"  No safe recipe: {_cell(finding.safer.strip())}\n"
    return head


def _finding_details(finding: Finding, docs_url: str | None) -> str:
    """The collapsed blocks under a finding: why (when no reference is linked), the safer way."""
    blocks: list[str] = []
    rule = rule_by_code(finding.code) if docs_url is None else None
    if rule is not None and rule.rationale.strip():
        blocks.append(_details("Why", html.escape(rule.rationale.strip(), quote=False)))
    if finding.safer and finding.safer_kind is not SaferKind.NONE:
        label = (
            "Example (not written for this statement)"
            if finding.safer_kind is SaferKind.EXAMPLE
            else "Safer way"
        )
        blocks.append(_details(label, _fence(finding.safer)))
    return "".join(blocks)


def _details(summary: str, body: str) -> str:
    lines = [f"<details><summary>{summary}</summary>", "", *body.splitlines(), "", "</details>"]
    return "".join(f"  {line}\n" for line in lines)


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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
