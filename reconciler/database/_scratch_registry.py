"""What a scratch server holds for schemawarden, and the session that keeps it: the registry, the
roles, the helper that runs extension statements as the superuser. `scratch.ScratchServer` is the user.

* The registry (`schemawarden_scratch.objects` in the admin URL's database) lists every role,
  scratch database and template a `ScratchServer` created, written before the object exists, so
  nothing of ours is unknown and nothing else is ever dropped. A live owner holds a session-level
  advisory lock per row (`OWNER_LOCKS`, the row's id) on its keeper connection, a template's builder
  one per template key (`TEMPLATE_LOCKS`): a row whose lock can be taken belongs to a process that
  died, and its object is dropped (docs: explicit-locking.html#ADVISORY-LOCKS; the server releases
  a session's locks when the session ends, also when its client was killed).
* Roles: `GROUP_ROLE` (NOLOGIN, no privilege) owns the scratch databases and everything migrations
  create in them; each `ScratchServer` logs in as a role of its own (LOGIN, NOINHERIT, a random
  password set at creation and dropped at close) that is a member of the group and starts its
  sessions as the group (`options=-c role=...`): every object has the same owner whatever process
  built the template, and two workers never reset each other's password. Roles the migrations name
  but do not create (`policies.outside`) are made as stand-ins (`create_stand_in_roles`: NOLOGIN, no
  privilege, marked by `STAND_IN_COMMENT`, the group a member of each): the environments have them,
  so a proof must not fail for their lack. They are kept; they can do nothing.
* The helper (schema `schemawarden` of each scratch database, which introspection leaves out):
  `schemawarden.scratch_extension_statement(token)` is a SECURITY DEFINER function of the superuser
  that runs one statement registered under a random one-time token in a table only the superuser
  reads. The migration's role calls it in its own transaction, so an extension statement runs as the
  superuser where it occurs, rolls back with its step and is seen by the lock trace; a migration
  cannot run anything else through it, since it can neither read nor write the tokens.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Sequence
from typing import cast

import psycopg
from psycopg import sql

from policies.errors import ConfigurationError
from reconciler.database.embedded import drop_database

log = logging.getLogger(__name__)

Conn = psycopg.Connection[tuple[object, ...]]

GROUP_ROLE = "schemawarden_scratch"
LOGIN_ROLE_PREFIX = "schemawarden_scratch_login_"
DATABASE_PREFIX = "sw_scratch_"
REGISTRY = "schemawarden_scratch.objects"
HELPER_SCHEMA = "schemawarden"
HELPER_FUNCTION = "schemawarden.scratch_extension_statement"

OWNER_LOCKS = 0x5359  # (OWNER_LOCKS, row id): the row's owner is alive; (OWNER_LOCKS, 0): setting up
TEMPLATE_LOCKS = 0x535A  # (TEMPLATE_LOCKS, key lock id): a template key being built, cloned or evicted

REGISTRY_SETUP = """
CREATE SCHEMA IF NOT EXISTS schemawarden_scratch;
REVOKE ALL ON SCHEMA schemawarden_scratch FROM PUBLIC;
CREATE TABLE IF NOT EXISTS schemawarden_scratch.objects (
    id serial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('role', 'database', 'template')),
    name text NOT NULL UNIQUE,
    template_key text UNIQUE,
    ready boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE schemawarden_scratch.objects IS
    'Roles and databases schemawarden created on this scratch server (dropped when their owner ends)';
"""

STAND_IN_COMMENT = "schemawarden: stand-in for a role of the environments that migrations name"
"""The comment on a stand-in role (`Keeper.create_stand_in_roles`), which tells it from a role of the
server's own."""

GROUP_ATTRIBUTES = """
SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,
       ARRAY(SELECT m.roleid::regrole::text FROM pg_auth_members AS m JOIN pg_roles AS g ON g.oid = m.roleid
             WHERE m.member = r.oid
               AND NOT (shobj_description(g.oid, 'pg_authid') IS NOT DISTINCT FROM %s
                        AND NOT g.rolsuper AND NOT g.rolcanlogin AND NOT g.rolcreaterole AND NOT g.rolcreatedb
                        AND NOT g.rolreplication AND NOT g.rolbypassrls))
FROM pg_roles AS r WHERE rolname = %s
"""

_PRIVILEGES = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def create_group_role() -> sql.Composed:
    return sql.SQL("CREATE ROLE {} NOLOGIN " + _PRIVILEGES).format(sql.Identifier(GROUP_ROLE))


def create_login_role(name: str, verifier: str) -> sql.Composed:
    """A login role that starts as the group; `verifier` is the password's SCRAM verifier, so the
    password itself never reaches the server's log."""
    return sql.SQL("CREATE ROLE {} LOGIN NOINHERIT " + _PRIVILEGES + " PASSWORD {} IN ROLE {}").format(
        sql.Identifier(name), sql.Literal(verifier), sql.Identifier(GROUP_ROLE)
    )


def helper_setup() -> sql.Composed:
    """Run by the superuser in a new scratch database (templates carry it to their clones)."""
    return sql.SQL("""
CREATE SCHEMA IF NOT EXISTS schemawarden;
REVOKE ALL ON SCHEMA schemawarden FROM PUBLIC;
CREATE TABLE schemawarden.scratch_extension_statements (token text PRIMARY KEY, statement text NOT NULL);
REVOKE ALL ON TABLE schemawarden.scratch_extension_statements FROM PUBLIC;
CREATE FUNCTION schemawarden.scratch_extension_statement(token text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $helper$
-- No SET search_path: CREATE EXTENSION without SCHEMA installs into the caller's first schema, as it
-- would for the migration; every name below is qualified so that the caller's path cannot change it.
DECLARE
    registered text;
BEGIN
    DELETE FROM schemawarden.scratch_extension_statements AS s
    WHERE s.token OPERATOR(pg_catalog.=) scratch_extension_statement.token
    RETURNING s.statement INTO registered;
    IF registered IS NULL THEN
        RAISE EXCEPTION 'schemawarden: no extension statement is registered under this token';
    END IF;
    EXECUTE registered;
END
$helper$;
REVOKE ALL ON FUNCTION schemawarden.scratch_extension_statement(text) FROM PUBLIC;
GRANT USAGE ON SCHEMA schemawarden TO {group};
GRANT EXECUTE ON FUNCTION schemawarden.scratch_extension_statement(text) TO {group};
""").format(group=sql.Identifier(GROUP_ROLE))


def template_lock_id(key: str) -> int:
    """The advisory lock id (int4) of a template key: two keys may share one (they then wait for
    each other, which is harmless); the registry is always read by the exact key."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)


class Keeper:
    """The keeper session of one `ScratchServer` (an autocommit superuser connection to the admin
    database): it registers what the server creates and holds each object's owner lock until the
    object is gone, so that the session's end (a close, or the process killed) frees them. Thread-safe.
    """

    def __init__(self, conn: Conn, admin_url: str) -> None:
        self.conn, self.admin_url = conn, admin_url
        self._lock = threading.Lock()

    def set_up(self) -> str:
        """Check that the session is a superuser's; create the registry and the group role when missing.
        Returns the admin role's name. Raises `ConfigurationError`."""
        with self._lock, self.conn.transaction():
            row = self.conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
            if row is None or not row[1]:
                raise ConfigurationError(
                    "the scratch server's URL must log in as a superuser (to create roles and extensions); "
                    f"{row[0] if row else 'its role'} is not one"
                )
            self.conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (OWNER_LOCKS,))
            self.conn.execute(REGISTRY_SETUP)
            group = self.conn.execute(GROUP_ATTRIBUTES, (STAND_IN_COMMENT, GROUP_ROLE)).fetchone()
            if group is None:
                self.conn.execute(create_group_role())
            elif any(group[:5]) or group[5]:
                memberships = ", ".join(str(role) for role in cast("list[object]", group[5])) or "none"
                raise ConfigurationError(
                    f"role {GROUP_ROLE} on the scratch server has privileges or memberships (member of: "
                    f"{memberships}): scratch migrations must run without them. Drop the role (DROP ROLE "
                    f"{GROUP_ROLE}) so that schemawarden creates it again, or point the scratch server elsewhere"
                )
            return str(row[0])

    def create_login_role(self) -> tuple[str, str, int]:
        """A new login role of this server: (name, password, registry row)."""
        name = LOGIN_ROLE_PREFIX + secrets.token_hex(6)
        password = secrets.token_urlsafe(24)
        verifier = self.conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256")
        with self._lock, self.conn.transaction():
            row = self._insert("role", name)
            self.conn.execute(create_login_role(name, verifier.decode()))
        return name, password, row

    def create_stand_in_roles(self, names: Sequence[str]) -> list[str]:
        """Create each role of `names` that the server lacks, as a stand-in: NOLOGIN, no privilege,
        `STAND_IN_COMMENT` on it, and the group a member of it (so that `OWNER TO` it works for the
        migrations' role). Returns the names created. Stand-ins are kept: templates' grants and
        policies refer to them, and they can do nothing. Names PostgreSQL reserves (`pg_*`) and
        schemawarden's own are never created.
        """
        created: list[str] = []
        wanted = [n for n in dict.fromkeys(names) if n and not n.startswith(("pg_", GROUP_ROLE))]
        if not wanted:
            return created
        with self._lock, self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (OWNER_LOCKS,))  # two workers, one CREATE
            rows = self.conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (wanted,)).fetchall()
            present = {str(name) for (name,) in rows}
            for name in wanted:
                if name in present:
                    continue
                role = sql.Identifier(name)
                self.conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN " + _PRIVILEGES).format(role))
                self.conn.execute(sql.SQL("COMMENT ON ROLE {} IS {}").format(role, sql.Literal(STAND_IN_COMMENT)))
                self.conn.execute(sql.SQL("GRANT {} TO {}").format(role, sql.Identifier(GROUP_ROLE)))
                created.append(name)
        if created:
            log.info("created stand-in roles on the scratch server: %s", ", ".join(created))
        return created

    def drop_login_role(self, name: str, row: int) -> None:
        with self._lock:
            self.conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
            self.conn.execute(f"DELETE FROM {REGISTRY} WHERE id = %s", (row,))

    def register(self, kind: str, name: str) -> int:
        """Register an object before it is created, holding its owner lock; returns its row."""
        with self._lock, self.conn.transaction():
            return self._insert(kind, name)

    def unregister(self, row: int) -> None:
        """Forget an object once it is gone, and release its owner lock."""
        with self._lock:
            self.conn.execute(f"DELETE FROM {REGISTRY} WHERE id = %s", (row,))
            self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", (OWNER_LOCKS, row))

    def template_keys(self) -> list[str]:
        """The keys of the ready templates, most recently used first."""
        with self._lock:
            rows = self.conn.execute(
                f"SELECT template_key FROM {REGISTRY} WHERE kind = 'template' AND ready ORDER BY used_at DESC, id DESC"
            ).fetchall()
        return [str(key) for (key,) in rows]

    def drop_leftovers(self) -> list[str]:
        """Drop what processes that died left (rows whose owner lock, or builder's key lock, is free);
        returns the names dropped. Called before this server creates anything: it would take its own
        owner locks again (they are re-entrant)."""
        dropped = []
        with self._lock:
            rows = self.conn.execute(
                f"SELECT id, kind, name, template_key FROM {REGISTRY} WHERE kind <> 'template' OR NOT ready "
                "ORDER BY kind = 'role', id"  # a role after the databases its sessions may still be in
            ).fetchall()
            for row_id, kind, name, key in rows:
                lock = (TEMPLATE_LOCKS, template_lock_id(str(key))) if kind == "template" else (OWNER_LOCKS, row_id)
                if self.conn.execute("SELECT pg_try_advisory_lock(%s, %s)", lock).fetchone() != (True,):
                    continue  # its owner is alive
                try:
                    if kind == "role":
                        self.conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(str(name))))
                    else:
                        drop_database(self.admin_url, str(name))
                    self.conn.execute(f"DELETE FROM {REGISTRY} WHERE id = %s", (row_id,))
                    dropped.append(str(name))
                except psycopg.Error as exc:
                    log.warning("could not drop %s %s left by a process that ended: %s", kind, name, exc)
                finally:
                    self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", lock)
            self.conn.execute(  # templates whose database someone dropped by hand
                f"DELETE FROM {REGISTRY} AS o WHERE kind = 'template' AND ready "
                "AND NOT EXISTS (SELECT FROM pg_database WHERE datname = o.name)"
            )
        if dropped:
            log.info("dropped scratch leftovers of processes that ended: %s", ", ".join(dropped))
        return dropped

    def close(self) -> None:
        self.conn.close()

    def _insert(self, kind: str, name: str) -> int:
        row = self.conn.execute(
            f"INSERT INTO {REGISTRY} (kind, name) VALUES (%s, %s) RETURNING id", (kind, name)
        ).fetchone()
        assert row is not None
        row_id = cast(int, row[0])
        self.conn.execute("SELECT pg_advisory_lock(%s, %s)", (OWNER_LOCKS, row_id))
        return row_id
