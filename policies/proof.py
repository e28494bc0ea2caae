"""What a proof in a scratch database adds to the judgement, as pure functions.

The prover (`reconciler.prove`) runs each migration, its rollback and the migration again in a
scratch database. Two facts of its result are decided here, without a database:

* `rows_changed(text, before)`: the statements of a migration that change rows that existed before
  it (UPDATE, DELETE, MERGE, TRUNCATE of a table the schema before it had). A rollback restores
  structure, never old values: such a migration is `irreversible`, whatever its DDL. An UPDATE that
  only fills columns the migration itself adds (a backfill) changes nothing that was there.
* `checked_narrowings(text)`: the columns a migration narrows to a length-limited string or bit type
  without USING: PostgreSQL's assignment cast refuses a value that does not fit (the migration
  fails), so a migration that applied kept every value, and widening back loses nothing.
* `with_proof(report, ...)`: a file report with its rollback and, per statement, what the scratch
  database traced and where that contradicts the lock model's prediction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from policies.classify import classify
from policies.classify_table import relation_name
from policies.lock_trace import StatementTrace, contradictions
from policies.operations import OperationKind
from policies.parsing import Node, in_execution_order, parse_migration, unwrap
from policies.report import FileReport, Rollback, StatementReport
from policies.schema.model import Schema, relation_key

K = OperationKind
_ROW_CHANGES = {K.UPDATE: "UPDATE", K.DELETE: "DELETE", K.MERGE: "MERGE", K.TRUNCATE: "TRUNCATE"}


def rows_changed(text: str, before: Schema) -> tuple[str, ...]:
    """One sentence per statement of migration `text` that changes rows of a table that existed in
    `before` (the schema just before the migration), naming the table and the line: UPDATE, DELETE,
    MERGE and TRUNCATE, also in a statement's WITH clause (`WITH x AS (UPDATE ...) SELECT ...`),
    and INSERT ... ON CONFLICT DO UPDATE (it changes the rows it conflicts with)."""
    added: set[tuple[str, str]] = set()
    found: list[str] = []
    for parsed in in_execution_order(parse_migration(text)):
        changes: list[tuple[str, str | None, tuple[str, ...]]] = []
        for op in classify(parsed):
            table = relation_key(op.relation) if op.relation else None
            if op.kind is K.ADD_COLUMN and table:
                added.update((table, column) for column in op.columns)
            if op.kind is K.CREATE_TABLE and table:
                added.add((table, "*"))
            word = _ROW_CHANGES.get(op.kind)
            if word is not None:
                changes.append((word, table, op.columns if op.kind is K.UPDATE else ()))
        if parsed.error is None and not parsed.too_deep:
            changes += _nested_row_changes(parsed.shape, parsed.node)
        for word, table, columns in changes:
            if table is None or table not in before.tables or (table, "*") in added:
                continue
            if word != "DELETE" and columns and all((table, c) in added for c in columns):
                continue  # a backfill of columns this migration adds: nothing that existed changes
            found.append(
                f"{word} at line {parsed.line} changes rows of {table} that existed before: "
                "the rollback restores the structure, not the old values"
            )
    return tuple(found)


_NESTED_ROW_CHANGES = {"UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "MergeStmt": "MERGE"}


def _nested_row_changes(shape: str, node: Node) -> list[tuple[str, str | None, tuple[str, ...]]]:
    """(word, table key, columns set) of what a statement changes besides its own kind: the
    data-modifying statements of its WITH clause (PostgreSQL allows them at the top level only) and
    an INSERT's ON CONFLICT DO UPDATE, its own or a WITH clause's."""
    found: list[tuple[str, str | None, tuple[str, ...]]] = []
    statements: list[tuple[str, Node]] = [(shape, node)]
    for wrapped in (node.get("withClause") or {}).get("ctes", []):
        query = unwrap(wrapped)[1].get("ctequery")
        if query:
            statements.append(unwrap(query))
    for position, (kind, fields) in enumerate(statements):
        name = relation_name(fields.get("relation"))
        table = relation_key(name) if name else None
        if position > 0 and kind in _NESTED_ROW_CHANGES:
            columns = _set_columns(fields) if kind == "UpdateStmt" else ()
            found.append((_NESTED_ROW_CHANGES[kind], table, columns))
        conflict = fields.get("onConflictClause") if kind == "InsertStmt" else None
        if conflict and conflict.get("action") == "ONCONFLICT_UPDATE":
            found.append(("INSERT ... ON CONFLICT DO UPDATE", table, _set_columns(conflict)))
    return found


def _set_columns(node: Node) -> tuple[str, ...]:
    """The columns an UPDATE's (or ON CONFLICT DO UPDATE's) SET list names."""
    return tuple(str(unwrap(target)[1].get("name", "")) for target in node.get("targetList", []))


_LENGTH_CHECKED = frozenset({"varchar", "character varying", "bpchar", "character", "char", "bit", "varbit", "bit varying"})
"""Types whose assignment cast raises an error for a value longer than the length (datatype-character.html,
datatype-bit.html: "an attempt to store a longer string ... will result in an error"; only excess
spaces are cut)."""


def checked_narrowings(text: str) -> frozenset[tuple[str, str]]:
    """(table key, column) of each `ALTER COLUMN ... TYPE` of migration `text` to a length-checked
    type (`_LENGTH_CHECKED`) without USING: a value that does not fit fails the migration instead
    of being cut."""
    found: set[tuple[str, str]] = set()
    for parsed in in_execution_order(parse_migration(text)):
        for op in classify(parsed):
            if op.kind is not K.ALTER_COLUMN_TYPE or op.using or not op.relation or not op.columns:
                continue
            base = (op.column_type or "").split("(", 1)[0].strip().strip('"').lower()
            if base in _LENGTH_CHECKED:
                found.add((relation_key(op.relation), op.columns[0]))
    return frozenset(found)


def with_proof(
    report: FileReport,
    rollback: Rollback,
    traces: Mapping[int, StatementTrace],
    predicted: Sequence[StatementReport] | None = None,
) -> FileReport:
    """`report` with its proven `rollback`, and each statement's `traced_locks`, `traced_rewrites`
    and `trace_contradictions` from `traces` (by the statement's line in the file).

    `predicted` are the same statements judged for the scratch server's major version when it is
    not the report's target version (the lock model is compared with what that server did);
    default: the report's own statements. A statement without a trace (the proof stopped before it,
    or a statement inside a DO block, traced as the block) keeps None.
    """
    models = list(predicted) if predicted is not None else list(report.statements)
    statements = []
    seen: set[int] = set()
    for statement in report.statements:
        # the first statement of a line is the one executed: a DO block's own statements come after it
        trace = traces.get(statement.line) if statement.line not in seen else None
        seen.add(statement.line)
        if trace is None:
            statements.append(statement)
            continue
        model, inner = _executed_with(models, statement)
        statements.append(
            replace(
                statement,
                traced_locks=trace.locks,
                traced_rewrites=tuple(sorted(trace.rewrites)),
                trace_contradictions=tuple(contradictions(model, trace, inner)),
            )
        )
    return replace(report, statements=tuple(statements), rollback=rollback)


def _executed_with(
    models: Sequence[StatementReport], statement: StatementReport
) -> tuple[StatementReport, list[StatementReport]]:
    """The prediction for an executed `statement` and those of the statements its text holds (a DO
    block's: reported after it, at lines within its text), which ran as part of it."""
    at = next((i for i, m in enumerate(models) if m.line == statement.line), None)
    if at is None:
        return statement, []
    model = models[at]
    last_line = model.line + model.sql.count("\n")
    inner = []
    for other in models[at + 1 :]:
        if other.line > last_line:
            break
        inner.append(other)
    return model, inner
