"""SW690: a migration that already existed on the base branch was edited or deleted."""

from __future__ import annotations

from collections.abc import Iterator

from policies.report import Category, Severity
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for path, change in sorted(unit.context.migration_changes.items()):
        if change in ("modified", "deleted"):
            yield Hit(
                None,
                f"this migration existed on the base and was {change}: an environment may already have "
                "applied it, and drizzle will neither run it again nor notice the change",
                path=path,
            )


RULE = Rule(
    code="SW690",
    name="edited-migration",
    category=Category.PROCESS,
    severity=Severity.ERROR,
    summary="Never edit or delete a migration that was already merged; add a new one.",
    rationale=(
        "A migration on the base branch may already be applied in staging or production. drizzle-orm "
        "decides what is pending by the journal's timestamps and never compares the stored hash, so an "
        "edited file is silently not run again where it was applied, while a fresh database runs the new "
        "text: environments drift apart without an error. Deleting one leaves its changes in the applied "
        "databases and out of new ones. schemawarden's reconciler reports such a migration as tampered; "
        "this rule catches it in the pull request, from the files it modifies or deletes."
    ),
    safer=(
        "-- Restore the migration as it is on the base branch, and put the change in a new\n"
        "-- migration (drizzle-kit generate) so that every environment receives it."
    ),
    bad="-- changed files: migrations/0003_orders.sql (modified)",
    good="-- changed files: migrations/0004_orders_note.sql (added)",
    check=check,
    bad_context={"migration_changes": {"migrations/0003_orders.sql": "modified"}},
    good_context={"migration_changes": {"migrations/0004_orders_note.sql": "added"}},
    change_set=True,
)
