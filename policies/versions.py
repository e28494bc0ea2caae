"""The PostgreSQL major versions schemawarden judges for, defined once.

The lock model, the analysis context, the policy file and `check --pg-version` all read this
range, so what one accepts the others know about. The oldest is 11: from then on a constant
default on ADD COLUMN is a catalog change, which is the baseline the rulebook assumes.
"""

from __future__ import annotations

OLDEST_VERSION = 11
NEWEST_VERSION = 18
DEFAULT_PG_VERSION = 16


def is_supported(version: int) -> bool:
    return OLDEST_VERSION <= version <= NEWEST_VERSION


def supported_range() -> str:
    """The range as messages and help texts state it: `11 to 18`."""
    return f"{OLDEST_VERSION} to {NEWEST_VERSION}"
