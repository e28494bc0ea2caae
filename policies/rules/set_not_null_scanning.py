"""SW106: SET NOT NULL on an existing column, scanning the table under ACCESS EXCLUSIVE."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import column_ref, held_words, on_existing
from policies.rules._recipes import check_then_set_not_null
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    yield from _primary_keys_setting_not_null(unit)
    for statement, op, result in on_existing(unit, OperationKind.SET_NOT_NULL):
        if not result.scans:
            continue
        if unit.pg_version >= 12:
            advice = (
                "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT "
                "NULL skips the scan (PostgreSQL 12+)"
            )
        else:
            advice = f"PostgreSQL {unit.pg_version} always scans: keep a validated CHECK (col IS NOT NULL) instead"
        yield Hit(
            statement,
            f"SET NOT NULL on {column_ref(op)} scans the whole table while holding "
            f"{held_words(result, op.relation)}; {advice}.",
            safer=check_then_set_not_null(op) if unit.pg_version >= 12 else None,
        )


def _primary_keys_setting_not_null(unit: MigrationUnit) -> Iterator[Hit]:
    """ADD PRIMARY KEY ... USING INDEX on columns the schema has nullable: PostgreSQL sets them
    NOT NULL first, which scans the table under the statement's lock (and fails on a NULL)."""
    for statement, op, result in on_existing(unit, OperationKind.ADD_PRIMARY_KEY):
        if not op.nullable_key_columns or not result.scans:
            continue
        columns = ", ".join(column_ref(op._replace(columns=(c,))) for c in op.nullable_key_columns)
        proofs = [check_then_set_not_null(op._replace(columns=(c,))) for c in op.nullable_key_columns]
        recipe = (
            "\n-- next migration:\n".join(p for p in proofs if p) + f"\n-- next migration:\n{statement.sql};"
            if unit.pg_version >= 12 and all(proofs)
            else None
        )
        yield Hit(
            statement,
            f"ADD PRIMARY KEY ... USING INDEX sets {columns} NOT NULL, and PostgreSQL proves it by scanning the "
            f"whole table while holding {held_words(result, op.relation)}; one NULL makes it fail. "
            "Prove NOT NULL first with a validated CHECK (col IS NOT NULL) and SET NOT NULL (PostgreSQL 12+).",
            safer=recipe,
        )


RULE = Rule(
    code="SW106",
    name="set-not-null-scanning",
    category=Category.LOCK,
    severity=Severity.WARNING,
    summary="Prove NOT NULL with a validated CHECK before SET NOT NULL.",
    rationale=(
        "ALTER COLUMN ... SET NOT NULL must prove no row holds NULL. It reads the whole table while "
        "holding ACCESS EXCLUSIVE, so nothing else can use the table meanwhile; so does ADD PRIMARY KEY "
        "... USING INDEX on a nullable column, which sets it NOT NULL. From PostgreSQL 12 the "
        "scan is skipped when a valid CHECK (col IS NOT NULL) constraint already proves it, and that "
        "CHECK can be added NOT VALID and validated without blocking."
    ),
    safer=(
        'ALTER TABLE "users" ADD CONSTRAINT "users_email_not_null" CHECK ("email" IS NOT NULL) NOT VALID;\n'
        "-- next migration:\n"
        'ALTER TABLE "users" VALIDATE CONSTRAINT "users_email_not_null";\n'
        "-- next migration:\n"
        'ALTER TABLE "users" ALTER COLUMN "email" SET NOT NULL;\n'
        'ALTER TABLE "users" DROP CONSTRAINT "users_email_not_null";'
    ),
    bad='ALTER TABLE "users" ALTER COLUMN "email" SET NOT NULL;',
    good=(
        'ALTER TABLE "users" ADD CONSTRAINT "users_email_not_null" CHECK ("email" IS NOT NULL) NOT VALID;\n'
        'ALTER TABLE "users" VALIDATE CONSTRAINT "users_email_not_null";\n'
        'ALTER TABLE "users" ALTER COLUMN "email" SET NOT NULL;'
    ),
    check=check,
    needs=frozenset({OperationKind.SET_NOT_NULL, OperationKind.ADD_PRIMARY_KEY}),
)
