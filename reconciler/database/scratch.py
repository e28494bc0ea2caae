"""Scratch databases: throw-away databases in which migrations run to verify them; never an environment.

A `ScratchServer` works on one PostgreSQL server through its superuser's admin URL (the embedded
server's, or the one `SCHEMAWARDEN_SCRATCH_URL` names, read by the `bot` layer), and refuses a URL
that leads to an environment's database. It gives

* `database(template=None)`: a fresh database, owned by a role that is not a superuser and that
  the migrations run as (`ScratchDatabase.url`, `connect()`), dropped when the block ends, also on
  an error or an interrupt; what a killed process left is dropped by the next `ScratchServer`;
* `template(key, build)`: a template database per key (`template_key(hashes, pg_major)` of a
  migration set), built once by `build(db)` even when two workers ask at once, cloned by
  `database(template=...)` with `CREATE DATABASE ... TEMPLATE` instead of replaying; at most
  `max_templates` are kept, the least recently used dropped first.

Only databases and roles this class registered are ever dropped (`_scratch_registry`: the registry,
the roles, the helper that runs extension statements as the superuser). A template accepts no
connection once built (`ALLOW_CONNECTIONS false`, docs: sql-alterdatabase.html), since
`CREATE DATABASE ... TEMPLATE` fails while anyone is connected to it (docs: manage-ag-templatedbs.html),
and belongs to the superuser, so that no migration can alter it for the next pull request.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from policies.errors import EXIT_UNREACHABLE, ConfigurationError, SchemawardenError
from reconciler.database import _scratch_registry as registry
from reconciler.database.connect import Target, same_database, scrub_secrets, target_of
from reconciler.database.embedded import drop_database, with_database

log = logging.getLogger(__name__)

Conn = psycopg.Connection[tuple[object, ...]]

TEMPLATE_FORMAT = 1
"""Part of every template key: raised when what a template holds besides the migrations changes."""

APPLICATION_NAME = "schemawarden scratch"


class ScratchServerUnreachable(SchemawardenError):
    """The scratch server could not be reached, or its scratch role could not log in (exit code 3)."""

    exit_code = EXIT_UNREACHABLE


def template_key(hashes: Sequence[str], pg_major: int) -> str:
    """The key of the template holding the schema a migration set builds on PostgreSQL `pg_major`:
    sha-256 hex over the migrations' hashes in order (`Migration.hash`), the major version and
    `TEMPLATE_FORMAT`."""
    text = f"schemawarden-template/{TEMPLATE_FORMAT}\npg{pg_major}\n" + "\n".join(hashes)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Template:
    """A template database on the scratch server, for `ScratchServer.database(template=...)`.

    `build` is kept so that a template evicted (or lost) before it is cloned is built again.
    """

    key: str
    name: str
    build: Callable[[ScratchDatabase], None] = field(repr=False, compare=False)


class ScratchDatabase:
    """One scratch database while its `ScratchServer.database()` block runs.

    `url` logs in as the scratch role (no superuser, `statement_timeout` as the server was given,
    in ms) and `admin_url` as the superuser; both hold a password: never print them (`repr` leaves
    them out). `connection()` is one role connection kept for the block, closed before the drop.
    """

    def __init__(
        self, name: str, url: str, admin_url: str, pg_major: int, statement_timeout_ms: int
    ) -> None:
        self.name = name
        self.url = url
        self.admin_url = admin_url
        self.pg_major = pg_major
        self.statement_timeout_ms = statement_timeout_ms
        self.target = target_of(admin_url)
        self._connection: Conn | None = None

    def __repr__(self) -> str:
        return f"ScratchDatabase({self.name!r} at {self.target}, PostgreSQL {self.pg_major})"

    def connect(self) -> Conn:
        """A new autocommit connection as the scratch role; the caller closes it."""
        return psycopg.connect(self.url, autocommit=True, application_name=APPLICATION_NAME)

    def connect_admin(self) -> Conn:
        """A new autocommit connection to this database as the superuser; the caller closes it."""
        return psycopg.connect(self.admin_url, autocommit=True, application_name=APPLICATION_NAME)

    def connection(self) -> Conn:
        """The role connection of this block (autocommit), opened on first use and again when broken."""
        if self._connection is None or self._connection.closed or self._connection.broken:
            self._connection = self.connect()
        return self._connection

    def register_extension_statements(self, statements: Sequence[str]) -> list[str]:
        """Register extension statements to run as the superuser; returns, for each, the statement the
        role's connection runs in its place (a call of the helper with a one-time token).

        The tokens are written before the migration's transaction starts, so that its isolation level
        cannot hide them; an unused token is harmless and goes with the database.
        """
        if not statements:
            return []
        tokens = [secrets.token_hex(16) for _ in statements]
        with self.connect_admin() as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO schemawarden.scratch_extension_statements (token, statement) VALUES (%s, %s)",
                list(zip(tokens, statements, strict=True)),
            )
        return [f"SELECT {registry.HELPER_FUNCTION}('{token}')" for token in tokens]

    def close(self) -> None:
        if self._connection is not None and not self._connection.closed:
            self._connection.close()
        self._connection = None


class ScratchServer:
    """A PostgreSQL server on which scratch databases are created and dropped; see the module's doc.

    `admin_url` must log in as a superuser (roles, extensions). `environment_targets` maps each
    environment's name to its `Target`: an admin URL leading to one of them is refused with a
    `ConfigurationError` naming the environment. `statement_timeout_ms` bounds each statement the
    role runs; `max_templates` bounds the templates kept on the server. Raises
    `ScratchServerUnreachable` when the server or the role's login fails. Use it as a context manager
    (or call `close()`): closing drops what it still holds and its login role.
    """

    def __init__(
        self,
        admin_url: str,
        *,
        environment_targets: Mapping[str, Target],
        statement_timeout_ms: int = 30_000,
        max_templates: int = 8,
    ) -> None:
        if statement_timeout_ms <= 0 or max_templates < 1:
            raise ConfigurationError("a scratch server needs statement_timeout_ms > 0 and max_templates >= 1")
        self.target = _refuse_environments(admin_url, environment_targets)
        self.admin_url = admin_url
        self.statement_timeout_ms = statement_timeout_ms
        self.max_templates = max_templates
        self._keeper = registry.Keeper(self._connect_admin(admin_url), admin_url)
        try:
            self.pg_major = self._keeper.conn.info.server_version // 10000
            self._admin_role = self._keeper.set_up()
            self.dropped_leftovers = self._keeper.drop_leftovers()
            """Names of the databases and roles left by processes that died, dropped at this start."""
            self._login_role, self._password, self._login_row = self._keeper.create_login_role()
            self._check_login()
        except BaseException:
            self.close()
            raise

    # -- public ----------------------------------------------------------------------------------

    def __enter__(self) -> ScratchServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def database(self, template: Template | None = None) -> Iterator[ScratchDatabase]:
        """A new scratch database (a clone of `template` when given), dropped when the block ends,
        whatever happens in it."""
        name = registry.DATABASE_PREFIX + secrets.token_hex(8)
        row = self._keeper.register("database", name)
        db: ScratchDatabase | None = None
        try:
            if template is None:
                self._create(name)
            else:
                self._clone(template, name)
            db = self._scratch_database(name)
            yield db
        finally:
            if db is not None:
                db.close()
            drop_database(self.admin_url, name)
            self._keeper.unregister(row)

    def template(self, key: str, build: Callable[[ScratchDatabase], None]) -> Template:
        """The template database for `key`, built by `build(db)` in a new scratch database when there
        is none. A second caller with the same key (another worker) waits until the first is done and
        uses its template; when `build` raises, nothing is kept and the error propagates."""
        lock = registry.template_lock_id(key)
        with self._connect_admin(self.admin_url) as conn:
            conn.execute("SELECT pg_advisory_lock(%s, %s)", (registry.TEMPLATE_LOCKS, lock))
            try:
                name = self._ready_template(conn, key)
                if name is None:
                    log.info("building scratch template %s", key[:12])
                    name = self._build(conn, key, build)
                else:
                    log.info("reusing scratch template %s", key[:12])
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (registry.TEMPLATE_LOCKS, lock))
            self._evict(conn, keep=key)
        return Template(key, name, build)

    def provide_roles(self, names: Sequence[str]) -> list[str]:
        """Make sure each role of `names` (the roles migrations name and do not create:
        `policies.outside.roles_named`) exists on the server, creating the missing ones as stand-ins
        (see `_scratch_registry`); returns the names created."""
        return self._keeper.create_stand_in_roles(names)

    def templates(self) -> list[str]:
        """The keys of the templates kept on the server, most recently used first."""
        return self._keeper.template_keys()

    def close(self) -> None:
        """Drop the login role and end the keeper session (the databases went with their blocks)."""
        if self._keeper.conn.closed:
            return
        try:
            if hasattr(self, "_login_role"):
                self._keeper.drop_login_role(self._login_role, self._login_row)
        except psycopg.Error as exc:
            log.warning("could not drop scratch role %s (the next start drops it): %s", self._login_role, exc)
        finally:
            self._keeper.close()

    # -- opening ---------------------------------------------------------------------------------

    def _connect_admin(self, url: str) -> Conn:
        try:
            return psycopg.connect(url, autocommit=True, application_name=APPLICATION_NAME, connect_timeout=10)
        except psycopg.Error as exc:
            reason = scrub_secrets((str(exc).strip().splitlines() or [type(exc).__name__])[0], url)
            raise ScratchServerUnreachable(
                f"cannot connect to the scratch server at {target_of(url)}: {reason}. Check the scratch "
                "server's URL (SCHEMAWARDEN_SCRATCH_URL) and that the server is up"
            ) from None

    def _check_login(self) -> None:
        """Log in as the role once, so that a server that refuses it (pg_hba.conf) is said at once."""
        url = self._role_url(self._maintenance_database())
        try:
            with psycopg.connect(url, autocommit=True, application_name=APPLICATION_NAME, connect_timeout=10):
                pass
        except psycopg.Error as exc:
            reason = scrub_secrets(scrub_secrets((str(exc).strip().splitlines() or [""])[0], url), self._password)
            raise ScratchServerUnreachable(
                f"the scratch role cannot log in to the scratch server at {self.target}: {reason}. Allow "
                f"password (scram-sha-256) or trust authentication for roles {registry.LOGIN_ROLE_PREFIX}* "
                "in its pg_hba.conf"
            ) from None

    def _maintenance_database(self) -> str:
        return str(conninfo_to_dict(self.admin_url).get("dbname") or target_of(self.admin_url).database)

    # -- databases -------------------------------------------------------------------------------

    def _role_url(self, database: str) -> str:
        info = {k: v for k, v in conninfo_to_dict(self.admin_url).items() if v is not None}
        info.update(
            dbname=database,
            user=self._login_role,
            password=self._password,
            options=f"-c role={registry.GROUP_ROLE} -c statement_timeout={self.statement_timeout_ms}",
        )
        info.pop("service", None)
        return make_conninfo("", **info)

    def _scratch_database(self, name: str) -> ScratchDatabase:
        return ScratchDatabase(
            name, self._role_url(name), with_database(self.admin_url, name), self.pg_major, self.statement_timeout_ms
        )

    def _create(self, name: str) -> None:
        """An empty database owned by the group, with the helper for extension statements."""
        with self._connect_admin(self.admin_url) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(registry.GROUP_ROLE))
            )
        with self._connect_admin(with_database(self.admin_url, name)) as conn:
            conn.execute(registry.helper_setup())

    def _clone(self, template: Template, name: str) -> None:
        """Clone the key's template (whichever database holds it now), building it again if it is gone."""
        lock = (registry.TEMPLATE_LOCKS, registry.template_lock_id(template.key))
        for _ in range(3):
            with self._connect_admin(self.admin_url) as conn:
                conn.execute("SELECT pg_advisory_lock_shared(%s, %s)", lock)  # no eviction meanwhile
                try:
                    source = self._ready_template(conn, template.key)
                    if source is not None:
                        conn.execute(
                            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                                sql.Identifier(name), sql.Identifier(source), sql.Identifier(registry.GROUP_ROLE)
                            )
                        )
                        return
                finally:
                    conn.execute("SELECT pg_advisory_unlock_shared(%s, %s)", lock)
            log.info("template %s was evicted before its clone: building it again", template.key[:12])
            self.template(template.key, template.build)
        raise SchemawardenError(f"template {template.key[:12]} was evicted three times before it could be cloned")

    # -- templates -------------------------------------------------------------------------------

    def _ready_template(self, conn: Conn, key: str) -> str | None:
        """The database of the key's template when it is ready (marking it used), else None."""
        row = conn.execute(
            f"UPDATE {registry.REGISTRY} AS o SET used_at = clock_timestamp() WHERE kind = 'template' AND template_key = %s "
            "AND ready AND EXISTS (SELECT FROM pg_database WHERE datname = o.name) RETURNING name",
            (key,),
        ).fetchone()
        return str(row[0]) if row else None

    def _build(self, conn: Conn, key: str, build: Callable[[ScratchDatabase], None]) -> str:
        """Build the key's template under its lock (held on `conn`); a row left by a builder that died goes first."""
        stale = conn.execute(
            f"DELETE FROM {registry.REGISTRY} WHERE kind = 'template' AND template_key = %s RETURNING name", (key,)
        ).fetchone()
        if stale is not None:
            drop_database(self.admin_url, str(stale[0]))
        name = registry.DATABASE_PREFIX + secrets.token_hex(8)
        conn.execute(
            f"INSERT INTO {registry.REGISTRY} (kind, name, template_key) VALUES ('template', %s, %s)", (name, key)
        )
        try:
            self._create(name)
            db = self._scratch_database(name)
            try:
                build(db)
            finally:
                db.close()
            self._seal(name)
            conn.execute(
                f"UPDATE {registry.REGISTRY} SET (ready, used_at) = (true, clock_timestamp()) WHERE name = %s", (name,)
            )
        except BaseException:
            drop_database(self.admin_url, name)
            conn.execute(f"DELETE FROM {registry.REGISTRY} WHERE name = %s", (name,))
            raise
        return name

    def _seal(self, name: str) -> None:
        """Make a built database a template: owned by the group alone, nobody connected, no connection
        allowed, and the database itself the superuser's (so that no migration can change it)."""
        with self._connect_admin(with_database(self.admin_url, name)) as conn:
            login, group = sql.Identifier(self._login_role), sql.Identifier(registry.GROUP_ROLE)
            # what the migrations created after `SET ROLE NONE` is the group's, like everything else
            conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}; DROP OWNED BY {}").format(login, group, login))
            conn.execute("DELETE FROM schemawarden.scratch_extension_statements")  # tokens of failed statements
        with self._connect_admin(self.admin_url) as conn:
            ident = sql.Identifier(name)
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(ident))
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(ident, sql.Identifier(self._admin_role)))

    def _evict(self, conn: Conn, keep: str) -> None:
        """Drop the least recently used templates beyond `max_templates` that nobody is using."""
        rows = conn.execute(
            f"SELECT name, template_key FROM {registry.REGISTRY} WHERE kind = 'template' AND ready "
            "ORDER BY used_at DESC, id DESC OFFSET %s",
            (self.max_templates,),
        ).fetchall()
        for name, key in rows:
            if key == keep:
                continue
            lock = (registry.TEMPLATE_LOCKS, registry.template_lock_id(str(key)))
            if conn.execute("SELECT pg_try_advisory_lock(%s, %s)", lock).fetchone() != (True,):
                continue  # being cloned or rebuilt now
            try:
                conn.execute(f"DELETE FROM {registry.REGISTRY} WHERE name = %s", (name,))
                drop_database(self.admin_url, str(name))
                log.info("evicted scratch template %s (least recently used)", str(key)[:12])
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", lock)


def _refuse_environments(admin_url: str, environment_targets: Mapping[str, Target]) -> Target:
    """The admin URL's target, unless it is an environment's database (ConfigurationError, naming the
    environment, never the URL)."""
    try:
        target = target_of(admin_url)
    except ValueError:
        raise ConfigurationError(
            "the scratch server's URL (SCHEMAWARDEN_SCRATCH_URL) is not a PostgreSQL URL"
        ) from None
    for name, environment in sorted(environment_targets.items()):
        if same_database(target, environment):
            raise ConfigurationError(
                f"the scratch server's URL leads to the database of environment {name!r} ({environment}): "
                "scratch databases are created and dropped there, so it must never be an environment. "
                "Point SCHEMAWARDEN_SCRATCH_URL at a database no environment uses (on the same server, "
                "one created for schemawarden), or at another server, or leave it unset for the embedded "
                "server"
            )
    return target

