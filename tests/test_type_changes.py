"""The facts about ALTER COLUMN ... TYPE in policies.type_changes, as pure functions (no server).

tests/test_type_changes_on_postgres.py holds the same functions against a real PostgreSQL.
"""

from __future__ import annotations

import pytest

from policies.type_changes import (
    IDENTITY_TYPES,
    PG_CASTS,
    CastVerdict,
    TypeChange,
    cast_without_using,
    classify_type_change,
    is_identity_type,
    is_narrowing,
    normalise,
    rebuilds_indexes,
)

A, U, X = CastVerdict.ACCEPTED, CastVerdict.NEEDS_USING, CastVerdict.UNKNOWN
B, R = TypeChange.BINARY_COERCIBLE, TypeChange.REWRITE


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("integer", "int4"),
        ("bigint", "int8"),
        ("varchar(255)", "varchar(255)"),
        ("character varying(255)", "varchar(255)"),
        ("timestamp with time zone", "timestamptz"),
        ("timestamp (3) with time zone", "timestamptz(3)"),
        ("timestamp(3) without time zone", "timestamp(3)"),
        ("time with time zone", "timetz"),
        ('"public"."account_role"', "public.account_role"),
        ("text[]", "text[]"),
        ("integer[]", "int4[]"),
        ("varchar(20)[][]", "varchar(20)[][]"),
        ("numeric(10, 2)", "numeric(10,2)"),
        ("char", "bpchar(1)"),
        ("char(3)", "bpchar(3)"),
        ("bpchar", "bpchar"),
        ("bit", "bit(1)"),
        ("bit varying", "varbit"),
        ("pg_catalog.int4", "int4"),
        ("  Double   Precision ", "float8"),
    ],
)
def test_normalise_reads_drizzle_kit_and_parser_spellings(written: str, expected: str) -> None:
    assert normalise(written) == expected


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("integer", "bigint", A),
        ("bigint", "integer", A),  # assignment cast (may fail on values, not refused)
        ("integer", "numeric(10,2)", A),
        ("double precision", "integer", A),
        ("integer", "text", A),  # automatic I/O conversion to a string type
        ("integer", "varchar(255)", A),
        ("uuid", "citext", A),
        ("jsonb", "text", A),
        ("boolean", "text", A),
        ("text", "integer", U),  # from a string type: explicit only
        ("varchar(255)", "uuid", U),
        ("text", "jsonb", U),
        ("citext", "integer", U),
        ("text", "boolean", U),
        ("text", "timestamp with time zone", U),
        ("integer", "boolean", U),  # explicit pg_cast entry: no I/O fallback
        ("jsonb", "integer", U),
        ("json", "jsonb", A),
        ("jsonb", "json", A),
        ("timestamp", "timestamp with time zone", A),
        ("timestamp with time zone", "date", A),
        ("date", "timestamp", A),
        ("time", "interval", A),
        ("integer", "date", U),
        ("inet", "cidr", A),
        ("cidr", "inet", A),
        ("text", "inet", U),
        ("bytea", "text", A),
        ("text", "bytea", U),
        ("integer", "bytea", U),  # an explicit cast from PostgreSQL 18 on, none before: refused alike
        ("text", "citext", A),
        ("citext", "text", A),
        ("text[]", "varchar(20)[]", A),
        ("integer[]", "bigint[]", A),
        ("text[]", "integer[]", U),
        ("integer[]", "text", A),  # an array's text form
        ("text", "text[]", U),
        ("integer", "integer[]", U),
        ("varchar(10)", "varchar(5)", A),  # the same type: the limit is applied (may fail on values)
    ],
)
def test_cast_without_using(old: str, new: str, expected: CastVerdict) -> None:
    assert cast_without_using(old, new) is expected


def test_enums_flagged_by_the_caller() -> None:
    role = '"public"."account_role"'
    assert cast_without_using(role, "text", old_is_enum=True) is A
    assert cast_without_using(role, "varchar(32)", old_is_enum=True) is A
    assert cast_without_using(role, "integer", old_is_enum=True) is U
    assert cast_without_using("text", role, new_is_enum=True) is U
    assert cast_without_using("varchar(32)", role, new_is_enum=True) is U
    assert cast_without_using(role, '"public"."other_role"', old_is_enum=True, new_is_enum=True) is U
    assert cast_without_using(role, role, old_is_enum=True, new_is_enum=True) is A
    assert cast_without_using("account_role[]", "text[]", old_is_enum=True) is A
    # the same name, once qualified and once not: which schema the other is in is unknown
    assert cast_without_using(role, "account_role", old_is_enum=True, new_is_enum=True) is X


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("geometry(Point,4326)", "text"),
        ("text", "geometry"),
        ("hstore", "jsonb"),
        ('"public"."account_role"', "text"),  # an enum nobody said is one
        ("text", '"public"."email"'),  # could be a domain over text
        ("my_type[]", "text"),
        ("text[]", "my_type[]"),
    ],
)
def test_unknown_types_are_never_guessed(old: str, new: str) -> None:
    assert cast_without_using(old, new) is X
    assert rebuilds_indexes(old, new) in (True, None)  # classify is cautious: rewrite


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("varchar(10)", "varchar(20)", B),
        ("varchar(20)", "varchar(10)", R),
        ("varchar", "varchar(20)", R),
        ("varchar(10)", "text", B),
        ("text", "varchar", B),
        ("text", "varchar(10)", R),
        ("text", "citext", B),
        ("citext", "text", B),
        ("varchar(255)", "citext", B),  # was REWRITE in the old table
        ("citext", "varchar", B),  # was REWRITE
        ("citext", "varchar(255)", R),
        ("text", "bpchar", B),  # unlimited bpchar, was REWRITE
        ("text", "char(10)", R),
        ("char(10)", "bpchar", B),  # dropping the limit, was REWRITE
        ("char(10)", "char(20)", R),  # bpchar has no length support function
        ("char(3)", "text", R),  # rtrim
        ("char", "char(10)", R),
        ("numeric(10,2)", "numeric(12,2)", B),
        ("numeric(10,2)", "numeric(12,4)", R),
        ("numeric", "numeric(12,2)", R),
        ("numeric(10)", "numeric(12)", B),
        ("timestamp(3)", "timestamp(6)", B),
        ("timestamp", "timestamp(6)", B),  # p = 6 is the unlimited precision, was REWRITE
        ("timestamp", "timestamp(3)", R),
        ("timestamp (3) with time zone", "timestamp with time zone", B),
        ("time", "time(6)", B),
        ("time(3) with time zone", "time with time zone", B),  # was REWRITE (timetz unknown)
        ("interval(3)", "interval(6)", B),
        ("interval", "interval(3)", R),
        ("varbit(10)", "varbit(20)", B),
        ("bit(3)", "varbit", B),  # was REWRITE
        ("bit(3)", "varbit(10)", R),
        ("cidr", "inet", B),
        ("inet", "cidr", R),
        ("xml", "text", B),
        ("xml", "varchar", B),  # was REWRITE
        ("integer", "bigint", R),
        ("json", "jsonb", R),
        ("timestamp", "timestamptz", R),  # no rewrite only in a UTC session: unknowable here
        ("varchar(20)[]", "varchar[]", B),
        ("varchar(10)[]", "varchar(20)[]", R),  # element by element: was BINARY_COERCIBLE
        ("text[]", "varchar[]", R),  # was BINARY_COERCIBLE
        ("varchar[]", "text[]", R),  # was BINARY_COERCIBLE
        ("text[]", "citext[]", R),  # was BINARY_COERCIBLE
        ("text[]", "text", R),
        ('"public"."account_role"', '"public"."account_role"', B),
        (None, "text", TypeChange.UNKNOWN),
    ],
)
def test_classify_type_change(old: str | None, new: str, expected: TypeChange) -> None:
    assert classify_type_change(old, new) is expected


def test_a_using_expression_rewrites_unless_it_is_the_plain_cast() -> None:
    assert classify_type_change("varchar(10)", "text", "lower(c)") is R
    assert classify_type_change("varchar(10)", "text", "c::text") is B


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("text", "citext", True),
        ("citext", "text", True),
        ("varchar(255)", "citext", True),
        ("citext", "varchar", True),
        ("text", "bpchar", True),
        ("bit(3)", "varbit", True),
        ("varchar(255)", "text", False),
        ("text", "varchar", False),
        ("varchar(10)", "varchar(20)", False),
        ("cidr", "inet", False),
        ("numeric(10,2)", "numeric", False),
        ("timestamp(3)", "timestamp", False),
        ("char(10)", "bpchar", False),
        ("varchar(20)[]", "varchar[]", False),
        ("text", "text", False),
        ("integer", "bigint", True),  # a rewrite rebuilds every index
        ("text[]", "varchar[]", True),
        ("xml", "text", None),  # xml has no btree operator class
        (None, "text", None),
    ],
)
def test_rebuilds_indexes(old: str | None, new: str, expected: bool | None) -> None:
    assert rebuilds_indexes(old, new) is expected


def test_identity_types() -> None:
    assert {"smallint", "integer", "bigint"} == {t for t in ("smallint", "integer", "bigint") if is_identity_type(t)}
    assert {normalise(t) for t in ("smallint", "integer", "bigint")} == IDENTITY_TYPES
    assert is_identity_type("int8") and is_identity_type('"int4"')
    for other in ("uuid", "text", "numeric", "numeric(10)", "integer[]", "serial", "bigserial", "real"):
        assert not is_identity_type(other), other


def test_the_pg_cast_table_is_well_formed() -> None:
    assert all(context in "iae" and method in "fbi" for context, method in PG_CASTS.values())
    assert PG_CASTS[("text", "citext")] == ("a", "b")
    assert PG_CASTS[("citext", "text")] == ("i", "b")


def test_is_narrowing_reads_char_without_length_as_char_1() -> None:
    assert is_narrowing("text", "char")
    assert is_narrowing("varchar(200)", "varchar(50)")
    assert not is_narrowing("char(3)", "text")
