"""SW603: an enum value added and used in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit

K = OperationKind


def check(unit: MigrationUnit) -> Iterator[Hit]:
    if not unit.context.transactional or unit.pg_version < 12 or not unit.context.drizzle_applies:
        return  # before 12, SW605 reports the ADD VALUE itself; schemawarden's apply commits it first
    added: dict[str, tuple[str, int | str]] = {}
    for statement in unit.in_transaction():
        if any(op.kind is K.TRANSACTION and op.detail == "commit" for op in statement.operations):
            added.clear()
            continue
        if any(op.kind in (K.ADD_ENUM_VALUE, K.CREATE_ENUM) for op in statement.operations):
            for op in statement.operations:
                if op.kind is K.ADD_ENUM_VALUE and op.value and not unit.is_new_object(op.name):
                    where = statement.line if unit.owns(statement) else f"{statement.line} of {statement.path}"
                    added[op.value] = (op.name or "", where)
            continue
        if not unit.owns(statement):
            continue
        for value, (enum, line) in added.items():
            if f"'{value}'" in statement.sql:
                yield Hit(
                    statement,
                    f"'{value}' was added to enum \"{enum}\" at line {line} in this same transaction; "
                    "PostgreSQL refuses to use a new enum value before it is committed (unsafe use of new "
                    "value). Move this statement to a later migration.",
                )
                break


RULE = Rule(
    code="SW603",
    name="new-enum-value-used-in-transaction",
    category=Category.PROCESS,
    severity=Severity.ERROR,
    summary="Use a new enum value only after the migration that adds it has committed.",
    rationale=(
        "From PostgreSQL 12, ALTER TYPE ... ADD VALUE may run inside a transaction block, but the new "
        "value cannot be used (stored, compared, made a default) until that transaction commits, "
        "unless the enum itself was created in the same transaction. drizzle-orm runs a migration, "
        "and all pending ones, in a single transaction, so using the value in the same migration "
        "fails with 'unsafe use of new value'."
    ),
    safer=(
        "-- migration 1:\nALTER TYPE \"order_status\" ADD VALUE 'refunded';\n"
        "-- migration 2:\nUPDATE \"orders\" SET \"status\" = 'refunded' WHERE \"refunded_at\" IS NOT NULL;"
    ),
    bad=(
        "ALTER TYPE \"order_status\" ADD VALUE 'refunded';\n"
        "UPDATE \"orders\" SET \"status\" = 'refunded' WHERE \"refunded_at\" IS NOT NULL;"
    ),
    good="ALTER TYPE \"order_status\" ADD VALUE 'refunded';",
    check=check,
    needs=frozenset({K.ADD_ENUM_VALUE}),
)
