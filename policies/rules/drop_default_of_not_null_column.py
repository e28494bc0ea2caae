"""SW404: DROP DEFAULT on a column that is (or may be) NOT NULL."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import column_ref, on_existing
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit

K = OperationKind
_REPLACING = frozenset({K.DROP_NOT_NULL, K.SET_DEFAULT, K.ADD_IDENTITY})


def check(unit: MigrationUnit) -> Iterator[Hit]:
    for statement, op, _ in on_existing(unit, K.DROP_DEFAULT):
        if statement.refusals:
            continue  # it never runs (an identity's default, say: SW609)
        # A later DROP NOT NULL, new default or identity in the same migration keeps inserts working.
        replaced = any(
            later.kind in _REPLACING and later.relation == op.relation and later.columns == op.columns
            for other in unit.statements[statement.index :]
            for later in other.operations
        )
        if replaced:
            continue
        fact = statement.schema.column(op.relation, op.columns[0]) if op.columns else None
        if fact is not None and not fact.not_null:
            continue
        known = fact is not None
        yield Hit(
            statement,
            f"Dropping the default of {column_ref(op)}{'' if known else ' (if it is NOT NULL)'} makes inserts "
            "from the application version still running, which rely on the default, fail.",
            severity=None if known else Severity.INFO,
        )


RULE = Rule(
    code="SW404",
    name="drop-default-of-not-null-column",
    category=Category.COMPATIBILITY,
    severity=Severity.WARNING,
    summary="Dropping the default of a NOT NULL column breaks inserts of the running application.",
    rationale=(
        "Code that inserts rows without naming a NOT NULL column relies on its default. When the "
        "default goes, those inserts fail with a not-null violation, and the previous application "
        "version is still running during the rollout. Deploy code that always sets the column first, "
        "then drop the default."
    ),
    safer=(
        "-- 1. deploy code that always sets \"role\" explicitly\n"
        '-- 2. later migration:\nALTER TABLE "users" ALTER COLUMN "role" DROP DEFAULT;'
    ),
    bad='ALTER TABLE "users" ALTER COLUMN "role" SET NOT NULL;\nALTER TABLE "users" ALTER COLUMN "role" DROP DEFAULT;',
    good='ALTER TABLE "users" ALTER COLUMN "role" DROP DEFAULT;\nALTER TABLE "users" ALTER COLUMN "role" DROP NOT NULL;',
    check=check,
    needs=frozenset({K.DROP_DEFAULT}),
)
