"""Shared fixtures: a real PostgreSQL for every test, never a mock of one.

The server is the one named by SCHEMAWARDEN_TEST_DATABASE_URL (an admin URL, e.g.
postgresql://postgres@127.0.0.1:5432/postgres), else the embedded PostgreSQL started in
`.pytest-pgdata/` beside the tests. Each test that asks for `database_url` gets its own database.
`embedded_admin_url` is always the embedded server, whatever the variable says (for the tests that
prove what the embedded default can do).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reconciler.database.embedded import EmbeddedPostgres, drop_database, ensure_database, with_database

pytest_plugins = ("fake_github.plugin",)  # the `fake_github` fixture: a fake GitHub over HTTP

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("SCHEMAWARDEN_SHARED_DIR") or ROOT.parent / "shared")  # worktrees elsewhere set it


@pytest.fixture(scope="session")
def embedded_admin_url() -> str:
    """Admin URL of the embedded PostgreSQL (data in `.pytest-pgdata/`), started on first use."""
    return EmbeddedPostgres(ROOT / ".pytest-pgdata").admin_url()


@pytest.fixture(scope="session")
def admin_url(request: pytest.FixtureRequest) -> str:
    """An admin connection URL to a real PostgreSQL server for the whole session."""
    external = os.environ.get("SCHEMAWARDEN_TEST_DATABASE_URL")
    if external:
        return external
    return str(request.getfixturevalue("embedded_admin_url"))


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped when the block ends."""
    name = f"sw_test_{uuid.uuid4().hex[:12]}"
    ensure_database(admin_url, name)
    try:
        yield with_database(admin_url, name)
    finally:
        drop_database(admin_url, name)


@pytest.fixture
def database_url(admin_url: str) -> Iterator[str]:
    """A fresh, empty database of its own for one test, dropped afterwards."""
    with fresh_database(admin_url) as url:
        yield url


@pytest.fixture
def other_database_url(admin_url: str) -> Iterator[str]:
    """A second fresh database, for applying the same files with another tool."""
    with fresh_database(admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The large shared test data (../shared); only the `shared`-marked suite uses it."""
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the shared suite needs the project's shared data beside it")
    return SHARED


@pytest.fixture(scope="session")
def control_admin_url(admin_url: str, request: pytest.FixtureRequest) -> str:
    """The server for control databases: the one under test, unless it is older than 12 (the job
    queue's statements need 12, and `setup` refuses an older server); then the embedded server,
    while everything else stays on the server under test."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.info.server_version >= 120000:
            return admin_url
    return str(request.getfixturevalue("embedded_admin_url"))


@pytest.fixture
def control_database_url(control_admin_url: str) -> Iterator[str]:
    """A fresh, empty database of its own on the control server, dropped afterwards."""
    with fresh_database(control_admin_url) as url:
        yield url


SEEN_LOG = """
CREATE TABLE public.sw_test_seen (
    kind text NOT NULL, name text NOT NULL, template_key text, at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE FUNCTION public.sw_test_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sw_test_seen (kind, name, template_key) VALUES (NEW.kind, NEW.name, NEW.template_key);
    RETURN NEW;
END $$;
CREATE TRIGGER sw_test_seen AFTER INSERT ON schemawarden_scratch.objects
    FOR EACH ROW EXECUTE PROCEDURE public.sw_test_seen();
"""


class ScratchBookkeeping:
    """A scratch server's bookkeeping in a database of its own (`url`, the scratch server's admin URL):
    its registry and templates are nobody else's, so other tests' templates never evict its ones, and
    a trigger logs every object the registry was ever told of (`created`), so a test can look each
    one up in pg_database afterwards, whatever other processes do on the server meanwhile."""

    def __init__(self, url: str, admin_url: str) -> None:
        self.url, self.admin_url = url, admin_url

    def created(self, kind: str = "database") -> list[str]:
        """Names registered so far, oldest first: kind 'database' (a clone or an empty scratch
        database), 'template' or 'role'."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute("SELECT name FROM public.sw_test_seen WHERE kind = %s ORDER BY at, name", (kind,))
            return [str(name) for (name,) in rows]

    def existing(self, names: list[str] | None = None) -> set[str]:
        """Which of `names` (default: every database ever registered) are in pg_database now."""
        import psycopg

        wanted = names if names is not None else self.created("database") + self.created("template")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (wanted,))
            return {str(name) for (name,) in rows}


@pytest.fixture(scope="module")
def scratch_bookkeeping(admin_url: str) -> Iterator[ScratchBookkeeping]:
    """A database of its own for a module's scratch servers' registry (pass `.url` as the scratch
    server's admin URL); at the end every database it registered (templates kept included) is
    dropped, then the database itself."""
    import psycopg

    from reconciler.database import _scratch_registry as registry

    with fresh_database(admin_url) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(registry.REGISTRY_SETUP)
            conn.execute(SEEN_LOG)
        bookkeeping = ScratchBookkeeping(url, admin_url)
        try:
            yield bookkeeping
        finally:
            for name in sorted(bookkeeping.existing()):
                drop_database(admin_url, name)
