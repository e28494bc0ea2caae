"""SW612: a migration whose rollback did not prove in a scratch database (`check --prove`)."""

from __future__ import annotations

from collections.abc import Iterator

from policies.context import ScratchFailure
from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    failure = unit.context.scratch_failures.get(unit.path)
    if failure is None or not failure.in_rollback:
        return
    yield Hit(
        None,
        f"The rollback schemawarden wrote for this migration did not prove in a scratch database: "
        f"{failure.message.rstrip('.')}. Its SQL is shown for diagnosis only; do not run it. Write the "
        "rollback by hand (and prove it the same way), or make the migration one a rollback can undo.",
        line=failure.line,
        no_recipe="split the migration so that each step can be undone (rename through a new name "
        "in one migration, finish in the next; insert rows with ON CONFLICT DO NOTHING)",
    )


RULE = Rule(
    code="SW612",
    name="rollback-not-proven",
    category=Category.PROCESS,
    severity=Severity.WARNING,
    summary="Every migration should have a rollback that a round trip proves.",
    rationale=(
        "With `check --prove`, each new migration runs in a scratch database, then the rollback "
        "schemawarden writes for it (from the schema after to the schema before), then the "
        "migration again. When the rollback does not run, the schema does not come back, the "
        "migration does not apply again after it (rows it inserted into a table that existed "
        "before stay, and a unique key refuses them the second time), or the migration exchanges "
        "names that a rollback matching objects by name cannot follow (each object would keep the "
        "other's data), there is no proven way back: in an incident someone would have to write "
        "one under pressure. The finding says which step failed and PostgreSQL's error. It is a "
        "warning: the migration itself may be right, but its way back must be written and proven "
        "by hand."
    ),
    safer="INSERT INTO \"customers\" (\"id\", \"name\") VALUES (1001, 'seed') ON CONFLICT (\"id\") DO NOTHING;",
    bad="INSERT INTO \"customers\" (\"id\", \"name\") VALUES (1001, 'seed');",
    good="INSERT INTO \"customers\" (\"id\", \"name\") VALUES (1001, 'seed') ON CONFLICT (\"id\") DO NOTHING;",
    check=check,
    bad_context={
        "scratch_failures": {
            "migrations/0001_example.sql": ScratchFailure(
                1,
                "the migration does not apply again after its rollback: line 1: ERROR 23505: duplicate key "
                'value violates unique constraint "customers_pkey"',
                "23505",
                in_rollback=True,
            )
        }
    },
)
