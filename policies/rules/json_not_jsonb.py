"""SW504: json instead of jsonb."""

from __future__ import annotations

from collections.abc import Iterator

from policies.report import Category, Severity
from policies.rules._column_types import COLUMN_TYPE_KINDS, base, columns_of_type
from policies.rules._rule import Hit, Rule
from policies.unit import MigrationUnit


def check(unit: MigrationUnit) -> Iterator[Hit]:
    yield from columns_of_type(
        unit,
        lambda t: base(t) == "json",
        lambda column, written: f"{column} is {written}: json keeps the raw text, cannot be indexed with "
        "GIN or compared for equality; use jsonb.",
    )


RULE = Rule(
    code="SW504",
    name="json-not-jsonb",
    category=Category.DESIGN,
    severity=Severity.INFO,
    summary="Use jsonb, not json.",
    rationale=(
        "json stores the input text verbatim and re-parses it on every access; it has no equality "
        "operator (so no DISTINCT, GROUP BY or unique constraint) and no GIN indexing. jsonb stores a "
        "parsed binary form that supports containment queries and indexes. Keep json only when the "
        "exact text (key order, duplicates, whitespace) must be preserved."
    ),
    safer='ALTER TABLE "events" ADD COLUMN "payload" jsonb;',
    bad='ALTER TABLE "events" ADD COLUMN "payload" json;',
    good='ALTER TABLE "events" ADD COLUMN "payload" jsonb;',
    check=check,
    needs=COLUMN_TYPE_KINDS,
)
