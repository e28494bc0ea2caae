"""SW103: a foreign key added to an existing table without NOT VALID."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import held_words, lock_words, quoted
from policies.rules._recipes import not_valid_then_validate
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement in unit.statements:
        for op, result in zip(statement.operations, statement.effects, strict=True):
            if op.kind is not OperationKind.ADD_FOREIGN_KEY or op.inline or op.not_valid:
                continue
            if statement.is_new(op.relation):
                continue
            columns = ", ".join(op.columns)
            table = statement.schema.table(op.relation)
            refused = table is not None and table.partitioned and unit.pg_version < 18
            yield Hit(
                statement,
                f"Adding foreign key ({columns}) to {quoted(op.relation)} {lock_words(result, op.relation)} and "
                f"{held_words(result, op.referenced_relation)} while it checks every existing row; add it NOT "
                "VALID, then VALIDATE CONSTRAINT in a later migration.",
                safer=None if refused else not_valid_then_validate(statement, op),
                no_recipe=(
                    f"PostgreSQL {unit.pg_version} refuses NOT VALID foreign keys on a partitioned table (18 "
                    "accepts them): add it to each partition NOT VALID and validate it there, or add it at a quiet time"
                    if refused
                    else None
                ),
            )


RULE = Rule(
    code="SW103",
    name="add-foreign-key-validating",
    category=Category.LOCK,
    severity=Severity.ERROR,
    summary="Add foreign keys to existing tables as NOT VALID, validate separately.",
    rationale=(
        "ALTER TABLE ... ADD FOREIGN KEY locks both the table and the referenced table in SHARE ROW "
        "EXCLUSIVE mode and, in the same statement, scans the whole table to check every row. Writes "
        "to both tables wait for the scan. With NOT VALID the constraint is only recorded (it is "
        "enforced for new rows at once) and VALIDATE CONSTRAINT later checks old rows under SHARE "
        "UPDATE EXCLUSIVE, which lets reads and writes continue."
    ),
    safer=(
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_customer_id_fk" FOREIGN KEY ("customer_id")\n'
        '  REFERENCES "customers" ("id") NOT VALID;\n'
        "-- next migration:\n"
        'ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_customer_id_fk";'
    ),
    bad=(
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_customer_id_fk" FOREIGN KEY ("customer_id") '
        'REFERENCES "customers" ("id");'
    ),
    good=(
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_customer_id_fk" FOREIGN KEY ("customer_id") '
        'REFERENCES "customers" ("id") NOT VALID;'
    ),
    check=check,
    needs=frozenset({OperationKind.ADD_FOREIGN_KEY}),
)
