"""SW408: an identity or sequence (re)started below the values a table already holds."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import Operation, OperationKind, quote_identifier, quote_name
from policies.report import Category, Severity
from policies.rules._helpers import column_ref
from policies.rules._rule import Hit, Rule
from policies.schema.model import Schema, Table, relation_key
from policies.unit import AnalyzedStatement, MigrationUnit

K = OperationKind


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement in unit.statements:
        if statement.refusals:
            continue  # it never runs (SW609 says why)
        for op in statement.operations:
            found = _restart(statement, op)
            if found is None:
                continue
            table, column, start = found
            if _moved_later(unit, statement):
                continue
            unique = _is_unique(statement.schema, table, column)
            what = "a duplicate key error" if unique else "duplicates of values already stored"
            yield Hit(
                statement,
                f"{column_ref(op._replace(relation=table.name, columns=(column,)))} already holds values (the table "
                f"existed before this migration), and its new sequence starts at {start}: the next INSERT that "
                f"takes a generated value gets {start} again, {what}. Move the sequence past the highest "
                "value in the same migration.",
                severity=Severity.ERROR if unique else Severity.WARNING,
                safer=_setval(table.name, column),
            )


def _restart(statement: AnalyzedStatement, op: Operation) -> tuple[Table, str, int] | None:
    """(table, column, first value) when `op` makes an existing column's values come from a sequence
    that starts over: a new identity, a RESTART, or a default from a sequence created just now."""
    schema = statement.schema
    if op.kind is K.ADD_IDENTITY and op.relation and op.columns:
        if statement.is_new(op.relation):
            return None
        # A table the schema does not know (a lone file's) existed before: it is not created here.
        table = schema.table(op.relation) or Table(op.relation, complete=False)
        if table.column(op.columns[0]) is None and table.complete:
            return None
        if op.detail == "AddIdentity":
            return table, op.columns[0], _number(op.option("start"), 1)
        sequence = schema.sequence_of(table.name, op.columns[0])
        first = _first_value(op, sequence.start if sequence and sequence.start else 1)
        return (table, op.columns[0], first) if first is not None else None
    if op.kind in (K.ALTER_SEQUENCE, K.SELECT):
        name = op.relation if op.kind is K.ALTER_SEQUENCE else op.name if op.detail == "setval" else None
        sequence = schema.sequences.get(relation_key(name)) if name else None
        if sequence is None or sequence.owned_by is None or statement.is_new(sequence.owned_by[0]):
            return None
        first = _first_value(op, sequence.start or 1)
        owner = schema.table(sequence.owned_by[0])
        return (owner, sequence.owned_by[1], first) if owner is not None and first is not None else None
    return None


def _first_value(op: Operation, start: int) -> int | None:
    """The next value a RESTART or setval() gives, when it is at or below the sequence's start (a
    restart over the values taken); None for a larger or computed value (perhaps past them all)."""
    if op.kind is K.SELECT:
        if not op.value or not op.value.lstrip("-").isdigit():
            return None
        value = int(op.value)
    else:
        restart = op.option("restart")
        if restart is None:
            return None
        value = _number(restart, start) if restart else start
    return value if value <= start else None


def _number(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def _moved_later(unit: MigrationUnit, statement: AnalyzedStatement) -> bool:
    """A later statement of the migration moves a sequence (setval, RESTART WITH n)."""
    for later in unit.statements[statement.index + 1 :]:
        for op in later.operations:
            if op.kind is K.SELECT and op.detail == "setval" and not (op.value or "").lstrip("-").isdigit():
                return True  # setval(..., max(id) + 1): computed from the table
            restart = op.option("restart") if op.kind in (K.ALTER_SEQUENCE, K.ADD_IDENTITY) else None
            if restart and _number(restart, 1) > 1:
                return True  # RESTART WITH n, a value chosen past the rows
    return False


def _is_unique(schema: Schema, table: Table, column: str) -> bool:
    return any(key == (column,) for key in schema.unique_keys(table.name))


def _setval(relation: str, column: str) -> str:
    """setval() to one past the column's highest value (`false`: the next nextval() returns it)."""
    table = quote_name(relation)
    return (
        "-- after the statement, in the same migration:\n"
        f"SELECT setval(pg_get_serial_sequence('{table.replace(chr(39), chr(39) * 2)}', "
        f"'{column.replace(chr(39), chr(39) * 2)}'), coalesce(max({quote_identifier(column)}), 0) + 1, false) FROM {table};"
    )


RULE = Rule(
    code="SW408",
    name="sequence-below-existing-values",
    category=Category.COMPATIBILITY,
    severity=Severity.ERROR,
    summary="A column's new or restarted sequence must start past the values it already holds.",
    rationale=(
        "Turning an existing serial or plain integer key into an identity column (ADD GENERATED ... AS "
        "IDENTITY, what drizzle-kit writes for serial -> identity), or restarting its sequence (ALTER "
        "SEQUENCE ... RESTART, ALTER COLUMN ... RESTART), makes the next generated value the "
        "sequence's start, 1 unless said otherwise, while the table already holds rows with those "
        "values. The migration succeeds and the application's next INSERT fails with a duplicate key "
        "(or silently duplicates values in a column without a unique constraint). Move the sequence "
        "past the highest value in the same migration, with setval() or RESTART WITH."
    ),
    safer=(
        'ALTER TABLE "track" ALTER COLUMN "id" ADD GENERATED BY DEFAULT AS IDENTITY;\n'
        "SELECT setval(pg_get_serial_sequence('\"track\"', 'id'), coalesce(max(\"id\"), 0) + 1, false) FROM \"track\";"
    ),
    bad='ALTER TABLE "track" ALTER COLUMN "id" ADD GENERATED BY DEFAULT AS IDENTITY;',
    good=(
        'ALTER TABLE "track" ALTER COLUMN "id" ADD GENERATED BY DEFAULT AS IDENTITY;\n'
        "SELECT setval(pg_get_serial_sequence('\"track\"', 'id'), coalesce(max(\"id\"), 0) + 1, false) FROM \"track\";"
    ),
    check=check,
    needs=frozenset({K.ADD_IDENTITY, K.ALTER_SEQUENCE, K.SELECT}),
)
