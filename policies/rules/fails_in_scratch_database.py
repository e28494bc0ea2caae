"""SW611: a migration that PostgreSQL refused when it ran in a scratch database (`check --prove`)."""

from __future__ import annotations

from collections.abc import Iterator

from policies.context import ScratchFailure
from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    failure = unit.context.scratch_failures.get(unit.path)
    if failure is None or failure.in_rollback:
        return  # the migration applied; its rollback's failure is SW612's
    if failure.scratch_only:
        return  # a refusal that may be the scratch server's is said with the rollback, not as a finding
    statement = next((s for s in unit.statements if s.line == failure.line and not s.parsed.in_do_block), None)
    if statement is not None and statement.refusals:
        return  # SW609 already says why PostgreSQL refuses it, with the statement that works
    yield Hit(
        statement,
        f"PostgreSQL refused this migration when it ran in a scratch database on the schema the "
        f"migrations before it leave: {str(failure).rstrip('.')}. It will fail the same way in every environment; "
        "the statements before it in its transaction are rolled back.",
        line=failure.line,
        no_recipe="fix the statement for the schema it meets (the error above says what PostgreSQL needs)",
    )


RULE = Rule(
    code="SW611",
    name="fails-in-scratch-database",
    category=Category.PROCESS,
    severity=Severity.ERROR,
    summary="A migration must apply on the schema the migrations before it leave.",
    rationale=(
        "With `check --prove`, schemawarden builds the schema before each new migration in a "
        "throw-away scratch database (the migrations before it, replayed) and runs the migration "
        "there, statement by statement, as apply would. A statement PostgreSQL refuses there fails "
        "in every environment: a column or table that does not exist, a cast PostgreSQL will not "
        "make, a constraint the default values violate, a function the migration calls that nobody "
        "created. This finding carries PostgreSQL's own SQLSTATE, message, DETAIL and HINT, at the "
        "line of the statement. Where the static judgement already knew the refusal (SW609), only "
        "SW609 is reported. A refusal that may come from the scratch server rather than from the "
        "migration (a privilege the scratch role lacks; a schema such as Supabase's `auth` that no "
        "migration creates, which the environments provide) is no finding: the rollback says the "
        "migration could not be proven, and why."
    ),
    safer='ALTER TABLE "todo" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;',
    bad='ALTER TABLE "todo" ADD COLUMN "priority" integer NOT NULL;',
    good='ALTER TABLE "todo" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;',
    check=check,
    bad_context={
        "scratch_failures": {
            "migrations/0001_example.sql": ScratchFailure(
                1, 'column "priority" of relation "todo" contains null values', "23502"
            )
        }
    },
)
