"""SW112: a constraint added NOT VALID and validated in the same transaction (the same migration)."""

from __future__ import annotations

from collections.abc import Iterator

from policies.locks import effect
from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import lock_words, quoted, validated_where_added
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, added_at, added in validated_where_added(unit):
        what = "foreign key" if added.kind is OperationKind.ADD_FOREIGN_KEY else "CHECK constraint"
        held = lock_words(effect(added, unit.pg_version), added.relation)
        also = (
            f" and {quoted(added.referenced_relation)}"
            if added.kind is OperationKind.ADD_FOREIGN_KEY and added.referenced_relation
            else ""
        )
        yield Hit(
            statement,
            f'VALIDATE CONSTRAINT "{op.name}" runs in the transaction that added the {what} NOT VALID at line '
            f"{added_at.line}, which {held}{also} until it commits: the validation scans every row while that "
            "lock is held, exactly as if NOT VALID had not been written. Validate in a later migration.",
        )


RULE = Rule(
    code="SW112",
    name="validate-in-adding-transaction",
    category=Category.LOCK,
    severity=Severity.ERROR,
    summary="Validate a NOT VALID constraint in a later migration, not the one that adds it.",
    rationale=(
        "NOT VALID exists so that a constraint can be added under a brief lock and its old rows checked "
        "later by VALIDATE CONSTRAINT, which only takes SHARE UPDATE EXCLUSIVE. Locks last until the "
        "transaction ends, and drizzle-orm runs each migration in one transaction: a VALIDATE in the same "
        "migration scans the table while the ADD's lock is still held (SHARE ROW EXCLUSIVE on both tables "
        "of a foreign key, which blocks their writes; ACCESS EXCLUSIVE for a CHECK, which blocks reads "
        "too). The two statements together block exactly as long as a plain ADD CONSTRAINT would."
    ),
    safer=(
        "-- migration 1:\n"
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_customer_id_fk" FOREIGN KEY ("customer_id")\n'
        '  REFERENCES "customers" ("id") NOT VALID;\n'
        "-- migration 2 (its own transaction):\n"
        'ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_customer_id_fk";'
    ),
    bad=(
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_customer_id_fk" FOREIGN KEY ("customer_id") '
        'REFERENCES "customers" ("id") NOT VALID;\n'
        'ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_customer_id_fk";'
    ),
    good='ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_customer_id_fk";',
    check=check,
    needs=frozenset({OperationKind.VALIDATE_CONSTRAINT}),
)
