"""SW605: ALTER TYPE ... ADD VALUE inside a transaction before PostgreSQL 12."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    if not unit.context.transactional or unit.pg_version >= 12 or not unit.context.drizzle_applies:
        return
    for statement, op, _ in operations(unit, OperationKind.ADD_ENUM_VALUE):
        if not unit.is_new_object(op.name):
            yield Hit(
                statement,
                f"ALTER TYPE \"{op.name}\" ADD VALUE cannot run inside a transaction block on PostgreSQL "
                f"{unit.pg_version}, and drizzle-orm runs migrations in one; it fails here.",
            )


RULE = Rule(
    code="SW605",
    name="add-enum-value-in-transaction",
    category=Category.PROCESS,
    severity=Severity.ERROR,
    summary="Before PostgreSQL 12, ADD VALUE must run outside a transaction.",
    rationale=(
        "Until PostgreSQL 12, ALTER TYPE ... ADD VALUE on an existing enum is refused inside a "
        "transaction block. drizzle-orm's migrator runs every migration in a transaction, so the "
        "migration fails. Run it on its own outside a transaction (schemawarden's apply can), or "
        "upgrade."
    ),
    safer="-- alone in its own migration, applied outside a transaction:\nALTER TYPE \"order_status\" ADD VALUE 'refunded';",
    bad="ALTER TYPE \"order_status\" ADD VALUE 'refunded';",
    good="CREATE TYPE \"mood\" AS ENUM ('sad');\nALTER TYPE \"mood\" ADD VALUE 'happy';",
    check=check,
    needs=frozenset({OperationKind.ADD_ENUM_VALUE}),
    bad_context={"pg_version": 11},
    good_context={"pg_version": 11},
)
