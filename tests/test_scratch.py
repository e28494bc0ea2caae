"""Scratch databases on a real server: never an environment, a role that is no superuser, nothing left
behind (after success, failure, or a killed client), and templates built once and bounded.

Every test runs on the test server (`admin_url`: the embedded PostgreSQL 18, 15 in CI, or any major
version through tests/run_on_postgres.py; the version-sensitive parts, dropping a database someone is
connected to before 13 and the role's login, are exercised by every test here).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from policies.errors import ConfigurationError
from reconciler.database import _scratch_registry as registry
from reconciler.database.connect import Target, same_database, target_of
from reconciler.database.run import MigrationFailed, run_sql
from reconciler.database.scratch import ScratchDatabase, ScratchServer, template_key

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server(admin_url: str) -> Iterator[ScratchServer]:
    with ScratchServer(admin_url, environment_targets={}) as scratch:
        yield scratch


def _databases(admin_url: str) -> set[str]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return {str(name) for (name,) in conn.execute("SELECT datname FROM pg_database")}


def _roles(admin_url: str) -> set[str]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return {str(name) for (name,) in conn.execute("SELECT rolname FROM pg_roles")}


def _registered(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return conn.execute(f"SELECT FROM {registry.REGISTRY} WHERE name = %s", (name,)).fetchone() is not None


def _wait_until(condition: str, admin_url: str, parameters: tuple[object, ...], deadline_s: float = 20) -> None:
    """Wait until `condition` (a query returning one boolean) holds on the server."""
    deadline = time.monotonic() + deadline_s
    with psycopg.connect(admin_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute(condition, parameters).fetchone() == (True,):
                return
            time.sleep(0.02)
    raise AssertionError(f"never held: {condition} {parameters}")


# -- never an environment ---------------------------------------------------------------------------


def test_an_environments_database_is_refused_naming_the_environment_never_the_url() -> None:
    url = "postgresql://owner:hunter2-secret@db.internal:6543/shop"
    environments = {"staging": Target("db.internal", 6543, "shop_staging"), "production": target_of(url)}
    with pytest.raises(ConfigurationError) as refused:
        ScratchServer(url, environment_targets=environments)
    message = str(refused.value)
    assert "'production'" in message and "db.internal:6543/shop" in message
    assert "hunter2" not in message and url not in message


@pytest.mark.parametrize(
    ("scratch", "environment"),
    [
        ("postgresql://postgres@127.0.0.1:5432/postgres", "postgresql://postgres@localhost:5432/postgres"),
        ("postgresql://postgres@localhost/postgres", "postgresql://app:pw@[::1]:5432/postgres"),
        ("postgresql://postgres@127.0.0.1:5432/postgres", "postgresql://postgres@/postgres?host=/var/run/postgresql"),
        ("postgresql://postgres@LOCALHOST:5432/shop", "postgresql://postgres@localhost:5432/shop"),
        # a second user's trial: host lists and hostaddr
        ("postgresql://postgres@127.0.0.1:5432,localhost:5432/shop", "postgresql://postgres@localhost/shop"),
        ("postgresql://postgres@127.0.0.1:5432/shop", "postgresql://postgres@localhost,127.0.0.1/shop"),
        ("host=db.invalid hostaddr=127.0.0.1 dbname=shop user=postgres", "postgresql://postgres@localhost/shop"),
        ("postgresql://postgres@db.invalid/shop?hostaddr=127.0.0.1", "postgresql://postgres@[::1]/shop"),
        ("postgresql://postgres@db.invalid:6000,127.0.0.1:5433/shop", "postgresql://postgres@localhost:5433/shop"),
    ],
)
def test_an_environments_database_is_refused_however_its_host_is_spelled(scratch: str, environment: str) -> None:
    """A user's trial: the environment's URL said localhost, the scratch URL 127.0.0.1, and the
    proof ran in the environment's database. Names are resolved; a socket, a loopback address and a
    name resolving to one are all this machine (refused before anything connects)."""
    with pytest.raises(ConfigurationError, match="leads to the database of environment 'staging'"):
        ScratchServer(scratch, environment_targets={"staging": target_of(environment)})


def test_same_database_compares_database_port_and_resolved_hosts() -> None:
    assert same_database(Target("localhost", 5432, "db"), Target("127.0.0.1", 5432, "db"))
    assert not same_database(Target("localhost", 5432, "db"), Target("127.0.0.1", 5433, "db"))
    assert not same_database(Target("localhost", 5432, "db"), Target("127.0.0.1", 5432, "other"))
    assert not same_database(Target("db.invalid", 5432, "db"), Target("127.0.0.1", 5432, "db"))
    assert same_database(Target("DB.invalid", 5432, "db"), Target("db.invalid", 5432, "db"))
    assert not same_database(Target("db.invalid,localhost", "5432,5433", "db"), Target("127.0.0.1", 5432, "db"))
    assert same_database(Target("db.invalid,localhost", "5432,5433", "db"), Target("127.0.0.1", 5433, "db"))


def test_another_database_of_an_environments_server_is_accepted(admin_url: str) -> None:
    """The embedded default serves both: what is refused is the environment's database itself."""
    target = target_of(admin_url)
    elsewhere = {"staging": Target(target.host, target.port, "schemawarden_staging")}
    with ScratchServer(admin_url, environment_targets=elsewhere) as scratch, scratch.database() as db:
        assert db.target.database == db.name != "schemawarden_staging"


# -- the role ---------------------------------------------------------------------------------------


def test_migrations_run_as_a_role_that_is_no_superuser_and_cannot_become_one(server: ScratchServer) -> None:
    with server.database() as db:
        session = db.connection().execute(
            "SELECT session_user, current_user, current_setting('is_superuser'), "
            "(SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = session_user)"
        ).fetchone()
        assert session is not None
        assert session[1] == registry.GROUP_ROLE and session[2:] == ("off", False)
        owner = db.connection().execute(
            "SELECT datdba::regrole::text FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        assert owner == (registry.GROUP_ROLE,), "the role owns the scratch database"
        for attempt in ("SET ROLE postgres", "RESET ROLE;\nCREATE ROLE intruder SUPERUSER",
                        "SET ROLE NONE;\nALTER ROLE CURRENT_USER SUPERUSER"):
            with pytest.raises(MigrationFailed) as failed:
                run_sql(db, attempt, source="escalate.sql")
            assert failed.value.sqlstate == "42501", attempt  # insufficient_privilege
        assert "intruder" not in _roles(db.admin_url)


def test_the_superuser_helper_runs_only_registered_statements(server: ScratchServer) -> None:
    with server.database() as db:
        with pytest.raises(MigrationFailed) as guessed:
            run_sql(db, f"SELECT {registry.HELPER_FUNCTION}('{secrets.token_hex(16)}')", source="guess.sql")
        assert "no extension statement is registered" in str(guessed.value)
        with pytest.raises(MigrationFailed) as read:
            run_sql(db, "SELECT statement FROM schemawarden.scratch_extension_statements", source="read.sql")
        assert read.value.sqlstate == "42501"


def test_the_role_url_carries_the_statement_timeout_and_hides_its_password(admin_url: str) -> None:
    with ScratchServer(admin_url, environment_targets={}, statement_timeout_ms=1234) as scratch, scratch.database() as db:
        assert db.connect().execute("SHOW statement_timeout").fetchone() == ("1234ms",)
        assert "password" not in repr(db) and db.name in repr(db)


# -- nothing left behind ----------------------------------------------------------------------------


def test_a_database_is_dropped_after_success_even_with_a_connection_still_open(
    server: ScratchServer, admin_url: str
) -> None:
    with server.database() as db:
        forgotten = db.connect()  # never closed: the drop must not wait for it (no FORCE before 13)
        forgotten.execute("CREATE TABLE t (id int)")
        assert db.name in _databases(admin_url)
    assert db.name not in _databases(admin_url)
    assert not _registered(admin_url, db.name)


def test_a_database_is_dropped_after_a_failure(server: ScratchServer, admin_url: str) -> None:
    seen: list[ScratchDatabase] = []
    with pytest.raises(MigrationFailed), server.database() as db:
        seen.append(db)
        run_sql(db, "CREATE TABLE t (id int);\nSELECT missing FROM t;", source="broken.sql")
    assert seen[0].name not in _databases(admin_url)
    assert not _registered(admin_url, seen[0].name)


def test_a_database_is_dropped_after_an_interrupt(server: ScratchServer, admin_url: str) -> None:
    seen: list[ScratchDatabase] = []
    with pytest.raises(KeyboardInterrupt), server.database() as db:
        seen.append(db)
        db.connection().execute("CREATE TABLE t (id int)")
        raise KeyboardInterrupt  # Ctrl-C in the middle of the work
    assert seen[0].name not in _databases(admin_url)


KILLED_CLIENT = textwrap.dedent("""
    import sys, threading
    from reconciler.database.scratch import ScratchServer
    server = ScratchServer(sys.argv[1], environment_targets={})
    keeper = server._keeper.conn.info.backend_pid
    def build(db):
        print("building", db.name, keeper, server._login_role, flush=True)
        threading.Event().wait()
    with server.database() as db:
        print("database", db.name, keeper, server._login_role, flush=True)
        server.template(sys.argv[2], build)
""")


def test_what_a_killed_client_left_is_dropped_by_the_next_start(admin_url: str, tmp_path: Path) -> None:
    """The client is killed with SIGKILL while it holds a scratch database and builds a template;
    the server ends its sessions (their advisory locks go with them), and the next start drops all."""
    script = tmp_path / "client.py"
    script.write_text(KILLED_CLIENT)
    key = secrets.token_hex(8)
    client = subprocess.Popen(
        [sys.executable, str(script), admin_url, key], stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert client.stdout is not None
        _, database, keeper, role = client.stdout.readline().split()
        _, template, _, _ = client.stdout.readline().split()
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()
    assert {database, template} <= _databases(admin_url) and role in _roles(admin_url)
    _wait_until(  # the killed client's sessions end (the server notices the closed sockets)
        "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = %s OR usename = %s)",
        admin_url, (int(keeper), role),
    )
    with ScratchServer(admin_url, environment_targets={}) as scratch:
        assert {database, template, role} <= set(scratch.dropped_leftovers)
        assert key not in scratch.templates()
    assert not {database, template} & _databases(admin_url)
    assert role not in _roles(admin_url)


def test_closing_drops_the_login_role(admin_url: str) -> None:
    scratch = ScratchServer(admin_url, environment_targets={})
    role = scratch._login_role
    assert role in _roles(admin_url)
    scratch.close()
    assert role not in _roles(admin_url) and not _registered(admin_url, role)


# -- templates --------------------------------------------------------------------------------------


def _build_table(name: str) -> Callable[[ScratchDatabase], None]:
    def build(db: ScratchDatabase) -> None:
        run_sql(db, f"CREATE TABLE {name} (id int PRIMARY KEY);\nINSERT INTO {name} VALUES (1);", source="base.sql")
    return build


def test_a_clone_holds_the_templates_schema_and_the_template_accepts_no_connection(
    server: ScratchServer, admin_url: str
) -> None:
    key = template_key([secrets.token_hex(32)], server.pg_major)
    template = server.template(key, _build_table("base"))
    with server.database(template=template) as db:
        assert db.connection().execute("SELECT id FROM base").fetchall() == [(1,)]
        run_sql(db, "ALTER TABLE base ADD COLUMN note text", source="0001.sql")  # the role owns what it cloned
    with psycopg.connect(admin_url, autocommit=True) as conn:
        allowed, owner = conn.execute(
            "SELECT datallowconn, pg_get_userbyid(datdba) = current_user FROM pg_database WHERE datname = %s",
            (template.name,),
        ).fetchone() or (None, None)
    assert (allowed, owner) == (False, True)
    with pytest.raises(psycopg.OperationalError), psycopg.connect(db.url.replace(db.name, template.name)):
        pass


def test_a_template_whose_build_fails_is_not_kept(server: ScratchServer, admin_url: str) -> None:
    key = template_key([secrets.token_hex(32)], server.pg_major)

    def broken(db: ScratchDatabase) -> None:
        run_sql(db, "CREATE TABLE t (id int);\nSELECT nope FROM t;", source="base.sql")

    before = _databases(admin_url)
    with pytest.raises(MigrationFailed):
        server.template(key, broken)
    assert key not in server.templates()
    assert _databases(admin_url) == before


def test_two_workers_asking_for_one_template_build_it_once(admin_url: str) -> None:
    key = template_key([secrets.token_hex(32)], 0)
    release = threading.Event()
    builds: list[str] = []

    def build(db: ScratchDatabase) -> None:
        builds.append(db.name)
        release.wait(30)
        run_sql(db, "CREATE TABLE built (id int)", source="base.sql")

    with ScratchServer(admin_url, environment_targets={}) as first, ScratchServer(admin_url, environment_targets={}) as second:
        results: dict[str, str] = {}
        one = threading.Thread(target=lambda: results.__setitem__("first", first.template(key, build).name))
        one.start()
        while not builds:  # the first worker is building
            time.sleep(0.01)
        two = threading.Thread(target=lambda: results.__setitem__("second", second.template(key, build).name))
        two.start()
        lock_id = registry.template_lock_id(key) & 0xFFFFFFFF  # pg_locks shows the key as an oid
        _wait_until(
            "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND classid = %s AND objid = %s AND objsubid = 2)",
            admin_url, (registry.TEMPLATE_LOCKS, lock_id),
        )
        release.set()
        one.join(30)
        two.join(30)
        assert len(builds) == 1
        assert results["first"] == results["second"]
        with second.database(template=second.template(key, build)) as db:
            assert db.connection().execute("SELECT count(*) FROM built").fetchone() == (0,)
    assert len(builds) == 1


def test_the_least_recently_used_template_is_evicted_beyond_the_bound(admin_url: str) -> None:
    with ScratchServer(admin_url, environment_targets={}, max_templates=2) as scratch:
        keys = [template_key([secrets.token_hex(32)], scratch.pg_major) for _ in range(3)]
        oldest = scratch.template(keys[0], _build_table("a"))
        second = scratch.template(keys[1], _build_table("b"))
        with scratch.database(template=oldest):  # the oldest is used again: the second is now the least recent
            pass
        scratch.template(keys[2], _build_table("c"))
        assert scratch.templates() == [keys[2], keys[0]]
        assert second.name not in _databases(admin_url)
        with scratch.database(template=second) as db:  # an evicted template is built again when cloned
            assert db.connection().execute("SELECT count(*) FROM b").fetchone() == (1,)
        assert scratch.templates()[0] == keys[1] and len(scratch.templates()) == 2
