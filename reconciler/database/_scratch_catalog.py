"""What a scratch server holds for schemawarden, and the SQL that keeps it: the registry, the roles,
the helper that runs extension statements as the superuser. `scratch.ScratchServer` is the user.

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
  built the template, and two workers never reset each other's password.
* The helper (schema `schemawarden` of each scratch database, which introspection leaves out):
  `schemawarden.scratch_extension_statement(token)` is a SECURITY DEFINER function of the superuser
  that runs one statement registered under a random one-time token in a table only the superuser
  reads. The migration's role calls it in its own transaction, so an extension statement runs as the
  superuser where it occurs, rolls back with its step and is seen by the lock trace; a migration
  cannot run anything else through it, since it can neither read nor write the tokens.
"""

from __future__ import annotations

import hashlib

from psycopg import sql

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

GROUP_ATTRIBUTES = """
SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,
       ARRAY(SELECT m.roleid::regrole::text FROM pg_auth_members AS m WHERE m.member = r.oid)
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
