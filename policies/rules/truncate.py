"""SW305: TRUNCATE."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import on_existing, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, OperationKind.TRUNCATE):
        yield Hit(
            statement,
            f'TRUNCATE {quoted(op.relation)} deletes every row and takes ACCESS EXCLUSIVE (blocks reads and writes).',
        )


RULE = Rule(
    code="SW305",
    name="truncate",
    category=Category.DATA_LOSS,
    severity=Severity.ERROR,
    summary="TRUNCATE in a migration deletes all rows of the table.",
    rationale=(
        "TRUNCATE empties a table at once, takes ACCESS EXCLUSIVE, and with CASCADE empties every table "
        "that references it. In a migration that runs against every environment, including "
        "production, this is rarely what is meant. Delete the rows you mean, in batches."
    ),
    safer='DELETE FROM "sessions" WHERE "expires_at" < now() - interval \'30 days\';',
    bad='TRUNCATE "sessions";',
    good='DELETE FROM "sessions" WHERE "expires_at" < now();',
    check=check,
    needs=frozenset({OperationKind.TRUNCATE}),
)
