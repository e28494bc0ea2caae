"""SW604: the schema source changed in a pull request that adds no migration."""

from __future__ import annotations

from collections.abc import Iterator

from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    context = unit.context
    changed_schema = [p for p in context.changed_files if context.is_schema_file(p)]
    if not changed_schema or any(context.is_migration_file(p) for p in context.changed_files):
        return
    for path in changed_schema:
        yield Hit(
            None,
            f"{path} changed but no migration was added under {context.migrations_dir}/: the databases "
            "will not follow the schema. Run `drizzle-kit generate` and commit the migration.",
            path=path,
        )


RULE = Rule(
    code="SW604",
    name="schema-change-without-migration",
    category=Category.PROCESS,
    severity=Severity.ERROR,
    summary="A schema change needs a generated migration in the same pull request.",
    rationale=(
        "With drizzle, the TypeScript schema is the intent and the generated SQL migrations are what "
        "reaches the databases. A pull request that edits the schema without running drizzle-kit "
        "generate leaves the two out of step: the code expects columns the databases lack. The rule "
        "reads the pull request's changed files (schema globs and migrations folder from the policy)."
    ),
    safer="npx drizzle-kit generate  # then commit migrations/NNNN_*.sql and migrations/meta/*",
    bad="-- changed files: src/models/Schema.ts",
    good="-- changed files: src/models/Schema.ts, migrations/0007_add_email.sql",
    check=check,
    bad_context={"changed_files": ("src/models/Schema.ts",)},
    good_context={"changed_files": ("src/models/Schema.ts", "migrations/0007_add_email.sql")},
    change_set=True,
)
