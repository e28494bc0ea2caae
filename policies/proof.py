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
from policies.lock_trace import StatementTrace, contradictions
from policies.operations import OperationKind
from policies.parsing import in_execution_order, parse_migration
from policies.report import FileReport, Rollback, StatementReport
from policies.schema.model import Schema, relation_key

K = OperationKind
_ROW_CHANGES = {K.UPDATE: "UPDATE", K.DELETE: "DELETE", K.MERGE: "MERGE", K.TRUNCATE: "TRUNCATE"}


def rows_changed(text: str, before: Schema) -> tuple[str, ...]:
    """One sentence per statement of migration `text` that changes rows of a table that existed in
    `before` (the schema just before the migration), naming the table and the line."""
    added: set[tuple[str, str]] = set()
    found: list[str] = []
    for parsed in in_execution_order(parse_migration(text)):
        for op in classify(parsed):
            table = relation_key(op.relation) if op.relation else None
            if op.kind is K.ADD_COLUMN and table:
                added.update((table, column) for column in op.columns)
            if op.kind is K.CREATE_TABLE and table:
                added.add((table, "*"))
            word = _ROW_CHANGES.get(op.kind)
            if word is None or table is None or table not in before.tables or (table, "*") in added:
                continue
            if op.kind is K.UPDATE and op.columns and all((table, c) in added for c in op.columns):
                continue  # a backfill of columns this migration adds: nothing that existed changes
            found.append(
                f"{word} at line {parsed.line} changes rows of {table} that existed before: "
                "the rollback restores the structure, not the old values"
            )
    return tuple(found)


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
    by_line = {s.line: s for s in predicted} if predicted is not None else {}
    statements = []
    seen: set[int] = set()
    for statement in report.statements:
        # the first statement of a line is the one executed: a DO block's own statements come after it
        trace = traces.get(statement.line) if statement.line not in seen else None
        seen.add(statement.line)
        if trace is None:
            statements.append(statement)
            continue
        model = by_line.get(statement.line, statement)
        statements.append(
            replace(
                statement,
                traced_locks=trace.locks,
                traced_rewrites=tuple(sorted(trace.rewrites)),
                trace_contradictions=tuple(contradictions(model, trace)),
            )
        )
    return replace(report, statements=tuple(statements), rollback=rollback)
