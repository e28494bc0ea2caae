"""SW304: DROP TYPE (an enum or composite type in use by columns)."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import OperationKind
from policies.report import Category, Severity
from policies.rules._helpers import operations
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit

K = OperationKind


def check(unit: MigrationUnit) -> Iterator[Hit]:
    created = {op.name for _, op, _ in operations(unit, K.CREATE_ENUM, K.CREATE_TYPE, K.CREATE_DOMAIN)}
    for statement, op, _ in operations(unit, K.DROP_TYPE, K.DROP_DOMAIN):
        if op.name in created:
            continue
        cascade = "; with CASCADE it also drops every column of that type, with its data" if op.cascade else ""
        yield Hit(
            statement,
            f'DROP TYPE "{op.name}" removes a type the running application may still use{cascade}.',
        )


RULE = Rule(
    code="SW304",
    name="drop-type",
    category=Category.DATA_LOSS,
    severity=Severity.WARNING,
    summary="Dropping a type breaks code and, with CASCADE, drops columns.",
    rationale=(
        "A type (often an enum) is dropped with DROP TYPE only when nothing uses it, unless CASCADE is "
        "given, in which case every column of that type is dropped too, silently losing its data. The "
        "application version still running may still cast to the type."
    ),
    safer='-- after no column or code uses it:\nDROP TYPE "order_status";  -- without CASCADE',
    bad='DROP TYPE "order_status" CASCADE;',
    good='CREATE TYPE "mood" AS ENUM (\'sad\', \'ok\');\nDROP TYPE "mood";',
    check=check,
    needs=frozenset({K.DROP_TYPE, K.DROP_DOMAIN}),
)
