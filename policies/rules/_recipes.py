"""The safer way written for the statement at hand, with the migration's own names.

A rule's `safer` is a worked example on made-up tables. Where the fix is mechanical (add
CONCURRENTLY, add NOT VALID and validate later, prove NOT NULL with a CHECK first), the hit
carries the same recipe for the statement it objects to, ready to paste into a migration. A
recipe is written only when it says exactly what the statement said: a statement of several
operations, an unnamed constraint that must be named later, or options the recipe would drop
(INCLUDE, NULLS NOT DISTINCT, DEFERRABLE, ...) keep the rule's example instead.
"""

from __future__ import annotations

import re

from pglast.parser import ParseError, scan

from policies.operations import Operation, OperationKind, quote_identifier
from policies.rules._helpers import quoted
from policies.schema.names import object_name
from policies.unit import AnalyzedStatement

OWN_MIGRATION = "-- in a migration of its own, outside a transaction block:"
NEXT_MIGRATION = "-- next migration:"
LOCK_TIMEOUT = "5s"

_CREATE_INDEX = re.compile(r"CREATE\s+(?:UNIQUE\s+)?INDEX\b", re.IGNORECASE)
_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
# Constraint options a CREATE UNIQUE INDEX ... / ADD ... USING INDEX pair would not carry over, and
# ONLY (a partitioned table cannot build an index CONCURRENTLY).
_UNREPRODUCED = frozenset({"INCLUDE", "NULLS_P", "WITH", "DEFERRABLE", "INITIALLY", "TABLESPACE", "USING", "ONLY"})


def create_index_concurrently(statement: AnalyzedStatement) -> str | None:
    """CREATE INDEX as written, with CONCURRENTLY after INDEX (not ON ONLY a partitioned table)."""
    if len(statement.operations) != 1 or not statement.parsed.node.get("relation", {}).get("inh"):
        return None  # several operations, or ON ONLY (the parse tree leaves `inh` out)
    sql = _without_trailing_comment(statement.sql)
    found = _CREATE_INDEX.match(sql)
    # With a comment between the keywords, the scanner finds INDEX.
    after = found.end() if found else next((end + 1 for _, end, name in _tokens(sql) if name == "INDEX"), 0)
    if not after:
        return None
    return f"{OWN_MIGRATION}\n{sql[:after]} CONCURRENTLY{sql[after:]};"


def partitioned_index(statement: AnalyzedStatement, op: Operation, partitions: tuple[str, ...]) -> str | None:
    """CREATE INDEX on a partitioned table without blocking its writes: PostgreSQL refuses
    CONCURRENTLY on the parent (0A000), so the index is made ON ONLY the parent (no rows read; it
    stays invalid), built CONCURRENTLY on each partition, and each is attached; the parent's index
    is valid once every partition's is attached (ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE).

    None when the index has expressions, a WHERE clause or options the recipe would not carry over.
    """
    if len(statement.operations) != 1 or not op.relation or not op.columns or "(expression)" in op.columns:
        return None
    if op.has_where or any(t[2] in _UNREPRODUCED - {"USING", "ONLY"} for t in _tokens(statement.sql)):
        return None
    table = _table_name(op.relation)
    name = op.name or object_name(table, op.columns, "idx")
    unique = "UNIQUE " if op.unique else ""
    method = f" USING {op.detail}" if op.detail and op.detail != "btree" else ""
    columns = ", ".join(quote_identifier(c) for c in op.columns)
    lines = [f"CREATE {unique}INDEX {quote_identifier(name)} ON ONLY {quoted(op.relation)}{method} ({columns});"]
    targets = list(partitions) or ["<each partition>"]
    built = []
    for partition in targets:
        own = object_name(_table_name(partition), op.columns, "idx") if partitions else "<partition>_idx"
        built.append(own)
        shown = quoted(partition) if partitions else partition
        lines += [OWN_MIGRATION, f"CREATE {unique}INDEX CONCURRENTLY {quote_identifier(own)} ON {shown}{method} ({columns});"]
    lines.append(NEXT_MIGRATION)
    lines += [f"ALTER INDEX {quote_identifier(name)} ATTACH PARTITION {quote_identifier(own)};" for own in built]
    return "\n".join(lines)


def drop_index_concurrently(op: Operation) -> str | None:
    """DROP INDEX CONCURRENTLY of one index (it takes one at a time, and refuses CASCADE)."""
    if not op.name or op.cascade:
        return None
    if_exists = "IF EXISTS " if op.if_exists else ""
    return f"{OWN_MIGRATION}\nDROP INDEX CONCURRENTLY {if_exists}{quoted(op.name)};"


def not_valid_then_validate(statement: AnalyzedStatement, op: Operation) -> str | None:
    """ADD CONSTRAINT as written plus NOT VALID, then VALIDATE CONSTRAINT in the next migration."""
    if len(statement.operations) != 1 or not op.name or not op.relation:
        return None
    return (
        f"{_without_trailing_comment(statement.sql)} NOT VALID;\n{NEXT_MIGRATION}\n"
        f"ALTER TABLE {quoted(op.relation)} VALIDATE CONSTRAINT {quote_identifier(op.name)};"
    )


def check_then_set_not_null(op: Operation) -> str | None:
    """SET NOT NULL after a CHECK (col IS NOT NULL) added NOT VALID and validated (PostgreSQL 12+)."""
    if not op.relation or not op.columns:
        return None
    table, column = quoted(op.relation), quote_identifier(op.columns[0])
    # Not `<table>_<column>_not_null`: PostgreSQL 18 gives that name to the NOT NULL constraint itself.
    check = quote_identifier(object_name(_table_name(op.relation), op.columns[:1], "not_null_check"))
    return (
        f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID;\n"
        f"{NEXT_MIGRATION}\n"
        f"ALTER TABLE {table} VALIDATE CONSTRAINT {check};\n"
        f"{NEXT_MIGRATION}\n"
        f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL;\n"
        f"ALTER TABLE {table} DROP CONSTRAINT {check};"
    )


def unique_index_then_constraint(statement: AnalyzedStatement, op: Operation) -> str | None:
    """A UNIQUE or PRIMARY KEY constraint as a unique index built CONCURRENTLY, then USING INDEX."""
    if len(statement.operations) != 1 or not op.relation or not op.columns:
        return None
    if op.kind not in (OperationKind.ADD_UNIQUE, OperationKind.ADD_PRIMARY_KEY):
        return None
    if any(t[2] in _UNREPRODUCED for t in _tokens(statement.sql)):
        return None
    primary = op.kind is OperationKind.ADD_PRIMARY_KEY
    table = _table_name(op.relation)
    name = op.name or (object_name(table, (), "pkey") if primary else object_name(table, op.columns, "key"))
    columns = ", ".join(quote_identifier(c) for c in op.columns)
    lines = [
        OWN_MIGRATION,
        f"CREATE UNIQUE INDEX CONCURRENTLY {quote_identifier(name)} ON {quoted(op.relation)} ({columns});",
        NEXT_MIGRATION,
    ]
    if primary:
        lines.append("-- the key's columns must already be NOT NULL (see SW106), or this scans the table")
    kind = "PRIMARY KEY" if primary else "UNIQUE"
    lines.append(
        f"ALTER TABLE {quoted(op.relation)} ADD CONSTRAINT {quote_identifier(name)} {kind} USING INDEX {quote_identifier(name)};"
    )
    return "\n".join(lines)


def index_on(relation: str, columns: tuple[str, ...], existing: bool) -> str:
    """An index on `columns`, named as PostgreSQL would name it; CONCURRENTLY on an existing table."""
    name = quote_identifier(object_name(_table_name(relation), columns, "idx"))
    listed = ", ".join(quote_identifier(c) for c in columns)
    if existing:
        return f"{OWN_MIGRATION}\nCREATE INDEX CONCURRENTLY {name} ON {quoted(relation)} ({listed});"
    return f"CREATE INDEX {name} ON {quoted(relation)} ({listed});"


def lock_timeout_first(statement: AnalyzedStatement) -> str | None:
    """The statement after a `SET lock_timeout` (a statement inside a DO block keeps the example)."""
    if statement.parsed.in_do_block:
        return None
    return f"SET lock_timeout = '{LOCK_TIMEOUT}';\n{_without_trailing_comment(statement.sql)};"


def _table_name(relation: str) -> str:
    return relation.rsplit(".", 1)[-1]


def _without_trailing_comment(sql: str) -> str:
    """The statement up to its last token: a `;` added after a trailing `--` comment would be lost.

    Scanning a statement costs more than judging it, so only one that may hold a comment is scanned.
    """
    if "--" not in sql and "/*" not in sql:
        return sql
    tokens = _tokens(sql)
    return sql[: tokens[-1][1] + 1] if tokens else sql


def _tokens(sql: str) -> list[tuple[int, int, str]]:
    """(start, end inclusive, token name) of every token that is not a comment; [] if unscannable."""
    try:
        return [(t.start, t.end, t.name) for t in scan(sql) if t.name not in _COMMENTS]
    except ParseError:
        return []
