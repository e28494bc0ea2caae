"""Judging migration SQL: split, parse, classify, model locks, run the rules, honour suppressions.

Every statement is judged against the schema just before it (`policies.schema`): the replay of the
migrations before it, in journal order. Three ways in:

* `analyze_sql` judges one file alone, knowing only what the caller's `Context` says exists;
* `analyze_folder` judges a migration folder's files in order, each as the deploy that brought it:
  the schema before it is the replay of the files before it, and its own transaction is the file;
* `analyze_migration_texts` judges a pull request's new migrations as one deploy on top of a base
  schema (the replay of the base's migration set): a table the first creates is new in the second,
  and when drizzle-orm applies them (`Context.applied_by`) they share one transaction, as its
  migrator runs all pending migrations in one. Then the rules about the pull request as a whole run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from policies.classify import classify
from policies.context import Context
from policies.locks import effect
from policies.operations import Operation, OperationKind
from policies.parsing import ParsedStatement, in_execution_order, parse_migration
from policies.report import FileReport, Finding, LockRef, SaferKind, StatementReport
from policies.rules import Hit, Rule, all_rules
from policies.schema.model import Column, Schema, Table, relation_key
from policies.schema.refusals import Refusal, caught, refusals
from policies.schema.replay import apply_operation, enrich
from policies.schema.snapshot import fill_from
from policies.unit import AnalyzedStatement, MigrationUnit

_IGNORE = re.compile(r"--\s*schemawarden-ignore(?!-file)[ \t]*([A-Za-z0-9, \t]*)", re.IGNORECASE)
_IGNORE_FILE = re.compile(r"--\s*schemawarden-ignore-file[ \t]*([A-Za-z0-9, \t]*)", re.IGNORECASE)

_NO_CODES: frozenset[str] = frozenset()
K = OperationKind

MigrationText = tuple[str, str] | tuple[str, str, str | None]
"""A migration file to judge: (path, SQL text) or (path, SQL text, journal tag)."""

_CREATES = frozenset({
    K.CREATE_TABLE, K.CREATE_TABLE_AS, K.CREATE_MATERIALIZED_VIEW, K.CREATE_VIEW, K.CREATE_INDEX,
    K.CREATE_ENUM, K.CREATE_TYPE, K.CREATE_DOMAIN, K.CREATE_SEQUENCE, K.CREATE_FUNCTION, K.CREATE_SCHEMA,
})


@dataclass
class _Deploy:
    """What the judgement carries from statement to statement within one deploy."""

    schema: Schema
    created: set[str] = field(default_factory=set)
    transaction: list[AnalyzedStatement] = field(default_factory=list)
    """Statements of the earlier migrations of this deploy that share the current transaction."""


def initial_schema(context: Context) -> Schema:
    """The schema a lone file is judged against: the tables the caller says exist (incomplete)."""
    tables = {
        relation_key(name): Table(
            relation_key(name),
            columns={column: Column(column, fact.type, not_null=fact.not_null) for column, fact in columns.items()},
            complete=False,
        )
        for name, columns in context.columns.items()
    }
    return Schema(tables=tables)


def analyze_sql(
    path: str, text: str, context: Context, migration: str | None = None, schema: Schema | None = None
) -> FileReport:
    """The judgement of one SQL file: what each statement does and the findings against it, against
    `schema` (default: what `context` says exists)."""
    deploy = _Deploy(schema if schema is not None else initial_schema(context), set(context.new_tables))
    report, _ = _analyze_file(path, text, context, migration, deploy)
    return report


def analyze_folder(
    files: Sequence[MigrationText],
    context: Context,
    schema: Schema | None = None,
    snapshots: Callable[[int], Schema | None] | None = None,
) -> list[FileReport]:
    """Judge a migration folder's files in journal order, each as its own deploy against the schema
    the files before it leave (from `schema`, default an empty database).

    `snapshots(i)` is drizzle-kit's snapshot of the schema after file `i`, if any: when the replay
    could not read everything before a file (`Schema.complete` is false), what only the previous
    snapshot knows fills the replayed schema (`fill_from`). It is asked only then.
    """
    current = schema if schema is not None else Schema(complete=True)
    reports: list[FileReport] = []
    for position, item in enumerate(files):
        path, text = item[0], item[1]
        migration = item[2] if len(item) == 3 else None
        previous = snapshots(position - 1) if snapshots is not None and position and not current.complete else None
        if previous is not None:
            current = fill_from(current, previous)
        report, deploy = _analyze_file(path, text, context, migration, _Deploy(current))
        if position == 0 and not report.statements:
            deploy.schema = _pulled(deploy.schema)
        current = deploy.schema
        reports.append(report)
    return reports


def replay_schema(texts: Sequence[str], pg_version: int) -> Schema:
    """The schema that migration texts leave when run in order on an empty database (no rules run):
    the base of a pull request."""
    schema = Schema(complete=True)
    for position, text in enumerate(texts):
        parsed_any = False
        for top in parse_migration(text):
            for parsed in in_execution_order([top]):
                parsed_any = True
                schema, _, _ = _replay_statement(schema, parsed, pg_version, judge=False)
        if position == 0 and not parsed_any:
            schema = _pulled(schema)
    return schema


def _pulled(schema: Schema) -> Schema:
    """After a first migration without SQL (drizzle-kit pull writes one): the database existed."""
    return schema.incomplete()


def _replay_statement(
    schema: Schema, parsed: ParsedStatement, version: int, judge: bool
) -> tuple[Schema, list[Operation], list[Refusal]]:
    """One statement replayed on `schema`: the schema after it, its operations with the facts the
    schema adds, and (when `judge`) what PostgreSQL refuses in it, less what a DO block's handlers catch."""
    operations: list[Operation] = []
    refused: list[Refusal] = []
    if parsed.error is not None:
        schema = schema.incomplete()
    for op in classify(parsed):
        if schema.knows_anything:  # an empty schema adds no fact and makes nothing certain
            op = enrich(schema, op)
            if judge and (not parsed.in_do_block or parsed.caught is not None):
                refused.extend(r for r in refusals(schema, op, version) if not caught(r, parsed.caught))
        schema = apply_operation(schema, op)
        operations.append(op)
    if parsed.shape == "DoStmt" and not parsed.inner:
        schema = schema.incomplete()  # a body the analysis could not read may change anything
    return schema, operations, refused


def analyze_migration_texts(
    files: Sequence[MigrationText], context: Context, before: Schema | None = None
) -> list[FileReport]:
    """Judge a pull request's migration files in order, as one deploy on `before` (default: what
    `context` says exists), then the pull request as a whole.

    Facts carry from file to file (a table created in the first is new in the second); when
    drizzle-orm applies them, the rules about "the same transaction" see the earlier files too.
    Findings about the pull request itself (a schema change without a migration) come as extra
    reports whose `path` is the file they concern.
    """
    deploy = _Deploy(before if before is not None else initial_schema(context), set(context.new_tables))
    reports: list[FileReport] = []
    for item in files:
        path, text = item[0], item[1]
        migration = item[2] if len(item) == 3 else None
        report, deploy = _analyze_file(path, text, context, migration, deploy)
        if not context.drizzle_applies:
            deploy.transaction = []
        reports.append(report)
    reports.extend(check_change_set(context, deploy.schema, frozenset(deploy.created)))
    return reports


def check_change_set(
    context: Context, schema: Schema | None = None, created: frozenset[str] = frozenset()
) -> list[FileReport]:
    """Findings of the rules that judge a pull request's changed files rather than its SQL."""
    final = schema if schema is not None else initial_schema(context)
    unit = MigrationUnit("", "", (), context, final, final, created=created)
    by_path: dict[str, list[Finding]] = {}
    for rule in _enabled(context, change_set=True):
        for hit in rule.check(unit):
            by_path.setdefault(hit.path or "", []).append(_finding(rule, hit, context))
    return [FileReport(path, None, (), tuple(findings)) for path, findings in by_path.items()]


def _analyze_file(
    path: str, text: str, context: Context, migration: str | None, deploy: _Deploy
) -> tuple[FileReport, _Deploy]:
    analyzed: list[AnalyzedStatement] = []
    new_relations: frozenset[str] = frozenset(deploy.created)
    schema_before = schema = deploy.schema
    version = context.pg_version
    for top in parse_migration(text):
        suppressed = _codes(_IGNORE, top.statement.comments)
        for parsed in in_execution_order([top]):
            before = schema
            schema, operations, refused = _replay_statement(schema, parsed, version, judge=True)
            for op in operations:
                if op.kind in _CREATES:
                    created = op.name if op.kind is K.CREATE_INDEX else op.relation or op.name
                    if created:
                        deploy.created.add(relation_key(created))
            effects = tuple(effect(op, version) for op in operations)
            if len(new_relations) != len(deploy.created):  # it only grows: share unchanged copies
                new_relations = frozenset(deploy.created)
            analyzed.append(
                AnalyzedStatement(
                    len(analyzed), parsed, tuple(operations), effects, new_relations, suppressed,
                    schema=before, refusals=tuple(refused), path=path,
                )
            )
    unit = MigrationUnit(
        path, text, tuple(analyzed), context, schema_before, schema, _codes(_IGNORE_FILE, text),
        created=frozenset(deploy.created), earlier=tuple(deploy.transaction),
    )
    findings: list[Finding] = []
    kinds = frozenset(unit.by_kind) | _earlier_kinds(unit)
    for rule in _enabled(context, change_set=False, kinds=kinds):
        for hit in rule.check(unit):
            if not _is_suppressed(rule.code, hit, unit):
                findings.append(_finding(rule, hit, context))
    findings.sort(key=lambda f: (f.line or 0, f.code))
    statements = tuple(_statement_report(s) for s in analyzed)
    deploy.schema = schema
    deploy.transaction = [*deploy.transaction, *analyzed]
    return FileReport(path, migration, statements, tuple(findings)), deploy


def _earlier_kinds(unit: MigrationUnit) -> frozenset[OperationKind]:
    """Operation kinds of the earlier migrations in this transaction (rules about the transaction
    look there too)."""
    if not unit.earlier:
        return frozenset()
    return frozenset(op.kind for statement in unit.earlier for op in statement.operations)


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
        safer=hit.safer or hit.no_recipe or hit.example or rule.safer,
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
