"""SW601: a statement PostgreSQL's grammar rejects."""

from __future__ import annotations

from collections.abc import Iterator

from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement in unit.statements:
        if statement.parsed.error is not None:
            where = " (inside a DO block)" if statement.parsed.in_do_block else ""
            yield Hit(
                statement,
                f"PostgreSQL cannot parse this statement{where}: {statement.parsed.error}. The migration "
                "will fail here; nothing after it can be judged.",
            )


RULE = Rule(
    code="SW601",
    name="unparseable-statement",
    category=Category.PROCESS,
    severity=Severity.ERROR,
    summary="Every statement must parse as PostgreSQL.",
    rationale=(
        "schemawarden parses with PostgreSQL's own grammar (libpg_query). A statement it rejects is "
        "rejected by the server too, so the migration fails at that point, after the statements "
        "before it ran (or, in a transaction, after they are rolled back). Usually a missing "
        "semicolon or statement-breakpoint, or syntax from another database."
    ),
    safer="-- fix the syntax; end each statement with ; and, in drizzle files, keep --> statement-breakpoint lines",
    bad='ALTER TABLE "users" ADD COLUMN "tags" int array[];',
    good='ALTER TABLE "users" ADD COLUMN "tags" int[];',
    check=check,
)
