"""SW609: a statement PostgreSQL refuses for the schema it meets: the deploy fails there."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._recipes import partitioned_index
from policies.rules._rule import Hit, Rule
from policies.schema.refusals import Refusal
from policies.unit import AnalyzedStatement, MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement in unit.statements:
        for refusal in statement.refusals:
            hint = f" HINT: {refusal.hint}" if refusal.hint else ""
            fix = refusal.fix or _partitioned_index(statement, refusal)
            yield Hit(
                statement,
                f"PostgreSQL refuses this statement for the schema the earlier migrations leave: ERROR "
                f"{refusal.sqlstate}: {refusal.message}.{hint} The migration can never apply; "
                "everything before it in its transaction is rolled back.",
                safer=fix,
                no_recipe=None if fix else "rewrite the statement for the schema at hand",
            )


def _partitioned_index(statement: AnalyzedStatement, refusal: Refusal) -> str | None:
    """CREATE INDEX CONCURRENTLY on a partitioned table: the ON ONLY / per partition / ATTACH path."""
    if refusal.sqlstate != "0A000":
        return None
    for op in statement.operations:
        table = statement.schema.table(op.relation)
        if op.kind is OperationKind.CREATE_INDEX and op.concurrently and table is not None and table.partitioned:
            return partitioned_index(statement, op, statement.schema.partitions(op.relation))
    return None


RULE = Rule(
    code="SW609",
    name="fails-against-schema",
    category=Category.PROCESS,
    severity=Severity.ERROR,
    summary="A statement must be one PostgreSQL accepts for the schema it runs on.",
    rationale=(
        "schemawarden replays the migrations before each one (the folder in journal order, or the "
        "base branch's whole set in a pull request) and judges each statement against the schema it "
        "will meet. Some statements cannot succeed there: a type change with no cast from the old "
        "type (drizzle-kit writes SET DATA TYPE without USING, so text to an enum always fails with "
        "42804), a type change of an identity column to a type that is not an integer, an identity "
        "whose sequence name is taken (a serial column's sequence), CREATE INDEX CONCURRENTLY on a "
        "partitioned table, a foreign key to columns with no unique constraint or of an incompatible "
        "type, a second primary key, a column or constraint that already exists, dropping a type, "
        "table or sequence that others depend on. Each is reported with PostgreSQL's SQLSTATE and "
        "message, and the statement that works where there is one. An object's absence is only "
        "concluded when every earlier statement was read."
    ),
    safer='ALTER TABLE "account" ALTER COLUMN "role" SET DATA TYPE "account_role" USING "role"::"account_role";',
    bad=(
        'CREATE TABLE "account" ("id" bigint PRIMARY KEY, "role" text NOT NULL);\n'
        "CREATE TYPE \"account_role\" AS ENUM ('admin', 'member');\n"
        'ALTER TABLE "account" ALTER COLUMN "role" SET DATA TYPE "account_role";'
    ),
    good=(
        'CREATE TABLE "account" ("id" bigint PRIMARY KEY, "role" text NOT NULL);\n'
        "CREATE TYPE \"account_role\" AS ENUM ('admin', 'member');\n"
        'ALTER TABLE "account" ALTER COLUMN "role" SET DATA TYPE "account_role" USING "role"::"account_role";'
    ),
    check=check,
)
