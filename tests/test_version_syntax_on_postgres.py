"""SW608's versions held against a real PostgreSQL, not only against the release notes.

Each case of test_version_syntax.py runs on the test server (with the setup it needs) inside a
transaction that is rolled back. A server older than the case's `since` must refuse it (a syntax
error, or the error the case names: an unknown view option is refused when the view is built, not
parsed); a server at or after `since` must accept it (or get past the parser to the error the case
names, such as a statement refused inside a transaction block). And SW608, judging the statement
for the server's own version, must flag it exactly when the server refused it.

CI runs this on 15, and on the other versions through `python tests/run_on_postgres.py N
tests/test_version_syntax_on_postgres.py` (N from 11 to 18).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from conftest import fresh_database
from test_version_syntax import CASES, IDS, Case, sw608

SETUP = """
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE t (id int PRIMARY KEY, a int, b int REFERENCES parent (id), s text);
ALTER TABLE t RENAME CONSTRAINT t_b_fkey TO t_b_fk;
CREATE INDEX t_a_idx ON t (a);
CREATE TABLE src (id int, a int);
CREATE VIEW tv AS SELECT id FROM t;
CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE m1 PARTITION OF m FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$;
"""


@pytest.fixture(scope="module")
def server(admin_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """One database with the tables above, for every case (each one is rolled back)."""
    with fresh_database(admin_url) as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SETUP)
        yield conn


def _error(name: str) -> type[psycopg.Error]:
    error = getattr(psycopg.errors, name)
    assert isinstance(error, type) and issubclass(error, psycopg.Error)
    return error


def _run(server: psycopg.Connection[tuple[object, ...]], case: Case, version: int) -> None:
    with server.transaction(force_rollback=True):
        if case.setup and version >= case.setup_since:
            server.execute(case.setup)
        server.execute(case.sql)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_server_refuses_exactly_what_sw608_flags_for_its_version(
    server: psycopg.Connection[tuple[object, ...]], case: Case
) -> None:
    version = server.info.server_version // 10000
    refused = version < case.since
    if refused:
        with pytest.raises(_error(case.refused_as)):
            _run(server, case, version)
    elif case.accepted_as is not None:
        try:
            _run(server, case, version)
        except _error(case.accepted_as):
            pass  # past the parser: refused for another reason only (a transaction block, say)
    else:
        _run(server, case, version)
    found = sw608(case.sql, version)
    assert bool(found) == refused, f"{case.sql!r} on PostgreSQL {version}: SW608 says {[f.message for f in found]}"
    if refused:
        assert any(f"needs PostgreSQL {case.since};" in f.message for f in found)
