"""SW503: char(n)."""

from __future__ import annotations

from collections.abc import Iterator

from policies.report import Category, Severity
from policies.rules._column_types import COLUMN_TYPE_KINDS, base, columns_of_type
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    yield from columns_of_type(
        unit,
        lambda t: base(t) == "bpchar",
        lambda column, written: f"{column} is {written}: char(n) pads values with spaces and is no faster "
        "than text; use text (with a CHECK on length if needed).",
    )


RULE = Rule(
    code="SW503",
    name="char-n",
    category=Category.DESIGN,
    severity=Severity.INFO,
    summary="Use text (or varchar), not char(n).",
    rationale=(
        "char(n) pads every value with spaces to n characters, ignores trailing spaces in comparisons "
        "in surprising ways, and is stored no more efficiently than text. PostgreSQL's own "
        "documentation advises against it. Use text, and a CHECK constraint if a length rule matters."
    ),
    safer='ALTER TABLE "countries" ADD COLUMN "code" text CHECK (char_length("code") = 2);',
    bad='ALTER TABLE "countries" ADD COLUMN "code" char(2);',
    good='ALTER TABLE "countries" ADD COLUMN "code" text;',
    check=check,
    needs=COLUMN_TYPE_KINDS,
)
