"""SW104: a CHECK constraint added to an existing table without NOT VALID."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import lock_words, on_existing, quoted
from policies.rules._recipes import not_valid_then_validate
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, result in on_existing(unit, OperationKind.ADD_CHECK):
        if not op.inline and not op.not_valid:
            name = f' "{op.name}"' if op.name else ""
            yield Hit(
                statement,
                f"Adding CHECK constraint{name} to {quoted(op.relation)} {lock_words(result, op.relation)} "
                "while it scans every row; add it NOT VALID and VALIDATE it separately.",
                safer=not_valid_then_validate(statement, op),
            )


RULE = Rule(
    code="SW104",
    name="add-check-validating",
    category=Category.LOCK,
    severity=Severity.ERROR,
    summary="Add CHECK constraints to existing tables as NOT VALID, validate separately.",
    rationale=(
        "ALTER TABLE ... ADD CHECK holds an ACCESS EXCLUSIVE lock while it reads the whole table to "
        "prove every row satisfies the condition: nothing can read or write the table meanwhile. "
        "Adding the constraint NOT VALID is instant (new rows are checked at once); VALIDATE "
        "CONSTRAINT then scans under SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes."
    ),
    safer=(
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_total_positive" CHECK ("total" >= 0) NOT VALID;\n'
        "-- next migration:\n"
        'ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_total_positive";'
    ),
    bad='ALTER TABLE "orders" ADD CONSTRAINT "orders_total_positive" CHECK ("total" >= 0);',
    good='ALTER TABLE "orders" ADD CONSTRAINT "orders_total_positive" CHECK ("total" >= 0) NOT VALID;',
    check=check,
    needs=frozenset({OperationKind.ADD_CHECK}),
)
