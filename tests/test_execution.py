"""How a migration is cut into execution steps: as few transactions as PostgreSQL allows."""

from __future__ import annotations

from policies.execution import StepKind, is_extension_statement, plan_steps, relations_of
from policies.statements import Statement, split_statements


def _steps(sql: str, pg_major: int = 16) -> list[tuple[str, list[int]]]:
    return [
        (s.kind.value, [st.line for st in s.statements]) for s in plan_steps(split_statements(sql), pg_major)
    ]


def test_a_plain_migration_is_one_transaction() -> None:
    assert _steps("CREATE TABLE a (id int);\nALTER TABLE a ADD COLUMN b int;") == [("transaction", [1, 2])]


def test_concurrent_index_runs_alone_between_transactions_and_names_its_index() -> None:
    sql = 'CREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY "a_idx" ON "app"."a" (id);\nSELECT 1;'
    steps = plan_steps(split_statements(sql), 16)
    assert [(s.kind, len(s.statements)) for s in steps] == [
        (StepKind.TRANSACTION, 1),
        (StepKind.AUTOCOMMIT, 1),
        (StepKind.TRANSACTION, 1),
    ]
    recovery = steps[1].recovery
    assert recovery is not None and recovery.recipe.name == "CREATE INDEX CONCURRENTLY"
    assert recovery.names == {"index": '"app"."a_idx"'}


def test_new_enum_value_is_committed_before_a_later_statement_uses_it() -> None:
    sql = "ALTER TYPE mood ADD VALUE 'great';\nUPDATE t SET m = 'great' WHERE id = 1;"
    assert _steps(sql) == [("transaction", [1]), ("transaction", [2])]
    assert _steps("ALTER TYPE mood ADD VALUE 'great';\nUPDATE t SET n = 1 WHERE id = 1;") == [
        ("transaction", [1, 2])
    ]


def test_add_value_runs_outside_a_transaction_before_postgres_12() -> None:
    assert _steps("ALTER TYPE mood ADD VALUE 'great';", pg_major=11) == [("autocommit", [1])]


def test_vacuum_and_alter_system_run_alone() -> None:
    assert _steps("VACUUM t;\nALTER SYSTEM SET work_mem = '64MB';") == [
        ("autocommit", [1]),
        ("autocommit", [2]),
    ]


def test_relations_are_found_inside_drizzles_do_blocks() -> None:
    sql = (
        'DO $$ BEGIN\n ALTER TABLE "account" ADD CONSTRAINT "fk" FOREIGN KEY ("user_id") '
        'REFERENCES "public"."user"("id");\nEXCEPTION\n WHEN duplicate_object THEN null;\nEND $$'
    )
    assert relations_of(sql) == ['"account"', '"public"."user"']


def test_extension_statements_are_recognised_only_as_statements_of_their_own() -> None:
    """A scratch database runs these as the superuser (reconciler.database.run): the list must be exact."""
    def one(sql: str) -> bool:
        return is_extension_statement(Statement(sql=sql, line=1, chunk=0))

    for sql in (
        'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"',
        "create extension vector with schema extensions cascade",
        "ALTER EXTENSION vector UPDATE TO '0.8.0'",
        "ALTER EXTENSION vector ADD TABLE t",
        "DROP EXTENSION IF EXISTS vector, citext CASCADE",
        "COMMENT ON EXTENSION vector IS 'embeddings'",
    ):
        assert one(sql), sql
    for sql in (
        "DO $$ BEGIN CREATE EXTENSION vector; EXCEPTION WHEN others THEN NULL; END $$",
        "DROP TABLE extension",
        "COMMENT ON TABLE t IS 'needs the vector extension'",
        "CREATE TABLE t (v vector(3)); CREATE EXTENSION vector",
        "CREATE EXTENSION",  # not valid SQL: runs as written and fails there
    ):
        assert not one(sql), sql
