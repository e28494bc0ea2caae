"""Small readers shared by rules: walking a unit's operations and wording locks for messages."""

from __future__ import annotations

from collections.abc import Iterator

from policies.locks import BLOCKS_READS, BLOCKS_WRITES, Effect
from policies.operations import ColumnSpec, Operation, OperationKind, quote_name
from policies.unit import AnalyzedStatement, MigrationUnit, relation_key

_ENDS_TRANSACTION = frozenset({"commit", "rollback", "prepare"})

NEW_COLUMN_KINDS = frozenset({OperationKind.CREATE_TABLE, OperationKind.ADD_COLUMN})
"""The operations that write column definitions (`new_columns`)."""


def operations(
    unit: MigrationUnit, *kinds: OperationKind
) -> Iterator[tuple[AnalyzedStatement, Operation, Effect]]:
    """Every operation of the given kinds (all when none given), in statement order."""
    if len(kinds) == 1:  # the common case: no merging, and most units have none of the kind
        for item in unit.by_kind.get(kinds[0], ()):
            yield item.statement, item.operation, item.effect
        return
    groups = [unit.by_kind[kind] for kind in kinds if kind in unit.by_kind] if kinds else list(unit.by_kind.values())
    if not groups:
        return
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
    for statement, op, _ in operations(unit, *NEW_COLUMN_KINDS):
        for spec in op.column_specs:
            yield statement, op, spec


def ends_transaction(statement: AnalyzedStatement) -> bool:
    """COMMIT, ROLLBACK (END, ABORT) or PREPARE TRANSACTION: the locks taken so far are released."""
    return any(
        op.kind is OperationKind.TRANSACTION and op.detail in _ENDS_TRANSACTION for op in statement.operations
    )


def validated_where_added(
    unit: MigrationUnit,
) -> Iterator[tuple[AnalyzedStatement, Operation, AnalyzedStatement, Operation]]:
    """VALIDATE CONSTRAINT of a constraint added NOT VALID earlier in the same transaction.

    Yields (validating statement, its operation, adding statement, its operation). drizzle-orm runs
    a migration in one transaction, so the pair shares one unless a COMMIT comes between them; the
    add's locks are then still held while the validation scans. The adding statement may be in an
    earlier migration of the same transaction (`MigrationUnit.earlier`); the validating one is this
    migration's own.
    """
    in_transaction = unit.context.transactional
    added: dict[tuple[str, str], tuple[AnalyzedStatement, Operation]] = {}
    for statement in unit.in_transaction():
        if ends_transaction(statement):
            added.clear()
            in_transaction = False
            continue
        for op in statement.operations:
            if op.kind is OperationKind.TRANSACTION and op.detail in ("begin", "start"):
                in_transaction = True
            elif op.kind in _VALIDATABLE and op.not_valid and op.name and op.relation:
                if not statement.is_new(op.relation):
                    added[(relation_key(op.relation), op.name)] = (statement, op)
            elif op.kind is OperationKind.VALIDATE_CONSTRAINT and op.name and op.relation:
                found = added.get((relation_key(op.relation), op.name))
                if found is not None and unit.owns(statement):
                    yield statement, op, found[0], found[1]
        if not in_transaction:
            added.clear()


_VALIDATABLE = frozenset({OperationKind.ADD_FOREIGN_KEY, OperationKind.ADD_CHECK})


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


def held_words(result: Effect, relation: str | None) -> str:
    """`ACCESS EXCLUSIVE on "users" (blocks reads and writes)`: the lock the model says the operation
    holds on the relation, for messages ("... while holding {held_words}"), so a correction of the
    lock model reaches every message."""
    return lock_words(result, relation).removeprefix("takes ").removeprefix("locks ")


def column_ref(op: Operation) -> str:
    column = op.columns[0] if op.columns else "?"
    return f'{quoted(op.relation)}."{column}"'


def quoted(name: str | None) -> str:
    """A name as SQL writes it, for messages and recipes: `public.users` -> `"public"."users"`."""
    return quote_name(name) if name else '"?"'

