"""GitHub Actions workflow commands: each finding becomes an annotation on the diff.

`::error file=F,line=N,title=SW123 name::message`. Values are escaped as the runner expects
(see "Workflow commands for GitHub Actions"), or a message with a newline or a comma in a
property would be cut short.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.render.summary import ordered_findings, summarize
from policies.report import FileReport, SaferKind, Severity

_SAFER_LABEL = {
    SaferKind.RECIPE: "Safer",
    SaferKind.EXAMPLE: "Example (not written for this statement)",
    SaferKind.NONE: "No safe recipe",
}
_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(reports: Sequence[FileReport], fail_on: Severity = Severity.ERROR) -> str:
    lines: list[str] = []
    for report in reports:
        for finding in ordered_findings(report):
            props = [f"file={_property(report.path)}"]
            if finding.line is not None:
                props.append(f"line={finding.line}")
            props.append(f"title={_property(f'{finding.code} {finding.name}')}")
            message = finding.message
            if finding.safer.strip():
                message += f"\n{_SAFER_LABEL[finding.safer_kind]}: {finding.safer}"
            lines.append(f"::{_COMMAND[finding.severity]} {','.join(props)}::{_data(message)}")
    lines.append(f"schemawarden: {summarize(reports, fail_on).headline()}")
    return "\n".join(lines) + "\n"


def _data(value: str) -> str:
    """Escape a command's message: %, CR and LF."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    """Escape a command property: as the message, plus `:` and `,` which delimit properties."""
    return _data(value).replace(":", "%3A").replace(",", "%2C")
