"""What a migration set takes from the server around it (policies.outside): the roles it names, the
schemas it creates, and which refusals in a scratch database may be the scratch server's."""

from __future__ import annotations

import pytest

from policies.outside import roles_named, schemas_created, scratch_only


def test_roles_named_in_grants_policies_owners_and_default_privileges() -> None:
    text = (
        'GRANT SELECT ON "t" TO authenticated;\n--> statement-breakpoint\n'
        'CREATE POLICY "p" ON "t" AS PERMISSIVE FOR SELECT TO "anon", public USING (true);\n'
        "--> statement-breakpoint\n"
        'ALTER TABLE "t" OWNER TO app_owner;\n--> statement-breakpoint\n'
        "ALTER DEFAULT PRIVILEGES FOR ROLE deployer GRANT SELECT ON TABLES TO reader;\n"
        "--> statement-breakpoint\n"
        "GRANT SELECT ON t TO CURRENT_USER;\n--> statement-breakpoint\n"
        "DO $$ BEGIN GRANT ALL ON t TO service_role; END $$;"
    )
    assert roles_named([text]) == ("anon", "app_owner", "authenticated", "deployer", "reader", "service_role")


def test_roles_the_set_creates_are_not_named_from_outside() -> None:
    first = 'CREATE ROLE "admin" WITH CREATEROLE;'
    second = "GRANT admin TO auditor;\nGRANT SELECT ON t TO admin;"
    assert roles_named([first, second]) == ("auditor",)


def test_schemas_created_at_top_level_and_in_do_blocks() -> None:
    texts = ['CREATE SCHEMA "app";', "DO $$ BEGIN CREATE SCHEMA IF NOT EXISTS audit; END $$;"]
    assert schemas_created(texts) == frozenset({"app", "audit"})


@pytest.mark.parametrize(
    ("sqlstate", "message"),
    [
        ("42883", "function auth.uid() does not exist"),
        ("3F000", 'schema "auth" does not exist'),
        ("42P01", 'relation "auth.users" does not exist'),
        ("42704", 'type "extensions.citext" does not exist'),
        ("42501", "permission denied for schema public"),
        ("57014", "canceling statement due to statement timeout"),
        ("0A000", 'extension "uuid-ossp" is not available'),
        ("58P01", 'could not open extension control file "/usr/share/postgresql/12/extension/uuid-ossp.control": '
                  "No such file or directory"),
    ],
)
def test_refusals_that_may_be_the_scratch_servers(sqlstate: str, message: str) -> None:
    assert scratch_only(sqlstate, message, frozenset({"app"})) is not None


@pytest.mark.parametrize(
    ("sqlstate", "message"),
    [
        ("42P01", 'relation "users" does not exist'),  # public: the migrations' own
        ("42P01", 'relation "app.users" does not exist'),  # a schema the set creates
        ("42883", "function public.f() does not exist"),
        ("42703", 'column "priority" of relation "todo" does not exist'),
        ("42601", 'syntax error at or near "auth.uid"'),
        ("23502", 'column "priority" of relation "todo" contains null values'),
        ("57014", "canceling statement due to user request"),
        ("0A000", "cannot alter type of a column used by a view or rule"),
    ],
)
def test_refusals_that_are_the_migrations_own(sqlstate: str, message: str) -> None:
    assert scratch_only(sqlstate, message, frozenset({"app"})) is None


def test_a_missing_extension_names_it() -> None:
    said = scratch_only("58P01", 'could not open extension control file "/x/12/extension/uuid-ossp.control": x', frozenset())
    assert said is not None and 'extension "uuid-ossp"' in said
    said = scratch_only("0A000", 'extension "vector" is not available', frozenset())
    assert said is not None and 'extension "vector"' in said
