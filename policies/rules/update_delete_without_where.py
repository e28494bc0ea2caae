"""SW308: UPDATE or DELETE without WHERE on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import on_existing, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit

K = OperationKind


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, K.UPDATE, K.DELETE):
        if not op.has_where:
            verb = "UPDATE" if op.kind is K.UPDATE else "DELETE"
            effect = "rewrites every row" if op.kind is K.UPDATE else "deletes every row"
            yield Hit(
                statement,
                f'{verb} on {quoted(op.relation)} without WHERE {effect} in one transaction, holding row locks on '
                "all of them until the migration commits.",
            )


RULE = Rule(
    code="SW308",
    name="update-delete-without-where",
    category=Category.DATA_LOSS,
    severity=Severity.ERROR,
    summary="UPDATE and DELETE in migrations need a WHERE clause.",
    rationale=(
        "An UPDATE or DELETE without WHERE touches every row: it may be a mistake that destroys data, "
        "and even when intended it locks every row, writes a new version of each (bloat, WAL, "
        "replication lag) and blocks concurrent updates until the migration commits. Backfill in "
        "batches outside the migration, with a WHERE clause that bounds each batch."
    ),
    safer='UPDATE "users" SET "tier" = \'basic\' WHERE "tier" IS NULL AND "id" BETWEEN 1 AND 10000;',
    bad='UPDATE "users" SET "tier" = \'basic\';',
    good='UPDATE "users" SET "tier" = \'basic\' WHERE "tier" IS NULL;',
    check=check,
    needs=frozenset({K.UPDATE, K.DELETE}),
)
