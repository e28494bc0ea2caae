"""SW505: varchar(n) where text serves."""

from __future__ import annotations

from collections.abc import Iterator

from policies.report import Category, Severity
from policies.rules._column_types import COLUMN_TYPE_KINDS, base, columns_of_type
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    yield from columns_of_type(
        unit,
        lambda t: base(t) == "varchar" and "(" in t,
        lambda column, written: f"{column} is {written}: the limit is no faster than text, and raising it "
        "later is a schema change; use text with a CHECK on length if the limit is a business rule.",
    )


RULE = Rule(
    code="SW505",
    name="varchar-length-limit",
    category=Category.DESIGN,
    severity=Severity.INFO,
    summary="Prefer text to varchar(n) unless the limit is a real rule.",
    rationale=(
        "In PostgreSQL varchar(n) and text are stored the same way; the limit only adds a check. Limits "
        "chosen arbitrarily (255) later need migrations to raise, and lowering them rewrites the table. "
        "If a length rule matters, a CHECK constraint states it and can be changed with NOT VALID."
    ),
    safer='ALTER TABLE "users" ADD COLUMN "bio" text CHECK (char_length("bio") <= 1000);',
    bad='ALTER TABLE "users" ADD COLUMN "bio" varchar(255);',
    good='ALTER TABLE "users" ADD COLUMN "bio" text;',
    check=check,
    needs=COLUMN_TYPE_KINDS,
)
