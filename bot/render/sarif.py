"""SARIF 2.1.0 for GitHub code scanning: findings appear as alerts on the lines they concern.

Rules go in `tool.driver.rules` (with `helpUri` to the rule's section of docs/rules.md) and
results point at them by `ruleId` and `ruleIndex`. Locations are repository-relative URIs,
which is what code scanning matches against the checkout.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from bot.render.links import help_uri
from bot.render.summary import ordered_findings, summarize
from policies.report import FileReport, Finding, Severity
from policies.rules import rule_by_code

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def document(
    reports: Sequence[FileReport], fail_on: Severity = Severity.ERROR, docs_url: str | None = None
) -> dict[str, Any]:
    """One run of schemawarden as a SARIF log."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for report in reports:
        for finding in ordered_findings(report):
            if finding.code not in index:
                index[finding.code] = len(rules)
                rules.append(_rule(finding, docs_url))
            results.append(_result(report, finding, index[finding.code]))
    summary = summarize(reports, fail_on)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "schemawarden",
                        "version": _tool_version(),
                        "rules": rules,
                    }
                },
                "results": results,
                "properties": {"summary": summary.to_json()},
            }
        ],
    }


def render(
    reports: Sequence[FileReport], fail_on: Severity = Severity.ERROR, docs_url: str | None = None
) -> str:
    # One line, like the JSON format: json's C encoder only runs without `indent`.
    return json.dumps(document(reports, fail_on, docs_url), ensure_ascii=False) + "\n"


def _rule(finding: Finding, docs_url: str | None) -> dict[str, Any]:
    """A reportingDescriptor: the rulebook's summary and rationale when it knows the code."""
    rule = rule_by_code(finding.code)
    summary = rule.summary if rule else finding.name
    rationale = rule.rationale if rule else f"{finding.code} {finding.name} ({finding.category.value})"
    safer = rule.safer if rule else finding.safer
    default = rule.severity if rule else finding.severity
    descriptor: dict[str, Any] = {
        "id": finding.code,
        "name": finding.name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": rationale},
        "help": {
            "text": f"{rationale}\n\nSafer:\n{safer}",
            "markdown": f"{rationale}\n\n**Safer way**\n\n```sql\n{safer}\n```",
        },
        "defaultConfiguration": {"level": _LEVEL[default]},
        "properties": {"tags": [finding.category.value], "category": finding.category.value},
    }
    uri = help_uri(finding.code, finding.name, docs_url)
    if uri is not None:
        descriptor["helpUri"] = uri  # SARIF wants an absolute URI: only with a configured docs_url
    return descriptor


def _result(report: FileReport, finding: Finding, rule_index: int) -> dict[str, Any]:
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": report.path.replace("\\", "/")},
                    # SARIF lines start at 1; a file-level finding points at the file's top.
                    "region": {"startLine": finding.line or 1},
                }
            }
        ],
        "properties": {"migration": report.migration, "category": finding.category.value},
    }


def _tool_version() -> str:
    try:
        return version("schemawarden")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0.0.0"
