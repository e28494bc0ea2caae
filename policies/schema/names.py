"""Names PostgreSQL chooses for what a statement leaves unnamed (indexes, constraints, sequences).

PostgreSQL builds them as `<table>_<columns>_<suffix>` and shortens the longest part until the
whole fits NAMEDATALEN - 1 = 63 bytes (`ChooseRelationName`, src/backend/commands/indexcmds.c).
"""

from __future__ import annotations

NAME_LIMIT = 63
"""Bytes in an identifier: PostgreSQL's NAMEDATALEN - 1."""


def object_name(table: str, columns: tuple[str, ...], suffix: str) -> str:
    """`<table>_<columns>_<suffix>` as PostgreSQL names an index, constraint or sequence, within 63
    bytes; like PostgreSQL, the longer of the table part and the column part is shortened first."""
    parts = [table, "_".join(columns)] if columns else [table]
    budget = NAME_LIMIT - len(suffix.encode()) - len(parts)  # the underscores between the parts
    while sum(len(p.encode()) for p in parts) > budget:
        longest = max(range(len(parts)), key=lambda i: len(parts[i].encode()))
        parts[longest] = parts[longest][:-1]
    return "_".join([*parts, suffix])


def not_null_name(table: str, column: str) -> str:
    """The name PostgreSQL 18 gives the NOT NULL constraint of `column` of `table` (a model key:
    `auth.users`): `<table>_<column>_not_null` (`ChooseConstraintName`, src/backend/catalog/heap.c).
    Renaming the table or the column keeps the old name."""
    _, dot, name = table.partition(".")
    return object_name(name if dot else table, (column,), "not_null")


def bare_name(relation: str) -> str:
    """The relation's own name without its schema: `auth.users` -> `users`."""
    return relation.rsplit(".", 1)[-1]


def in_schema_of(relation: str, name: str) -> str:
    """`name` in the schema of `relation` (an index or sequence lives beside its table)."""
    schema = relation.rpartition(".")[0]
    return f"{schema}.{name}" if schema else name
