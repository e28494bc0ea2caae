"""SW502: timestamp without time zone."""

from __future__ import annotations

from collections.abc import Iterator

from policies.report import Category, Severity
from policies.rules._column_types import COLUMN_TYPE_KINDS, base, columns_of_type
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    yield from columns_of_type(
        unit,
        lambda t: base(t) == "timestamp",
        lambda column, written: f"{column} is {written} (without time zone): it stores wall-clock "
        "readings whose meaning depends on the writer's time zone; use timestamptz.",
    )


RULE = Rule(
    code="SW502",
    name="timestamp-without-time-zone",
    category=Category.DESIGN,
    severity=Severity.INFO,
    summary="Use timestamptz, not timestamp.",
    rationale=(
        "timestamp without time zone stores a date and clock reading with no zone: the same instant "
        "written by servers or sessions in different zones gets different values, and daylight-saving "
        "transitions make some readings ambiguous. timestamptz stores an absolute instant (in UTC) and "
        "converts on output; it takes the same 8 bytes. In drizzle, use "
        "timestamp('...', { withTimezone: true })."
    ),
    safer='ALTER TABLE "events" ADD COLUMN "occurred_at" timestamptz NOT NULL DEFAULT now();',
    bad='ALTER TABLE "events" ADD COLUMN "occurred_at" timestamp;',
    good='ALTER TABLE "events" ADD COLUMN "occurred_at" timestamptz;',
    check=check,
    needs=COLUMN_TYPE_KINDS,
)
