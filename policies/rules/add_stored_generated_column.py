"""SW202: a STORED generated column added to an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import held_words, on_existing, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, result in on_existing(unit, OperationKind.ADD_COLUMN):
        if op.generated_stored:
            yield Hit(
                statement,
                f'Adding the stored generated column {quoted(op.relation)}."{op.columns[0]}" computes it for every '
                f"row, rewriting the table while holding {held_words(result, op.relation)}.",
            )


RULE = Rule(
    code="SW202",
    name="add-stored-generated-column",
    category=Category.REWRITE,
    severity=Severity.ERROR,
    summary="Do not add STORED generated columns to large existing tables.",
    rationale=(
        "A GENERATED ALWAYS AS (...) STORED column is computed and written for every existing row when "
        "it is added, which rewrites the whole table while ACCESS EXCLUSIVE is held. Prefer a plain "
        "column filled by a trigger and a batched backfill, or compute the value in a view or query."
    ),
    safer=(
        'ALTER TABLE "orders" ADD COLUMN "total_cents" bigint;\n'
        "-- a trigger keeps it current for new rows; backfill old rows in batches:\n"
        'UPDATE "orders" SET "total_cents" = ("total" * 100)::bigint WHERE "id" BETWEEN 1 AND 10000;'
    ),
    bad='ALTER TABLE "orders" ADD COLUMN "total_cents" bigint GENERATED ALWAYS AS (("total" * 100)::bigint) STORED;',
    good='ALTER TABLE "orders" ADD COLUMN "total_cents" bigint;',
    check=check,
    needs=frozenset({OperationKind.ADD_COLUMN}),
)
