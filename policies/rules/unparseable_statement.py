"""SW601: a statement PostgreSQL's grammar rejects (or one too deeply nested to analyse)."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.parsing import TOO_DEEP
from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement in unit.statements:
        where = " (inside a DO block)" if statement.parsed.in_do_block else ""
        if statement.parsed.error is not None:
            yield Hit(
                statement,
                f"PostgreSQL cannot parse this statement{where}: {statement.parsed.error}. The migration "
                "will fail here; nothing after it can be judged.",
            )
        elif any(op.kind is OperationKind.UNKNOWN and op.detail == TOO_DEEP for op in statement.operations):
            yield Hit(
                statement,
                f"schemawarden cannot analyse this statement{where}: it parses, but its expressions nest "
                "deeper (hundreds of levels) than schemawarden reads, so its locks and risks were not "
                "judged. Review it by hand, or build the value in smaller steps.",
                severity=Severity.WARNING,
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
        "semicolon or statement-breakpoint, or syntax from another database. A statement that parses "
        "but nests expressions hundreds of levels deep (a generated concatenation, say) is beyond what "
        "schemawarden reads: it is reported as a warning, since it was not judged."
    ),
    safer="-- fix the syntax; end each statement with ; and, in drizzle files, keep --> statement-breakpoint lines",
    bad='ALTER TABLE "users" ADD COLUMN "tags" int array[];',
    good='ALTER TABLE "users" ADD COLUMN "tags" int[];',
    check=check,
)
