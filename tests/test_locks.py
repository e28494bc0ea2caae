"""The lock model: lock modes, rewrites and scans per operation and PostgreSQL version."""

from __future__ import annotations

import pytest

from policies import Context, analyze_sql
from policies.analysis import replay_schema
from policies.classify import classify
from policies.locks import ENTRIES, Effect, effect, lookup
from policies.operations import Operation
from policies.parsing import parse_statement
from policies.statements import Statement
from policies.type_changes import TypeChange, classify_type_change, is_narrowing
from policies.versions import NEWEST_VERSION, OLDEST_VERSION

SUPPORTED = range(OLDEST_VERSION, NEWEST_VERSION + 1)


def first(sql: str) -> Operation:
    (parsed,) = parse_statement(Statement(sql, 1, 0))
    return classify(parsed)[0]


def on(sql: str, version: int = 16) -> Effect:
    return effect(first(sql), version)


def locks(result: Effect) -> set[tuple[str, str]]:
    return {(lock.relation, lock.mode) for lock in result.locks}


@pytest.mark.parametrize("default", ["0", "'x'", "now()", "CURRENT_TIMESTAMP", "'{}'::jsonb", "true"])
def test_non_volatile_default_does_not_rewrite_on_any_supported_version(default: str) -> None:
    sql = f"ALTER TABLE t ADD COLUMN c text DEFAULT {default}"
    for version in SUPPORTED:
        assert on(sql, version).rewrites == ()


@pytest.mark.parametrize("default", ["clock_timestamp()", "random()", "gen_random_uuid()", "uuid_generate_v4()"])
def test_volatile_default_rewrites_on_every_version(default: str) -> None:
    for version in SUPPORTED:
        assert on(f"ALTER TABLE t ADD COLUMN c text DEFAULT {default}", version).rewrites == ("t",)


def test_serial_and_stored_generated_columns_rewrite() -> None:
    assert on("ALTER TABLE t ADD COLUMN n bigserial").rewrites == ("t",)
    assert on("ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a * 2) STORED").rewrites == ("t",)
    assert on("ALTER TABLE t ADD COLUMN c text").rewrites == ()


def test_add_column_takes_access_exclusive() -> None:
    assert locks(on('ALTER TABLE "s"."t" ADD COLUMN c int')) == {("s.t", "ACCESS EXCLUSIVE")}


def test_set_not_null_scans_unless_proven_by_a_check_from_12() -> None:
    plain = first("ALTER TABLE t ALTER COLUMN c SET NOT NULL")
    proven = plain._replace(proven_not_null=True)
    assert effect(plain, 16).scans == ("t",)
    assert effect(proven, 12).scans == ()
    assert effect(proven, 11).scans == ("t",)
    assert locks(effect(proven, 16)) == {("t", "ACCESS EXCLUSIVE")}


def test_foreign_key_locks_both_tables_in_share_row_exclusive() -> None:
    sql = "ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES u (id)"
    validating = on(sql)
    assert locks(validating) == {("o", "SHARE ROW EXCLUSIVE"), ("u", "SHARE ROW EXCLUSIVE")}
    assert validating.scans == ("o",)
    assert on(sql + " NOT VALID").scans == ()


def test_validate_constraint_takes_share_update_exclusive_and_scans() -> None:
    result = on("ALTER TABLE o VALIDATE CONSTRAINT f")
    assert locks(result) == {("o", "SHARE UPDATE EXCLUSIVE")} and result.scans == ("o",)
    assert result.cite.startswith("sql-altertable.html")


def test_index_builds() -> None:
    assert locks(on("CREATE INDEX i ON t (a)")) == {("t", "SHARE")}
    assert locks(on("CREATE INDEX CONCURRENTLY i ON t (a)")) == {("t", "SHARE UPDATE EXCLUSIVE")}
    assert locks(on("DROP INDEX i")) == {("i", "ACCESS EXCLUSIVE")}
    assert locks(on("DROP INDEX CONCURRENTLY i")) == {("i", "SHARE UPDATE EXCLUSIVE")}


def test_unique_constraint_builds_its_index_under_access_exclusive_unless_using_index() -> None:
    building = on("ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)")
    assert locks(building) == {("t", "ACCESS EXCLUSIVE")} and building.scans == ("t",)
    assert on("ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i").scans == ()


def test_maintenance_statements() -> None:
    assert on("VACUUM FULL t").rewrites == ("t",)
    assert locks(on("VACUUM t")) == {("t", "SHARE UPDATE EXCLUSIVE")}
    assert on("CLUSTER t USING i").rewrites == ("t",)
    assert locks(on("REFRESH MATERIALIZED VIEW CONCURRENTLY m")) == {("m", "EXCLUSIVE")}
    assert locks(on("REFRESH MATERIALIZED VIEW m")) == {("m", "ACCESS EXCLUSIVE")}
    assert locks(on("REINDEX TABLE t")) == {("t", "SHARE")}
    assert locks(on("REINDEX TABLE CONCURRENTLY t")) == {("t", "SHARE UPDATE EXCLUSIVE")}
    assert locks(on("LOCK TABLE t IN ROW EXCLUSIVE MODE")) == {("t", "ROW EXCLUSIVE")}


def test_version_dependent_lock_levels() -> None:
    assert locks(on("ALTER INDEX i RENAME TO j", 11)) == {("i", "ACCESS EXCLUSIVE")}
    assert locks(on("ALTER INDEX i RENAME TO j", 12)) == {("i", "SHARE UPDATE EXCLUSIVE")}
    attach = "ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (1)"
    assert locks(on(attach, 11)) == {("p", "ACCESS EXCLUSIVE"), ("c", "ACCESS EXCLUSIVE")}
    assert locks(on(attach, 12)) == {("p", "SHARE UPDATE EXCLUSIVE"), ("c", "ACCESS EXCLUSIVE")}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("varchar(10)", "varchar(20)", TypeChange.BINARY_COERCIBLE),
        ("varchar(20)", "varchar(10)", TypeChange.REWRITE),
        ("varchar(10)", "text", TypeChange.BINARY_COERCIBLE),
        ("character varying(10)", "varchar", TypeChange.BINARY_COERCIBLE),
        ("text", "varchar(10)", TypeChange.REWRITE),
        ("numeric(10,2)", "numeric(12,2)", TypeChange.BINARY_COERCIBLE),
        ("numeric(10,2)", "numeric(12,3)", TypeChange.REWRITE),
        ("numeric(10,2)", "numeric", TypeChange.BINARY_COERCIBLE),
        ("int4", "int8", TypeChange.REWRITE),
        ("integer", "bigint", TypeChange.REWRITE),
        ("cidr", "inet", TypeChange.BINARY_COERCIBLE),
        ("char(3)", "text", TypeChange.REWRITE),
        ("json", "jsonb", TypeChange.REWRITE),
        ("timestamp", "timestamptz", TypeChange.REWRITE),
        (None, "text", TypeChange.UNKNOWN),
    ],
)
def test_type_change_classification(old: str | None, new: str, expected: TypeChange) -> None:
    assert classify_type_change(old, new) is expected


def test_using_expression_forces_a_rewrite_unless_it_is_the_plain_cast() -> None:
    assert classify_type_change("varchar(10)", "text", "lower(c)") is TypeChange.REWRITE
    assert classify_type_change("varchar(10)", "text", "c::text") is TypeChange.BINARY_COERCIBLE


def test_narrowing_changes() -> None:
    assert is_narrowing("varchar(200)", "varchar(50)")
    assert is_narrowing("text", "varchar(50)")
    assert is_narrowing("int8", "int4")
    assert is_narrowing("numeric(10,2)", "numeric(10,1)")
    assert not is_narrowing("int4", "int8")
    assert not is_narrowing("varchar(50)", "text")
    assert not is_narrowing(None, "int4")


def test_every_entry_cites_the_postgresql_docs_and_covers_versions_in_range() -> None:
    for entry in ENTRIES:
        assert ".html" in entry.cite, entry
        assert 10 <= entry.since <= entry.until <= 18, entry


def test_lookup_returns_nothing_for_statements_without_table_locks() -> None:
    assert lookup(first("CREATE EXTENSION IF NOT EXISTS pgcrypto"), 16) is None


# What a DROP takes with it: relations PostgreSQL locks ACCESS EXCLUSIVE without the statement
# naming them (each found by the rulebook's examples traced in tests/test_prove_locks.py, where the
# same cases run on a real server).
DEPENDENTS = """
CREATE TYPE status AS ENUM ('a');
CREATE DOMAIN amount AS numeric;
CREATE TABLE parent (id bigint PRIMARY KEY);
CREATE TABLE t (id bigint PRIMARY KEY, s status, a amount, n int);
CREATE VIEW t_s AS SELECT id FROM t WHERE s = 'a';
CREATE VIEW t_n AS SELECT n FROM t;
CREATE VIEW t_n2 AS SELECT * FROM t_n;
CREATE MATERIALIZED VIEW t_mv AS WITH c AS (SELECT count(*) AS k FROM t) SELECT k FROM c;
CREATE TABLE refs (t_id bigint REFERENCES t (id));
CREATE TABLE prefs (t_id bigint REFERENCES t (id), at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE prefs_1 PARTITION OF prefs FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE SCHEMA r;
CREATE TABLE r.x (id bigint PRIMARY KEY, p bigint REFERENCES parent (id));
CREATE VIEW r_x AS SELECT id FROM r.x;
CREATE TABLE counters (id serial PRIMARY KEY, n bigint GENERATED ALWAYS AS IDENTITY);
CREATE SEQUENCE numbers;
CREATE VIEW next_numbers AS SELECT last_value FROM numbers;
CREATE TABLE tickets (id bigint PRIMARY KEY, n bigint DEFAULT nextval('numbers'));
"""


@pytest.mark.parametrize(("sql", "locked"), [
    pytest.param("DROP TABLE t", {"t"}, id="drop-table-without-cascade-fails-on-dependents-so-locks-itself"),
    pytest.param(
        "DROP TABLE t CASCADE", {"t", "t_s", "t_n", "t_n2", "t_mv", "refs", "prefs", "prefs_1"},
        id="drop-table-cascade-dependent-views-and-referencing-tables-with-partitions",
    ),
    pytest.param("DROP VIEW t_n CASCADE", {"t_n", "t_n2"}, id="drop-view-cascade-dependent-view"),
    pytest.param("DROP MATERIALIZED VIEW t_mv", {"t_mv"}, id="drop-materialized-view"),
    pytest.param("DROP TYPE status CASCADE", {"t", "t_s"}, id="drop-type-cascade-its-columns-and-the-views-reading-them"),
    pytest.param("DROP TYPE status", set(), id="drop-type-without-cascade-locks-nothing"),
    pytest.param("DROP DOMAIN amount CASCADE", {"t"}, id="drop-domain-cascade-its-columns"),
    pytest.param("DROP SCHEMA r CASCADE", {"r.x", "r_x", "parent"}, id="drop-schema-cascade-relations-and-dependents-elsewhere"),
    pytest.param("DROP TABLE prefs_1", {"prefs_1", "prefs"}, id="drop-partition-locks-its-partitioned-table"),
    pytest.param("DROP TABLE IF EXISTS gone", set(), id="drop-if-exists-of-an-absent-table-locks-nothing"),
    pytest.param("DROP TABLE counters", {"counters", "counters_id_seq", "counters_n_seq"}, id="drop-table-owning-sequences"),
    pytest.param("ALTER TABLE counters DROP COLUMN n", {"counters", "counters_n_seq"}, id="drop-column-owning-a-sequence"),
    pytest.param("ALTER TABLE t DROP COLUMN s CASCADE", {"t", "t_s"}, id="drop-column-cascade-view-reading-it"),
    pytest.param(
        "DROP SEQUENCE numbers CASCADE", {"numbers", "next_numbers", "tickets"}, id="drop-sequence-cascade-view-and-default"
    ),
])
def test_what_a_drop_takes_with_it_is_locked_access_exclusive(sql: str, locked: set[str]) -> None:
    schema = replay_schema([DEPENDENTS], 16)
    (statement,) = analyze_sql("m.sql", f"{sql};\n", Context(pg_version=16), schema=schema).statements
    assert {(lock.relation, lock.mode) for lock in statement.locks} == {(r, "ACCESS EXCLUSIVE") for r in locked}


def test_the_replay_forgets_what_a_cascade_dropped() -> None:
    schema = replay_schema([DEPENDENTS + "DROP TABLE t CASCADE;\nDROP TYPE status CASCADE;\nDROP SCHEMA r CASCADE;\n"], 16)
    assert set(schema.tables) == {"parent", "refs", "prefs", "prefs_1", "counters", "next_numbers", "tickets"}
    before = replay_schema([DEPENDENTS + "DROP TYPE status CASCADE;\n"], 16)
    assert "t_s" not in before.tables and "s" not in before.tables["t"].columns and "t_n" in before.tables
    assert before.tables["t_n2"].depends_on == ("t_n",) and before.tables["t_mv"].depends_on == ("t",)
