"""SW406: ALTER ... SET SCHEMA of an existing table, view, sequence, type or function."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit

# Objects the application's queries name directly; moving any other kind only warns.
_RELATIONS = frozenset({"table", "view", "materialized_view", "foreign_table"})


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in operations(unit, OperationKind.SET_SCHEMA):
        if statement.is_new(op.relation) or unit.is_new_object(op.name):
            continue
        what = (op.detail or "object").replace("_", " ")
        yield Hit(
            statement,
            f"Moving {what} {quoted(op.relation or op.name)} to schema \"{op.new_name}\" breaks the application "
            "version still running during the rollout: its queries name (or find through search_path) the old "
            "schema.",
            severity=None if (op.detail in _RELATIONS or op.detail is None) else Severity.WARNING,
        )


RULE = Rule(
    code="SW406",
    name="set-schema",
    category=Category.COMPATIBILITY,
    severity=Severity.ERROR,
    summary="Moving an object to another schema breaks the running application.",
    rationale=(
        "ALTER ... SET SCHEMA renames an object as far as every query is concerned: the application "
        "version deployed before the migration keeps running until the rollout ends, and its queries, "
        "qualified with the old schema or resolved through search_path, fail at once. It also takes "
        "ACCESS EXCLUSIVE on a table. Tables and views are errors; types, domains, sequences and "
        "functions (named by casts and calls) are warnings. Move in steps: create the object in the new "
        "schema (or a view there), deploy code that uses it, then retire the old one."
    ),
    safer=(
        'ALTER TABLE "public"."audit_log" SET SCHEMA "audit";\n'
        'CREATE VIEW "public"."audit_log" AS SELECT * FROM "audit"."audit_log";  -- old code keeps working\n'
        "-- drop the view once no deployed code uses public.audit_log"
    ),
    bad='ALTER TABLE "public"."audit_log" SET SCHEMA "audit";',
    good='CREATE VIEW "audit"."audit_log" AS SELECT * FROM "public"."audit_log";',
    check=check,
    needs=frozenset({OperationKind.SET_SCHEMA}),
)
