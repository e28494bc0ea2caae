"""What changing a column's type costs, and whether PostgreSQL accepts it at all.

`ALTER TABLE ... ALTER COLUMN c SET DATA TYPE new [USING expr]` (sql-altertable.html):

* Without USING, the old values are converted by an *assignment* cast from the old type to the new
  one; when there is none PostgreSQL refuses the statement with SQLSTATE 42804, "column ... cannot
  be cast automatically to type ..." (`cast_without_using`).
* The table is not rewritten when the old type is binary coercible to the new one (or the new one
  is an unconstrained version of the old) and no USING expression changes the values
  (sql-altertable.html#SQL-ALTERTABLE-NOTES; `classify_type_change`).
* Indexes on the column are rebuilt whenever the table is, and also without a rewrite when the
  new type's default operator class differs from the index's (`rebuilds_indexes`).

Every fact here was measured on PostgreSQL 11 to 18 (tests/test_type_changes_on_postgres.py);
the tables are data taken from the catalogs (pg_cast, pg_opclass) of those servers, the citext
extension included. Types outside them are unknown, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

from policies.expressions import base_type, type_modifiers


class TypeChange(StrEnum):
    """How an `ALTER COLUMN ... TYPE` treats the stored rows."""

    BINARY_COERCIBLE = "binary_coercible"
    REWRITE = "rewrite"
    UNKNOWN = "unknown"


class CastVerdict(StrEnum):
    """Whether `ALTER COLUMN ... SET DATA TYPE new` without USING is accepted (`cast_without_using`)."""

    ACCEPTED = "accepted"
    NEEDS_USING = "needs_using"  # PostgreSQL refuses it: 42804, "cannot be cast automatically"
    UNKNOWN = "unknown"


_ALIASES = {
    "int": "int4", "integer": "int4", "bigint": "int8", "smallint": "int2", "serial": "int4",
    "serial4": "int4", "bigserial": "int8", "serial8": "int8", "smallserial": "int2", "serial2": "int2",
    "real": "float4", "double precision": "float8", "float": "float8", "decimal": "numeric", "dec": "numeric",
    "character varying": "varchar", "char varying": "varchar", "character": "bpchar", "char": "bpchar",
    "boolean": "bool", "timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz",
    "time without time zone": "time", "time with time zone": "timetz", "bit varying": "varbit",
}
_ZONE_SUFFIXES = {" with time zone": "tz", " without time zone": ""}
# `char` and `bit` written without a length mean char(1) and bit(1) (datatype-character.html,
# datatype-bit.html); `bpchar` written as such is the unlimited blank-padded type.
_LENGTH_ONE = {"char", "character", "bit"}

IDENTITY_TYPES = frozenset({"int2", "int4", "int8"})
"""The types an identity column may have, normalised: smallint, integer and bigint.

Any other type is refused with SQLSTATE 22023, "identity column type must be smallint, integer, or
bigint" (sql-createtable.html, GENERATED ... AS IDENTITY), also by `ALTER COLUMN ... SET DATA TYPE`
on an identity column.
"""

# The types this module knows (normalised base names). A pair with any other type is unknown:
# a domain, an extension type or a user-defined cast could behave in any way.
_KNOWN = frozenset({
    "int2", "int4", "int8", "numeric", "float4", "float8", "money", "text", "varchar", "bpchar", "citext",
    "bool", "uuid", "json", "jsonb", "date", "timestamp", "timestamptz", "time", "timetz", "interval",
    "bytea", "inet", "cidr", "bit", "varbit", "xml",
})
# typcategory 'S' (catalog-pg-type.html#CATALOG-TYPCATEGORY-TABLE): the targets of automatic I/O
# conversion casts in assignment context (typeconv-query.html, sql-createcast.html).
_STRING_TYPES = frozenset({"text", "varchar", "bpchar", "citext"})

# pg_cast (catalog-pg-cast.html) between the known types on PostgreSQL 11 to 18 with citext:
# source, target, castcontext (i implicit, a assignment, e explicit only), castmethod (f function,
# b binary coercible, i I/O). tests/test_type_changes_on_postgres.py holds this table against the
# server's own catalog. The only difference between versions is in _PG_CAST_FROM_18, explicit casts
# that change no verdict here (an explicit entry refuses without USING, as no entry would).
_PG_CAST_TABLE = """
bit int4 e f       bit int8 e f         bit varbit i b       bool bpchar a f      bool citext a f
bool int4 e f      bool text a f        bool varchar a f     bpchar citext a f    bpchar text i f
bpchar varchar i f bpchar xml e f       cidr bpchar a f      cidr inet i b        cidr text a f
cidr varchar a f   citext bpchar a b    citext text i b      citext varchar i b   date timestamp i f
date timestamptz i f                    float4 float8 i f    float4 int2 a f      float4 int4 a f
float4 int8 a f    float4 numeric a f   float8 float4 a f    float8 int2 a f      float8 int4 a f
float8 int8 a f    float8 numeric a f   inet bpchar a f      inet cidr a f        inet citext a f
inet text a f      inet varchar a f     int2 float4 i f      int2 float8 i f      int2 int4 i f
int2 int8 i f      int2 numeric i f     int4 bit e f         int4 bool e f        int4 float4 i f
int4 float8 i f    int4 int2 a f        int4 int8 i f        int4 money a f       int4 numeric i f
int8 bit e f       int8 float4 i f      int8 float8 i f      int8 int2 a f        int8 int4 a f
int8 money a f     int8 numeric i f     interval time a f    json jsonb a i       jsonb bool e f
jsonb float4 e f   jsonb float8 e f     jsonb int2 e f       jsonb int4 e f       jsonb int8 e f
jsonb json a i     jsonb numeric e f    money numeric a f    numeric float4 i f   numeric float8 i f
numeric int2 a f   numeric int4 a f     numeric int8 a f     numeric money a f    text bpchar i b
text citext a b    text varchar i b     text xml e f         time interval i f    time timetz i f
timestamp date a f timestamp time a f   timestamp timestamptz i f                 timestamptz date a f
timestamptz time a f                    timestamptz timestamp a f                 timestamptz timetz a f
timetz time a f    varbit bit i b       varchar bpchar i b   varchar citext a b   varchar text i b
varchar xml e f    xml bpchar a b       xml text a b         xml varchar a b
"""
_PG_CAST_FROM_18 = """
bytea int2 e f     bytea int4 e f       bytea int8 e f       int2 bytea e f       int4 bytea e f
int8 bytea e f
"""


def _parse_casts(table: str) -> dict[tuple[str, str], tuple[str, str]]:
    words = table.split()
    return {(words[i], words[i + 1]): (words[i + 2], words[i + 3]) for i in range(0, len(words), 4)}


PG_CASTS: Mapping[tuple[str, str], tuple[str, str]] = MappingProxyType(
    _parse_casts(_PG_CAST_TABLE + _PG_CAST_FROM_18)
)
"""(source, target) -> (castcontext, castmethod) of pg_cast between the types this module knows."""
PG_CASTS_FROM_18 = frozenset(_parse_casts(_PG_CAST_FROM_18))
"""The pairs of `PG_CASTS` that PostgreSQL has from version 18 on (explicit int <-> bytea casts)."""

# Binary-coercible casts usable without USING (castmethod b, context i or a): no rewrite as long as
# the new type adds no length or precision limit.
_COERCIBLE_BASES = frozenset(pair for pair, (context, method) in PG_CASTS.items() if method == "b" and context != "e")

# How a length/precision limit (typmod) of a type changes without a rewrite: the planner support
# function of its length coercion (varchar_support, numeric_support, timestamp_support, ...) turns
# the coercion into a no-op. bpchar and bit have none: any change of their limit rewrites, and only
# dropping it (`bpchar`, `varbit`) is free.
_LIMIT_RULES = {
    "varchar": "length", "varbit": "length", "numeric": "numeric",
    "timestamp": "precision", "timestamptz": "precision", "time": "precision", "timetz": "precision",
    "interval": "precision", "bpchar": "none", "bit": "none",
}
_MAX_PRECISION = 6  # MAX_TIMESTAMP_PRECISION, MAX_TIME_PRECISION, MAX_INTERVAL_PRECISION

# The default btree operator class of each known type (pg_opclass, what CREATE INDEX picks:
# catalog-pg-opclass.html, indexes-opclass.html). varchar and cidr have none of their own and use
# text_ops and inet_ops; json and xml have no btree operator class at all.
BTREE_OPCLASSES: Mapping[str, str | None] = MappingProxyType({
    "int2": "int2_ops", "int4": "int4_ops", "int8": "int8_ops", "numeric": "numeric_ops",
    "float4": "float4_ops", "float8": "float8_ops", "money": "money_ops", "text": "text_ops",
    "varchar": "text_ops", "bpchar": "bpchar_ops", "citext": "citext_ops", "bool": "bool_ops",
    "uuid": "uuid_ops", "json": None, "jsonb": "jsonb_ops", "date": "date_ops",
    "timestamp": "timestamp_ops", "timestamptz": "timestamptz_ops", "time": "time_ops",
    "timetz": "timetz_ops", "interval": "interval_ops", "bytea": "bytea_ops", "inet": "inet_ops",
    "cidr": "inet_ops", "bit": "bit_ops", "varbit": "varbit_ops", "xml": None,
})
"""The default btree operator class of each type this module knows (None: the type has none)."""

# Width order of integer and float types: going down loses values.
_WIDTH = {"int2": 1, "int4": 2, "int8": 3, "float4": 1, "float8": 2}


@lru_cache(maxsize=4096)  # a project writes a few dozen distinct types, thousands of times
def normalise(type_text: str) -> str:
    """One spelling per type: `integer` -> `int4`, `character varying(3)` -> `varchar(3)`.

    Reads both drizzle-kit's spellings (`timestamp (3) with time zone`, `integer[]`, `"public"."role"`)
    and the parser's (`timestamptz(3)`, `int4[]`, `public.role`). `char` and `bit` without a length are
    `bpchar(1)` and `bit(1)`, as PostgreSQL reads them (datatype-character.html, datatype-bit.html).
    """
    text = " ".join(type_text.strip().lower().replace('"', "").split())
    arrays = ""
    while text.endswith("[]"):
        text, arrays = text[:-2].rstrip(), arrays + "[]"
    text = text.removeprefix("pg_catalog.")
    zone = ""
    for suffix, tz in _ZONE_SUFFIXES.items():
        if text.endswith(suffix) and text.startswith(("timestamp", "time")):
            text, zone = text.removesuffix(suffix), tz
    head, paren, rest = text.partition("(")
    head = head.strip()
    if zone:
        head = _ALIASES.get(head, head) + zone
    elif not paren and head in _LENGTH_ONE:
        return _ALIASES.get(head, head) + "(1)" + arrays
    mods = "(" + rest.replace(" ", "") if paren else ""
    return _ALIASES.get(head, head) + mods + arrays


def _parts(normalised: str) -> tuple[str, tuple[int, ...], int]:
    """`varchar(20)[]` -> ("varchar", (20,), 1): base name, modifiers, array dimensions."""
    dims = 0
    while normalised.endswith("[]"):
        normalised, dims = normalised[:-2], dims + 1
    return base_type(normalised), type_modifiers(normalised), dims


def classify_type_change(old: str | None, new: str, using: str | None = None) -> TypeChange:
    """Whether `ALTER COLUMN ... TYPE new` over `old` rewrites the table.

    PostgreSQL keeps the table when every value of `old` is already a valid `new` value, stored
    alike: the same type with a limit that only grows (or goes), or a binary-coercible cast
    (pg_cast castmethod b: varchar/text/citext/bpchar among each other, cidr -> inet, xml -> text,
    bit -> varbit) to a type without a limit (sql-altertable.html#SQL-ALTERTABLE-NOTES). Arrays keep
    the table only when the element type stays and only its limit goes (`varchar(20)[]` ->
    `varchar[]`): any other array change is an element-by-element coercion, which rewrites.
    timestamp <-> timestamptz rewrites except in a session whose TimeZone is UTC (PostgreSQL 12 on);
    the SQL text cannot tell, so it is a rewrite here. Pairs with other types are rewrites too (the
    cautious answer): only a missing old type is UNKNOWN.
    """
    if old is None:
        return TypeChange.UNKNOWN
    old_n, new_n = normalise(old), normalise(new)
    if using is not None and not _trivial_using(using, new_n):
        return TypeChange.REWRITE
    if old_n == new_n:
        return TypeChange.BINARY_COERCIBLE
    (old_base, old_mods, old_dims), (new_base, new_mods, new_dims) = _parts(old_n), _parts(new_n)
    if old_dims != new_dims:
        return TypeChange.REWRITE
    if old_base == new_base:
        if new_dims and new_mods:
            return TypeChange.REWRITE  # an array coercion applies the new limit to each element
        return TypeChange.BINARY_COERCIBLE if _limit_keeps_values(new_base, old_mods, new_mods) else TypeChange.REWRITE
    if new_dims or (old_base, new_base) not in _COERCIBLE_BASES:
        return TypeChange.REWRITE
    # a relabelled value has no known limit: a limit on the new type must be checked on every row
    return TypeChange.BINARY_COERCIBLE if not new_mods else TypeChange.REWRITE


def _limit_keeps_values(base: str, old_mods: tuple[int, ...], new_mods: tuple[int, ...]) -> bool:
    """Whether changing the limit of `base` from `old_mods` to `new_mods` needs no rewrite."""
    if not new_mods:
        return base in _LIMIT_RULES  # dropping a limit never touches the stored values
    rule = _LIMIT_RULES.get(base)
    if rule == "length":
        return bool(old_mods) and new_mods[0] >= old_mods[0]
    if rule == "numeric":
        return bool(old_mods) and _scale(old_mods) == _scale(new_mods) and new_mods[0] >= old_mods[0]
    if rule == "precision":
        return new_mods[0] >= _MAX_PRECISION or (bool(old_mods) and new_mods[0] >= old_mods[0])
    return False


def _trivial_using(using: str, new: str) -> bool:
    """`USING col::newtype` changes nothing beyond the type change itself."""
    return "::" in using and normalise(using.rsplit("::", 1)[1]) == new and "(" not in using.split("::")[0]


def cast_without_using(old: str, new: str, *, old_is_enum: bool = False, new_is_enum: bool = False) -> CastVerdict:
    """Whether `ALTER TABLE t ALTER COLUMN c SET DATA TYPE new` without USING is accepted over `old`.

    Without USING the values are converted by an assignment cast (sql-altertable.html, "SET DATA
    TYPE": "the USING clause ... if omitted, the default conversion is the same as an assignment
    cast from old data type to new"; typeconv-query.html). PostgreSQL looks the pair up in pg_cast
    (catalog-pg-cast.html): an implicit or assignment entry is accepted, an explicit-only entry is
    refused. Without an entry, arrays convert element by element when their elements do, and the
    automatic I/O conversion casts apply: to a string type (text, varchar, char, citext) in
    assignment context, so accepted; from a string type only explicitly, so refused
    (sql-createcast.html notes). A refusal is SQLSTATE 42804, "column ... cannot be cast
    automatically to type ...": NEEDS_USING.

    Enums have no pg_cast entries: the caller says which side is an enum (`old_is_enum`,
    `new_is_enum`, also for arrays of enums). An enum goes to a string type (I/O), never to another
    type or enum; nothing but the same enum goes to an enum. Any other type not known here (a
    domain, an extension type other than citext) is UNKNOWN.
    """
    old_base, _, old_dims = _parts(normalise(old))
    new_base, _, new_dims = _parts(normalise(new))
    return _assignment_cast(old_base, old_dims, old_is_enum, new_base, new_dims, new_is_enum)


def _assignment_cast(old: str, old_dims: int, old_enum: bool, new: str, new_dims: int, new_enum: bool) -> CastVerdict:
    """The verdict of find_coercion_pathway (parse_coerce.c) in assignment context, by type names."""
    old_known, new_known = old in _KNOWN or old_enum, new in _KNOWN or new_enum
    if old_dims and new_dims:  # no pg_cast entries between array types: element by element
        return _assignment_cast(old, old_dims - 1, old_enum, new, new_dims - 1, new_enum)
    if old == new and old_dims == new_dims and old_enum == new_enum:
        return CastVerdict.ACCEPTED  # the same type: the limit is applied, if any, by the length coercion
    if old_enum and new_enum:
        same_name = old.removeprefix("public.") == new.removeprefix("public.")
        return CastVerdict.UNKNOWN if same_name else CastVerdict.NEEDS_USING  # a schema we cannot resolve
    if not (old_known and new_known):
        return CastVerdict.UNKNOWN
    if old_dims or new_dims:
        # an array and a scalar: no pg_cast entry, only the I/O conversion to a string type
        return CastVerdict.ACCEPTED if not new_dims and not new_enum and new in _STRING_TYPES else CastVerdict.NEEDS_USING
    entry = PG_CASTS.get((old, new))
    if entry is not None:
        return CastVerdict.ACCEPTED if entry[0] in ("i", "a") else CastVerdict.NEEDS_USING
    return CastVerdict.ACCEPTED if not new_enum and new in _STRING_TYPES else CastVerdict.NEEDS_USING


def cast_path(old: str, new: str, old_enum: bool, new_enum: bool, pg_version: int) -> str | None:
    """What goes between the column and `::new` in a USING that converts every value that has a
    meaning in the new type: "" for a direct cast, "::text" between enums (enum -> text is an I/O
    cast in assignment context, text -> enum an explicit one), None without any cast (integer to
    uuid: no value of one is a value of the other). Explicit casts count here, as USING is an
    explicit conversion (sql-altertable.html, SET DATA TYPE)."""
    old_n, new_n = normalise(old), normalise(new)
    old_dims, new_dims = old_n.count("[]"), new_n.count("[]")
    old_base = old_n.removesuffix("[]" * old_dims).split("(")[0]
    new_base = new_n.removesuffix("[]" * new_dims).split("(")[0]
    if old_base in _STRING_TYPES and (not old_dims or old_dims == new_dims):
        return ""  # the I/O conversion from a string type to any type (arrays: element by element), explicit
    if old_dims != new_dims:
        return None
    if old_enum and new_enum:
        return "::text"
    entry = PG_CASTS.get((old_base, new_base))
    if entry is not None and (pg_version >= 18 or (old_base, new_base) not in PG_CASTS_FROM_18):
        return ""
    return None


def ends_in_cast_to(expression: str, type_text: str) -> bool:
    """The expression ends in a cast to `type_text` (`'pending'::"public"."status"`): PostgreSQL
    strips the implicit cast the old column type added to a default before converting it to the new
    type (ATColumnChangeRequiresRewrite and friends, tablecmds.c), so such a default survives a type
    change that needs USING."""
    head, sep, cast = expression.strip().rpartition("::")
    if not sep or not head:
        return False
    return _type_name(cast) == _type_name(type_text)


def _type_name(type_text: str) -> str:
    """A type's name for comparing spellings: unquoted, `public.` dropped, normalised."""
    return normalise(type_text.replace('"', "").strip().removeprefix("public."))


def rebuilds_indexes(old: str | None, new: str) -> bool | None:
    """Whether `ALTER COLUMN ... TYPE new` over `old` (no USING) rebuilds the column's btree indexes.

    A rewrite rebuilds every index of the table (True). Without a rewrite PostgreSQL re-creates
    each index on the column from its definition and keeps the old index file only when the new
    type's default operator class and collation are those of the index (CheckIndexCompatible in
    indexcmds.c; sql-altertable.html#SQL-ALTERTABLE-NOTES: "indexes ... will be rebuilt" unless
    "the table doesn't need to be rewritten and ... the indexes ... are compatible"). So text <->
    citext, varchar -> citext, text -> bpchar and bit -> varbit rebuild their indexes while keeping
    the table; varchar <-> text, cidr -> inet and a limit that grows do not. None when the change
    is unknown (no old type) or a type has no btree operator class (json, xml) or is not known here; this holds
    for indexes with the default operator class, as drizzle-kit writes them.
    """
    change = classify_type_change(old, new)
    if old is None or change is TypeChange.UNKNOWN:
        return None
    if change is TypeChange.REWRITE:
        return True
    old_base, _, old_dims = _parts(normalise(old))
    new_base, _, new_dims = _parts(normalise(new))
    if old_dims or new_dims or old_base == new_base:
        return False  # the same type (array_ops is polymorphic: the same element type): same opclass
    if old_base not in BTREE_OPCLASSES or new_base not in BTREE_OPCLASSES:
        return None
    old_class, new_class = BTREE_OPCLASSES[old_base], BTREE_OPCLASSES[new_base]
    if old_class is None or new_class is None:
        return None
    return old_class != new_class


def is_identity_type(type_text: str) -> bool:
    """Whether a column of this type may be an identity column (smallint, integer or bigint).

    PostgreSQL refuses any other type with SQLSTATE 22023, "identity column type must be smallint,
    integer, or bigint" (sql-createtable.html, GENERATED ... AS IDENTITY), at CREATE TABLE, ADD
    COLUMN, ADD GENERATED ... AS IDENTITY and SET DATA TYPE on an identity column. `serial` is not a
    type PostgreSQL knows in ALTER COLUMN ... TYPE, so it is not one either.
    """
    head = " ".join(type_text.strip().lower().replace('"', "").split())
    if head.startswith(("serial", "bigserial", "smallserial")):
        return False
    return normalise(type_text) in IDENTITY_TYPES


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
