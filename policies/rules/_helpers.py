"""Small readers shared by rules: walking a unit's operations and wording locks for messages."""

from __future__ import annotations

from collections.abc import Iterator

from policies.locks import BLOCKS_READS, BLOCKS_WRITES, Effect
from policies.operations import ColumnSpec, Operation, OperationKind
from policies.unit import AnalyzedStatement, MigrationUnit


def operations(
    unit: MigrationUnit, *kinds: OperationKind
) -> Iterator[tuple[AnalyzedStatement, Operation, Effect]]:
    """Every operation of the given kinds (all when none given), in statement order."""
    groups = [unit.by_kind.get(kind, []) for kind in kinds] if kinds else list(unit.by_kind.values())
    located = groups[0] if len(groups) == 1 else sorted((x for g in groups for x in g), key=lambda x: x.order)
    for item in located:
        yield item.statement, item.operation, item.effect


def on_existing(
    unit: MigrationUnit, *kinds: OperationKind
) -> Iterator[tuple[AnalyzedStatement, Operation, Effect]]:
    """Operations on relations that existed before this migration (or pull request) began."""
    for statement, op, result in operations(unit, *kinds):
        if op.relation and not statement.is_new(op.relation):
            yield statement, op, result


def new_columns(unit: MigrationUnit) -> Iterator[tuple[AnalyzedStatement, Operation, ColumnSpec]]:
    """Column definitions the migration writes (CREATE TABLE and ADD COLUMN)."""
    for statement, op, _ in operations(unit, OperationKind.CREATE_TABLE, OperationKind.ADD_COLUMN):
        for spec in op.column_specs:
            yield statement, op, spec


def blocking(mode: str) -> str:
    """What a lock mode blocks, in the words a reviewer needs."""
    if mode in BLOCKS_READS:
        return "blocks reads and writes"
    if mode in BLOCKS_WRITES:
        return "blocks writes"
    return "blocks schema changes and maintenance"


def lock_words(result: Effect, relation: str | None) -> str:
    """`takes ACCESS EXCLUSIVE on "users" (blocks reads and writes)` for the relation's lock."""
    if relation is None:
        return "takes a lock"
    mode = result.mode_on(relation)
    if mode is None:
        return f"locks {quoted(relation)}"
    return f"takes {mode} on {quoted(relation)} ({blocking(mode)})"


def column_ref(op: Operation) -> str:
    column = op.columns[0] if op.columns else "?"
    return f'{quoted(op.relation)}."{column}"'


def quoted(name: str | None) -> str:
    """An identifier as SQL writes it: `public.users` -> `"public"."users"`."""
    if not name:
        return '"?"'
    return ".".join(f'"{part}"' for part in name.split("."))
