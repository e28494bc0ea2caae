"""SW507: a new table without a primary key."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations, quoted
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in operations(unit, OperationKind.CREATE_TABLE):
        if not op.relation or op.detail == "partition":
            continue
        table = unit.schema_after.table(op.relation)
        if table is not None and table.primary_key() is None:
            yield Hit(
                statement,
                f'Table {quoted(op.relation)} has no primary key: rows cannot be addressed reliably, logical '
                "replication cannot replicate its updates and deletes, and ORMs misbehave.",
            )


RULE = Rule(
    code="SW507",
    name="table-without-primary-key",
    category=Category.DESIGN,
    severity=Severity.INFO,
    summary="Every table needs a primary key.",
    rationale=(
        "Without a primary key, duplicate rows cannot be told apart or fixed, logical replication "
        "(and tools built on it, such as zero-downtime upgrades) refuses UPDATE and DELETE on the "
        "table, and ORMs cannot identify rows. Adding one later to a large table needs an index build "
        "and a lock. Junction tables take a composite key."
    ),
    safer=(
        'CREATE TABLE "post_tags" ("post_id" bigint NOT NULL, "tag_id" bigint NOT NULL,\n'
        '  PRIMARY KEY ("post_id", "tag_id"));'
    ),
    bad='CREATE TABLE "post_tags" ("post_id" bigint NOT NULL, "tag_id" bigint NOT NULL);',
    good=(
        'CREATE TABLE "post_tags" ("post_id" bigint NOT NULL, "tag_id" bigint NOT NULL);\n'
        'ALTER TABLE "post_tags" ADD CONSTRAINT "post_tags_pk" PRIMARY KEY ("post_id", "tag_id");'
    ),
    check=check,
    needs=frozenset({OperationKind.CREATE_TABLE}),
)
