"""Every rule flags its own bad example and stays quiet on its own good example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from builders import run_every_rule_on_every_migration
from policies import Context, analyze_migration_texts, analyze_sql
from policies.context import ColumnFact
from policies.report import Category, Finding, Severity
from policies.rules import Rule, all_rules

RULES = all_rules()
FIXTURES = Path(__file__).parent / "fixtures"


def _findings(rule: Rule, sql: str, context: Context) -> list[Finding]:
    reports = analyze_migration_texts([("migrations/0001_example.sql", sql)], context)
    return [f for report in reports for f in report.findings if f.code == rule.code]


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_flags_its_bad_example(rule: Rule) -> None:
    found = _findings(rule, rule.bad, Context(**rule.bad_context))
    assert found, f"{rule.code} did not flag its bad example"
    assert all(f.name == rule.name and f.category is rule.category for f in found)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_passes_its_good_example(rule: Rule) -> None:
    assert _findings(rule, rule.good, Context(**rule.good_context)) == []


def test_skipping_rules_by_operation_kind_loses_no_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule's `needs` lets the analysis skip it; running every rule everywhere finds nothing more."""
    texts = [text for rule in RULES for text in (rule.bad, rule.good)]
    texts += [path.read_text(encoding="utf-8") for path in sorted(FIXTURES.rglob("*.sql"))]
    contexts = [Context(), Context(pg_version=11), Context(transactional=False)]

    def judged() -> list[list[Finding]]:
        return [list(analyze_sql("0001_x.sql", text, context).findings) for text in texts for context in contexts]

    gated = judged()
    run_every_rule_on_every_migration(monkeypatch)
    assert judged() == gated
    assert sum(map(len, gated)) > 100


def test_rule_codes_are_grouped_by_category_family() -> None:
    families = {
        Category.LOCK: "1", Category.REWRITE: "2", Category.DATA_LOSS: "3",
        Category.COMPATIBILITY: "4", Category.DESIGN: "5", Category.PROCESS: "6",
    }
    for rule in RULES:
        assert re.fullmatch(r"SW\d{3}", rule.code)
        assert rule.code[2] == families[rule.category], rule.code


def test_rule_names_are_unique_kebab_case() -> None:
    names = [rule.name for rule in RULES]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in names)


def test_every_rule_documents_rationale_and_safer_sql() -> None:
    for rule in RULES:
        assert len(rule.rationale) > 100, rule.code
        assert rule.safer.strip() and rule.summary.endswith("."), rule.code


def test_the_rulebook_covers_the_issue_list() -> None:
    names = {rule.name for rule in RULES}
    assert {
        "require-concurrent-index-creation", "require-concurrent-index-deletion",
        "add-column-rewriting-default", "add-stored-generated-column", "type-change-rewrite",
        "set-not-null-scanning", "add-foreign-key-validating", "add-check-validating",
        "add-unique-building-index", "vacuum-full", "cluster", "reindex-non-concurrently",
        "refresh-materialized-view-blocking", "explicit-lock-table", "statements-after-access-exclusive",
        "concurrently-in-transaction", "new-enum-value-used-in-transaction", "drop-table", "drop-column",
        "drop-schema", "drop-type", "truncate", "cascade", "narrowing-type-change",
        "update-delete-without-where", "rename-column", "rename-table", "add-not-null-column-without-default",
        "drop-default-of-not-null-column", "integer-primary-key", "timestamp-without-time-zone", "char-n",
        "json-not-jsonb", "varchar-length-limit", "foreign-key-without-index", "table-without-primary-key",
        "schema-change-without-migration", "unparseable-statement",
    } <= names


def test_unknown_volatility_default_is_softened_to_a_warning() -> None:
    sql = 'ALTER TABLE "orders" ADD COLUMN "code" text DEFAULT make_code();'
    (finding,) = [f for r in analyze_migration_texts([("m.sql", sql)], Context()) for f in r.findings
                  if f.code == "SW201"]
    assert finding.severity is Severity.WARNING
    assert "cannot prove non-volatile" in finding.message


def _codes(sql: str, context: Context | None = None) -> list[str]:
    reports = analyze_migration_texts([("m.sql", sql)], context or Context())
    return [f.code for r in reports for f in r.findings]


def test_integer_primary_key_is_reported_once_per_column() -> None:
    assert _codes("CREATE TABLE q (id integer PRIMARY KEY)").count("SW501") == 1
    assert _codes('CREATE TABLE q (id integer NOT NULL);\nALTER TABLE q ADD PRIMARY KEY ("id");').count("SW501") == 1


def test_narrowing_is_seen_through_arrays() -> None:
    sql = "ALTER TABLE t ADD COLUMN x int8[];\nALTER TABLE t ALTER COLUMN x TYPE int4[];"
    assert "SW307" in _codes(sql)


def test_volatile_default_is_fine_on_a_new_table_and_a_constant_one_on_every_supported_version() -> None:
    assert "SW201" not in _codes('CREATE TABLE t (id bigint);\nALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();')
    constant = "ALTER TABLE t ADD COLUMN c int DEFAULT 0;"
    assert "SW201" not in _codes(constant, Context(pg_version=11))
    assert "SW201" in _codes("ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();", Context(pg_version=11))


def test_binary_coercible_type_change_of_a_known_column_is_not_a_rewrite() -> None:
    sql = 'ALTER TABLE t ADD COLUMN c varchar(20);\nALTER TABLE t ALTER COLUMN c TYPE text;'
    assert "SW203" not in _codes(sql)
    assert "SW203" in _codes('ALTER TABLE t ADD COLUMN c varchar(20);\nALTER TABLE t ALTER COLUMN c TYPE int USING c::int;')


def test_a_binary_coercible_change_still_scans_when_a_validated_check_reads_the_column() -> None:
    """PostgreSQL verifies such a CHECK again (tests/test_lock_model_on_postgres.py sees the scan)."""
    known = Context(columns={"t": {"w": ColumnFact("varchar(20)")}})
    check = "ALTER TABLE t ADD CONSTRAINT t_w CHECK (w <> '') NOT VALID;\n"
    widen = "ALTER TABLE t ALTER COLUMN w TYPE varchar(40);\n"

    def sw203(sql: str) -> list[tuple[int | None, str]]:
        report = analyze_sql("m.sql", sql, known)
        return [(f.line, f.severity.value) for f in report.findings if f.code == "SW203"]

    assert sw203(widen) == []
    assert sw203(check + widen) == []  # NOT VALID: not verified again
    assert sw203(check + "ALTER TABLE t VALIDATE CONSTRAINT t_w;\n" + widen) == [(3, "warning")]
    validated = check + "ALTER TABLE t VALIDATE CONSTRAINT t_w;\n"
    assert sw203(validated + "ALTER TABLE t DROP CONSTRAINT t_w;\n" + widen) == []
    renamed = validated + "ALTER TABLE t RENAME COLUMN w TO w2;\nALTER TABLE t ALTER COLUMN w2 TYPE varchar(40);\n"
    assert sw203(renamed) == [(4, "warning")]
    messages = [f.message for f in analyze_sql("m.sql", renamed, known).findings if f.code == "SW203"]
    assert messages and "scanning every row" in messages[0]


def test_set_not_null_is_quiet_only_when_a_validated_check_proves_it_on_12_and_later() -> None:
    sql = (
        "ALTER TABLE t ADD CONSTRAINT c_nn CHECK (c IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE t VALIDATE CONSTRAINT c_nn;\n"
        "ALTER TABLE t ALTER COLUMN c SET NOT NULL;"
    )
    assert "SW106" not in _codes(sql, Context(pg_version=12))
    assert "SW106" in _codes(sql, Context(pg_version=11))
    unvalidated = sql.replace("ALTER TABLE t VALIDATE CONSTRAINT c_nn;\n", "")
    assert "SW106" in _codes(unvalidated)


def test_concurrently_after_an_explicit_commit_is_not_in_a_transaction() -> None:
    sql = "COMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);"
    assert "SW602" not in _codes(sql)


def test_enum_value_used_later_in_the_same_migration_but_enum_created_there_is_fine() -> None:
    sql = "CREATE TYPE mood AS ENUM ('sad');\nALTER TYPE mood ADD VALUE 'happy';\nCREATE TABLE p (m mood DEFAULT 'happy');"
    assert "SW603" not in _codes(sql)


def test_drop_default_is_quiet_for_a_known_nullable_column() -> None:
    sql = "ALTER TABLE t ADD COLUMN c text DEFAULT 'x';\nALTER TABLE t ALTER COLUMN c DROP DEFAULT;"
    assert "SW404" not in _codes(sql)


def test_long_identifier_inside_a_drizzle_do_block_is_found_once() -> None:
    name = "workspace_member_invitations_workspace_id_workspaces_id_fk_constraint"
    sql = (
        f'DO $$ BEGIN\n ALTER TABLE "w" ADD CONSTRAINT "{name}" FOREIGN KEY ("a") REFERENCES "b"("id");\n'
        "EXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;"
    )
    assert _codes(sql).count("SW508") == 1
    assert "SW508" not in _codes(f"COMMENT ON TABLE w IS '{name}'")


def test_validation_in_the_transaction_that_added_the_foreign_key_is_flagged() -> None:
    add = "ALTER TABLE e ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) NOT VALID;\n"
    validate = "ALTER TABLE e VALIDATE CONSTRAINT fk;"
    assert "SW112" in _codes(add + validate)
    assert "SW112" in _codes("BEGIN;\n" + add + validate + "\nCOMMIT;")
    assert "SW112" not in _codes(add + "COMMIT;\n" + validate)
    assert "SW112" not in _codes(add + validate, Context(transactional=False))
    assert "SW112" not in _codes("CREATE TABLE e (u bigint);\n" + add + validate)


def test_validating_a_check_in_its_own_transaction_is_reported_once_as_sw112() -> None:
    sql = "ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;"
    codes = _codes(sql)
    assert "SW112" in codes and "SW108" not in codes


def test_identifier_length_counts_utf8_bytes() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 25 bytes, 7 characters
    assert "SW508" in _codes(f'CREATE TABLE "{family * 3}" (id bigint PRIMARY KEY)')
    assert "SW508" not in _codes(f'CREATE TABLE "{family * 2}" (id bigint PRIMARY KEY)')
    assert "SW508" not in _codes("CREATE TABLE \"über\" (id bigint PRIMARY KEY); -- " + "x" * 70)


def test_reindex_system_is_not_asked_to_run_concurrently() -> None:
    assert "SW109" not in _codes("REINDEX SYSTEM mydb")
    assert "SW109" in _codes("REINDEX DATABASE mydb")


def test_moving_or_renaming_objects_the_app_names_is_flagged_unless_created_here() -> None:
    assert "SW406" in _codes("ALTER TABLE orders SET SCHEMA archive")
    assert "SW406" in _codes("ALTER DOMAIN amount SET SCHEMA money")
    assert "SW406" not in _codes("CREATE TABLE orders (id bigint PRIMARY KEY);\nALTER TABLE orders SET SCHEMA archive")
    assert "SW407" in _codes("ALTER SEQUENCE order_no RENAME TO order_number")
    assert "SW407" in _codes("ALTER DOMAIN amount RENAME TO money")
    assert "SW407" not in _codes("ALTER INDEX orders_idx RENAME TO orders_id_idx")
    assert "SW407" not in _codes("CREATE TYPE mood AS ENUM ('sad');\nALTER TYPE mood RENAME VALUE 'sad' TO 'blue'")


def test_domain_constraints_that_scan_columns_are_flagged_and_new_domains_are_not() -> None:
    assert "SW113" in _codes("ALTER DOMAIN amount SET NOT NULL")
    assert "SW113" not in _codes("ALTER DOMAIN amount VALIDATE CONSTRAINT positive")
    assert "SW113" not in _codes("CREATE DOMAIN amount AS numeric CHECK (VALUE > 0)")
    assert "SW113" not in _codes("CREATE DOMAIN amount AS numeric;\nALTER DOMAIN amount ADD CHECK (VALUE > 0)")
