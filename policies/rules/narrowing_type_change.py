"""SW307: a type change that can lose or reject data (shorter, smaller, less precise)."""

from __future__ import annotations

from collections.abc import Iterator

from policies.expressions import display_type
from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import column_ref, operations
from policies.rules._rule import Hit, Rule
from policies.type_changes import is_narrowing
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in operations(unit, OperationKind.ALTER_COLUMN_TYPE):
        if op.column_type and is_narrowing(op.old_type, op.column_type):
            yield Hit(
                statement,
                f"Changing {column_ref(op)} from {display_type(op.old_type or '')} to {display_type(op.column_type)} narrows it: values that "
                "do not fit make the migration fail, or are rounded or cut.",
            )


RULE = Rule(
    code="SW307",
    name="narrowing-type-change",
    category=Category.DATA_LOSS,
    severity=Severity.WARNING,
    summary="Narrowing a column type can fail or lose precision.",
    rationale=(
        "Shrinking a varchar limit, converting text to varchar(n), reducing numeric precision or scale "
        "or going from bigint to integer either fails on the first value that does not fit (after "
        "rewriting part of the table under ACCESS EXCLUSIVE) or silently rounds. Check the data first "
        "and enforce the new limit with a NOT VALID CHECK constraint instead."
    ),
    safer=(
        'ALTER TABLE "users" ADD CONSTRAINT "users_name_length" CHECK (char_length("name") <= 50) NOT VALID;\n'
        'ALTER TABLE "users" VALIDATE CONSTRAINT "users_name_length";'
    ),
    bad='ALTER TABLE "users" ADD COLUMN "name" varchar(200);\nALTER TABLE "users" ALTER COLUMN "name" TYPE varchar(50);',
    good='ALTER TABLE "users" ADD COLUMN "name" varchar(50);\nALTER TABLE "users" ALTER COLUMN "name" TYPE varchar(200);',
    check=check,
    needs=frozenset({OperationKind.ALTER_COLUMN_TYPE}),
)
