"""Classification: statements become typed operations with the flags rules and locks need."""

from __future__ import annotations

from policies.classify import classify
from policies.expressions import Volatility
from policies.operations import ColumnSpec, ConstraintKind, Operation, OperationKind, runs_outside_transaction
from policies.parsing import parse_statement
from policies.statements import Statement

K = OperationKind


def ops(sql: str) -> list[Operation]:
    (parsed,) = parse_statement(Statement(sql, 1, 0))
    return list(classify(parsed))


def op(sql: str) -> Operation:
    (only,) = ops(sql)
    return only


def test_alter_table_with_several_subcommands_is_several_operations() -> None:
    found = ops(
        'ALTER TABLE "app"."users" ADD COLUMN "a" text, DROP COLUMN IF EXISTS "b" CASCADE, '
        'ALTER COLUMN "c" SET NOT NULL, ALTER COLUMN "d" DROP DEFAULT'
    )
    assert [(o.kind, o.relation, o.columns) for o in found] == [
        (K.ADD_COLUMN, "app.users", ("a",)),
        (K.DROP_COLUMN, "app.users", ("b",)),
        (K.SET_NOT_NULL, "app.users", ("c",)),
        (K.DROP_DEFAULT, "app.users", ("d",)),
    ]
    assert found[1].if_exists and found[1].cascade


def test_default_volatility_is_classified() -> None:
    def volatility(default: str) -> Volatility | None:
        return op(f"ALTER TABLE t ADD COLUMN c timestamptz DEFAULT {default}").default_volatility

    assert volatility("now()") is Volatility.STABLE
    assert volatility("CURRENT_TIMESTAMP") is Volatility.STABLE
    assert volatility("'2020-01-01'") is Volatility.CONSTANT
    assert volatility("clock_timestamp()") is Volatility.VOLATILE
    assert op("ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()").default_volatility is Volatility.VOLATILE
    assert op("ALTER TABLE t ADD COLUMN c jsonb DEFAULT '{}'::jsonb").default_volatility is Volatility.CONSTANT
    assert op("ALTER TABLE t ADD COLUMN c text DEFAULT my_fn()").default_volatility is Volatility.UNKNOWN


def test_serial_and_identity_columns_have_a_volatile_implied_default() -> None:
    assert op("ALTER TABLE t ADD COLUMN n bigserial").default_volatility is Volatility.VOLATILE
    identity = op("ALTER TABLE t ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY")
    assert identity.identity and identity.default_volatility is Volatility.VOLATILE


def test_stored_generated_column_is_flagged() -> None:
    added = op("ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a + 1) STORED")
    assert added.generated_stored and added.default == "a + 1"


def test_type_change_keeps_new_type_and_using_clause() -> None:
    change = op('ALTER TABLE "t" ALTER COLUMN "n" SET DATA TYPE numeric(12, 2) USING "n"::numeric(12,2)')
    assert (change.kind, change.column_type, change.using) == (K.ALTER_COLUMN_TYPE, "numeric(12,2)", "n::numeric(12,2)")


def test_constraints_of_each_kind() -> None:
    fk = op('ALTER TABLE "o" ADD CONSTRAINT "fk" FOREIGN KEY ("c") REFERENCES "public"."u"("id") NOT VALID')
    assert (fk.kind, fk.constraint, fk.columns, fk.referenced_relation, fk.referenced_columns, fk.not_valid) == (
        K.ADD_FOREIGN_KEY, ConstraintKind.FOREIGN_KEY, ("c",), "public.u", ("id",), True
    )
    check = op("ALTER TABLE t ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID")
    assert check.kind is K.ADD_CHECK and check.check_not_null_column == "email" and check.not_valid
    unique = op("ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX u_idx")
    assert unique.kind is K.ADD_UNIQUE and unique.using_index == "u_idx"
    assert op("ALTER TABLE t ADD PRIMARY KEY (a, b)").columns == ("a", "b")
    assert op("ALTER TABLE t ADD CONSTRAINT e EXCLUDE USING gist (r WITH &&)").kind is K.ADD_EXCLUSION
    assert op("ALTER TABLE t VALIDATE CONSTRAINT fk").kind is K.VALIDATE_CONSTRAINT


def test_create_table_yields_table_then_its_inline_constraints() -> None:
    found = ops(
        'CREATE TABLE IF NOT EXISTS "s"."t" ("id" serial PRIMARY KEY, "u" bigint REFERENCES "u"("id"), '
        '"c" char(3), CONSTRAINT "t_c" UNIQUE ("c"))'
    )
    assert [o.kind for o in found] == [K.CREATE_TABLE, K.ADD_PRIMARY_KEY, K.ADD_FOREIGN_KEY, K.ADD_UNIQUE]
    table = found[0]
    assert table.if_not_exists and table.relation == "s.t" and table.columns == ("id", "u", "c")
    assert [s.type for s in table.column_specs] == ["serial", "int8", "bpchar(3)"]
    assert all(o.inline for o in found[1:])
    assert found[2].referenced_relation == "u"


def test_indexes_with_their_flags() -> None:
    index = op('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "t" USING btree ("a", lower("b")) WHERE x')
    assert (index.kind, index.relation, index.columns, index.name) == (K.CREATE_INDEX, "t", ("a", "(expression)"), "i")
    assert index.unique and index.concurrently and index.if_not_exists and index.has_where
    drops = ops('DROP INDEX CONCURRENTLY IF EXISTS "a", "s"."b"')
    assert [(d.kind, d.name, d.concurrently) for d in drops] == [(K.DROP_INDEX, "a", True), (K.DROP_INDEX, "s.b", True)]


def test_renames_are_told_apart() -> None:
    assert op('ALTER TABLE "t" RENAME COLUMN "a" TO "b"').kind is K.RENAME_COLUMN
    assert op('ALTER TABLE "t" RENAME TO "u"').kind is K.RENAME_TABLE
    assert op('ALTER TABLE "t" RENAME CONSTRAINT "a" TO "b"').kind is K.RENAME_CONSTRAINT
    assert op('ALTER INDEX "i" RENAME TO "j"').kind is K.RENAME_INDEX
    column = op('ALTER TABLE "t" RENAME COLUMN "a" TO "b"')
    assert (column.columns, column.new_name) == (("a",), "b")


def test_enum_operations() -> None:
    assert op("CREATE TYPE \"public\".\"mood\" AS ENUM('sad', 'ok')").values == ("sad", "ok")
    added = op("ALTER TYPE \"mood\" ADD VALUE IF NOT EXISTS 'happy' BEFORE 'ok'")
    assert (added.kind, added.name, added.value, added.if_not_exists) == (K.ADD_ENUM_VALUE, "mood", "happy", True)
    assert op("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'").kind is K.RENAME_ENUM_VALUE


def test_data_and_maintenance_statements() -> None:
    assert not op("UPDATE t SET a = 1").has_where
    assert op("DELETE FROM t WHERE id = 1").has_where
    assert op("INSERT INTO t (a) VALUES (1)").kind is K.INSERT
    assert [o.relation for o in ops("TRUNCATE a, b CASCADE")] == ["a", "b"]
    assert op("VACUUM (FULL, ANALYZE) t").full
    assert op("REINDEX TABLE CONCURRENTLY t").concurrently
    assert op("REFRESH MATERIALIZED VIEW CONCURRENTLY m").concurrently
    assert op("CLUSTER t USING i").kind is K.CLUSTER
    assert op("LOCK TABLE t IN SHARE MODE").lock_mode == "SHARE"
    assert op("LOCK TABLE t").lock_mode == "ACCESS EXCLUSIVE"


def test_object_statements_are_classified() -> None:
    cases = {
        "CREATE SCHEMA IF NOT EXISTS drizzle": K.CREATE_SCHEMA,
        "DROP SCHEMA s CASCADE": K.DROP_SCHEMA,
        "CREATE EXTENSION IF NOT EXISTS pgcrypto": K.CREATE_EXTENSION,
        "CREATE VIEW v AS SELECT 1": K.CREATE_VIEW,
        "CREATE MATERIALIZED VIEW m AS SELECT 1": K.CREATE_MATERIALIZED_VIEW,
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'": K.CREATE_FUNCTION,
        "CREATE SEQUENCE s": K.CREATE_SEQUENCE,
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()": K.CREATE_TRIGGER,
        "DROP TRIGGER tr ON t": K.DROP_TRIGGER,
        "COMMENT ON COLUMN t.a IS 'x'": K.COMMENT,
        "GRANT SELECT ON t TO r": K.GRANT,
        "DROP TYPE mood": K.DROP_TYPE,
        "BEGIN": K.TRANSACTION,
        "SET lock_timeout = '5s'": K.SET,
    }
    for sql, kind in cases.items():
        assert op(sql).kind is kind, sql
    assert op("DROP TRIGGER tr ON s.t").relation == "s.t"
    assert op("COMMENT ON COLUMN s.t.a IS 'x'").relation == "s.t"


def test_unclassified_statement_is_unknown_with_its_shape() -> None:
    unknown = op("CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler")
    assert (unknown.kind, unknown.shape) == (K.UNKNOWN, "CreateAmStmt")


def test_to_json_leaves_out_unset_fields() -> None:
    assert op('CREATE INDEX CONCURRENTLY "i" ON "t" ("a")').to_json() == {
        "kind": "create_index", "shape": "IndexStmt", "relation": "t", "columns": ["a"], "name": "i",
        "concurrently": True, "detail": "btree",
    }


def test_to_json_of_every_field_is_plain_json_data() -> None:
    """Enums become their values and tuples lists, column specs included, whatever field is set."""
    spec = ColumnSpec("c", "text", True, True, True, "now()", Volatility.STABLE, True, True, (("start", "5"),))
    full = Operation(
        K.ADD_COLUMN, "AlterTableStmt", "t", ("c",), "n", "m", (spec,), "text", "int4", "x",
        True, "now()", Volatility.STABLE, True, True, ConstraintKind.CHECK, True, "i", True, "r", ("id",), "c",
        True, True, True, True, True, True, True, "ACCESS EXCLUSIVE", "v", ("a", "b"), True, True, "d",
        (("restart", "10"),), "p", ("o",), ("p1",), True, ("c",), ("t2",), ("c",),
    )
    assert all(getattr(full, name) for name in Operation._fields)  # every field is set

    def plain(value: object) -> bool:
        if isinstance(value, dict):
            return all(type(k) is str and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return type(value) in (str, bool)

    data = full.to_json()
    assert list(data) == list(Operation._fields) and plain(data)
    assert data["kind"] == "add_column" and data["constraint"] == "check" and data["values"] == ["a", "b"]
    assert data["column_specs"] == [spec.to_json()] and spec.to_json()["default_volatility"] == "stable"
    assert data["options"] == {"restart": "10"} and spec.to_json()["options"] == {"start": "5"}


def test_statements_that_must_run_outside_a_transaction() -> None:
    outside = [
        "CREATE INDEX CONCURRENTLY i ON t (a)",
        "DROP INDEX CONCURRENTLY i",
        "REINDEX INDEX CONCURRENTLY i",
        "VACUUM t",
        "ALTER SYSTEM SET work_mem = '64MB'",
        "CREATE DATABASE d",
        "DROP DATABASE d",
        "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
    ]
    for sql in outside:
        assert any(runs_outside_transaction(o) for o in ops(sql)), sql
    inside = ["CREATE INDEX i ON t (a)", "ANALYZE t", "ALTER TABLE t ADD COLUMN a int", "REINDEX TABLE t"]
    for sql in inside:
        assert not any(runs_outside_transaction(o) for o in ops(sql)), sql


def test_do_block_statements_are_parsed_with_their_lines() -> None:
    sql = "DO $$ BEGIN\n IF NOT EXISTS (SELECT 1) THEN\n  ALTER TABLE t ADD COLUMN a int;\n END IF;\nEND $$"
    (parsed,) = parse_statement(Statement(sql, 10, 0))
    (inner,) = parsed.inner
    assert inner.line == 12 and inner.shape == "AlterTableStmt" and inner.in_do_block


def test_enum_add_value_runs_outside_a_transaction_only_before_12() -> None:
    added = op("ALTER TYPE mood ADD VALUE 'happy'")
    assert runs_outside_transaction(added, 11)
    assert not runs_outside_transaction(added, 12)
    assert not runs_outside_transaction(added)


def test_alter_domain_says_which_change_and_whether_it_validates() -> None:
    added = op("ALTER DOMAIN amount ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID")
    assert (added.kind, added.name, added.detail, added.value, added.not_valid) == (
        K.ALTER_DOMAIN, "amount", "add_constraint", "positive", True
    )
    assert op("ALTER DOMAIN amount SET NOT NULL").detail == "set_not_null"


def test_set_schema_names_relations_and_other_objects() -> None:
    table = op("ALTER TABLE archive.orders SET SCHEMA cold")
    assert (table.kind, table.relation, table.new_name, table.detail) == (K.SET_SCHEMA, "archive.orders", "cold", "table")
    domain = op("ALTER DOMAIN amount SET SCHEMA money")
    assert (domain.kind, domain.relation, domain.name, domain.detail) == (K.SET_SCHEMA, None, "amount", "domain")
