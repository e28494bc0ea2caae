"""The PR bot's one sticky comment, as data, and its markdown.

Layout, top to bottom (GitHub's 65,536-character limit is kept by `bot.render.markdown`, which
folds the per-file detail, never the parts above it):

1. `## schemawarden` and the summary line: counts by severity and the policy's verdict;
2. notes about the pull request itself (from a fork; it changes the policy file or a workflow);
3. `### Environments`: one row per environment of the repository, between the markers
   `ENVIRONMENTS_START` and `ENVIRONMENTS_END` so that a reconcile can replace the matrix alone
   (`with_environments`): gate, recorded version, whether this pull request's migrations are
   pending there, and what blocks them;
4. per migration file: the statement table, each finding (statement, line, lock, safer way) and,
   when a scratch-database proof has filled `FileReport.rollback`, the **rollback section**
   (status, reason, the SQL collapsed). The rollback comes in with the reports: this module and
   the renderer only pass it through.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from bot.github import MARKER
from bot.render import markdown
from policies.report import FileReport, Severity

ENVIRONMENTS_START = "<!-- schemawarden:environments -->"
ENVIRONMENTS_END = "<!-- /schemawarden:environments -->"


@dataclass(frozen=True)
class EnvironmentRow:
    """One environment as the matrix shows it.

    `version`: the tag of its last applied migration (None: nothing applied yet). `migrations`:
    what became of this pull request's migrations there (`pending (2)`, `applied`, ...).
    `blocked`: why they could not be applied there now (empty: nothing blocks them). `error`: set
    when the environment could not be read (unreachable, refused); the other fields are then empty.
    """

    name: str
    gate: str
    version: str | None = None
    migrations: str = ""
    blocked: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Comment:
    """The sticky comment of one analysis of a pull request."""

    reports: tuple[FileReport, ...]
    fail_on: Severity
    docs_url: str | None = None
    environments: tuple[EnvironmentRow, ...] = ()
    notes: tuple[str, ...] = ()
    problem: str | None = None
    """Set when the pull request could not be judged (its migrations folder cannot be read)."""

    def render(self) -> str:
        """The markdown body, marker included, within GitHub's limit."""
        notes = "".join(f"> {html.escape(note, quote=False)}\n>\n" for note in self.notes)
        notes = notes.removesuffix(">\n") + "\n" if notes else ""
        if self.problem is not None:
            notes += f"**Not judged**: {html.escape(self.problem, quote=False)}\n\n"
        above = notes + environments_section(self.environments)
        body = markdown.render(
            self.reports, self.fail_on, self.docs_url, limit=markdown.GITHUB_COMMENT_LIMIT, after_verdict=above
        )
        return f"{body}\n{MARKER}\n"


def environments_section(rows: Sequence[EnvironmentRow]) -> str:
    """`### Environments` and the matrix between its markers ('' without environments)."""
    if not rows:
        return ""
    return f"### Environments\n\n{ENVIRONMENTS_START}\n{_matrix(rows)}{ENVIRONMENTS_END}\n\n"


def with_environments(body: str, rows: Sequence[EnvironmentRow]) -> str:
    """`body` (a comment of ours) with its environment matrix replaced by `rows`; unchanged when it
    has no matrix (it was not about migrations)."""
    start = body.find(ENVIRONMENTS_START)
    end = body.find(ENVIRONMENTS_END, start)
    if start < 0 or end < 0 or not rows:
        return body
    return f"{body[:start]}{ENVIRONMENTS_START}\n{_matrix(rows)}{body[end:]}"


def _matrix(rows: Sequence[EnvironmentRow]) -> str:
    lines = [
        "| environment | gate | recorded version | this pull request's migrations | blocked |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        name = f"`{_cell(row.name)}`"
        if row.error is not None:
            lines.append(f"| {name} | {_cell(row.gate)} | ⚠️ not read: {_cell(row.error)} | — | — |")
            continue
        version = f"`{_cell(row.version)}`" if row.version else "nothing applied"
        blocked = "🛑 " + "; ".join(_cell(reason) for reason in row.blocked) if row.blocked else "—"
        lines.append(f"| {name} | {_cell(row.gate)} | {version} | {_cell(row.migrations) or '—'} | {blocked} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "&#124;").replace("\n", " ")
