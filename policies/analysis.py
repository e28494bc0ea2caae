"""Judging migration SQL: split, parse, classify, model locks, run the rules, honour suppressions.

`analyze_sql` judges one file; `analyze_migration_texts` judges the files of one pull request in
order, so that a table created by an earlier file counts as new in a later one, and runs the
rules about the pull request as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

from policies.classify import classify
from policies.context import Context
from policies.locks import effect
from policies.operations import OperationKind
from policies.parsing import ParsedStatement, parse_migration
from policies.report import FileReport, Finding, LockRef, SaferKind, StatementReport
from policies.rules import Hit, Rule, all_rules
from policies.unit import AnalyzedStatement, Knowledge, MigrationUnit

_IGNORE = re.compile(r"--\s*schemawarden-ignore(?!-file)[ \t]*([A-Za-z0-9, \t]*)", re.IGNORECASE)
_IGNORE_FILE = re.compile(r"--\s*schemawarden-ignore-file[ \t]*([A-Za-z0-9, \t]*)", re.IGNORECASE)

_NO_CODES: frozenset[str] = frozenset()

MigrationText = tuple[str, str] | tuple[str, str, str | None]
"""A migration file to judge: (path, SQL text) or (path, SQL text, journal tag)."""


def analyze_sql(path: str, text: str, context: Context, migration: str | None = None) -> FileReport:
    """The judgement of one SQL file: what each statement does and the findings against it."""
    report, _ = _analyze_file(path, text, context, migration, Knowledge.from_context(context))
    return report


def analyze_migration_texts(files: Sequence[MigrationText], context: Context) -> list[FileReport]:
    """Judge a pull request's migration files in order, then the pull request as a whole.

    Facts carry from file to file (a table created in the first is new in the second). Findings
    about the pull request itself (a schema change without a migration) come as extra reports
    whose `path` is the file they concern.
    """
    knowledge = Knowledge.from_context(context)
    reports: list[FileReport] = []
    for item in files:
        path, text = item[0], item[1]
        migration = item[2] if len(item) == 3 else None
        report, knowledge = _analyze_file(path, text, context, migration, knowledge)
        reports.append(report)
    reports.extend(check_change_set(context, knowledge))
    return reports


def check_change_set(context: Context, knowledge: Knowledge | None = None) -> list[FileReport]:
    """Findings of the rules that judge a pull request's changed files rather than its SQL."""
    unit = MigrationUnit("", "", (), context, knowledge or Knowledge.from_context(context))
    by_path: dict[str, list[Finding]] = {}
    for rule in _enabled(context, change_set=True):
        for hit in rule.check(unit):
            by_path.setdefault(hit.path or "", []).append(_finding(rule, hit, context))
    return [FileReport(path, None, (), tuple(findings)) for path, findings in by_path.items()]


def _analyze_file(
    path: str, text: str, context: Context, migration: str | None, knowledge: Knowledge
) -> tuple[FileReport, Knowledge]:
    analyzed: list[AnalyzedStatement] = []
    new_relations: frozenset[str] = frozenset()
    for top in parse_migration(text):
        suppressed = _codes(_IGNORE, top.statement.comments)
        for parsed in _flatten([top]):
            operations = []
            for op in classify(parsed):
                enriched = knowledge.enrich(op)
                knowledge.learn(enriched)
                operations.append(enriched)
            effects = tuple(effect(op, context.pg_version) for op in operations)
            if len(new_relations) != len(knowledge.new_relations):  # it only grows: share unchanged copies
                new_relations = frozenset(knowledge.new_relations)
            analyzed.append(
                AnalyzedStatement(len(analyzed), parsed, tuple(operations), effects, new_relations, suppressed)
            )
    unit = MigrationUnit(path, text, tuple(analyzed), context, knowledge, _codes(_IGNORE_FILE, text))
    findings: list[Finding] = []
    for rule in _enabled(context, change_set=False, kinds=frozenset(unit.by_kind)):
        for hit in rule.check(unit):
            if not _is_suppressed(rule.code, hit, unit):
                findings.append(_finding(rule, hit, context))
    findings.sort(key=lambda f: (f.line or 0, f.code))
    statements = tuple(_statement_report(s) for s in analyzed)
    return FileReport(path, migration, statements, tuple(findings)), knowledge


def _flatten(parsed: list[ParsedStatement]) -> Iterator[ParsedStatement]:
    """Statements in execution order: a DO block, then the statements its body runs."""
    for item in parsed:
        yield item
        yield from _flatten(list(item.inner))


def _codes(pattern: re.Pattern[str], text: str) -> frozenset[str]:
    if not text:
        return _NO_CODES  # most statements have no comment before them
    codes: set[str] = set()
    for match in pattern.finditer(text):
        named = {c.upper() for c in re.split(r"[\s,]+", match.group(1)) if c}
        codes |= named or {"*"}
    return frozenset(codes)


def _is_suppressed(code: str, hit: Hit, unit: MigrationUnit) -> bool:
    if code in unit.file_suppressed or "*" in unit.file_suppressed:
        return True
    if hit.statement is None:
        return False
    return code in hit.statement.suppressed or "*" in hit.statement.suppressed


def _enabled(
    context: Context, change_set: bool, kinds: frozenset[OperationKind] | None = None
) -> tuple[Rule, ...]:
    """The rules to run: those the policy leaves on and, given the operation kinds of a migration,
    only those that can object to it (`Rule.needs`). Worked out once per policy and set of kinds
    (a few dozen sets in a repository's history), not once per file."""
    off = frozenset(code for code, setting in context.rules.items() if setting == "off")
    return _rules_for(off, change_set, kinds)


@lru_cache(maxsize=1024)
def _rules_for(
    off: frozenset[str], change_set: bool, kinds: frozenset[OperationKind] | None
) -> tuple[Rule, ...]:
    return tuple(
        rule
        for rule in all_rules()
        if rule.change_set == change_set
        and rule.code not in off
        and (kinds is None or rule.needs is None or not rule.needs.isdisjoint(kinds))
    )


def _finding(rule: Rule, hit: Hit, context: Context) -> Finding:
    line = hit.line if hit.line is not None else hit.statement.line if hit.statement else None
    return Finding(
        code=rule.code,
        name=rule.name,
        category=rule.category,
        severity=context.severity_for(rule.code, hit.severity or rule.severity),
        line=line,
        message=hit.message,
        safer=hit.safer or hit.no_recipe or rule.safer,
        safer_kind=SaferKind.RECIPE if hit.safer else SaferKind.NONE if hit.no_recipe else SaferKind.EXAMPLE,
    )


def _statement_report(statement: AnalyzedStatement) -> StatementReport:
    locks: dict[LockRef, None] = {}
    rewrites: dict[str, None] = {}
    scans: dict[str, None] = {}
    for result in statement.effects:
        locks.update(dict.fromkeys(result.locks))
        rewrites.update(dict.fromkeys(result.rewrites))
        scans.update(dict.fromkeys(result.scans))
    operations = tuple(op.to_json() for op in statement.operations)
    if statement.parsed.error is not None:
        operations = ({"kind": "parse_error", "error": statement.parsed.error},)
    return StatementReport(
        line=statement.line,
        sql=statement.sql,
        operations=operations,
        locks=tuple(locks),
        rewrites=tuple(rewrites),
        scans=tuple(scans),
    )
