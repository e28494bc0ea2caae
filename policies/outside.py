"""What a migration set takes from the server around it, which a scratch database lacks.

* `roles_named`: the roles a migration set names but does not create: cluster-wide objects that
  the environments have (Supabase's `authenticated`, `anon`, `service_role`; an application's owner
  role) and a scratch server may lack; the prover creates them there as stand-ins.
* `scratch_only`: whether PostgreSQL's refusal in a scratch database may be the scratch server's
  (a privilege of the scratch role, a schema such as Supabase's `auth` that no migration creates)
  rather than the migration's own, so that it is not reported as a migration that fails everywhere.

Roles are read from PostgreSQL's parse trees: every role specification (`RoleSpec`, the grammar's `RoleSpec`
production: GRANT/REVOKE grantees, `OWNER TO`, `CREATE POLICY ... TO`, `ALTER DEFAULT PRIVILEGES FOR
ROLE`, `CREATE SCHEMA AUTHORIZATION`, ...) and the roles granted by `GRANT role TO role`, in DO blocks
too; `PUBLIC`, `CURRENT_USER` and `SESSION_USER` are not names. Roles the set creates itself
(`CREATE ROLE`/`USER`/`GROUP`) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from policies.parsing import in_execution_order, parse_migration


def roles_named(texts: Iterable[str]) -> tuple[str, ...]:
    """The names of the roles the migration texts `texts` refer to and do not create, sorted."""
    return taken_from_outside(texts)[0]


def taken_from_outside(texts: Iterable[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """In one pass over the migration texts: the roles they name and do not create (sorted, as
    `roles_named`) and the schemas they create (as `schemas_created`)."""
    named: set[str] = set()
    created_roles: set[str] = set()
    created_schemas: set[str] = set()
    for text in texts:
        for parsed in in_execution_order(parse_migration(text)):
            if parsed.shape == "CreateRoleStmt":
                created_roles.add(str(parsed.node.get("role", "")))
            elif parsed.shape == "CreateSchemaStmt":
                created_schemas.add(str(parsed.node.get("schemaname", "")))
            named.update(_role_names(parsed.node))
    return tuple(sorted(named - created_roles)), frozenset(created_schemas)


def _role_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("roletype") == "ROLESPEC_CSTRING" and "rolename" in node:
            yield str(node["rolename"])
        for key, value in node.items():
            if key == "granted_roles":  # GRANT role TO role: the granted roles are AccessPriv names
                yield from (str(p["AccessPriv"]["priv_name"]) for p in value if "AccessPriv" in p)
            else:
                yield from _role_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _role_names(item)


BUILT_IN_SCHEMAS = frozenset({"public", "pg_catalog", "information_schema", "pg_toast"})

_NAMED_SCHEMA = re.compile(
    r'(?:schema "(?P<schema>[^"]+)"|(?:function|relation|type|operator|procedure) "?(?P<qualifier>[^".\s(]+)\.)'
)
"""Where PostgreSQL's message names a schema: `schema "auth" does not exist`, `function auth.uid()
does not exist`, `relation "auth.users" does not exist`, `type "extensions.citext" does not exist`."""


_MISSING_EXTENSION = re.compile(
    r'extension "(?P<name>[^"]+)" is not available|extension control file "[^"]*/(?P<file>[^"/]+)\.control"'
)
"""How PostgreSQL says an extension is not installed on the server: `extension "uuid-ossp" is not
available` (0A000, from 15) or `could not open extension control file ".../uuid-ossp.control"`
(58P01, before)."""


def schemas_created(texts: Iterable[str]) -> frozenset[str]:
    """The schemas the migration texts create (`CREATE SCHEMA`, in DO blocks too)."""
    return taken_from_outside(texts)[1]


def scratch_only(sqlstate: str | None, message: str, created_schemas: frozenset[str]) -> str | None:
    """Why PostgreSQL's refusal (`sqlstate`, `message`) of a migration in a scratch database may come
    from the scratch server rather than from the migration, or None when it is the migration's own.

    * 42501 (insufficient_privilege): migrations run there as a role without the privileges the
      environments' migrating role may have (Appendix A, PostgreSQL Error Codes);
    * 57014 from the scratch server's statement_timeout: the environments have their own;
    * 0A000 or 58P01 for an extension the scratch server does not have installed (the embedded one
      lacks uuid-ossp): the environments may have it;
    * 3F000, 42883, 42P01, 42704 (a schema, function, relation or type that does not exist) naming
      a schema that is neither built in nor created by any migration (`created_schemas`): the
      environments provide it (Supabase's `auth`, an `extensions` schema), the scratch database
      does not.
    """
    if sqlstate == "42501":
        return (
            "the scratch database's role lacks a privilege that the environments' migrating role may "
            "have, so PostgreSQL's refusal there does not say the migration fails in them"
        )
    if sqlstate == "57014" and "statement timeout" in message:
        return (
            "the scratch server's statement_timeout ended it; the environments run it under their own "
            "settings, where it may finish"
        )
    if sqlstate in ("0A000", "58P01") and (extension := _MISSING_EXTENSION.search(message)):
        return (
            f'the scratch server has no extension "{extension.group("name") or extension.group("file")}" installed; the environments may: '
            "prove on a server that has it (SCHEMAWARDEN_SCRATCH_URL)"
        )
    if sqlstate in ("3F000", "42883", "42P01", "42704"):
        for match in _NAMED_SCHEMA.finditer(message):
            schema = match.group("schema") or match.group("qualifier")
            if schema and schema not in BUILT_IN_SCHEMAS and schema not in created_schemas:
                return (
                    f'schema "{schema}" is created by no migration: the environments provide it, a '
                    "scratch database does not, so the migration could not be proven there"
                )
    return None
