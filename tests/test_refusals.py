"""The refusals of SW609 (policies/schema/refusals.py), without a server.

The cases are those of tests/test_refusals_on_postgres.py, where each one's `expect` is held against
a real PostgreSQL of every major version: here the analysis alone must give, for every version from
11 to 18, what that table says the server does (the version differences included).
"""

from __future__ import annotations

import pytest
from test_refusals_on_postgres import CASES, Case, sw609

from policies.operations import quote_ident
from policies.report import SaferKind
from policies.schema.refusals import _chosen_name, _format_type
from policies.schema.replay import _nextval_sequence

VERSIONS = range(11, 19)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refusal(case: Case) -> None:
    for major in VERSIONS:
        findings = sw609(case, major)
        expected = case.expected(major)
        if expected is None:
            assert not findings, f"PostgreSQL {major} accepts it; SW609 said {findings[0].message}"
            continue
        sqlstate, message = expected
        assert len(findings) == 1, f"PostgreSQL {major}: {expected}; SW609: {[f.message for f in findings]}"
        assert f"ERROR {sqlstate}: {message}." in findings[0].message, f"PostgreSQL {major}"


def test_the_fix_of_a_type_change_casts_where_a_cast_exists() -> None:
    by_name = {c.name: c for c in CASES}
    text_to_enum = sw609(by_name["text to enum"], 16)[0]
    assert text_to_enum.safer_kind is SaferKind.RECIPE
    assert text_to_enum.safer == 'ALTER TABLE "account" ALTER COLUMN "label" SET DATA TYPE "role" USING "label"::"role";'.replace(
        '"account"', '"member"'
    )
    assert 'USING "role"::text::"team_role"' in sw609(by_name["enum to another enum"], 16)[0].safer
    assert sw609(by_name["integer to uuid"], 16)[0].safer.startswith("-- PostgreSQL has no cast from integer to uuid")
    assert 'HINT: You might need to specify "USING "zipCode"::integer".' in sw609(
        by_name["text to integer, a mixed-case column"], 16
    )[0].message


@pytest.mark.parametrize(
    ("written", "plain", "with_typmod"),
    [
        ("int4", "integer", "integer"),
        ("integer[]", "integer[]", "integer[]"),
        ("numeric(10, 2)", "numeric", "numeric(10,2)"),
        ("varchar(20)", "character varying", "character varying(20)"),
        ("timestamp (3) with time zone", "timestamp with time zone", "timestamp(3) with time zone"),
        ("timestamptz", "timestamp with time zone", "timestamp with time zone"),
        ("bpchar", "character", "bpchar"),
        ("char(4)", "character", "character(4)"),
        ("bool", "boolean", "boolean"),
        ('"public"."role"', "role", "role"),
        ("app.level", "app.level", "app.level"),
        ('"Role"', '"Role"', '"Role"'),
    ],
)
def test_types_are_printed_as_format_type_prints_them(written: str, plain: str, with_typmod: str) -> None:
    assert _format_type(written) == plain
    assert _format_type(written, typmod=True) == with_typmod


def test_identifiers_are_quoted_as_quote_identifier_quotes_them() -> None:
    assert [quote_ident(n) for n in ("code", "zipCode", "user", "role", "2x", "a b")] == [
        "code", '"zipCode"', '"user"', "role", '"2x"', '"a b"'
    ]


def test_names_postgresql_chooses_for_unnamed_constraints() -> None:
    assert all(_chosen_name(n) for n in ("t_pkey", "t_a_key", "t_a_fkey1", "t_a_check", "t_a_excl2"))
    assert not any(_chosen_name(n) for n in ("t_pk", "t_a_fk", "t_a_unique", "pkey"))


def test_the_sequence_of_a_nextval_default() -> None:
    assert _nextval_sequence("nextval('number_seq')") == "number_seq"
    assert _nextval_sequence("nextval('public.\"Odd_seq\"'::regclass)") == "Odd_seq"
    assert _nextval_sequence("nextval('app.Number_Seq'::regclass)") == "app.number_seq"
    assert _nextval_sequence("now()") is None
    assert _nextval_sequence(None) is None
