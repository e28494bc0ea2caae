"""SW610: a SQL file in a drizzle migrations folder that the journal does not list."""

from __future__ import annotations

from collections.abc import Iterator

from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for path in unit.context.unlisted_files:
        added = unit.context.migration_changes.get(path) == "added"
        yield Hit(
            None,
            f"{path} is not in meta/_journal.json: neither drizzle-orm's migrator nor schemawarden will ever "
            "apply it, so its SQL never reaches a database"
            + (" (this change adds it: the deploy will silently leave it out)." if added else "."),
            severity=Severity.ERROR if added else None,
            path=path,
        )


RULE = Rule(
    code="SW610",
    name="sql-file-not-in-journal",
    category=Category.PROCESS,
    severity=Severity.WARNING,
    summary="Every SQL file of a drizzle migrations folder must be a journal entry.",
    rationale=(
        "drizzle-orm applies exactly the entries of meta/_journal.json, in its order; a .sql file the "
        "journal does not list is never applied and nothing says so. It happens when a file is "
        "written by hand, copied from another branch, or left behind after a journal edit. A pull "
        "request that adds such a file is an error: the change it carries will not be deployed. "
        "Create migrations with `drizzle-kit generate` (`--custom` for hand-written SQL, which adds "
        "the journal entry), or move files that are not migrations out of the folder."
    ),
    safer="npx drizzle-kit generate --custom --name add_report_types\n-- then put the SQL in the file it creates",
    bad="-- migrations/0007_hand_written.sql, with no entry in migrations/meta/_journal.json",
    good="-- migrations/0007_hand_written.sql, created by `drizzle-kit generate --custom`",
    check=check,
    change_set=True,
    bad_context={"unlisted_files": ("migrations/0007_hand_written.sql",)},
)
