"""SW405: DROP NOT NULL on an existing column."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import column_ref, on_existing
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, OperationKind.DROP_NOT_NULL):
        yield Hit(
            statement,
            f"Dropping NOT NULL on {column_ref(op)} lets new rows hold NULL, which the application version "
            "still running (and any reader typed as non-null) may not handle.",
        )


RULE = Rule(
    code="SW405",
    name="drop-not-null",
    category=Category.COMPATIBILITY,
    severity=Severity.INFO,
    summary="Dropping NOT NULL can surprise readers that assume a value.",
    rationale=(
        "Relaxing a column to nullable is instant and safe for the database, but once new code writes "
        "NULLs, older code still deployed (and generated types, reports, other services) that assume "
        "the column always has a value can fail. Make readers NULL-tolerant before writers start "
        "writing NULL."
    ),
    safer='-- deploy readers that handle NULL first, then:\nALTER TABLE "users" ALTER COLUMN "nickname" DROP NOT NULL;',
    bad='ALTER TABLE "users" ALTER COLUMN "nickname" DROP NOT NULL;',
    good='ALTER TABLE "users" ADD COLUMN "nickname2" text;',
    check=check,
    needs=frozenset({OperationKind.DROP_NOT_NULL}),
)
