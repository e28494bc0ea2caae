"""SW105: UNIQUE, PRIMARY KEY or EXCLUDE added to an existing table, building its index under lock."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import Operation, OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import held_words, on_existing, quoted
from policies.rules._recipes import unique_index_then_constraint
from policies.rules._rule import Hit, Rule
from policies.unit import AnalyzedStatement, MigrationUnit

K = OperationKind
_WORDS = {K.ADD_UNIQUE: "UNIQUE", K.ADD_PRIMARY_KEY: "PRIMARY KEY", K.ADD_EXCLUSION: "EXCLUDE"}


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, result in on_existing(unit, *_WORDS):
        if op.inline or op.using_index:
            continue
        columns = ", ".join(op.columns)
        advice = (
            "an exclusion constraint has no USING INDEX form: build it when the table is new or small"
            if op.kind is K.ADD_EXCLUSION
            else "build a unique index CONCURRENTLY first, then add the constraint USING INDEX"
        )
        yield Hit(
            statement,
            f"Adding {_WORDS[op.kind]} ({columns}) to {quoted(op.relation)} builds an index while holding "
            f"{held_words(result, op.relation)}; {advice}.",
            safer=None if _partitioned(statement, op) else unique_index_then_constraint(statement, op),
            no_recipe=(
                "PostgreSQL has no ADD CONSTRAINT ... USING INDEX and no CONCURRENTLY for a partitioned table: "
                "add the constraint while the table is small, or at a quiet time"
                if _partitioned(statement, op)
                else None
            ),
        )


def _partitioned(statement: AnalyzedStatement, op: Operation) -> bool:
    table = statement.schema.table(op.relation)
    return table is not None and table.partitioned


RULE = Rule(
    code="SW105",
    name="add-unique-building-index",
    category=Category.LOCK,
    severity=Severity.ERROR,
    summary="Add UNIQUE and PRIMARY KEY constraints USING INDEX built concurrently.",
    rationale=(
        "ALTER TABLE ... ADD UNIQUE / PRIMARY KEY / EXCLUDE builds the backing index inside the ALTER "
        "TABLE, which holds ACCESS EXCLUSIVE for the whole build: the table can be neither read nor "
        "written. Building a unique index with CREATE UNIQUE INDEX CONCURRENTLY first and then "
        "attaching it with ADD CONSTRAINT ... USING INDEX makes the locked part instant."
    ),
    safer=(
        'CREATE UNIQUE INDEX CONCURRENTLY "users_email_key" ON "users" ("email");\n'
        "-- next migration:\n"
        'ALTER TABLE "users" ADD CONSTRAINT "users_email_key" UNIQUE USING INDEX "users_email_key";'
    ),
    bad='ALTER TABLE "users" ADD CONSTRAINT "users_email_key" UNIQUE ("email");',
    good='ALTER TABLE "users" ADD CONSTRAINT "users_email_key" UNIQUE USING INDEX "users_email_key";',
    check=check,
    needs=frozenset(_WORDS),
)
