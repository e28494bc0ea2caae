"""SW201: ADD COLUMN whose volatile default rewrites an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from policies.expressions import Volatility
from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import held_words, on_existing, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, result in on_existing(unit, OperationKind.ADD_COLUMN):
        if not result.rewrites or op.generated_stored:
            continue
        column = f'{quoted(op.relation)}."{op.columns[0]}"'
        if op.default_volatility is Volatility.UNKNOWN:
            why = f"its default {op.default} calls a function schemawarden cannot prove non-volatile"
        else:
            why = f"its default {op.default} is volatile, so every existing row gets its own value"
        yield Hit(
            statement,
            f"Adding {column} rewrites the whole table while holding {held_words(result, op.relation)}: "
            f"{why}. Add the column without the default, set the default, backfill in batches.",
            severity=Severity.WARNING if op.default_volatility is Volatility.UNKNOWN else None,
        )


RULE = Rule(
    code="SW201",
    name="add-column-rewriting-default",
    category=Category.REWRITE,
    severity=Severity.ERROR,
    summary="Do not add columns whose default rewrites the table.",
    rationale=(
        "Since PostgreSQL 11, ADD COLUMN with a non-volatile default (a constant, now(), "
        "CURRENT_TIMESTAMP) only records the default in the catalog. A volatile default "
        "(gen_random_uuid(), random(), clock_timestamp(), a serial's nextval()) must be computed per "
        "row, so PostgreSQL rewrites the whole table and its indexes while holding ACCESS EXCLUSIVE; "
        "before version 11 every default did this. On a large table that is an outage."
    ),
    safer=(
        'ALTER TABLE "orders" ADD COLUMN "public_id" uuid;\n'
        'ALTER TABLE "orders" ALTER COLUMN "public_id" SET DEFAULT gen_random_uuid();\n'
        "-- backfill in batches, outside the migration:\n"
        'UPDATE "orders" SET "public_id" = gen_random_uuid() WHERE "id" BETWEEN 1 AND 10000 AND "public_id" IS NULL;'
    ),
    bad='ALTER TABLE "orders" ADD COLUMN "public_id" uuid DEFAULT gen_random_uuid();',
    good='ALTER TABLE "orders" ADD COLUMN "created_at" timestamptz DEFAULT now();',
    check=check,
    needs=frozenset({OperationKind.ADD_COLUMN}),
)
