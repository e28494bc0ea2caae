"""Reading a migration file: one parser call where it sees what drizzle's chunking sees, else splitting.

`parse_migration` has two ways to the same statements; these tests hold them to the same result
(text, line, drizzle chunk, comments, parse tree shape, DO block contents) and check that the fast
way steps aside exactly where drizzle would cut a statement apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import outline
from policies import Context, analyze_sql
from policies.parsing import (
    ParsedStatement,
    _parse_whole_file,
    long_identifiers,
    may_have_long_identifier,
    parse_migration,
    parse_statement,
)
from policies.statements import split_statements

FIXTURES = Path(__file__).parent / "fixtures"


def _by_splitting(text: str) -> list[ParsedStatement]:
    return [parsed for statement in split_statements(text) for parsed in parse_statement(statement)]


DRIZZLE = """CREATE TABLE "user" (
\t"id" text PRIMARY KEY NOT NULL,
\t"email" text NOT NULL
);
--> statement-breakpoint
-- schemawarden-ignore SW101
CREATE INDEX "user_email_idx" ON "user" USING btree ("email");--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "session" ADD CONSTRAINT "session_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
"""

HAND_WRITTEN = """/* a block comment
   over lines */
BEGIN;
SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN note text; -- trailing remark
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$;
COMMIT;
SELECT 1
-- the last statement has no semicolon
"""


@pytest.mark.parametrize("text", [DRIZZLE, HAND_WRITTEN, "", "-- only a comment\n", "SELECT 1;;\n;SELECT 2;"])
def test_one_parser_call_gives_what_splitting_gives(text: str) -> None:
    assert _parse_whole_file(text) is not None
    assert outline(parse_migration(text)) == outline(_by_splitting(text))


def test_fixture_migrations_read_the_same_both_ways() -> None:
    files = sorted(FIXTURES.rglob("*.sql"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert outline(parse_migration(text)) == outline(_by_splitting(text)), path


def test_do_block_statements_keep_their_file_lines_after_earlier_statements() -> None:
    parsed = parse_migration(DRIZZLE)
    assert [p.line for p in parsed] == [1, 7, 8]
    assert [p.chunk for p in (x.statement for x in parsed)] == [0, 1, 2]
    (inner,) = parsed[2].inner
    assert inner.shape == "AlterTableStmt" and inner.line == 9 and inner.in_do_block
    assert parsed[1].statement.comments == "-- schemawarden-ignore SW101"


@pytest.mark.parametrize(
    "text",
    [
        "SELECT '--> statement-breakpoint';\n",  # drizzle cuts inside the string: two broken queries
        "CREATE TABLE a (x int)\n--> statement-breakpoint\nCREATE TABLE b (y int);\n",  # no semicolon
        "/* --> statement-breakpoint */ SELECT 1;\n",  # drizzle cuts inside the comment
        "SELECT 1;\nSELEC 2;\n",  # a syntax error is placed by its own statement
    ],
)
def test_where_drizzle_would_cut_differently_the_file_is_split(text: str) -> None:
    assert _parse_whole_file(text) is None
    assert outline(parse_migration(text)) == outline(_by_splitting(text))


def test_breakpoint_inside_a_string_gives_drizzles_two_broken_pieces() -> None:
    parsed = parse_migration("SELECT '--> statement-breakpoint';\n")
    assert len(parsed) == 2 and all(p.error for p in parsed)


def test_non_ascii_text_is_split_and_lines_stay_right() -> None:
    text = "-- café\nCREATE TABLE \"naïve\" (x int);\n\nCREATE INDEX i ON \"naïve\" (x);\n"
    assert [p.line for p in parse_migration(text)] == [2, 4]


@pytest.mark.parametrize(
    "sql",
    [
        'CREATE TABLE "' + "a" * 64 + '" (x int)',  # quoted, name characters only
        "CREATE TABLE " + "a" * 64 + " (x int)",  # unquoted
        'CREATE TABLE "' + "a b" * 22 + '" (x int)',  # quoted, with spaces
        'CREATE TABLE "' + 'a""b' * 22 + '" (x int)',  # quoted, with escaped quotes (66 characters)
        'CREATE TABLE "' + "é" * 32 + '" (x int)',  # 32 characters, 64 bytes
        "CREATE TABLE t (x text DEFAULT 'it''s');\nCREATE TABLE \"" + "a-b" * 22 + '" (x int)',
        "DO $$ BEGIN CREATE TABLE \"" + "a b" * 22 + '" (x int); END $$',
        # a quote inside a dollar-quoted string or a block comment must not hide the name that follows
        "SELECT $$it's$$;\nCREATE TABLE \"" + "a b" * 22 + "\" (x text DEFAULT 'y');",
        "/* it's */\nCREATE TABLE \"" + "a b" * 22 + "\" (x text DEFAULT 'y');",
        "SELECT E'it\\'s';\nCREATE TABLE \"" + "a b" * 22 + "\" (x text DEFAULT 'y');",
    ],
)
def test_every_long_identifier_passes_the_cheap_test_and_is_reported(sql: str) -> None:
    assert may_have_long_identifier(sql)
    report = analyze_sql("migrations/0001_long.sql", sql, Context())
    assert [f.code for f in report.findings if f.code == "SW508"] == ["SW508"]


@pytest.mark.parametrize(
    "sql",
    [
        # the text between two short names is longer than a name may be
        'ALTER TABLE "member" ADD CONSTRAINT "fk" FOREIGN KEY ("user_id") REFERENCES "user" ("id") '
        'ON DELETE CASCADE ON UPDATE NO ACTION DEFERRABLE INITIALLY DEFERRED, ADD COLUMN "x" int',
        "INSERT INTO t (x) VALUES ('\"" + "a b " * 30 + "\"');",  # a long string is not a name
        '-- "' + "x " * 40 + '"\nSELECT 1;',  # nor is a comment
    ],
)
def test_long_text_between_names_is_not_a_long_name(sql: str) -> None:
    assert not may_have_long_identifier(sql)
    assert long_identifiers(sql) == ()


def _concatenation(terms: int) -> str:
    return " || ".join(["'a'"] * terms)


@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE t SET x = {_concatenation(600)} WHERE id = 1;",  # deeper than the JSON decoder reads
        f"UPDATE t SET x = {_concatenation(5000)} WHERE id = 1;",  # near PostgreSQL's own limit
        f"ALTER TABLE t ADD COLUMN x text DEFAULT {_concatenation(500)};",  # deeper than the readers recurse
        f"DO $$ BEGIN UPDATE t SET x = {_concatenation(600)}; END $$;",  # inside a DO block
    ],
)
def test_a_statement_nested_too_deeply_is_unknown_and_reported_and_the_rest_is_judged(sql: str) -> None:
    text = sql + '\nCREATE INDEX "t_x_idx" ON "t" ("x");\n'
    report = analyze_sql("migrations/0001_deep.sql", text, Context())
    deep = [s for s in report.statements if s.line == 1 and s.operations[0]["kind"] == "unknown"]
    assert deep and deep[0].operations[0]["detail"] == "nested too deeply to analyse"
    assert deep[0].operations[0]["shape"] in ("UpdateStmt", "AlterTableStmt", "DoStmt")
    sw601 = [f for f in report.findings if f.code == "SW601"]
    assert [(f.line, f.severity.value) for f in sw601] == [(1, "warning")]
    assert "cannot analyse" in sw601[0].message
    assert any(f.code == "SW101" and f.line == 2 for f in report.findings)  # the next statement is judged


def test_a_long_but_flat_statement_is_judged_normally() -> None:
    values = ", ".join(f"({i}, 'name {i}')" for i in range(5000))
    report = analyze_sql("m.sql", f"INSERT INTO t (id, name) VALUES {values};", Context())
    assert report.statements[0].operations[0]["kind"] == "insert"
    assert not [f for f in report.findings if f.code == "SW601"]
