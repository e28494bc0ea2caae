"""The JSON contract of `schemawarden check --format json` (documented in README, "JSON output").

Stable and versioned: other tools parse it. Fields may be added; none renamed or removed
without bumping `version`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from bot.render.summary import summarize
from policies.report import FileReport, Severity

CONTRACT_VERSION = 1


def document(reports: Sequence[FileReport], fail_on: Severity = Severity.ERROR) -> dict[str, Any]:
    """The contract as plain data: `{"version": 1, "files": [...], "summary": {...}}`."""
    return {
        "version": CONTRACT_VERSION,
        "files": [report.to_json() for report in reports],
        "summary": summarize(reports, fail_on).to_json(),
    }


def render(reports: Sequence[FileReport], fail_on: Severity = Severity.ERROR) -> str:
    # One line, encoded by orjson (already used to read parse trees): a whole repository's history
    # is megabytes of JSON, which orjson writes about seven times faster than `json` (pipe it
    # through `jq` to read it).
    return orjson.dumps(document(reports, fail_on), option=orjson.OPT_APPEND_NEWLINE).decode()
