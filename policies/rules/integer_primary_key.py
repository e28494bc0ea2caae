"""SW501: a new primary key of type integer/serial instead of bigint."""

from __future__ import annotations

from collections.abc import Iterator

from policies.expressions import display_type
from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import NEW_COLUMN_KINDS, new_columns, operations, quoted
from policies.rules._rule import Hit, Rule
from policies.type_changes import normalise
from policies.unit import AnalyzedStatement, MigrationUnit

_SMALL = {"int4", "int2", "serial4", "serial2"}


def check(unit: MigrationUnit) -> Iterator[Hit]:
    types: dict[tuple[str | None, str], str] = {}
    reported: set[tuple[str | None, str]] = set()
    for statement, op, spec in new_columns(unit):
        type_name = types[(op.relation, spec.name)] = normalise(spec.type)
        if spec.primary_key and type_name in _SMALL:
            reported.add((op.relation, spec.name))
            yield _hit(statement, op.relation, spec.name, spec.type)
    for statement, op, _ in operations(unit, OperationKind.ADD_PRIMARY_KEY):
        key = (op.relation, op.columns[0]) if len(op.columns) == 1 else None
        if key and key not in reported and types.get(key) in _SMALL:
            reported.add(key)
            yield _hit(statement, op.relation, key[1], types[key])


def _hit(statement: AnalyzedStatement, relation: str | None, column: str, type_name: str) -> Hit:
    return Hit(
        statement,
        f'Primary key {quoted(relation)}."{column}" is {display_type(type_name)}: 32-bit keys run out at 2,147,483,647 and '
        "widening them later rewrites the table and every referencing one; use bigint.",
    )


RULE = Rule(
    code="SW501",
    name="integer-primary-key",
    category=Category.DESIGN,
    severity=Severity.INFO,
    summary="Use bigint (or bigint identity) for primary keys.",
    rationale=(
        "integer and serial keys stop at about 2.1 billion. Tables that grow, or burn sequence values "
        "with failed inserts, reach that sooner than expected, and converting the key to bigint then "
        "means rewriting the table and every table whose foreign keys reference it, under ACCESS "
        "EXCLUSIVE. bigint costs four bytes more per row."
    ),
    safer='CREATE TABLE "orders" ("id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);',
    bad='CREATE TABLE "orders" ("id" serial PRIMARY KEY);',
    good='CREATE TABLE "orders" ("id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);',
    check=check,
    needs=NEW_COLUMN_KINDS | {OperationKind.ADD_PRIMARY_KEY},
)
