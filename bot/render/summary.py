"""Counts over a set of file reports, and whether the policy's failing severity was reached.

One computation shared by every renderer and the exit code, so the JSON `summary`, the PR
comment's headline and the process's exit status can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from policies.report import FileReport, Finding, Severity


@dataclass(frozen=True)
class Summary:
    """What was judged and how it came out against `fail_on`."""

    files: int
    statements: int
    errors: int
    warnings: int
    infos: int
    fail_on: Severity
    failed: bool

    @property
    def findings(self) -> int:
        return self.errors + self.warnings + self.infos

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "statements": self.statements,
            "findings": {"error": self.errors, "warning": self.warnings, "info": self.infos},
            "fail_on": self.fail_on.value,
            "failed": self.failed,
        }

    def headline(self) -> str:
        """One line for a terminal or a comment: `2 files, 14 statements: 1 error, 3 warnings`."""
        parts = [
            _plural(n, word)
            for n, word in ((self.errors, "error"), (self.warnings, "warning"), (self.infos, "info"))
            if n
        ]
        judged = f"{_plural(self.files, 'file')}, {_plural(self.statements, 'statement')}"
        return f"{judged}: {', '.join(parts) if parts else 'no findings'}"


def summarize(reports: Sequence[FileReport], fail_on: Severity = Severity.ERROR) -> Summary:
    """Count files, statements and findings; failed when a finding is at or above `fail_on`."""
    counts = {severity: 0 for severity in Severity}
    for report in reports:
        for finding in report.findings:
            counts[finding.severity] += 1
    failed = any(sev.rank >= fail_on.rank and n for sev, n in counts.items())
    return Summary(
        files=len(reports),
        statements=sum(len(report.statements) for report in reports),
        errors=counts[Severity.ERROR],
        warnings=counts[Severity.WARNING],
        infos=counts[Severity.INFO],
        fail_on=fail_on,
        failed=failed,
    )


def ordered_findings(report: FileReport) -> list[Finding]:
    """Findings in file order (file-level ones first), then by severity, most severe first."""
    return sorted(
        report.findings,
        key=lambda f: (f.line if f.line is not None else 0, -f.severity.rank, f.code),
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
