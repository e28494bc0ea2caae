"""The differ and its DDL held against real PostgreSQL: for each object kind, a schema `before`, a
migration that changes it into `after`, and the rollback `render(diff(after, before, renames))`.

In a fresh database: build `before`, introspect; run the migration, introspect (`after`); run the
rollback, introspect: it must equal `before` (`==`, and the columns in the same order unless the
diff says no ALTER can restore it); run the migration again: it must succeed and give `after`.
Renames are read from the migration's own statements and inverted, so a renamed column comes back
renamed, with its data.

CI runs this file on the embedded PostgreSQL 18 and on 15, and through `tests/run_on_postgres.py`
on 11 and 17.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import psycopg
import pytest
from conftest import fresh_database

from policies.schema import Schema
from policies.schema.changes import Change, ColumnOrder
from policies.schema.ddl import notes, render
from policies.schema.diff import diff
from policies.schema.losses import losses
from policies.schema.renames import renames_in_sql
from policies.statements import split_statements
from reconciler.database.introspect import introspect

READER = "sw_roundtrip_reader"
"""A role the privileges cases grant to (roles belong to the whole server)."""


class Case(NamedTuple):
    """One round trip: `before` statements, the `migration` text, from which major version."""

    name: str
    before: str
    migration: str
    since: int = 11
    reorders: bool = False
    """The rollback cannot restore the column order (a ColumnOrder note must say so)."""
    lost: tuple[str, ...] = ()
    """The start of each data loss the rollback reports (`losses`), in order."""


class Trip(NamedTuple):
    before: Schema
    after: Schema
    changes: tuple[Change, ...]
    rollback: list[str]
    restored: Schema
    again: Schema
    rows: list[tuple[Any, ...]]


def _run(conn: psycopg.Connection[Any], sql: str) -> None:
    """Each statement on its own (autocommit), as an apply runs what cannot share a transaction."""
    for statement in split_statements(sql):
        conn.execute(statement.sql.encode())  # bytes: psycopg sends the text as it is


def _columns(schema: Schema) -> dict[str, list[str]]:
    return {key: list(table.columns) for key, table in schema.tables.items()}


def round_trip(url: str, before: str, migration: str, rows: str | None = None) -> Trip:
    """Build, migrate, roll back, migrate again, introspecting after each step (and, with `rows`, a
    query's rows after the rollback)."""
    with psycopg.connect(url, autocommit=True) as conn:
        version = conn.info.server_version // 10000
        if before.strip():
            _run(conn, before)
        schema_before = introspect(conn)
        _run(conn, migration)
        schema_after = introspect(conn)
        changes = diff(schema_after, schema_before, renames_in_sql(migration).inverted())
        rollback = render(changes, pg_version=version)
        for statement in rollback:
            try:
                conn.execute(statement.encode())
            except psycopg.Error as error:
                raise AssertionError(f"rollback statement failed: {statement}\n{error}\nall:\n" + ";\n".join(rollback)) from error
        restored = introspect(conn)
        kept = conn.execute(rows.encode()).fetchall() if rows else []
        _run(conn, migration)
        again = introspect(conn)
    return Trip(schema_before, schema_after, changes, rollback, restored, again, kept)


def _explain(expected: Schema, got: Schema) -> str:
    lines = []
    for field in Schema._fields:
        left, right = getattr(expected, field), getattr(got, field)
        if left == right:
            continue
        if isinstance(left, dict) or hasattr(left, "items"):
            for key in sorted(set(left) | set(right), key=str):
                if left.get(key) != right.get(key):
                    lines.append(f"{field}[{key!r}]:\n  want {left.get(key)!r}\n  got  {right.get(key)!r}")
        else:
            lines.append(f"{field}: want {left!r} got {right!r}")
    return "\n".join(lines)


def check(url: str, case: Case, rows: str | None = None) -> Trip:
    trip = round_trip(url, case.before, case.migration, rows)
    sql = ";\n".join(trip.rollback)
    assert trip.before != trip.after, f"the migration of {case.name} changes nothing the model sees"
    assert trip.restored == trip.before, f"rollback:\n{sql}\n\n{_explain(trip.before, trip.restored)}"
    assert trip.again == trip.after, _explain(trip.after, trip.again)
    reasons = [loss.reason for loss in losses(trip.changes, trip.after, trip.before)]
    assert len(reasons) == len(case.lost) and all(r.startswith(w) for r, w in zip(reasons, case.lost, strict=True)), reasons
    reordered = any(isinstance(c, ColumnOrder) for c in trip.changes)
    if case.reorders:
        assert reordered and notes(trip.changes), f"no note for the column order:\n{sql}"
    else:
        assert not reordered, f"unexpected column order note:\n{sql}"
        assert _columns(trip.restored) == _columns(trip.before), sql
    return trip


CASES = [
    # -- columns
    Case("add column", "CREATE TABLE t (id int PRIMARY KEY, a text);", "ALTER TABLE t ADD COLUMN b int DEFAULT 1 NOT NULL;", lost=('column t.b is dropped',)),
    Case(
        "drop column in the middle",
        "CREATE TABLE t (id int PRIMARY KEY, a text NOT NULL DEFAULT 'x', b int);",
        "ALTER TABLE t DROP COLUMN a;",
        reorders=True,
    ),
    Case("drop last column", "CREATE TABLE t (id int PRIMARY KEY, a text, b varchar(20) COLLATE \"C\");", "ALTER TABLE t DROP COLUMN b;"),
    Case("rename column", "CREATE TABLE t (id int PRIMARY KEY, a text, b int);", 'ALTER TABLE "t" RENAME COLUMN "a" TO "c";'),
    Case(
        "rename column read by an index, a check and a foreign key",
        "CREATE TABLE p (id int PRIMARY KEY, code text UNIQUE); CREATE TABLE t (id int PRIMARY KEY, code text "
        "REFERENCES p (code), CHECK (length(code) > 1)); CREATE INDEX t_code ON t (lower(code));",
        "ALTER TABLE p RENAME COLUMN code TO ref; ALTER TABLE t RENAME COLUMN code TO p_ref;",
    ),
    Case("type widened", "CREATE TABLE t (id int PRIMARY KEY, n int DEFAULT 0, s varchar(10));",
         "ALTER TABLE t ALTER COLUMN n TYPE bigint; ALTER TABLE t ALTER COLUMN s TYPE text;", lost=('column t.n changes type', 'column t.s changes type')),
    Case("type needing USING", "CREATE TABLE t (id int PRIMARY KEY, n int DEFAULT 7, flag boolean DEFAULT false);",
         "ALTER TABLE t ALTER COLUMN n TYPE text; ALTER TABLE t ALTER COLUMN flag TYPE text;"),
    Case("text to integer", "CREATE TABLE t (id int PRIMARY KEY, n text DEFAULT '1');",
         "ALTER TABLE t ALTER COLUMN n DROP DEFAULT; ALTER TABLE t ALTER COLUMN n TYPE integer USING n::integer; "
         "ALTER TABLE t ALTER COLUMN n SET DEFAULT 5;"),
    Case("collation", "CREATE TABLE t (id int PRIMARY KEY, a text);", 'ALTER TABLE t ALTER COLUMN a TYPE text COLLATE "C";'),
    Case("nullability and default", "CREATE TABLE t (id int PRIMARY KEY, a text, b int NOT NULL DEFAULT 3);",
         "ALTER TABLE t ALTER COLUMN a SET NOT NULL; ALTER TABLE t ALTER COLUMN a SET DEFAULT 'z'; "
         "ALTER TABLE t ALTER COLUMN b DROP NOT NULL; ALTER TABLE t ALTER COLUMN b DROP DEFAULT;"),
    Case("identity added", "CREATE TABLE t (id int NOT NULL, a text);",
         "ALTER TABLE t ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (START WITH 10 INCREMENT BY 2);", lost=('identity of column t.id',)),
    Case("identity dropped", "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY (START 5 CACHE 4) PRIMARY KEY, a text);",
         "ALTER TABLE t ALTER COLUMN id DROP IDENTITY;"),
    Case("identity options", "CREATE TABLE t (id smallint GENERATED ALWAYS AS IDENTITY, a text);",
         "ALTER TABLE t ALTER COLUMN id SET GENERATED BY DEFAULT; ALTER TABLE t ALTER COLUMN id SET INCREMENT BY 3 SET MAXVALUE 1000;"),
    Case("serial to identity", "CREATE TABLE t (id serial PRIMARY KEY, a text);",
         "ALTER TABLE t ALTER COLUMN id DROP DEFAULT; DROP SEQUENCE t_id_seq; "
         "ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;", lost=('identity of column t.id',)),
    Case("serial column added", "CREATE TABLE t (a text);", "ALTER TABLE t ADD COLUMN id bigserial;", lost=('column t.id is dropped',)),
    Case("serial column dropped", "CREATE TABLE t (id serial, a text);", "ALTER TABLE t DROP COLUMN id;", reorders=True),
    Case("generated expression", "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED, c text);",
         "ALTER TABLE t DROP COLUMN b; ALTER TABLE t ADD COLUMN b int GENERATED ALWAYS AS (a * 3) STORED;",
         since=12, reorders=True),
    Case("generated column added", "CREATE TABLE t (a int);", "ALTER TABLE t ADD COLUMN b int GENERATED ALWAYS AS (a + 1) STORED;", since=12),
    # -- tables
    Case("create table", "", "CREATE TABLE t (id int PRIMARY KEY, a text DEFAULT 'x' NOT NULL, b numeric(10,2)) WITH (fillfactor=80);", lost=('table t is dropped',)),
    Case("tables dropped with everything", "CREATE TABLE a (id int PRIMARY KEY, b_id int); CREATE TABLE b (id serial "
         "PRIMARY KEY, a_id int REFERENCES a); ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b; CREATE INDEX a_b ON a (b_id); "
         "CREATE VIEW v AS SELECT a.id FROM a JOIN b ON b.a_id = a.id; COMMENT ON TABLE a IS 'a'; GRANT SELECT ON b TO PUBLIC; "
         "CREATE TABLE c (id int REFERENCES a);", "DROP VIEW v; DROP TABLE c; DROP TABLE a, b;"),
    Case("rename table", "CREATE TABLE t (id serial PRIMARY KEY, a text UNIQUE);", "ALTER TABLE t RENAME TO u;"),
    Case("move table to another schema", "CREATE SCHEMA app; CREATE TABLE t (id int PRIMARY KEY);", "ALTER TABLE t SET SCHEMA app;"),
    Case("unlogged and options", "CREATE TABLE t (id int) WITH (fillfactor=70);",
         "ALTER TABLE t SET UNLOGGED; ALTER TABLE t RESET (fillfactor); ALTER TABLE t SET (autovacuum_enabled=false);"),
    Case("row level security", "CREATE TABLE t (id int, owner text);",
         "ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY; "
         "CREATE POLICY mine ON t FOR SELECT TO public USING (owner = current_user);"),
    Case("policy changed", "CREATE TABLE t (id int, owner text); CREATE POLICY p ON t USING (owner = current_user);",
         "ALTER POLICY p ON t USING (owner = session_user) WITH CHECK (id > 0);"),
    Case("restrictive policy dropped", "CREATE TABLE t (id int, owner text); "
         "CREATE POLICY p ON t AS RESTRICTIVE FOR UPDATE USING (id > 0) WITH CHECK (id < 100);", "DROP POLICY p ON t;"),
    Case("partitions", "CREATE TABLE m (at date NOT NULL, v int) PARTITION BY RANGE (at); "
         "CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01'); CREATE INDEX m_v ON m (v);",
         "CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01'); "
         "ALTER TABLE m DETACH PARTITION m_2024; CREATE INDEX m_at ON m (at);", lost=('table m_2025 is dropped',)),
    Case("partitioned table dropped", "CREATE TABLE m (at date NOT NULL, v int, PRIMARY KEY (at)) PARTITION BY RANGE (at); "
         "CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01'); "
         "CREATE TABLE m_rest PARTITION OF m DEFAULT;", "DROP TABLE m;"),
    # -- constraints and indexes
    Case("constraints added", "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE t (id int, p_id int, n int);",
         "ALTER TABLE t ADD PRIMARY KEY (id); ALTER TABLE t ADD CONSTRAINT t_p FOREIGN KEY (p_id) REFERENCES p (id) "
         "ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED; ALTER TABLE t ADD CONSTRAINT n_pos CHECK (n > 0) NOT VALID; "
         "ALTER TABLE t ADD CONSTRAINT n_u UNIQUE (n);"),
    Case("constraints dropped", "CREATE TABLE p (id int PRIMARY KEY, code text, UNIQUE (code)); CREATE TABLE t (id int "
         "PRIMARY KEY, p_code text REFERENCES p (code), n int CHECK (n > 0));",
         "ALTER TABLE t DROP CONSTRAINT t_p_code_fkey; ALTER TABLE p DROP CONSTRAINT p_code_key; ALTER TABLE t DROP CONSTRAINT t_n_check;"),
    Case("key referenced by a foreign key changed", "CREATE TABLE p (a int, b int, PRIMARY KEY (a)); "
         "CREATE TABLE t (id int, p_a int REFERENCES p);",
         "ALTER TABLE t DROP CONSTRAINT t_p_a_fkey; ALTER TABLE p DROP CONSTRAINT p_pkey; ALTER TABLE p ADD PRIMARY KEY (a, b);"),
    Case("constraint validated", "CREATE TABLE t (n int); ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0) NOT VALID;",
         "ALTER TABLE t VALIDATE CONSTRAINT c;"),
    Case("constraint renamed", "CREATE TABLE t (n int CONSTRAINT c CHECK (n > 0), id int CONSTRAINT pk PRIMARY KEY);",
         "ALTER TABLE t RENAME CONSTRAINT c TO d; ALTER TABLE t RENAME CONSTRAINT pk TO t_pk;"),
    Case("indexes", "CREATE TABLE t (a int, b text); CREATE INDEX t_a ON t (a); CREATE UNIQUE INDEX t_b ON t (lower(b)) WHERE a > 0;",
         "DROP INDEX t_a; CREATE INDEX t_a ON t USING hash (a); DROP INDEX t_b; CREATE INDEX t_ab ON t (a, b) INCLUDE (b);"),
    Case("index renamed", "CREATE TABLE t (a int UNIQUE); CREATE INDEX t_a ON t (a);",
         "ALTER INDEX t_a RENAME TO t_a2; ALTER INDEX t_a_key RENAME TO t_a_unique;"),
    # -- types
    Case("enum created and used", "CREATE TABLE t (id int);",
         "CREATE TYPE mood AS ENUM ('sad', 'ok'); ALTER TABLE t ADD COLUMN m mood DEFAULT 'ok';", lost=('column t.m is dropped',)),
    Case("enum value added", "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE t (m mood DEFAULT 'ok');",
         "ALTER TYPE mood ADD VALUE 'happy'; ALTER TYPE mood ADD VALUE 'meh' BEFORE 'sad';", lost=("enum mood loses 'meh', 'happy'",)),
    Case("enum value renamed", "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE t (m mood DEFAULT 'ok', ms mood[]);",
         "ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';"),
    Case("enum value removed", "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); "
         "CREATE TABLE t (m mood DEFAULT 'ok', ms mood[]); CREATE VIEW v AS SELECT m FROM t;",
         "DROP VIEW v; ALTER TYPE mood RENAME TO mood_old; CREATE TYPE mood AS ENUM ('sad', 'ok'); "
         "ALTER TABLE t ALTER COLUMN m DROP DEFAULT; ALTER TABLE t ALTER COLUMN m TYPE mood USING m::text::mood; "
         "ALTER TABLE t ALTER COLUMN ms TYPE mood[] USING ms::text::mood[]; ALTER TABLE t ALTER COLUMN m SET DEFAULT 'ok'; "
         "DROP TYPE mood_old; CREATE VIEW v AS SELECT m FROM t;"),
    Case("enum renamed", "CREATE TYPE mood AS ENUM ('a'); CREATE TABLE t (m mood);", "ALTER TYPE mood RENAME TO feeling;"),
    Case("enum dropped with its column", "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TABLE t (id int, m mood DEFAULT 'b');",
         "ALTER TABLE t DROP COLUMN m; DROP TYPE mood;"),
    Case("domain", "CREATE DOMAIN price AS numeric(10,2) DEFAULT 0 CONSTRAINT pos CHECK (VALUE >= 0); CREATE TABLE t (p price);",
         "ALTER DOMAIN price SET NOT NULL; ALTER DOMAIN price DROP DEFAULT; ALTER DOMAIN price DROP CONSTRAINT pos; "
         "ALTER DOMAIN price ADD CONSTRAINT cap CHECK (VALUE < 100) NOT VALID; CREATE DOMAIN code AS text COLLATE \"C\" NOT NULL;"),
    Case("composite", "CREATE TYPE addr AS (street text, city text); CREATE TYPE pt AS (x int, y int);",
         "ALTER TYPE addr ADD ATTRIBUTE zip varchar(10); ALTER TYPE addr DROP ATTRIBUTE street; "
         "ALTER TYPE addr ALTER ATTRIBUTE city TYPE varchar(50); DROP TYPE pt; CREATE TYPE pair AS (a text COLLATE \"C\", b int);"),
    # -- sequences
    Case("sequence options and owner", "CREATE TABLE t (n bigint); CREATE SEQUENCE s AS integer START 10 INCREMENT 5;",
         "ALTER SEQUENCE s INCREMENT 2 MAXVALUE 5000 CACHE 3 CYCLE; ALTER SEQUENCE s OWNED BY t.n; "
         "CREATE SEQUENCE s2 AS smallint; DROP SEQUENCE IF EXISTS nothing;", lost=('sequence s2 is dropped',)),
    Case("sequence type and rename", "CREATE SEQUENCE s AS bigint;", "ALTER SEQUENCE s AS smallint; ALTER SEQUENCE s RENAME TO s3;"),
    # -- views
    Case("view over a retyped column", "CREATE TABLE t (id int, a varchar(10)); CREATE VIEW v AS SELECT id, a FROM t; "
         "CREATE VIEW w AS SELECT a FROM v; CREATE MATERIALIZED VIEW mv AS SELECT id FROM t; CREATE INDEX mv_id ON mv (id);",
         "DROP VIEW w; DROP VIEW v; ALTER TABLE t ALTER COLUMN a TYPE text; CREATE VIEW v AS SELECT id, a FROM t; "
         "CREATE VIEW w AS SELECT a FROM v; COMMENT ON VIEW w IS 'w';", lost=('column t.a changes type',)),
    Case("views changed and dropped", "CREATE TABLE t (id int, a text); CREATE VIEW v AS SELECT id FROM t; "
         "CREATE MATERIALIZED VIEW mv AS SELECT id, a FROM t WITH NO DATA; CREATE UNIQUE INDEX mv_id ON mv (id); "
         "COMMENT ON MATERIALIZED VIEW mv IS 'mv'; GRANT SELECT ON v TO PUBLIC;",
         "CREATE OR REPLACE VIEW v AS SELECT id, a FROM t; DROP MATERIALIZED VIEW mv; "
         "CREATE VIEW v2 WITH (security_barrier) AS SELECT a FROM v;"),
    # -- functions, triggers
    Case("function and trigger", "CREATE TABLE t (id int, at timestamptz);",
         "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$; "
         "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE PROCEDURE touch(); "
         "ALTER TABLE t DISABLE TRIGGER t_touch;"),
    Case("function body and signature", "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'SELECT a + 1'; "
         "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql AS 'SELECT a'; "
         "CREATE PROCEDURE p(a int) LANGUAGE sql AS 'SELECT 1';",
         "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'SELECT a + 2'; DROP FUNCTION g(int); "
         "CREATE FUNCTION g(a int) RETURNS bigint LANGUAGE sql AS 'SELECT a::bigint'; DROP PROCEDURE p(int);"),
    Case("sql function reading a new table", "", "CREATE TABLE t (id int); CREATE FUNCTION n() RETURNS bigint LANGUAGE sql "
         "AS 'SELECT count(*) FROM t';", lost=('table t is dropped',)),
    Case("sql function and its table dropped", "CREATE TABLE t (id int); CREATE FUNCTION n() RETURNS bigint LANGUAGE sql "
         "AS $$SELECT count(*) FROM t$$; CREATE VIEW v AS SELECT n();", "DROP VIEW v; DROP FUNCTION n(); DROP TABLE t;"),
    Case("trigger calling a function that changes", "CREATE TABLE t (id int); CREATE FUNCTION trg() RETURNS trigger "
         "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; CREATE TRIGGER t1 AFTER INSERT ON t FOR EACH ROW EXECUTE PROCEDURE trg();",
         "DROP TRIGGER t1 ON t; CREATE TRIGGER t1 BEFORE INSERT OR UPDATE OF id ON t FOR EACH ROW WHEN (NEW.id > 0) "
         "EXECUTE PROCEDURE trg(); ALTER TABLE t ENABLE ALWAYS TRIGGER t1;"),
    # -- what depends on what
    Case("tables renamed under a view, a foreign key, a trigger and a policy",
         "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE t (id int PRIMARY KEY, p_id int REFERENCES p); "
         "CREATE VIEW v AS SELECT t.id, p.id AS pid FROM t JOIN p ON p.id = t.p_id; CREATE FUNCTION trg() RETURNS trigger "
         "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE "
         "PROCEDURE trg(); CREATE POLICY t_pol ON t USING (p_id > 0); COMMENT ON TABLE t IS 'tee';",
         "ALTER TABLE t RENAME TO t2; ALTER TABLE p RENAME TO p2; ALTER TABLE t2 RENAME COLUMN p_id TO parent;"),
    Case("column retyped under a policy and a trigger",
         "CREATE TABLE t (id int, n int); CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
         "RETURN NEW; END $$; CREATE TRIGGER t_trg BEFORE UPDATE OF n ON t FOR EACH ROW WHEN (NEW.n > 0) EXECUTE "
         "PROCEDURE trg(); CREATE POLICY t_pol ON t USING (n > 0);",
         "DROP POLICY t_pol ON t; DROP TRIGGER t_trg ON t; ALTER TABLE t ALTER COLUMN n TYPE bigint; "
         "CREATE TRIGGER t_trg BEFORE UPDATE OF n ON t FOR EACH ROW WHEN (NEW.n > 0) EXECUTE PROCEDURE trg(); "
         "CREATE POLICY t_pol ON t USING (n > 0);", lost=("column t.n changes type",)),
    Case("generated column reading a retyped column", "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED, c int);",
         "ALTER TABLE t DROP COLUMN b; ALTER TABLE t ALTER COLUMN a TYPE bigint; "
         "ALTER TABLE t ADD COLUMN b bigint GENERATED ALWAYS AS (a * 2) STORED;",
         since=12, reorders=True, lost=("column t.a changes type",)),
    Case("view calling a function whose return type changes",
         "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a'; CREATE VIEW v AS SELECT f(1) AS x;",
         "DROP VIEW v; DROP FUNCTION f(int); CREATE FUNCTION f(a int) RETURNS bigint LANGUAGE sql IMMUTABLE AS "
         "'SELECT a::bigint'; CREATE VIEW v AS SELECT f(1) AS x;"),
    Case("materialized view over a retyped column, with its index", "CREATE TABLE t (id int, a varchar(5)); "
         "CREATE MATERIALIZED VIEW mv AS SELECT id, a FROM t; CREATE INDEX mv_a ON mv (a); COMMENT ON MATERIALIZED VIEW mv IS 'm';",
         "DROP MATERIALIZED VIEW mv; ALTER TABLE t ALTER COLUMN a TYPE varchar(50); CREATE MATERIALIZED VIEW mv AS "
         "SELECT id, a FROM t; CREATE INDEX mv_a ON mv (a); COMMENT ON MATERIALIZED VIEW mv IS 'm';",
         lost=("column t.a changes type",)),
    Case("enum of another schema renamed with a value", "CREATE SCHEMA app; CREATE TYPE app.s AS ENUM ('a', 'b'); "
         "CREATE TABLE app.t (s app.s DEFAULT 'a', ss app.s[]);",
         "ALTER TYPE app.s RENAME VALUE 'a' TO 'z'; ALTER TYPE app.s RENAME TO s2;"),
    Case("column renamed and retyped", "CREATE TABLE t (id int, amount int DEFAULT 0);",
         "ALTER TABLE t RENAME COLUMN amount TO total; ALTER TABLE t ALTER COLUMN total TYPE numeric(12,2);",
         lost=("column t.amount changes type from numeric(12,2) to integer: values are rounded",)),
    Case("domain base type changes under a column", "CREATE DOMAIN d AS int CHECK (VALUE > 0); CREATE TABLE t (x d DEFAULT 1);",
         "ALTER TABLE t ALTER COLUMN x TYPE int; DROP DOMAIN d; CREATE DOMAIN d AS bigint; ALTER TABLE t ALTER COLUMN x TYPE d;",
         lost=("domain d changes type from bigint to integer",)),
    Case("composite used by a column", "CREATE TYPE addr AS (street text, city text); CREATE TABLE t (a addr);",
         "ALTER TYPE addr ADD ATTRIBUTE zip text; ALTER TYPE addr DROP ATTRIBUTE street;",
         lost=("type addr loses attribute zip: its values in t.a are lost",)),
    Case("partition attached with its indexes and keys", "CREATE TABLE m (id int, at date NOT NULL, PRIMARY KEY (id, at)) "
         "PARTITION BY RANGE (at); CREATE INDEX m_at ON m (at); CREATE TABLE loose (id int NOT NULL, at date NOT NULL);",
         "ALTER TABLE m ATTACH PARTITION loose FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');"),
    Case("sequence used by a default, dropped", "CREATE SEQUENCE s START 100; CREATE TABLE t (id bigint DEFAULT nextval('s'));",
         "ALTER TABLE t ALTER COLUMN id DROP DEFAULT; DROP SEQUENCE s;"),
    # -- schemas, extensions, comments, privileges
    Case("schema and extension", "", "CREATE SCHEMA app; CREATE EXTENSION citext WITH SCHEMA app; "
         "CREATE TABLE app.t (e app.citext); COMMENT ON SCHEMA app IS 'the app';", lost=('table app.t is dropped',)),
    Case("schema renamed", "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY); CREATE TYPE app.k AS ENUM ('x');",
         "ALTER SCHEMA app RENAME TO core;"),
    Case("comments", "CREATE TABLE t (id int CONSTRAINT pk PRIMARY KEY, a text); COMMENT ON TABLE t IS 'old'; "
         "COMMENT ON COLUMN t.a IS 'a''s';", "COMMENT ON TABLE t IS 'new'; COMMENT ON COLUMN t.a IS NULL; "
         "COMMENT ON COLUMN t.id IS E'back\\\\slash'; COMMENT ON CONSTRAINT pk ON t IS 'key'; COMMENT ON INDEX pk IS 'idx';"),
    Case("privileges", "CREATE TABLE t (id int); CREATE SEQUENCE s; GRANT SELECT ON t TO PUBLIC;",
         f"REVOKE SELECT ON t FROM PUBLIC; GRANT INSERT, UPDATE ON t TO {READER} WITH GRANT OPTION; GRANT SELECT ON t "
         f"TO {READER}; GRANT USAGE ON SEQUENCE s TO PUBLIC; REVOKE TRUNCATE ON t FROM CURRENT_USER;"),
    Case("grant option taken back", f"CREATE TABLE t (id int); GRANT SELECT, DELETE ON t TO {READER} WITH GRANT OPTION;",
         f"REVOKE GRANT OPTION FOR SELECT ON t FROM {READER}; REVOKE DELETE ON t FROM {READER};"),
]


@pytest.fixture(scope="module")
def server_version(admin_url: str) -> int:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT FROM pg_roles WHERE rolname = %s", (READER,)).fetchone() is None:
            conn.execute(f"CREATE ROLE {READER}")
        return conn.info.server_version // 10000


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_rollback_restores_the_schema_exactly(case: Case, admin_url: str, server_version: int) -> None:
    with fresh_database(admin_url) as url:
        if server_version < case.since:  # the feature is newer than the server: the server says so
            with pytest.raises(psycopg.Error), psycopg.connect(url, autocommit=True) as conn:
                _run(conn, case.before)
                _run(conn, case.migration)
            return
        check(url, case)


def test_renames_come_back_as_renames_and_the_rows_stay(admin_url: str) -> None:
    before = (
        "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE t (id int PRIMARY KEY, name text, m mood, note text); "
        "INSERT INTO t VALUES (1, 'ada', 'ok', 'x'), (2, 'bob', 'sad', 'y');"
    )
    migration = (
        'ALTER TABLE "t" RENAME COLUMN "name" TO "full_name"; ALTER TABLE t RENAME TO people; '
        "ALTER TABLE people RENAME COLUMN full_name TO display_name; ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';"
    )
    with fresh_database(admin_url) as url:
        trip = check(url, Case("renames", before, migration), "SELECT id, name, m::text, note FROM t ORDER BY id")
    assert trip.rows == [(1, "ada", "ok", "x"), (2, "bob", "sad", "y")]
    assert [type(c).__name__ for c in trip.changes] == ["RenameTable", "RenameColumn", "RenameEnumValue"]


def test_without_the_renames_the_column_would_be_dropped_and_added(admin_url: str) -> None:
    """The renames are what keeps the data: the same diff without them drops the column."""
    with fresh_database(admin_url) as url, psycopg.connect(url, autocommit=True) as conn:
        _run(conn, "CREATE TABLE t (id int, name text, note text);")
        before = introspect(conn)
        _run(conn, "ALTER TABLE t RENAME COLUMN name TO full_name;")
        after = introspect(conn)
    blind = diff(after, before)
    assert [type(c).__name__ for c in blind] == ["DropColumn", "AddColumn", "ColumnOrder"]
    assert [loss.reason for loss in losses(blind, after, before)] == ["column t.full_name is dropped: its values are lost"]


def test_a_rebuilt_composite_keeps_the_attributes_both_types_have(admin_url: str) -> None:
    before = "CREATE TYPE addr AS (street text, city text); CREATE TABLE t (id int, a addr); " \
        "INSERT INTO t VALUES (1, ROW('main st', 'oslo')), (2, NULL), (3, ROW(NULL, NULL));"
    migration = "ALTER TYPE addr ADD ATTRIBUTE zip text; ALTER TYPE addr DROP ATTRIBUTE street;"
    with fresh_database(admin_url) as url:
        case = Case("composite", before, migration, lost=("type addr loses attribute zip",))
        trip = check(url, case, "SELECT id, (a).street, (a).city, a IS NULL, a::text IS NULL FROM t ORDER BY id")
    # the street went with the migration; the city stays; a NULL stays NULL, a row of NULLs a row
    assert trip.rows == [(1, None, "oslo", False, False), (2, None, None, True, True), (3, None, None, True, False)]


NOT_NULL_NAMES = (
    "SELECT conrelid::regclass::text, conname, (SELECT attname FROM pg_attribute WHERE attrelid = conrelid "
    "AND attnum = conkey[1])::text FROM pg_constraint WHERE contype = 'n' ORDER BY 1, 2"
)
"""PostgreSQL 18's NOT NULL constraints (contype `n`) by table, name and column; none before 18."""

NAMED_NOT_NULL = [
    # a rename of the table or the column keeps the NOT NULL constraint's name (dokploy's user_temp
    # -> user, then a column of it dropped: its rollback gave the constraint another name)
    Case(
        "drop a NOT NULL column of a renamed table",
        "CREATE TABLE old_t (id int PRIMARY KEY, a text NOT NULL); ALTER TABLE old_t RENAME TO t;",
        "ALTER TABLE t DROP COLUMN a;",
    ),
    Case(
        "DROP NOT NULL of a renamed column",
        "CREATE TABLE t (id int PRIMARY KEY, a text NOT NULL); ALTER TABLE t RENAME COLUMN a TO b;",
        "ALTER TABLE t ALTER COLUMN b DROP NOT NULL;",
    ),
    Case("rename a table with NOT NULL columns", "CREATE TABLE t (id int PRIMARY KEY, a text NOT NULL);", "ALTER TABLE t RENAME TO u;"),
    Case(
        "rename back a table renamed before",
        "CREATE TABLE t (id int PRIMARY KEY, a text NOT NULL); ALTER TABLE t RENAME TO u;",
        "ALTER TABLE u RENAME TO t; ALTER TABLE t RENAME COLUMN a TO b;",
    ),
]


@pytest.mark.parametrize("case", NAMED_NOT_NULL, ids=[case.name for case in NAMED_NOT_NULL])
def test_not_null_constraint_names_come_back(case: Case, admin_url: str, server_version: int) -> None:
    """Read from the catalog, not the model: the NOT NULL constraints after the rollback have the
    names they had before (PostgreSQL 18; before 18 they have none and the query finds nothing)."""
    with fresh_database(admin_url) as url, psycopg.connect(url, autocommit=True) as conn:
        _run(conn, case.before)
        wanted = conn.execute(NOT_NULL_NAMES).fetchall()
    with fresh_database(admin_url) as url:
        trip = check(url, case, NOT_NULL_NAMES)
    assert trip.rows == wanted, ";\n".join(trip.rollback)
    assert bool(wanted) == (server_version >= 18)
