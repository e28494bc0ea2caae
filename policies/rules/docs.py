"""The rule reference (docs/rules.md), generated from the rule modules' own metadata.

Regenerate with `python -m policies.rules.docs > docs/rules.md`; a test fails when the committed
file differs from what this produces, so the reference cannot drift from the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.report import Category
from policies.rules import Rule, all_rules

_FAMILIES = {
    Category.LOCK: "SW1xx: locks that block reads or writes",
    Category.REWRITE: "SW2xx: table rewrites",
    Category.DATA_LOSS: "SW3xx: data loss",
    Category.COMPATIBILITY: "SW4xx: breaking the application version still running",
    Category.DESIGN: "SW5xx: schema design",
    Category.PROCESS: "SW6xx: process and migration mechanics",
}


def render_reference(rules: tuple[Rule, ...] | None = None) -> str:
    """The whole reference as Markdown: an index table, then one section per rule."""
    rules = all_rules() if rules is None else rules
    lines = [
        "# schemawarden rules",
        "",
        "Generated from `policies/rules/*.py` by `python -m policies.rules.docs > docs/rules.md`; do not edit.",
        "",
        "Each finding names its rule code. Silence one statement with a comment on the line before it",
        "(`-- schemawarden-ignore SW101, SW203`), a whole file with `-- schemawarden-ignore-file SW101`",
        "anywhere in it, or change a rule's severity (or switch it `off`) in `schemawarden.toml`.",
        "Lock and rewrite rules stay quiet for tables created earlier in the same migration or pull request.",
        "Each rule's safer way is shown here on example tables; where the fix is mechanical, a finding",
        "carries it rewritten for the flagged statement, with that statement's own names.",
        "",
        "| code | name | category | default severity | summary |",
        "|---|---|---|---|---|",
    ]
    for rule in rules:
        anchor = f"{rule.code.lower()}-{rule.name}"
        lines.append(
            f"| [{rule.code}](#{anchor}) | {rule.name} | {rule.category.value} | {rule.severity.value} | {rule.summary} |"
        )
    current: Category | None = None
    for rule in rules:
        if rule.category is not current:
            current = rule.category
            lines += ["", f"## {_FAMILIES[current]}"]
        lines += _section(rule)
    return "\n".join(lines) + "\n"


def _section(rule: Rule) -> list[str]:
    lines = [
        "",
        f"### {rule.code} {rule.name}",
        "",
        f"*{rule.category.value}, {rule.severity.value} by default.* {rule.summary}",
        "",
        rule.rationale,
        "",
        "**Bad**" + _context_note(rule.bad_context) + ":",
        "",
        "```sql",
        rule.bad,
        "```",
        "",
        "**Good**" + _context_note(rule.good_context) + ":",
        "",
        "```sql",
        rule.good,
        "```",
        "",
        "**Safer way:**",
        "",
        "```sql",
        rule.safer,
        "```",
    ]
    return lines


def _context_note(context: Mapping[str, Any]) -> str:
    if not context:
        return ""
    parts = []
    for key, value in context.items():
        if isinstance(value, Mapping):
            shown = ", ".join(f"{k} ({v})" for k, v in value.items())
        else:
            shown = ", ".join(value) if isinstance(value, tuple) else str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return " (" + "; ".join(parts) + ")"


if __name__ == "__main__":
    print(render_reference(), end="")
