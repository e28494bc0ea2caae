"""The JSON contract of `schemawarden check --format json` (documented in README, "JSON output").

Stable and versioned: other tools parse it. Fields may be added; none renamed or removed
without bumping `version`.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from bot.render.summary import summarize
from policies.report import FileReport, Severity

CONTRACT_VERSION = 1


def render(reports: Sequence[FileReport], fail_on: Severity = Severity.ERROR) -> str:
    return encoded(reports, fail_on).decode()


def encoded(reports: Sequence[FileReport], fail_on: Severity = Severity.ERROR) -> bytes:
    """The contract on one line as UTF-8 (pipe it through `jq` to read it): a whole repository's
    history is megabytes of JSON, so it is written by orjson, straight from the report dataclasses,
    and the CLI writes these bytes out without decoding them to text and encoding them again.

    orjson writes a dataclass as its fields in order, which for every report type is exactly its
    `to_json()` (tests/test_render.py holds them equal); it skips building that copy of the data.
    """
    contract = {"version": CONTRACT_VERSION, "files": reports, "summary": summarize(reports, fail_on).to_json()}
    return orjson.dumps(contract, option=orjson.OPT_APPEND_NEWLINE)
