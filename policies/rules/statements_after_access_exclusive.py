"""SW108: slow or other-table work after an ACCESS EXCLUSIVE lock in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator

from policies.locks import ACCESS_EXCLUSIVE
from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import ends_transaction, quoted, validated_where_added
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit, relation_key


def check(unit: MigrationUnit) -> Iterator[Hit]:
    if not unit.context.transactional:
        return
    held: dict[str, int] = {}
    # SW112 names the precise fault of a VALIDATE in the transaction that added the constraint.
    validations = (
        {validating.index for validating, *_ in validated_where_added(unit)}
        if OperationKind.VALIDATE_CONSTRAINT in unit.by_kind
        else set()
    )
    has_transaction_control = OperationKind.TRANSACTION in unit.by_kind
    for statement in unit.statements:
        if has_transaction_control and ends_transaction(statement):
            held.clear()
            continue
        existing = [
            (lock.relation, lock.mode)
            for result in statement.effects
            for lock in result.locks
            if not statement.is_new(lock.relation)
        ]
        if held and statement.index not in validations:
            others = sorted({r for r, _ in existing if relation_key(r) not in held})
            slow = any(result.scans or result.rewrites for result in statement.effects)
            if others or slow:
                first, line = next(iter(held.items()))
                why = "reads or rewrites a whole table" if slow else f"locks {quoted(others[0])} too"
                yield Hit(
                    statement,
                    f'This statement {why} while ACCESS EXCLUSIVE on {quoted(first)} (taken at line {line}) is '
                    "still held: the lock lasts until the migration commits, so everything after it "
                    "extends the time the table is blocked; move it to a separate migration.",
                )
                return
        for relation, mode in existing:
            if mode == ACCESS_EXCLUSIVE:
                held.setdefault(relation_key(relation), statement.line)


RULE = Rule(
    code="SW108",
    name="statements-after-access-exclusive",
    category=Category.LOCK,
    severity=Severity.WARNING,
    summary="Keep ACCESS EXCLUSIVE locks to the end of a migration; put slow work elsewhere.",
    rationale=(
        "Locks are held until the transaction ends, and drizzle-orm runs a migration (indeed all "
        "pending migrations) in one transaction. A quick ALTER TABLE that takes ACCESS EXCLUSIVE "
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
