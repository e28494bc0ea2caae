"""Proofs of migrations that take something from the server around them: roles the environments
have (stand-ins on the scratch server) and schemas they provide (a refusal that is not a finding)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

from policies import Context, analyze_sql
from policies.report import RollbackStatus
from reconciler.database._scratch_registry import STAND_IN_COMMENT
from reconciler.database.scratch import ScratchServer
from reconciler.migrations import Layout, Migration
from reconciler.prove import prove_migrations

BASE = 'CREATE TABLE "notes" ("id" bigint PRIMARY KEY, "user_id" uuid, "body" text);'


@pytest.fixture(scope="module")
def server(admin_url: str) -> Iterator[ScratchServer]:
    with ScratchServer(admin_url, environment_targets={}) as scratch:
        yield scratch


def _migration(idx: int, text: str) -> Migration:
    tag = f"{idx:04d}_change"
    return Migration(idx=idx, tag=tag, when=idx + 1, path=f"migrations/{tag}.sql", sql=text.encode(), layout=Layout.DRIZZLE_0)


def test_roles_the_environments_have_are_stand_ins_and_the_migration_is_verified(
    server: ScratchServer, admin_url: str
) -> None:
    role = f"authenticated_{secrets.token_hex(4)}"  # the server has no such role
    change = _migration(
        1,
        f'GRANT SELECT ON "notes" TO "{role}";\n--> statement-breakpoint\n'
        'ALTER TABLE "notes" ENABLE ROW LEVEL SECURITY;\n--> statement-breakpoint\n'
        f'CREATE POLICY "readers" ON "notes" AS PERMISSIVE FOR SELECT TO "{role}" USING (true);',
    )
    try:
        (proof,) = prove_migrations(server, [_migration(0, BASE)], [change])
        assert proof.failure is None, proof.rollback.reason
        assert proof.rollback.status is RollbackStatus.VERIFIED
        assert 'DROP POLICY readers ON public.notes' in proof.rollback.sql
        with psycopg.connect(admin_url) as conn:
            row = conn.execute(
                "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, shobj_description(oid, 'pg_authid') "
                "FROM pg_roles WHERE rolname = %s",
                (role,),
            ).fetchone()
        assert row == (False, False, False, False, STAND_IN_COMMENT)
        # the group is a member of the stand-in (OWNER TO it works); a new scratch server still accepts it
        with ScratchServer(admin_url, environment_targets={}) as again:
            assert again.provide_roles([role]) == []  # present already: nothing created
    finally:  # the proof's clones are gone and the base template never granted to it: the test's role goes too
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(role)))


def test_a_schema_the_environments_provide_is_no_finding(server: ScratchServer) -> None:
    text = (
        'ALTER TABLE "notes" ENABLE ROW LEVEL SECURITY;\n--> statement-breakpoint\n'
        'CREATE POLICY "own" ON "notes" FOR SELECT USING ("notes"."user_id" = auth.uid());'
    )
    change = _migration(1, text)
    (proof,) = prove_migrations(server, [_migration(0, BASE)], [change])
    assert proof.rollback.status is RollbackStatus.FAILED
    assert proof.rollback.reason is not None and proof.rollback.reason.startswith("not proven:")
    assert proof.failure is not None and proof.failure.scratch_only is not None
    assert 'schema "auth"' in proof.failure.scratch_only
    report = analyze_sql(change.path, text, Context(scratch_failures={change.path: proof.failure}))
    assert "SW611" not in {f.code for f in report.findings}


def test_a_refusal_of_the_migrations_own_is_a_finding(server: ScratchServer) -> None:
    text = 'ALTER TABLE "notes" ADD COLUMN "priority" integer;\n--> statement-breakpoint\nCREATE INDEX "i" ON "notes" ("prio");'
    change = _migration(1, text)
    (proof,) = prove_migrations(server, [_migration(0, BASE)], [change])
    assert proof.failure is not None and proof.failure.sqlstate == "42703"
    assert proof.failure.scratch_only is None and proof.failure.line == 3
    report = analyze_sql(change.path, text, Context(scratch_failures={change.path: proof.failure}))
    assert [f.line for f in report.findings if f.code == "SW611"] == [3]


def test_an_extension_the_scratch_server_lacks_is_not_proven_and_no_finding(server: ScratchServer, admin_url: str) -> None:
    """uuid-ossp: the embedded server does not ship it, a full PostgreSQL does; each server is held
    to what it has."""
    text = 'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";'
    change = _migration(1, text)
    (proof,) = prove_migrations(server, [_migration(0, BASE)], [change])
    with psycopg.connect(admin_url) as conn:
        available = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'uuid-ossp'").fetchone()
    if available == (1,):
        assert proof.failure is None and proof.rollback.status is RollbackStatus.VERIFIED, proof.rollback.reason
        assert 'DROP EXTENSION "uuid-ossp"' in proof.rollback.sql
        return
    assert proof.failure is not None and proof.failure.scratch_only is not None
    assert 'no extension "uuid-ossp"' in proof.failure.scratch_only
    assert (proof.rollback.reason or "").startswith("not proven: the scratch server has no extension")
    report = analyze_sql(change.path, text, Context(scratch_failures={change.path: proof.failure}))
    assert not {"SW611", "SW612"} & {f.code for f in report.findings}
