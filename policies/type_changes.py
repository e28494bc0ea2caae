"""What changing a column's type costs: nothing (binary-coercible), a rewrite, or lost data.

PostgreSQL skips the table rewrite of `ALTER COLUMN ... TYPE` when the old type is
binary-coercible to the new one and no USING expression changes the values
(sql-altertable.html#SQL-ALTERTABLE-NOTES). The pairs below are the ones migrations meet.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from policies.expressions import base_type, type_modifiers


class TypeChange(StrEnum):
    """How an `ALTER COLUMN ... TYPE` treats the stored rows."""

    BINARY_COERCIBLE = "binary_coercible"
    REWRITE = "rewrite"
    UNKNOWN = "unknown"


_ALIASES = {
    "int": "int4", "integer": "int4", "bigint": "int8", "smallint": "int2", "serial": "int4",
    "serial4": "int4", "bigserial": "int8", "serial8": "int8", "smallserial": "int2", "serial2": "int2",
    "real": "float4", "double precision": "float8", "float": "float8", "decimal": "numeric",
    "character varying": "varchar", "character": "bpchar", "char": "bpchar", "boolean": "bool",
    "timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz",
    "bit varying": "varbit",
}

# (old base type, new base type): modifiers must not shrink (checked separately).
_COERCIBLE_BASES = {
    ("varchar", "varchar"), ("varchar", "text"), ("text", "varchar"),
    ("numeric", "numeric"), ("varbit", "varbit"), ("cidr", "inet"), ("xml", "text"),
    ("timestamp", "timestamp"), ("timestamptz", "timestamptz"), ("time", "time"),
    ("interval", "interval"), ("citext", "text"), ("text", "citext"),
}
# Width order of integer and float types: going down loses values.
_WIDTH = {"int2": 1, "int4": 2, "int8": 3, "float4": 1, "float8": 2}


@lru_cache(maxsize=4096)  # a project writes a few dozen distinct types, thousands of times
def normalise(type_text: str) -> str:
    """One spelling per type: `integer` -> `int4`, `character varying(3)` -> `varchar(3)`."""
    text = type_text.strip().lower().replace('"', "")
    head, paren, rest = text.partition("(")
    return _ALIASES.get(head.strip(), head.strip()) + paren + rest


def classify_type_change(old: str | None, new: str, using: str | None = None) -> TypeChange:
    """Whether `ALTER COLUMN ... TYPE new` over `old` rewrites the table."""
    if old is None:
        return TypeChange.UNKNOWN
    old_n, new_n = normalise(old), normalise(new)
    if using is not None and not _trivial_using(using, new_n):
        return TypeChange.REWRITE
    if old_n == new_n:
        return TypeChange.BINARY_COERCIBLE
    old_base, new_base = base_type(old_n), base_type(new_n)
    if old_n.endswith("[]") != new_n.endswith("[]"):
        return TypeChange.REWRITE
    if (old_base.removesuffix("[]"), new_base.removesuffix("[]")) not in _COERCIBLE_BASES:
        return TypeChange.REWRITE
    if new_base == "text" or not type_modifiers(new_n):
        # dropping a length or precision limit never touches the stored values
        return TypeChange.BINARY_COERCIBLE if old_base != "bpchar" else TypeChange.REWRITE
    old_mods, new_mods = type_modifiers(old_n), type_modifiers(new_n)
    if not old_mods:
        return TypeChange.REWRITE  # adding a limit must check (and may cut) every value
    if new_base == "numeric":
        same_scale = _scale(old_mods) == _scale(new_mods)
        return TypeChange.BINARY_COERCIBLE if same_scale and new_mods[0] >= old_mods[0] else TypeChange.REWRITE
    return TypeChange.BINARY_COERCIBLE if new_mods[0] >= old_mods[0] else TypeChange.REWRITE


def _trivial_using(using: str, new: str) -> bool:
    """`USING col::newtype` changes nothing beyond the type change itself."""
    return "::" in using and normalise(using.rsplit("::", 1)[1]) == new and "(" not in using.split("::")[0]


def is_narrowing(old: str | None, new: str) -> bool:
    """True when values valid for `old` may not fit `new` (shorter text, smaller number)."""
    if old is None:
        return False
    old_n, new_n = normalise(old).removesuffix("[]"), normalise(new).removesuffix("[]")
    old_base, new_base = base_type(old_n), base_type(new_n)
    old_mods, new_mods = type_modifiers(old_n), type_modifiers(new_n)
    if old_base in _WIDTH and new_base in _WIDTH and (old_base[0] == new_base[0]):
        return _WIDTH[new_base] < _WIDTH[old_base]
    if new_base in ("varchar", "bpchar") and new_mods:
        if old_base in ("text", "citext") or (old_base in ("varchar", "bpchar") and not old_mods):
            return True
        return bool(old_mods) and new_mods[0] < old_mods[0]
    if old_base == new_base == "numeric" and new_mods:
        if not old_mods:
            return True
        old_scale, new_scale = _scale(old_mods), _scale(new_mods)
        return new_scale < old_scale or new_mods[0] - new_scale < old_mods[0] - old_scale
    return False


def _scale(modifiers: tuple[int, ...]) -> int:
    """The scale of `numeric(p,s)`; `numeric(p)` has scale 0."""
    return modifiers[1] if len(modifiers) > 1 else 0
