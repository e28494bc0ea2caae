"""The lock model held against a real PostgreSQL, not only against itself.

Each statement runs on the test server inside a transaction that is rolled back. Before the
rollback the lock trace (`reconciler.database.trace`) reads what the statement did: the locks it
took on each relation (`pg_locks`), which relations got a new data file (`pg_class.relfilenode`:
the table was rewritten) and which were read by a sequential scan (`pg_stat_xact_user_tables`).
`policies.lock_trace.contradictions` compares that with the `locks`, `rewrites` and `scans` the
analysis reports for the statement on that server's major version (CI runs this file on the
embedded PostgreSQL 18, on 15, and through run_on_postgres.py on the others); the rules are in its
docstring: every lock the model names is held in exactly that mode; every table locked beyond
ACCESS SHARE is named (indexes follow their table), except the facts the text cannot tell
(`UNNAMED_INDEX_TABLE_MODE`); the rewrites are equal (TRUNCATE's new file is not one); what the
model says is scanned was read, and the altered table and its partitions, when scanned, are said to
be. A second test holds the list of statements that must run outside a transaction block (apply
runs them alone, in autocommit) against what the server refuses.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from conftest import fresh_database

from policies import Context, analyze_sql
from policies.execution import StepKind, plan_steps
from policies.lock_trace import StatementTrace, contradictions, strongest
from policies.report import StatementReport
from policies.statements import split_statements
from reconciler.database.trace import Tracer

SETUP = """
CREATE TABLE parent (id bigint PRIMARY KEY, code text);
CREATE TABLE child (
    id bigint PRIMARY KEY, parent_id bigint, note text, n integer, v varchar(20), s text, p text, w varchar(20),
    amount numeric(10, 2), at timestamp, doubled bigint {generated}
);
CREATE INDEX child_n_idx ON child (n);
CREATE UNIQUE INDEX parent_code_uidx ON parent (code);
CREATE MATERIALIZED VIEW child_mv AS SELECT id FROM child;
CREATE UNIQUE INDEX child_mv_id ON child_mv (id);
CREATE TABLE lonely (id integer);
CREATE TABLE measures (id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE measures_2023 PARTITION OF measures FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE measures_2024 (id bigint, at date);
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$;
CREATE TRIGGER child_noop BEFORE INSERT ON child FOR EACH ROW EXECUTE FUNCTION noop();
CREATE DOMAIN posint AS integer;
CREATE TABLE measured (id bigint, v posint);
INSERT INTO measured SELECT g, g FROM generate_series(1, 20) g;
INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 50) g;
INSERT INTO child SELECT g, g % 50 + 1, 'note', g, 'v' || g, 's', 'p', 'w', g, now() FROM generate_series(1, 200) g;
INSERT INTO measures_2024 SELECT g, '2024-03-01' FROM generate_series(1, 20) g;
ALTER TABLE child ADD CONSTRAINT child_n_positive_nv CHECK (n > 0) NOT VALID;
ALTER TABLE child ADD CONSTRAINT child_p_present CHECK (p IS NOT NULL);
ALTER TABLE child ADD CONSTRAINT child_w_nonempty CHECK (w <> '');
ALTER TABLE child ADD CONSTRAINT child_parent_fk_nv FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID;
REFRESH MATERIALIZED VIEW child_mv;
CREATE TABLE holder (id bigint PRIMARY KEY);
CREATE TABLE orders (
    id bigint PRIMARY KEY, parent_id bigint REFERENCES parent (id), holder_id bigint REFERENCES holder (id)
);
CREATE TABLE events (
    id bigint NOT NULL, at date NOT NULL, kind text, ref bigint, tag varchar(20), label text, u bigint
) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX events_kind_idx ON events (kind);
INSERT INTO events SELECT g, DATE '2023-06-01' + g, 'k', g % 50 + 1, 't', 'l', g FROM generate_series(1, 300) g;
ALTER TABLE events ADD CONSTRAINT events_kind_nv CHECK (kind <> '') NOT VALID;
ALTER TABLE events ADD CONSTRAINT events_tag_check CHECK (tag <> '');
ALTER TABLE events ADD CONSTRAINT events_ref_fk FOREIGN KEY (ref) REFERENCES parent (id);
CREATE TABLE keyed (a integer, b integer NOT NULL);
INSERT INTO keyed SELECT g, g FROM generate_series(1, 100) g;
CREATE UNIQUE INDEX keyed_a_uidx ON keyed (a);
CREATE UNIQUE INDEX keyed_b_uidx ON keyed (b);
{citext}CREATE TABLE labels (t text, t2 text, vc varchar(20));
INSERT INTO labels SELECT 'l' || g, 'l' || g, 'l' || g FROM generate_series(1, 100) g;
CREATE INDEX labels_t_idx ON labels (t);
CREATE INDEX labels_vc_idx ON labels (vc);
"""

STATEMENTS = [
    # a domain's constraint is checked on the tables of its columns
    "ALTER DOMAIN posint ADD CONSTRAINT posint_positive CHECK (VALUE > 0)",
    "ALTER DOMAIN posint SET NOT NULL",
    # columns
    "ALTER TABLE child ADD COLUMN c text",
    "ALTER TABLE child ADD COLUMN c integer NOT NULL DEFAULT 0",
    "ALTER TABLE child ADD COLUMN c timestamptz DEFAULT clock_timestamp()",
    "ALTER TABLE child ADD COLUMN c timestamptz NOT NULL DEFAULT now()",  # stable: evaluated once, no rewrite
    "ALTER TABLE child ADD COLUMN c bigserial",
    "ALTER TABLE child ADD COLUMN c integer GENERATED ALWAYS AS IDENTITY",
    "ALTER TABLE child ALTER COLUMN note SET NOT NULL",
    "ALTER TABLE child ALTER COLUMN p SET NOT NULL",  # a validated CHECK proves it: no scan from 12 on
    "ALTER TABLE child ALTER COLUMN note DROP NOT NULL",
    "ALTER TABLE child ALTER COLUMN note SET DEFAULT 'x'",
    "ALTER TABLE child ALTER COLUMN note DROP DEFAULT",
    "ALTER TABLE child ALTER COLUMN v TYPE varchar(50)",
    "ALTER TABLE child ALTER COLUMN v TYPE text",
    "ALTER TABLE child ALTER COLUMN v TYPE varchar(10)",
    "ALTER TABLE child ALTER COLUMN w TYPE varchar(40)",  # no rewrite, but its CHECK is verified again
    "ALTER TABLE child ALTER COLUMN amount TYPE numeric(12, 2)",
    "ALTER TABLE child ALTER COLUMN amount TYPE numeric(12, 4)",
    # not a rewrite in a UTC session (from PG 12); the model cannot know the session's zone
    "SET LOCAL TimeZone = 'Europe/Paris'; ALTER TABLE child ALTER COLUMN at TYPE timestamptz",
    "ALTER TABLE child ALTER COLUMN n TYPE bigint",
    "ALTER TABLE child ALTER COLUMN s TYPE varchar(100)",
    "ALTER TABLE child ALTER COLUMN n SET STATISTICS 500",
    "ALTER TABLE child ALTER COLUMN n SET (n_distinct = 10)",
    "ALTER TABLE child ALTER COLUMN note SET STORAGE EXTERNAL",
    "ALTER TABLE child ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY",
    "ALTER TABLE child DROP COLUMN s",
    "ALTER TABLE child RENAME COLUMN s TO s2",
    # constraints
    "ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id)",
    "ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID",
    "ALTER TABLE child VALIDATE CONSTRAINT child_parent_fk_nv",
    "ALTER TABLE child ADD CONSTRAINT child_n_check CHECK (n > 0)",
    "ALTER TABLE child ADD CONSTRAINT child_n_check CHECK (n > 0) NOT VALID",
    "ALTER TABLE child VALIDATE CONSTRAINT child_n_positive_nv",
    "ALTER TABLE child ADD CONSTRAINT child_v_key UNIQUE (v)",
    "ALTER TABLE parent ADD CONSTRAINT parent_code_key UNIQUE (code)",
    "ALTER TABLE parent ADD CONSTRAINT parent_code_key UNIQUE USING INDEX parent_code_uidx",
    "ALTER TABLE child DROP CONSTRAINT child_n_positive_nv",
    # indexes and maintenance
    "CREATE INDEX child_v_idx ON child (v)",
    "CREATE UNIQUE INDEX child_v_uidx ON child (v)",
    "DROP INDEX child_n_idx",
    "ALTER INDEX child_n_idx RENAME TO child_n_idx2",
    "REINDEX TABLE child",
    "REINDEX INDEX child_n_idx",
    "CLUSTER child USING child_pkey",
    "REFRESH MATERIALIZED VIEW child_mv",
    "ANALYZE child",
    "CREATE STATISTICS child_stats ON n, v FROM child",
    # tables
    "ALTER TABLE child RENAME TO child2",
    "ALTER TABLE child SET (fillfactor = 70)",
    "ALTER TABLE child SET UNLOGGED",
    "ALTER TABLE child REPLICA IDENTITY FULL",
    "ALTER TABLE child OWNER TO CURRENT_USER",
    "ALTER TABLE child ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY child_all ON child USING (true)",
    "ALTER TABLE child DISABLE TRIGGER child_noop",
    "CREATE TRIGGER child_noop2 BEFORE UPDATE ON child FOR EACH ROW EXECUTE FUNCTION noop()",
    "DROP TRIGGER child_noop ON child",
    "COMMENT ON TABLE child IS 'x'",
    "COMMENT ON COLUMN child.n IS 'x'",
    "ALTER TABLE measures ATTACH PARTITION measures_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "ALTER TABLE measures DETACH PARTITION measures_2023",
    "DROP TABLE lonely",
    "TRUNCATE child",
    "LOCK TABLE child IN SHARE MODE",
    "LOCK TABLE child",
    # data
    "INSERT INTO child (id, n, p) VALUES (1000, 1, 'p')",
    "UPDATE child SET n = n + 1",
    "UPDATE child SET n = 1 WHERE id = 5",
    "DELETE FROM child WHERE id = 5",
    "DELETE FROM child",
    # relations locked without being named
    "ALTER TABLE child DROP CONSTRAINT child_parent_fk_nv",  # the referenced table too
    "DROP TABLE orders",  # the tables its foreign keys reference
    "DROP TABLE events",  # its partitions, and the table its foreign key references
    # keys on an existing unique index
    "ALTER TABLE keyed ADD PRIMARY KEY USING INDEX keyed_a_uidx",  # a is nullable: SET NOT NULL scans
    "ALTER TABLE keyed ADD PRIMARY KEY USING INDEX keyed_b_uidx",  # b is NOT NULL already: no scan
    "ALTER TABLE keyed ADD CONSTRAINT keyed_a_key UNIQUE USING INDEX keyed_a_uidx",  # a stays nullable: no scan
    # binary-coercible type changes of an indexed column
    "ALTER TABLE labels ALTER COLUMN t TYPE citext",  # another operator class: the index is rebuilt
    "ALTER TABLE labels ALTER COLUMN t2 TYPE citext",  # no index
    "ALTER TABLE labels ALTER COLUMN vc TYPE text",  # the same operator class: the index is kept
    # a partitioned table: what recurses to the partitions (policies/schema/replay.py::_RECURSING)
    "ALTER TABLE events ADD COLUMN c text",
    "ALTER TABLE events ADD COLUMN c integer NOT NULL DEFAULT 0",
    "ALTER TABLE events ADD COLUMN c timestamptz DEFAULT clock_timestamp()",
    "ALTER TABLE events DROP COLUMN label",
    "ALTER TABLE events ALTER COLUMN tag TYPE text",
    "ALTER TABLE events ALTER COLUMN tag TYPE varchar(10)",
    "ALTER TABLE events ALTER COLUMN kind TYPE varchar(5)",  # rewrites and rebuilds events_kind_idx
    "ALTER TABLE events ALTER COLUMN label SET NOT NULL",
    "ALTER TABLE events ALTER COLUMN id DROP NOT NULL",
    "ALTER TABLE events ADD CONSTRAINT events_u_check CHECK (u > 0)",
    "ALTER TABLE events ADD CONSTRAINT events_u_check CHECK (u > 0) NOT VALID",
    "ALTER TABLE events ADD CONSTRAINT events_ref_fk2 FOREIGN KEY (ref) REFERENCES parent (id)",
    "ALTER TABLE events ADD PRIMARY KEY (id, at)",  # NOT NULL columns: the partitions take SHARE
    "ALTER TABLE events ADD PRIMARY KEY (u, at)",  # u is nullable: SET NOT NULL on every partition
    "ALTER TABLE events ADD CONSTRAINT events_u_key UNIQUE (u, at)",
    "ALTER TABLE events DROP CONSTRAINT events_tag_check",
    "ALTER TABLE events DROP CONSTRAINT events_ref_fk",
    "ALTER TABLE events VALIDATE CONSTRAINT events_kind_nv",
    "CREATE INDEX events_u_idx ON events (u)",
    "CREATE UNIQUE INDEX events_u_uidx ON events (u, at)",
    "CREATE INDEX events_u_idx ON ONLY events (u)",  # an invalid index on the parent alone: no rows read
    "TRUNCATE events",
    # ALTER TABLE ONLY, where PostgreSQL accepts it on a partitioned table with partitions
    "ALTER TABLE ONLY events DROP CONSTRAINT events_ref_fk",  # the partitions' copies go with it
]


@pytest.fixture(scope="module")
def server(admin_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """One database with the tables above, for every statement (each one is rolled back)."""
    with fresh_database(admin_url) as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_setup(conn.info.server_version // 10000, _has_citext(conn)))
        yield conn


def _has_citext(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Whether the server ships the citext extension (contrib): the SETUP then creates it."""
    return conn.execute("SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'citext')").fetchone() == (True,)


def _observe(conn: psycopg.Connection[tuple[object, ...]], sql: str) -> StatementTrace:
    """What PostgreSQL did for `sql`, run in a transaction that is rolled back (reconciler.database.trace)."""
    with conn.transaction(force_rollback=True):
        tracer = Tracer(conn)
        tracer.restart()
        return tracer.execute(sql)


def _held(trace: StatementTrace) -> dict[str, str]:
    """The strongest lock the statement took on each relation."""
    return {relation: str(strongest(modes)) for relation, modes in (trace.modes_taken or {}).items()}


def _setup(version: int, citext: bool) -> str:
    """The tables for `version`: a stored generated column needs PostgreSQL 12; citext is created
    where the server ships it."""
    return SETUP.format(
        generated="GENERATED ALWAYS AS (id * 2) STORED" if version >= 12 else "",
        citext="CREATE EXTENSION IF NOT EXISTS citext;\n" if citext else "",
    )


def _model(sql: str, version: int, citext: bool) -> StatementReport:
    """What the analysis reports for `sql`, after the setup it is judged with (so it knows the tables)."""
    setup = _setup(version, citext)
    report = analyze_sql("migrations/0001_check.sql", f"{setup}\n{sql};\n", Context(pg_version=version))
    return report.statements[-1]


@pytest.mark.parametrize("sql", STATEMENTS)
def test_the_lock_model_matches_what_postgresql_does(
    server: psycopg.Connection[tuple[object, ...]], sql: str
) -> None:
    _assert_model_matches(server, sql)


# Statements a newer PostgreSQL accepts: checked there, and refused by the older servers.
NEWER_STATEMENTS = [
    (12, "ALTER TABLE child ADD COLUMN c integer GENERATED ALWAYS AS (n * 2) STORED"),
    (13, "ALTER TABLE child ALTER COLUMN doubled DROP EXPRESSION"),
    (14, "ALTER TABLE child ALTER COLUMN v SET COMPRESSION pglz"),
    (17, "ALTER TABLE child ALTER COLUMN doubled SET EXPRESSION AS (id * 3)"),
    (18, "ALTER TABLE child ADD COLUMN c integer GENERATED ALWAYS AS (n * 2) VIRTUAL"),
    (18, "ALTER TABLE child ADD CONSTRAINT child_note_nn NOT NULL note NOT VALID"),
    (18, "ALTER TABLE child ADD CONSTRAINT child_parent_fk2 FOREIGN KEY (parent_id) REFERENCES parent (id) NOT ENFORCED"),
]


@pytest.mark.parametrize(("since", "sql"), NEWER_STATEMENTS)
def test_the_lock_model_matches_what_newer_postgresql_does(
    server: psycopg.Connection[tuple[object, ...]], since: int, sql: str
) -> None:
    if server.info.server_version // 10000 >= since:
        _assert_model_matches(server, sql)
        return
    with pytest.raises(psycopg.errors.SyntaxError), server.transaction(force_rollback=True):
        server.execute(sql)


def _assert_model_matches(server: psycopg.Connection[tuple[object, ...]], sql: str) -> None:
    version = server.info.server_version // 10000
    citext = _has_citext(server)
    if "citext" in sql and not citext:
        pytest.skip(f"PostgreSQL {version} here has no citext extension")
    traced = _observe(server, sql)
    predicted = _model(sql, version, citext)
    assert predicted.locks, f"the model names no lock for {sql!r}"
    found = contradictions(predicted, traced)
    assert not found, f"{sql!r} on PostgreSQL {version}: " + "; ".join(found)


def test_unique_using_index_leaves_a_nullable_column_nullable(server: psycopg.Connection[tuple[object, ...]]) -> None:
    """Unlike PRIMARY KEY USING INDEX, UNIQUE USING INDEX sets nothing NOT NULL: no scan to prove it."""
    with server.transaction(force_rollback=True):
        server.execute("ALTER TABLE keyed ADD CONSTRAINT keyed_a_key UNIQUE USING INDEX keyed_a_uidx")
        nullable = server.execute("SELECT NOT attnotnull FROM pg_attribute WHERE attrelid = 'keyed'::regclass AND attname = 'a'")
        assert nullable.fetchone() == (True,)
    with server.transaction(force_rollback=True):
        server.execute("ALTER TABLE keyed ADD PRIMARY KEY USING INDEX keyed_a_uidx")
        nullable = server.execute("SELECT NOT attnotnull FROM pg_attribute WHERE attrelid = 'keyed'::regclass AND attname = 'a'")
        assert nullable.fetchone() == (False,)


@pytest.mark.parametrize(("sql", "index", "rebuilt"), [
    ("ALTER TABLE labels ALTER COLUMN t TYPE citext", "labels_t_idx", True),
    ("ALTER TABLE labels ALTER COLUMN vc TYPE text", "labels_vc_idx", False),
])
def test_a_binary_coercible_type_change_rebuilds_an_index_of_another_operator_class(
    server: psycopg.Connection[tuple[object, ...]], sql: str, index: str, rebuilt: bool
) -> None:
    """What `binary_coercible_reindexed` stands for: the table keeps its file, the index gets a new one."""
    if "citext" in sql and not _has_citext(server):
        pytest.skip("no citext extension")
    files = "SELECT relname, relfilenode FROM pg_class WHERE relname IN ('labels', %s)"
    with server.transaction(force_rollback=True):
        before = dict(server.execute(files, (index,)))
        server.execute(sql)
        after = dict(server.execute(files, (index,)))
    assert after["labels"] == before["labels"]
    assert (after[index] != before[index]) == rebuilt


# ALTER TABLE ONLY on a partitioned table that has partitions, with the last version that refuses
# it (the change must reach the partitions); a newer one accepts it and still locks the partitions
# like the parent (PostgreSQL 18 keeps their copy of the constraint, now their own).
ONLY_REFUSED = [
    (18, "ALTER TABLE ONLY events ADD COLUMN c text"),
    (18, "ALTER TABLE ONLY events DROP COLUMN label"),
    (18, "ALTER TABLE ONLY events ALTER COLUMN tag TYPE text"),
    (18, "ALTER TABLE ONLY events ALTER COLUMN label SET NOT NULL"),
    (17, "ALTER TABLE ONLY events ALTER COLUMN id DROP NOT NULL"),
    (18, "ALTER TABLE ONLY events ADD CONSTRAINT events_u_check CHECK (u > 0)"),
    (18, "ALTER TABLE ONLY events ADD CONSTRAINT events_ref_fk2 FOREIGN KEY (ref) REFERENCES parent (id)"),
    (17, "ALTER TABLE ONLY events DROP CONSTRAINT events_tag_check"),
    (18, "ALTER TABLE ONLY events VALIDATE CONSTRAINT events_kind_nv"),
    (18, "TRUNCATE ONLY events"),
]


@pytest.mark.parametrize(("until", "sql"), ONLY_REFUSED)
def test_alter_table_only_that_must_reach_the_partitions(
    server: psycopg.Connection[tuple[object, ...]], until: int, sql: str
) -> None:
    if server.info.server_version // 10000 > until:
        _assert_model_matches(server, sql)
        return
    with pytest.raises(psycopg.errors.Error), server.transaction(force_rollback=True):
        server.execute(sql)


# ... and what every version accepts on the parent alone (an invalid index, completed by attaching
# each partition's index): no partition is locked.
ONLY_ACCEPTED = [
    "ALTER TABLE ONLY events ADD PRIMARY KEY (id, at)",
    "ALTER TABLE ONLY events ADD CONSTRAINT events_u_key UNIQUE (u, at)",
]


@pytest.mark.parametrize("sql", ONLY_ACCEPTED)
def test_alter_table_only_adding_a_key_locks_the_partitioned_table_alone(
    server: psycopg.Connection[tuple[object, ...]], sql: str
) -> None:
    observed = _observe(server, sql)
    held = _held(observed)
    locked = {p: held[p] for p in observed.partitions["events"] if p in held}
    assert set(locked.values()) <= {"ACCESS SHARE"}, f"{sql!r} on PostgreSQL {server.info.server_version}: {locked}"


@pytest.mark.parametrize("sql", ONLY_ACCEPTED)
def test_the_lock_model_matches_alter_table_only_adding_a_key(
    server: psycopg.Connection[tuple[object, ...]], sql: str
) -> None:
    _assert_model_matches(server, sql)


# Statements that may have to run outside a transaction block, with the version that accepts them
# (an older server must refuse them as a syntax error); ADD VALUE must run outside one before 12.
TRANSACTION_BLOCK_CASES = [
    (11, "CREATE INDEX CONCURRENTLY child_v_cidx ON child (v)"),
    (11, "DROP INDEX CONCURRENTLY child_n_idx"),
    (12, "REINDEX INDEX CONCURRENTLY child_n_idx"),
    (12, "REINDEX TABLE CONCURRENTLY child"),
    (11, "REINDEX SCHEMA public"),
    (11, "VACUUM child"),
    (11, "VACUUM FULL child"),
    (11, "CREATE DATABASE sw_never_created"),
    (11, "DROP DATABASE IF EXISTS sw_never_created"),
    (14, "ALTER TABLE measures DETACH PARTITION measures_2023 CONCURRENTLY"),
    (11, "ALTER TYPE mood ADD VALUE 'calm'"),
    (11, "CREATE INDEX child_v_idx ON child (v)"),
    (11, "REINDEX TABLE child"),
    (11, "ANALYZE child"),
    (11, "CLUSTER child USING child_pkey"),
    (11, "REFRESH MATERIALIZED VIEW CONCURRENTLY child_mv"),
]


@pytest.mark.parametrize(("since", "sql"), TRANSACTION_BLOCK_CASES)
def test_what_must_run_outside_a_transaction_is_what_postgresql_refuses_inside_one(
    server: psycopg.Connection[tuple[object, ...]], since: int, sql: str
) -> None:
    """apply runs such statements on their own in autocommit (and SW602 flags them): the list must be right."""
    version = server.info.server_version // 10000
    if version < since:
        with pytest.raises(psycopg.errors.SyntaxError), server.transaction(force_rollback=True):
            server.execute(sql)
        return
    server.execute("DO $$ BEGIN CREATE TYPE mood AS ENUM ('sad'); EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    steps = plan_steps(split_statements(f"{sql};\n"), version)
    claimed = [step.kind for step in steps] == [StepKind.AUTOCOMMIT]
    try:
        with server.transaction(force_rollback=True):
            server.execute(sql)
        refused = False
    except psycopg.errors.ActiveSqlTransaction:
        refused = True
    assert claimed == refused, f"{sql!r} on PostgreSQL {version}: model {claimed}, PostgreSQL refuses it: {refused}"
