"""analyze_sql and analyze_migration_texts: suppressions, context, DO blocks, parse errors, PR order."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import Context, analyze_migration_texts, analyze_sql
from policies.errors import ConfigurationError, SchemawardenError
from policies.report import FileReport, Severity
from policies.rules.docs import render_reference

ROOT = Path(__file__).resolve().parent.parent
SQL = Path(__file__).resolve().parent / "fixtures" / "sql"


def codes(report: FileReport) -> list[tuple[int | None, str]]:
    return [(f.line, f.code) for f in report.findings]


def test_index_on_table_created_in_same_migration_gets_no_lock_finding() -> None:
    sql = (
        'CREATE TABLE "orders" ("id" bigint PRIMARY KEY, "customer_id" bigint);\n'
        "--> statement-breakpoint\n"
        'CREATE INDEX "orders_customer_idx" ON "orders" ("customer_id");\n'
    )
    report = analyze_sql("m.sql", sql, Context())
    assert "SW101" not in {f.code for f in report.findings}


def test_index_on_existing_table_is_flagged_at_its_line() -> None:
    sql = '-- a comment\n\nCREATE INDEX "orders_customer_idx" ON "orders" ("customer_id");\n'
    assert (3, "SW101") in codes(analyze_sql("m.sql", sql, Context()))


def test_table_created_earlier_in_the_pull_request_counts_as_new() -> None:
    first = ("migrations/0001_a.sql", 'CREATE TABLE "orders" ("id" bigint PRIMARY KEY, "note" text);')
    second = ("migrations/0002_b.sql", 'CREATE INDEX "orders_note_idx" ON "orders" ("note");', "0002_b")
    reports = analyze_migration_texts([first, second], Context())
    assert [r.path for r in reports] == ["migrations/0001_a.sql", "migrations/0002_b.sql"]
    assert reports[1].migration == "0002_b"
    assert "SW101" not in {f.code for f in reports[1].findings}
    alone = analyze_sql("migrations/0002_b.sql", second[1], Context())
    assert "SW101" in {f.code for f in alone.findings}


def test_context_new_tables_silence_lock_findings() -> None:
    sql = 'CREATE INDEX "orders_note_idx" ON "public"."orders" ("note");'
    report = analyze_sql("m.sql", sql, Context(new_tables=frozenset({"orders"})))
    assert report.findings == ()


def test_ignore_comment_on_the_line_before_suppresses_only_named_codes() -> None:
    sql = (
        "-- schemawarden-ignore SW101\n"
        'CREATE INDEX "a_idx" ON "orders" ("a");\n'
        'CREATE INDEX "b_idx" ON "orders" ("b");\n'
    )
    assert [c for c in codes(analyze_sql("m.sql", sql, Context())) if c[1] == "SW101"] == [(3, "SW101")]


def test_ignore_comment_takes_several_codes() -> None:
    sql = '-- schemawarden-ignore SW302, SW606\nALTER TABLE "users" DROP COLUMN "legacy";'
    assert analyze_sql("m.sql", sql, Context()).findings == ()


def test_ignore_file_comment_anywhere_suppresses_the_code_in_the_whole_file() -> None:
    sql = (
        'CREATE INDEX "a_idx" ON "orders" ("a");\n'
        'ALTER TABLE "users" DROP COLUMN "legacy";\n'
        "-- schemawarden-ignore-file SW101 SW606\n"
    )
    assert {c for _, c in codes(analyze_sql("m.sql", sql, Context()))} == {"SW302"}


def test_policy_can_switch_a_rule_off_and_change_severity() -> None:
    sql = 'CREATE INDEX "a_idx" ON "orders" ("a");\nALTER TABLE "users" DROP COLUMN "legacy";'
    report = analyze_sql("m.sql", sql, Context(rules={"SW101": "off", "SW302": "info", "SW606": "off"}))
    assert {f.code: f.severity for f in report.findings} == {"SW302": Severity.INFO}


def test_bad_policy_values_are_user_errors() -> None:
    with pytest.raises(ConfigurationError, match="not a setting"):
        Context(rules={"SW101": "fatal"})
    with pytest.raises(SchemawardenError, match="from 11 to 18"):
        Context(pg_version=10)


def test_drizzle_foreign_key_inside_do_block_is_judged_at_its_own_line() -> None:
    report = analyze_sql("0039.sql", (SQL / "dokploy_0039_many_tiger_shark.sql").read_text(), Context())
    assert [line for line, code in codes(report) if code == "SW103"] == [8, 14, 20]
    do_block = next(s for s in report.statements if s.line == 7)
    assert do_block.operations[0]["kind"] == "do_block"
    inner = next(s for s in report.statements if s.line == 8)
    assert inner.operations[0]["kind"] == "add_foreign_key"
    assert {(lock.relation, lock.mode) for lock in inner.locks} == {
        ("notification", "SHARE ROW EXCLUSIVE"),
        ("public.admin", "SHARE ROW EXCLUSIVE"),
    }


def test_foreign_keys_of_a_new_table_in_do_blocks_get_no_lock_finding_but_missing_index_does() -> None:
    report = analyze_sql("kanbn.sql", (SQL / "kanbn_add_workspace_webhooks.sql").read_text(), Context())
    found = codes(report)
    assert not any(code in ("SW103", "SW101") for _, code in found)
    assert (25, "SW506") in found  # "createdBy" has no index; "workspaceId" has one
    assert (19, "SW506") not in found


def test_statement_that_does_not_parse_is_a_finding_not_a_crash() -> None:
    sql = 'ALTER TABLE "users" ADD COLUMN "a" text;\n--> statement-breakpoint\nALTER TABLE "users"\n  ADD COLUMN oops oops oops;'
    report = analyze_sql("m.sql", sql, Context())
    assert [(f.line, f.severity) for f in report.findings if f.code == "SW601"] == [(4, Severity.ERROR)]
    assert report.statements[-1].operations[0]["kind"] == "parse_error"


def test_unparseable_statement_inside_do_block_is_reported() -> None:
    sql = "DO $$ BEGIN\n  ALTER TABLE x ADD COLUMN;\nEND $$;"
    report = analyze_sql("m.sql", sql, Context())
    assert "SW601" in {f.code for f in report.findings}


def test_schema_change_without_migration_is_reported_against_the_schema_file() -> None:
    context = Context(changed_files=("src/models/Schema.ts", "README.md"))
    reports = analyze_migration_texts([], context)
    assert [(r.path, [f.code for f in r.findings]) for r in reports] == [("src/models/Schema.ts", ["SW604"])]
    with_migration = Context(changed_files=("src/models/Schema.ts", "migrations/0003_x.sql"))
    assert analyze_migration_texts([], with_migration) == []


def test_report_json_follows_the_contract() -> None:
    report = analyze_sql("m.sql", 'ALTER TABLE "t" ADD COLUMN "c" uuid DEFAULT gen_random_uuid();', Context())
    data = report.to_json()
    assert set(data) == {"path", "migration", "statements", "findings", "rollback"}
    assert data["rollback"] is None
    (statement,) = data["statements"]
    assert statement["operations"] == [
        {
            "kind": "add_column", "shape": "AlterTableStmt", "relation": "t", "columns": ["c"],
            "column_specs": [{"name": "c", "type": "uuid", "default": "gen_random_uuid()",
                              "default_volatility": "volatile"}],
            "column_type": "uuid", "default": "gen_random_uuid()", "default_volatility": "volatile",
        }
    ]
    assert statement["locks"] == [{"relation": "t", "mode": "ACCESS EXCLUSIVE"}]
    assert statement["rewrites"] == ["t"]
    assert {f["code"] for f in data["findings"]} == {"SW201", "SW606"}


def test_docs_rules_md_is_generated_from_the_rules() -> None:
    committed = (ROOT / "docs" / "rules.md").read_text()
    assert committed == render_reference(), "docs/rules.md is stale: python -m policies.rules.docs > docs/rules.md"
