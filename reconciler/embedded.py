"""The embedded PostgreSQL: a real server started from the `pgserver` wheel when no URL is given.

The data folder persists, so a second run reuses the server's databases; the server stops when
the last process using it exits.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

from policies.errors import ConfigurationError

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A PostgreSQL server living in `data_dir`, started on first use."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._admin_url: str | None = None

    def admin_url(self) -> str:
        """URL of the server's `postgres` database, starting the server if needed."""
        if self._admin_url is None:
            self._admin_url = self._start()
        return self._admin_url

    def database_url(self, name: str) -> str:
        """URL of database `name` on the embedded server, created when missing."""
        admin = self.admin_url()
        ensure_database(admin, name)
        return with_database(admin, name)

    def _start(self) -> str:
        try:
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
                import pgserver

                server = pgserver.get_server(self.data_dir)  # type: ignore[attr-defined]
            url: str = server.get_uri()
        except Exception as exc:  # pgserver raises plain exceptions of many kinds
            raise ConfigurationError(
                f"could not start the embedded PostgreSQL in {self.data_dir}: {exc}. "
                "Choose another folder with SCHEMAWARDEN_DATA_DIR, or set a database URL"
            ) from exc
        log.info("embedded PostgreSQL running with data in %s", self.data_dir)
        return url


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = database
    return psycopg.conninfo.make_conninfo("", **{k: v for k, v in info.items() if v is not None})


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` unless it exists (concurrent creators are tolerated)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name`, disconnecting whoever is still in it."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.info.server_version >= 130000:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            return
        # Before PostgreSQL 13 there is no FORCE: disconnect the sessions first (none can start
        # meanwhile in a database nobody else knows the name of).
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
