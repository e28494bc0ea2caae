"""SW108: slow or other-table work after an ACCESS EXCLUSIVE lock in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator

from policies.locks import ACCESS_EXCLUSIVE
from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import ends_transaction, quoted, validated_where_added
from policies.rules._rule import Hit, Rule
from policies.unit import AnalyzedStatement, MigrationUnit, relation_key


def check(unit: MigrationUnit) -> Iterator[Hit]:
    if not unit.context.transactional:
        return
    held: dict[str, tuple[int, str]] = {}
    """relation -> (line, path) where ACCESS EXCLUSIVE on it was taken, in this transaction."""
    # SW112 names the precise fault of a VALIDATE in the transaction that added the constraint.
    validations = {id(validating) for validating, *_ in validated_where_added(unit)}
    for statement in unit.in_transaction():
        if ends_transaction(statement):
            held.clear()
            continue
        for op in statement.operations:
            if op.kind in _DROPS and op.relation:  # nobody can use a dropped table: its lock blocks no one
                held.pop(relation_key(op.relation), None)
        existing = _existing_locks(statement, held)
        if held and unit.owns(statement) and id(statement) not in validations:
            others = sorted({r for r, _ in existing if relation_key(r) not in held})
            slow = any(
                not statement.is_new(relation)
                for result in statement.effects
                for relation in (*result.scans, *result.rewrites)
            )
            if others or slow:
                first, (line, path) = next(iter(held.items()))
                where = f"line {line}" if path == unit.path else f"{path}, line {line}, in the same drizzle transaction"
                why = "reads or rewrites a whole table" if slow else f"locks {quoted(others[0])} too"
                yield Hit(
                    statement,
                    f'This statement {why} while ACCESS EXCLUSIVE on {quoted(first)} (taken at {where}) is '
                    "still held: the lock lasts until the transaction commits, so everything after it "
                    "extends the time the table is blocked; move it to a separate migration.",
                )
                return
        dropped = {relation_key(op.relation) for op in statement.operations if op.kind in _DROPS and op.relation}
        for relation, mode in existing:
            if mode == ACCESS_EXCLUSIVE and relation_key(relation) not in dropped:
                held.setdefault(relation_key(relation), (statement.line, statement.path))


_DROPS = frozenset({OperationKind.DROP_TABLE, OperationKind.DROP_VIEW, OperationKind.DROP_MATERIALIZED_VIEW})


def _existing_locks(statement: AnalyzedStatement, held: dict[str, tuple[int, str]]) -> list[tuple[str, str]]:
    """The statement's locks on relations that existed before this deploy, leaving out the sequences
    owned by a table whose lock is already held (a serial column's sequence goes with its table)."""
    found = []
    for result in statement.effects:
        for lock in result.locks:
            if statement.is_new(lock.relation):
                continue
            sequence = statement.schema.sequences.get(relation_key(lock.relation))
            if sequence is not None and sequence.owned_by is not None and sequence.owned_by[0] in held:
                continue
            found.append((lock.relation, lock.mode))
    return found


RULE = Rule(
    code="SW108",
    name="statements-after-access-exclusive",
    category=Category.LOCK,
    severity=Severity.WARNING,
    summary="Keep ACCESS EXCLUSIVE locks to the end of a migration; put slow work elsewhere.",
    rationale=(
        "Locks are held until the transaction ends, and drizzle-orm runs a migration (indeed all "
        "pending migrations: in a pull request, the rule looks across its new migrations when drizzle "
        "applies them) in one transaction. A quick ALTER TABLE that takes ACCESS EXCLUSIVE "
        "followed by an index build, a backfill or locks on other tables keeps the first table "
        "unreadable for the whole duration and invites deadlocks. Order statements so the blocking "
        "one comes last, or split the migration."
    ),
    safer=(
        "-- migration 1:\n"
        'CREATE INDEX CONCURRENTLY "orders_created_at_idx" ON "orders" ("created_at");\n'
        "-- migration 2:\n"
        'ALTER TABLE "orders" ADD COLUMN "note" text;'
    ),
    bad=(
        'ALTER TABLE "orders" ADD COLUMN "note" text;\n'
        'UPDATE "customers" SET "tier" = \'basic\' WHERE "tier" IS NULL;'
    ),
    good=(
        'UPDATE "customers" SET "tier" = \'basic\' WHERE "tier" IS NULL;\n'
        'ALTER TABLE "orders" ADD COLUMN "note" text;'
    ),
    check=check,
)
