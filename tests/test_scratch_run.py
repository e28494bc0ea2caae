"""Migrations run in scratch databases as apply runs them, traced per statement, failing with the file
line, SQLSTATE and HINT; extension statements as the superuser; real histories replay.

On the test server (`admin_url`, any major version through tests/run_on_postgres.py) except where a
test needs what only one server has: pgvector (the embedded server) or uuid-ossp (kan's history, on a
full PostgreSQL such as this machine's 15, in the shared suite).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from policies import Context, analyze_sql
from policies.lock_trace import contradictions
from policies.report import LockRef
from reconciler.database.run import MigrationFailed, replay, run_migration, run_sql
from reconciler.database.scratch import ScratchServer
from reconciler.migrations import SAMPLE_PROJECT, Layout, Migration, load_migration_set


@pytest.fixture(scope="module")
def server(admin_url: str) -> Iterator[ScratchServer]:
    with ScratchServer(admin_url, environment_targets={}, statement_timeout_ms=1000) as scratch:
        yield scratch


def _migration(text: str, tag: str = "0001_change") -> Migration:
    return Migration(idx=1, tag=tag, when=1, path=f"migrations/{tag}.sql", sql=text.encode(), layout=Layout.DRIZZLE_0)


def test_concurrently_runs_alone_outside_a_transaction_between_transaction_steps(server: ScratchServer) -> None:
    migration = _migration(
        "CREATE TABLE t (id int, n int);\n--> statement-breakpoint\n"
        "INSERT INTO t SELECT g, g FROM generate_series(1, 100) g;\n--> statement-breakpoint\n"
        "CREATE INDEX CONCURRENTLY t_n_idx ON t (n);\n--> statement-breakpoint\n"
        "ALTER TABLE t ADD COLUMN note text;"
    )
    with server.database() as db:
        run = run_migration(db, migration, trace=True)
        assert [(s.statement.line, s.step, s.autocommit) for s in run.statements] == [
            (1, 0, False), (3, 0, False), (5, 1, True), (7, 2, False)
        ]
        concurrently = run.statements[2]
        assert concurrently.traced_locks is None  # its locks ended with it: not traceable afterwards
        assert concurrently.trace is not None and "t_n_idx" in concurrently.trace.created
        valid = db.connection().execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_n_idx'::regclass")
        assert valid.fetchone() == (True,)


def test_traced_locks_per_statement_of_a_longer_transaction_match_the_lock_model(server: ScratchServer) -> None:
    """Two statements on one table in one transaction: the second's weaker lock is held already."""
    base = "CREATE TABLE accounts (id bigint PRIMARY KEY, n integer, email text);\nCREATE TABLE users (id bigint PRIMARY KEY);\n"
    change = (
        "ALTER TABLE accounts ALTER COLUMN n TYPE bigint;\n--> statement-breakpoint\n"
        "CREATE INDEX accounts_email_idx ON accounts (email);\n--> statement-breakpoint\n"
        "CREATE TABLE sessions (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));"
    )
    version = server.pg_major
    with server.database() as db:
        run_sql(db, base + "INSERT INTO accounts SELECT g, g, 'a' || g FROM generate_series(1, 50) g;", source="base.sql")
        run = run_migration(db, _migration(change), trace=True)
    # judged after the base, so that the analysis knows the table (as the lock-model test does)
    predicted = analyze_sql("migrations/0001_change.sql", base + change, Context(pg_version=version)).statements[2:]
    alter, index, create = run.statements
    assert alter.traced_locks is not None and LockRef("accounts", "ACCESS EXCLUSIVE") in alter.traced_locks
    assert alter.traced_rewrites == ("accounts",)
    assert index.traced_locks == ()  # SHARE, taken under the ACCESS EXCLUSIVE the transaction holds
    assert create.traced_locks is not None
    tables = {lock for lock in create.traced_locks if lock.relation in ("accounts", "users", "sessions")}
    assert tables == {LockRef("users", "SHARE ROW EXCLUSIVE")}  # `sessions` is new: not listed
    for statement, report in zip(run.statements, predicted, strict=True):
        assert statement.trace is not None
        assert contradictions(report, statement.trace) == [], statement.statement.sql


def test_a_failing_statement_reports_its_file_line_sqlstate_and_hint(server: ScratchServer) -> None:
    migration = _migration(
        "CREATE TABLE people (id int, name text);\n--> statement-breakpoint\n"
        "SELECT id,\n       nme\nFROM people;"
    )
    with server.database() as db, pytest.raises(MigrationFailed) as failed:
        run_migration(db, migration)
    error = failed.value
    assert (error.line, error.sqlstate) == (4, "42703")  # the line of `nme`, undefined_column
    assert error.error is not None and error.error.hint and '"people.name"' in error.error.hint
    assert str(error).startswith('migrations/0001_change.sql line 4: column "nme" does not exist (SQLSTATE 42703).')
    assert "HINT: Perhaps you meant" in str(error) and "nothing of it stays applied" in str(error)
    assert error.committed == () and not error.outside_transaction


def test_an_error_inside_a_do_block_points_at_the_line_in_the_block(server: ScratchServer) -> None:
    migration = _migration(
        "CREATE TABLE t (id int);\n--> statement-breakpoint\n"
        "DO $$\nBEGIN\n  ALTER TABLE t ADD CONSTRAINT t_fk FOREIGN KEY (id) REFERENCES missing (id);\n"
        "EXCEPTION\n  WHEN duplicate_object THEN null;\nEND $$;"
    )
    with server.database() as db, pytest.raises(MigrationFailed) as failed:
        run_migration(db, migration)
    assert (failed.value.line, failed.value.sqlstate) == (5, "42P01")


def test_a_failure_after_a_committed_step_says_what_stays_applied(server: ScratchServer) -> None:
    migration = _migration(
        "CREATE TABLE t (id int);\n--> statement-breakpoint\n"
        "CREATE INDEX CONCURRENTLY t_id_idx ON t (id);\n--> statement-breakpoint\n"
        "ALTER TABLE t ADD COLUMN id int;"
    )
    with server.database() as db:
        with pytest.raises(MigrationFailed) as failed:
            run_migration(db, migration)
        assert [s.line for s in failed.value.committed] == [1, 3]
        assert failed.value.sqlstate == "42701" and failed.value.line == 5  # duplicate_column
        assert "lines 1, 3 committed in earlier steps and stay applied" in str(failed.value)
        assert db.connection().execute("SELECT to_regclass('t_id_idx') IS NOT NULL").fetchone() == (True,)


def test_a_failing_concurrently_statement_says_it_was_not_rolled_back(server: ScratchServer) -> None:
    migration = _migration(
        "CREATE TABLE t (id int);\n--> statement-breakpoint\nINSERT INTO t VALUES (1), (1);\n--> statement-breakpoint\n"
        "CREATE UNIQUE INDEX CONCURRENTLY t_id_key ON t (id);"
    )
    with server.database() as db:
        with pytest.raises(MigrationFailed) as failed:
            run_migration(db, migration)
        assert failed.value.outside_transaction and failed.value.sqlstate == "23505"
        assert "outside a transaction" in str(failed.value)
        invalid = db.connection().execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id_key'::regclass")
        assert invalid.fetchone() == (False,)  # the INVALID index it left


def test_statement_timeout_fires_also_when_the_migration_turns_it_off(admin_url: str) -> None:
    with ScratchServer(admin_url, environment_targets={}, statement_timeout_ms=500) as scratch, scratch.database() as db:
        for text in ("SELECT pg_sleep(30)", "SET statement_timeout = 0;\nSELECT pg_sleep(30)"):
            started = time.monotonic()
            with pytest.raises(MigrationFailed) as failed:
                run_sql(db, text, source="slow.sql")
            assert failed.value.timed_out and failed.value.sqlstate == "57014", text  # query_canceled
            assert time.monotonic() - started < 10, "the statement ran on past its timeout"
            assert "statement_timeout (500 ms)" in str(failed.value)
        assert db.connection().execute("SELECT 1").fetchone() == (1,), "the connection stays usable"


def test_transaction_control_of_its_own_is_refused_before_anything_runs(server: ScratchServer) -> None:
    with server.database() as db:
        with pytest.raises(MigrationFailed) as failed:
            run_sql(db, "CREATE TABLE t (id int);\nCOMMIT;\nCREATE TABLE u (id int);", source="commits.sql")
        assert failed.value.error is None and "transaction control at line 2" in str(failed.value)
        assert db.connection().execute("SELECT to_regclass('t')").fetchone() == (None,)


UNTRUSTED_BEFORE_13 = {  # contrib extensions, one of which every server here ships; no trusted extension before 13
    "citext": "CREATE TABLE secrets (id int, name ext.citext)",
    "pgcrypto": "CREATE TABLE secrets (id int, digest bytea DEFAULT ext.digest('x', 'sha256'))",
}


def test_an_extension_statement_runs_as_the_superuser_where_it_occurs(server: ScratchServer, admin_url: str) -> None:
    """In the step's transaction: a schema created just before is seen, and a failure later in the
    step rolls the extension back with the rest, as apply would."""
    with psycopg.connect(admin_url) as conn:
        available = {str(name) for (name,) in conn.execute("SELECT name FROM pg_available_extensions")}
    name = next(extension for extension in UNTRUSTED_BEFORE_13 if extension in available)
    text = f"CREATE SCHEMA ext;\nCREATE EXTENSION IF NOT EXISTS {name} WITH SCHEMA ext;\n{UNTRUSTED_BEFORE_13[name]};\n"
    with server.database() as db:
        with pytest.raises(MigrationFailed):
            run_sql(db, text + "SELECT missing;", source="ext.sql")
        assert db.connection().execute("SELECT FROM pg_extension WHERE extname = %s", (name,)).fetchone() is None
        run = run_sql(db, text, source="ext.sql")
        assert [s.superuser for s in run.statements] == [False, True, False]
        owner = db.connection().execute(
            "SELECT rolsuper FROM pg_extension JOIN pg_roles ON pg_roles.oid = extowner WHERE extname = %s", (name,)
        )
        assert owner.fetchone() == (True,)


def test_pgvector_an_untrusted_extension_is_created_in_a_scratch_database(embedded_admin_url: str) -> None:
    text = (
        'CREATE EXTENSION IF NOT EXISTS "vector";\n'
        "CREATE TABLE items (id bigint PRIMARY KEY, embedding vector(3));\n"
        "CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops);\n"
        "INSERT INTO items VALUES (1, '[1,2,3]');"
    )
    with ScratchServer(embedded_admin_url, environment_targets={}) as scratch, scratch.database() as db:
        run = run_sql(db, text, source="vector.sql", trace=True)
        assert run.statements[0].superuser
        assert db.connection().execute("SELECT embedding::text FROM items").fetchone() == ("[1,2,3]",)


def test_the_sample_project_replays(server: ScratchServer) -> None:
    """The tables are those of drizzle-kit's last snapshot of the sample (written by drizzle-kit, not by us)."""
    folder = SAMPLE_PROJECT / "migrations"
    snapshot = json.loads(max((folder / "meta").glob("*_snapshot.json")).read_text())
    with server.database() as db:
        replay(load_migration_set(folder), db)
        tables = db.connection().execute("SELECT 'public.' || tablename FROM pg_tables WHERE schemaname = 'public'")
        assert {str(name) for (name,) in tables} == set(snapshot["tables"])


def test_replay_names_the_failing_statement_and_keeps_the_migrations_before_it(server: ScratchServer) -> None:
    """replay sends a step as one query; a failure is located statement by statement."""
    migrations = [
        _migration("CREATE TABLE a (id int) -- a comment that ends the line\n;\nCREATE TABLE b (id int);", "0000_base"),
        _migration("ALTER TABLE a ADD COLUMN n int;\nALTER TABLE b ADD COLUMN n int;\nALTER TABLE a ADD COLUMN n int;", "0001_twice"),
    ]
    with server.database() as db:
        with pytest.raises(MigrationFailed) as failed:
            replay(migrations, db)
        assert (failed.value.source, failed.value.line, failed.value.sqlstate) == ("migrations/0001_twice.sql", 3, "42701")
        columns = db.connection().execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name IN ('a', 'b') AND column_name = 'n'"
        )
        assert columns.fetchone() == (0,), "the failing migration's transaction is rolled back whole"
        assert db.connection().execute("SELECT to_regclass('b') IS NOT NULL").fetchone() == (True,)


REPLAYS_ON_EMBEDDED = ["dokploy", "trigger-dashboard-agent", "nextjs-boilerplate"]


@pytest.mark.shared
@pytest.mark.parametrize("name", REPLAYS_ON_EMBEDDED)
def test_shared_histories_replay_on_the_embedded_server(shared_dir: Path, embedded_admin_url: str, name: str) -> None:
    _assert_replays(embedded_admin_url, shared_dir / "drizzle-histories" / name)


@pytest.mark.shared
def test_kan_replays_on_a_full_postgresql(shared_dir: Path, admin_url: str) -> None:
    """kan needs uuid-ossp (not in the embedded server): CI runs the shared suite on PostgreSQL 15."""
    with psycopg.connect(admin_url) as conn:
        if conn.execute("SELECT FROM pg_available_extensions WHERE name = 'uuid-ossp'").fetchone() is None:
            pytest.skip("this server has no uuid-ossp: set SCHEMAWARDEN_TEST_DATABASE_URL to a full PostgreSQL")
    _assert_replays(admin_url, shared_dir / "drizzle-histories" / "kan")


def _assert_replays(admin_url: str, folder: Path) -> None:
    migration_set = load_migration_set(folder)
    with ScratchServer(admin_url, environment_targets={}) as scratch, scratch.database() as db:
        replay(migration_set, db)
        count = db.connection().execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'schemawarden')"
        ).fetchone()
    assert count is not None and int(str(count[0])) > 0


def test_a_sql_standard_function_body_is_one_statement(server: ScratchServer) -> None:
    """`BEGIN ATOMIC ... END` (PostgreSQL 14) holds semicolons: apply sends it whole, as PostgreSQL's
    parser delimits it; split on the scanner's semicolons it would fail with a syntax error."""
    migration = _migration(
        "CREATE TABLE t (id int);\n"
        "CREATE FUNCTION next_id(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT a + 1;\n  SELECT a + 2;\nEND;\n"
        "INSERT INTO t VALUES (1);"
    )
    with server.database() as db:
        if server.pg_major < 14:  # older servers refuse the syntax: said at the line of BEGIN ATOMIC
            with pytest.raises(MigrationFailed) as failed:
                run_migration(db, migration)
            assert failed.value.line == 3 and failed.value.error is not None
            assert failed.value.error.sqlstate == "42601"
            return
        run = run_migration(db, migration)
        assert [s.statement.line for s in run.statements] == [1, 2, 7]
        got = db.connection().execute("SELECT next_id(id) FROM t").fetchone()
        assert got == (3,)  # the body's last statement gives the result
