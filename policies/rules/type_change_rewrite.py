"""SW203: ALTER COLUMN ... TYPE that rewrites an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from policies.expressions import display_type
from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import column_ref, held_words, on_existing
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, result in on_existing(unit, OperationKind.ALTER_COLUMN_TYPE):
        new = display_type(op.column_type or "")
        held = held_words(result, op.relation)
        if not result.rewrites:
            if op.reindexed:
                yield Hit(
                    statement,
                    f"Changing {column_ref(op)} from {display_type(op.old_type or '')} to {new} rewrites no row, but "
                    "the column's indexes use another operator class for the new type, so PostgreSQL rebuilds "
                    f"them, reading the whole table while holding {held}.",
                    severity=Severity.WARNING,
                    no_recipe="on a large table: drop the index, change the type, then CREATE INDEX CONCURRENTLY",
                )
            elif result.scans:
                yield Hit(
                    statement,
                    f"Changing {column_ref(op)} to {new} rewrites nothing, but PostgreSQL verifies the CHECK "
                    f"constraints that read the column again, scanning every row while holding {held}; on a "
                    "large table, drop the constraint, change the type, and add it back NOT VALID, then VALIDATE it.",
                    severity=Severity.WARNING,
                )
            continue
        if op.old_type is None:
            yield Hit(
                statement,
                f"Changing {column_ref(op)} to {new} rewrites the table and its indexes while holding {held} "
                "unless the old type is binary-coercible to it (such as varchar(n) to a larger n or to text); "
                "the old type is not known here.",
                severity=Severity.WARNING,
            )
        else:
            using = " with a USING expression" if op.using else ""
            yield Hit(
                statement,
                f"Changing {column_ref(op)} from {display_type(op.old_type)} to {new}{using} rewrites the table "
                f"and rebuilds its indexes while holding {held}.",
            )


RULE = Rule(
    code="SW203",
    name="type-change-rewrite",
    category=Category.REWRITE,
    severity=Severity.ERROR,
    summary="Change column types only along binary-coercible paths.",
    rationale=(
        "ALTER COLUMN ... TYPE rewrites every row and rebuilds every index of the table while holding "
        "ACCESS EXCLUSIVE, unless the old type is binary-coercible to the new one: varchar(n) to "
        "varchar(m) with m >= n or to text, numeric(p,s) to numeric(q,s) with q >= p, varbit(n) to a "
        "larger n, cidr to inet. Anything else (int to bigint, text to jsonb, timestamp to timestamptz "
        "outside UTC) is a full rewrite: add a new column, dual-write, backfill, swap. Even a "
        "binary-coercible change scans every row when a validated CHECK constraint reads the column, "
        "since PostgreSQL verifies the constraint again (reported as a warning when the analysis saw the "
        "constraint added)."
    ),
    safer=(
        'ALTER TABLE "orders" ADD COLUMN "id_new" bigint;\n'
        "-- trigger copies id to id_new for new rows; backfill in batches; then swap in a later migration"
    ),
    bad='ALTER TABLE "orders" ALTER COLUMN "quantity" SET DATA TYPE bigint;',
    good=(
        'ALTER TABLE "orders" ADD COLUMN "note" varchar(100);\n'
        'ALTER TABLE "orders" ALTER COLUMN "note" SET DATA TYPE varchar(500);'
    ),
    check=check,
    needs=frozenset({OperationKind.ALTER_COLUMN_TYPE}),
)
