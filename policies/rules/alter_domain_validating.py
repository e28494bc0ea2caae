"""SW113: ALTER DOMAIN adding a constraint that checks every column of the domain."""

from __future__ import annotations

from collections.abc import Iterator

from policies.locks import SHARE, unnamed_lock_mode
from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import blocking, operations, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in operations(unit, OperationKind.ALTER_DOMAIN):
        if unit.is_new_object(op.name):
            continue
        if op.detail == "add_constraint" and not op.not_valid:
            change = f'Adding constraint "{op.value}" to' if op.value else "Adding a constraint to"
        elif op.detail == "set_not_null":
            change = "SET NOT NULL on"
        else:
            continue
        mode = unnamed_lock_mode(op, unit.pg_version) or SHARE
        tables = ", ".join(quoted(t) for t in op.other_relations)
        which = f"each of those tables ({tables})" if tables else "each of those tables"
        yield Hit(
            statement,
            f"{change} domain {quoted(op.name)} checks every existing value of every column of that domain, "
            f"holding {mode} on {which} ({blocking(mode)}) while it scans them; put the "
            "constraint on the columns instead (NOT VALID, then VALIDATE), or add it to the domain NOT VALID.",
        )


RULE = Rule(
    code="SW113",
    name="alter-domain-validating",
    category=Category.LOCK,
    severity=Severity.WARNING,
    summary="A constraint added to a domain in use scans every table using it under a SHARE lock.",
    rationale=(
        "ALTER DOMAIN ... ADD CONSTRAINT (and SET NOT NULL) must prove that every value already stored in "
        "a column of the domain satisfies it. PostgreSQL finds every table with such a column, takes a "
        "SHARE lock on each (no inserts, updates or deletes) and scans them all, in one statement, for "
        "as long as the largest scan takes. The rule cannot know which tables use the domain, so it "
        "warns. A CHECK on the columns themselves can be added NOT VALID and validated under SHARE UPDATE "
        "EXCLUSIVE, which blocks no reads or writes. A domain constraint added NOT VALID checks new values "
        "at once; its VALIDATE still scans under SHARE locks, so run it at a quiet time. Creating a "
        "domain with a constraint is not flagged: no column uses a new domain yet."
    ),
    safer=(
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_amount_positive" CHECK ("amount" > 0) NOT VALID;\n'
        "-- next migration:\n"
        'ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_amount_positive";'
    ),
    bad='ALTER DOMAIN "positive_amount" ADD CONSTRAINT "positive_amount_check" CHECK (VALUE > 0);',
    good='ALTER DOMAIN "positive_amount" ADD CONSTRAINT "positive_amount_check" CHECK (VALUE > 0) NOT VALID;',
    check=check,
    needs=frozenset({OperationKind.ALTER_DOMAIN}),
)
