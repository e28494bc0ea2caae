"""SW509: serial columns instead of identity columns."""

from __future__ import annotations

from collections.abc import Iterator

from policies.report import Category, Severity
from policies.rules._helpers import NEW_COLUMN_KINDS, new_columns, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, spec in new_columns(unit):
        if spec.serial:
            yield Hit(
                statement,
                f'{quoted(op.relation)}."{spec.name}" is {spec.type}: an identity column (GENERATED ALWAYS AS '
                "IDENTITY) is the standard form, owns its sequence and guards against manual ids.",
            )


RULE = Rule(
    code="SW509",
    name="prefer-identity",
    category=Category.DESIGN,
    severity=Severity.INFO,
    summary="Use identity columns rather than serial.",
    rationale=(
        "serial is a shorthand that creates a separate sequence with loose ties to the column: "
        "permissions and ownership must be managed apart, copying the table shares the sequence, and "
        "explicit ids are accepted silently, leading to later collisions. GENERATED ALWAYS AS IDENTITY "
        "(SQL standard, PostgreSQL 10+) fixes all of these; in drizzle use .generatedAlwaysAsIdentity()."
    ),
    safer='CREATE TABLE "orders" ("id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);',
    bad='CREATE TABLE "orders" ("id" bigserial PRIMARY KEY);',
    good='CREATE TABLE "orders" ("id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);',
    check=check,
    needs=NEW_COLUMN_KINDS,
)
