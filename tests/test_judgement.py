"""Judging each migration with the schema before it: the kinds of fault the field cases are
examples of, each with cases of its own (issue 9). Claims about what PostgreSQL does are held
against the test server here or in test_refusals_on_postgres.py / test_lock_model_on_postgres.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.cli import main
from policies.analysis import analyze_folder, analyze_migration_texts, analyze_sql, replay_schema
from policies.context import Context
from policies.report import FileReport
from policies.rules import all_rules
from policies.schema.snapshot import schema_from_snapshot

BASE = """
CREATE TYPE "status" AS ENUM ('open', 'closed');
--> statement-breakpoint
CREATE TABLE "project" ("id" bigint PRIMARY KEY, "name" text NOT NULL);
--> statement-breakpoint
CREATE TABLE "task" (
  "id" serial PRIMARY KEY, "project_id" bigint, "status" "status" DEFAULT 'open', "title" varchar(255),
  "note" text
);
--> statement-breakpoint
INSERT INTO "project" VALUES (1, 'p');
--> statement-breakpoint
INSERT INTO "task" ("project_id", "title") VALUES (1, 'a'), (1, 'b');
"""


def pull_request(*files: str, applied_by: str = "drizzle", base: str = BASE, version: int = 16) -> list[FileReport]:
    """The new migrations `files` judged as one pull request on the schema `base` leaves."""
    before = replay_schema([base], version)
    texts = [(f"migrations/000{i + 1}_m.sql", text, f"000{i + 1}_m") for i, text in enumerate(files)]
    return analyze_migration_texts(texts, Context(pg_version=version, applied_by=applied_by), before)


def codes(report: FileReport, severity: str | None = None) -> list[str]:
    return [f.code for f in report.findings if severity is None or f.severity.value == severity]


def run(url: str, *statements: str, one_transaction: bool = False) -> None:
    with psycopg.connect(url, autocommit=not one_transaction) as conn:
        for statement in statements:
            for chunk in statement.split("--> statement-breakpoint"):
                if chunk.strip():
                    conn.execute(chunk)  # type: ignore[call-overload]


# -- the transaction boundary is the applier's --------------------------------------------------

ADD_VALUE = "ALTER TYPE \"status\" ADD VALUE 'archived';"
USE_VALUE = "UPDATE \"task\" SET \"status\" = 'archived' WHERE \"note\" = 'old';"


def test_a_new_enum_value_used_by_a_later_migration_of_the_pull_request_fails_under_drizzle(database_url: str) -> None:
    first, second = pull_request(ADD_VALUE, USE_VALUE)
    assert "SW603" in codes(second, "error") and "0001_m.sql" in second.findings[0].message
    assert "SW603" not in codes(first)
    first, second = pull_request(ADD_VALUE, USE_VALUE, applied_by="schemawarden")
    assert "SW603" not in codes(second)
    # drizzle-orm's migrator runs both in one transaction: PostgreSQL refuses the use (before 12,
    # it refuses ADD VALUE itself in a transaction block, SW605)
    run(database_url, BASE)
    with psycopg.connect(database_url) as conn:
        version = conn.info.server_version // 10000
    refused = psycopg.errors.UnsafeNewEnumValueUsage if version >= 12 else psycopg.errors.ActiveSqlTransaction
    with pytest.raises(refused):
        run(database_url, ADD_VALUE, USE_VALUE, one_transaction=True)
    run(database_url, ADD_VALUE, USE_VALUE)  # each in its own transaction, as schemawarden applies them


def test_an_enum_created_in_the_same_transaction_may_use_its_new_value() -> None:
    base = 'CREATE TABLE "t" ("id" bigint PRIMARY KEY);'
    _, second = pull_request(
        "CREATE TYPE \"mood\" AS ENUM ('calm');\n--> statement-breakpoint\nALTER TYPE \"mood\" ADD VALUE 'tense';",
        "ALTER TABLE \"t\" ADD COLUMN \"mood\" \"mood\" DEFAULT 'tense';",
        base=base,
    )
    assert "SW603" not in codes(second)


def test_validate_in_a_later_migration_of_the_same_drizzle_run_is_sw112() -> None:
    add = 'ALTER TABLE "task" ADD CONSTRAINT "task_project_fk" FOREIGN KEY ("project_id") REFERENCES "project"("id") NOT VALID;'
    validate = 'ALTER TABLE "task" VALIDATE CONSTRAINT "task_project_fk";'
    _, second = pull_request(add, validate)
    assert "SW112" in codes(second)
    _, second = pull_request(add, validate, applied_by="schemawarden")
    assert "SW112" not in codes(second)


def test_work_after_an_access_exclusive_lock_of_an_earlier_migration_is_sw108_under_drizzle() -> None:
    lock = 'ALTER TABLE "project" ADD COLUMN "archived" boolean;'
    scan = 'UPDATE "task" SET "note" = \'\';'
    _, second = pull_request(lock, scan)
    [hit] = [f for f in second.findings if f.code == "SW108"]
    assert "0001_m.sql, line 1" in hit.message
    _, second = pull_request(lock, scan, applied_by="schemawarden")
    assert "SW108" not in codes(second)


def test_concurrently_is_an_error_under_drizzle_and_information_under_schemawarden() -> None:
    index = 'CREATE INDEX CONCURRENTLY "task_title_idx" ON "task" ("title");'
    [drizzle] = pull_request(index)
    [ours] = pull_request(index, applied_by="schemawarden")
    assert [f.severity.value for f in drizzle.findings if f.code == "SW602"] == ["error"]
    assert [f.severity.value for f in ours.findings if f.code == "SW602"] == ["info"]


# -- noise ---------------------------------------------------------------------------------------


def test_sw606_is_quiet_where_schemawarden_applies_and_not_silenced_by_a_zero_timeout() -> None:
    alter = 'ALTER TABLE "task" ADD COLUMN "due" date;'
    assert "SW606" in codes(pull_request(alter)[0])
    assert "SW606" not in codes(pull_request(alter, applied_by="schemawarden")[0])
    assert "SW606" not in codes(pull_request("SET lock_timeout = '3s';\n" + alter)[0])
    assert "SW606" in codes(pull_request("SET lock_timeout = 0;\n" + alter)[0])
    assert "SW606" in codes(pull_request("SET lock_timeout = '3s';\nRESET lock_timeout;\n" + alter)[0])


def test_sw108_is_quiet_for_work_on_tables_the_migration_created_or_dropped() -> None:
    created = (
        'ALTER TABLE "task" ADD COLUMN "due" date;\n--> statement-breakpoint\n'
        'CREATE TABLE "label" ("id" bigint PRIMARY KEY, "name" text);\n--> statement-breakpoint\n'
        'CREATE INDEX "label_name_idx" ON "label" ("name");\n--> statement-breakpoint\n'
        "INSERT INTO \"label\" VALUES (1, 'x');"
    )
    assert "SW108" not in codes(pull_request(created)[0])
    dropped = 'DROP TABLE "project";\n--> statement-breakpoint\nALTER TABLE "task" DROP COLUMN "project_id";'
    assert "SW108" not in codes(pull_request(dropped)[0])
    # still reported for an existing table
    existing = 'ALTER TABLE "task" ADD COLUMN "due" date;\n--> statement-breakpoint\nUPDATE "project" SET "name" = \'x\';'
    assert "SW108" in codes(pull_request(existing)[0])


def test_sw108_ignores_the_sequence_owned_by_the_locked_table() -> None:
    change = 'ALTER TABLE "task" ALTER COLUMN "id" DROP DEFAULT;\n--> statement-breakpoint\nDROP SEQUENCE "task_id_seq";'
    assert "SW108" not in codes(pull_request(change)[0])


def test_the_design_family_is_information_unless_the_policy_raises_it() -> None:
    sql = 'CREATE TABLE "events" ("id" bigint PRIMARY KEY, "at" timestamp, "payload" json);'
    report = analyze_sql("m.sql", sql, Context())
    assert {f.code: f.severity.value for f in report.findings} == {"SW502": "info", "SW504": "info"}
    raised = analyze_sql("m.sql", sql, Context(rules={"SW502": "warning"}))
    assert {f.code: f.severity.value for f in raised.findings}["SW502"] == "warning"
    assert {r.severity.value for r in all_rules() if r.category.value == "design"} == {"info"}


def test_an_example_on_made_up_tables_is_labelled_as_one(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "m.sql"
    path.write_text('CREATE TABLE "events" ("at" timestamptz);\n')
    report = analyze_sql(str(path), path.read_text(), Context())
    [finding] = [f for f in report.findings if f.code == "SW507"]
    assert finding.safer_kind.value == "example" and '"post_tags"' in finding.safer
    main(["check", str(path)])
    out = capsys.readouterr().out
    assert "example: CREATE TABLE \"post_tags\"" in out and "safer: CREATE TABLE \"post_tags\"" not in out


# -- certain failures, and what the schema before a statement changes ---------------------------


def test_a_type_change_to_the_same_type_is_no_rewrite() -> None:
    [report] = pull_request(
        'ALTER TABLE "task" ALTER COLUMN "title" SET DATA TYPE varchar(255);\n--> statement-breakpoint\n'
        'ALTER TABLE "task" ALTER COLUMN "id" SET DATA TYPE integer;'
    )
    assert [s.rewrites for s in report.statements] == [(), ()]
    assert "SW203" not in codes(report)


def test_a_type_change_with_no_cast_is_an_error_in_the_pull_request(database_url: str) -> None:
    [report] = pull_request('ALTER TABLE "task" ALTER COLUMN "note" SET DATA TYPE integer;')
    [refused] = [f for f in report.findings if f.code == "SW609"]
    assert "42804" in refused.message and 'USING "note"::integer' in refused.safer
    run(database_url, BASE)
    with pytest.raises(psycopg.errors.DatatypeMismatch):
        run(database_url, 'ALTER TABLE "task" ALTER COLUMN "note" SET DATA TYPE integer;')
    run(database_url, refused.safer)


def test_an_enum_to_text_change_needs_no_using() -> None:
    [report] = pull_request('ALTER TABLE "task" ALTER COLUMN "status" SET DATA TYPE text;')
    assert "SW609" not in codes(report)


def test_restarting_a_serial_sequence_of_an_existing_table_is_an_error(database_url: str) -> None:
    [report] = pull_request('ALTER SEQUENCE "task_id_seq" RESTART;')
    assert "SW408" in codes(report, "error")
    [fixed] = pull_request(
        'ALTER SEQUENCE "task_id_seq" RESTART;\n--> statement-breakpoint\n'
        "SELECT setval('task_id_seq', (SELECT max(\"id\") FROM \"task\"));"
    )
    assert "SW408" not in codes(fixed)
    run(database_url, BASE, 'ALTER SEQUENCE "task_id_seq" RESTART;')
    with pytest.raises(psycopg.errors.UniqueViolation):
        run(database_url, "INSERT INTO \"task\" (\"title\") VALUES ('c')")


def test_an_identity_added_to_a_table_created_in_the_same_pull_request_is_fine() -> None:
    [report] = pull_request(
        'CREATE TABLE "tag" ("id" integer NOT NULL, "name" text);\n--> statement-breakpoint\n'
        'ALTER TABLE "tag" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY;'
    )
    assert "SW408" not in codes(report)


def test_a_primary_key_using_index_names_only_its_nullable_columns() -> None:
    base = BASE + '\n--> statement-breakpoint\nCREATE UNIQUE INDEX "task_pair" ON "task" ("id", "project_id");'
    base = base.replace('"id" serial PRIMARY KEY', '"id" integer NOT NULL')
    [report] = pull_request('ALTER TABLE "task" ADD CONSTRAINT "task_pkey" PRIMARY KEY USING INDEX "task_pair";', base=base)
    [scan] = [f for f in report.findings if f.code == "SW106"]
    assert '"task"."project_id"' in scan.message and '"task"."id"' not in scan.message
    not_null = base.replace('"project_id" bigint', '"project_id" bigint NOT NULL')
    [report] = pull_request('ALTER TABLE "task" ADD CONSTRAINT "task_pkey" PRIMARY KEY USING INDEX "task_pair";', base=not_null)
    assert "SW106" not in codes(report) and report.statements[0].scans == ()


def test_a_unique_constraint_using_index_on_a_nullable_column_scans_nothing() -> None:
    base = BASE + '\n--> statement-breakpoint\nCREATE UNIQUE INDEX "task_title_key" ON "task" ("title");'
    [report] = pull_request('ALTER TABLE "task" ADD CONSTRAINT "task_title_key" UNIQUE USING INDEX "task_title_key";', base=base)
    assert report.statements[0].scans == () and "SW106" not in codes(report)


def test_a_validated_check_on_the_base_branch_makes_set_not_null_free_and_a_not_valid_one_does_not() -> None:
    valid = BASE + '\n--> statement-breakpoint\nALTER TABLE "task" ADD CONSTRAINT "task_title_nn" CHECK ("title" IS NOT NULL);'
    [report] = pull_request('ALTER TABLE "task" ALTER COLUMN "title" SET NOT NULL;', base=valid)
    assert "SW106" not in codes(report) and report.statements[0].scans == ()
    not_valid = valid.replace("IS NOT NULL);", "IS NOT NULL) NOT VALID;")
    [report] = pull_request('ALTER TABLE "task" ALTER COLUMN "title" SET NOT NULL;', base=not_valid)
    assert "SW106" in codes(report)
    [report] = pull_request('ALTER TABLE "task" ALTER COLUMN "title" SET NOT NULL;', base=valid, version=11)
    assert "SW106" in codes(report)  # PostgreSQL 11 scans whatever the constraints say


def test_dropping_a_table_with_foreign_keys_locks_the_tables_they_reference() -> None:
    base = BASE + (
        '\n--> statement-breakpoint\nALTER TABLE "task" ADD CONSTRAINT "task_project_fk" FOREIGN KEY ("project_id") '
        'REFERENCES "project"("id");'
    )
    [report] = pull_request('DROP TABLE "task";', base=base)
    assert {(lock.relation, lock.mode) for lock in report.statements[0].locks} >= {("project", "ACCESS EXCLUSIVE")}
    [report] = pull_request('DROP TABLE "project";', base=base)
    assert "SW609" in codes(report, "error")  # task's foreign key depends on it (2BP01)


def test_a_statement_in_a_drizzle_do_block_guard_is_never_a_refusal() -> None:
    guarded = (
        'DO $$ BEGIN\n ALTER TABLE "task" ADD CONSTRAINT "task_project_fk" FOREIGN KEY ("project_id") '
        'REFERENCES "project"("id");\nEXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;'
    )
    [report] = pull_request(guarded + "\n--> statement-breakpoint\n" + guarded)
    assert "SW609" not in codes(report)


# -- snapshots fill what the replay could not read ----------------------------------------------


def test_a_pulled_database_is_known_from_drizzles_snapshot(tmp_path: Path) -> None:
    """drizzle-kit pull writes a first migration whose SQL is commented out: the tables exist, the
    replay sees none of them, and the snapshot says what they are."""
    snapshot = {
        "version": "7", "dialect": "postgresql",
        "tables": {"public.users": {"name": "users", "schema": "", "columns": {
            "id": {"name": "id", "type": "text", "primaryKey": True, "notNull": True},
            "name": {"name": "name", "type": "text", "primaryKey": False, "notNull": False},
        }}},
        "enums": {},
    }
    files = [
        ("m/0000_pull.sql", '-- Current sql file was generated after introspecting the database\n/*\nCREATE TABLE "users" (...);\n*/\n', "0000_pull"),
        ("m/0001_x.sql", 'ALTER TABLE "users" ALTER COLUMN "id" SET DATA TYPE integer;\n--> statement-breakpoint\nALTER TABLE "users" DROP COLUMN "email";', "0001_x"),
    ]
    reports = analyze_folder(files, Context(), snapshots=lambda i: schema_from_snapshot(snapshot) if i == 0 else None)
    refused = [f.message for f in reports[1].findings if f.code == "SW609"]
    assert len(refused) == 1 and "cannot be cast automatically to type integer" in refused[0]  # old type: the snapshot's
    without = analyze_folder(files, Context())
    assert "SW609" not in codes(without[1])  # no snapshot: nothing is certain, nothing is claimed


# -- lock modes in messages come from the lock model -------------------------------------------

MODE = re.compile(
    r"\b(ACCESS EXCLUSIVE|SHARE ROW EXCLUSIVE|SHARE UPDATE EXCLUSIVE|ROW EXCLUSIVE|ROW SHARE|ACCESS SHARE|EXCLUSIVE|SHARE)\b"
)


@pytest.mark.parametrize(
    "rule", [r for r in all_rules() if r.category.value in ("lock", "rewrite")], ids=lambda r: r.code
)
def test_a_lock_mode_a_message_names_is_one_the_lock_model_gives(rule: Any) -> None:
    """Lock modes in messages are read from the lock model, so a correction of it reaches them."""
    report = analyze_sql("m.sql", rule.bad, Context(**rule.bad_context))
    modelled = {lock.mode for statement in report.statements for lock in statement.locks}
    for finding in (f for f in report.findings if f.code == rule.code):
        for mode in MODE.findall(finding.message):
            # SW113 names the mode the model gives the tables of a domain, which a lone file cannot list
            assert mode in modelled or rule.code == "SW113", f"{rule.code} names {mode}; the lock model gives {modelled}"


def test_a_domain_constraint_names_the_tables_of_the_domain_with_the_modelled_lock() -> None:
    base = 'CREATE DOMAIN "posint" AS integer;\n--> statement-breakpoint\nCREATE TABLE "m" ("v" "posint");'
    [report] = pull_request('ALTER DOMAIN "posint" ADD CONSTRAINT "posint_positive" CHECK (VALUE > 0);', base=base)
    assert [(lock.relation, lock.mode) for lock in report.statements[0].locks] == [("m", "SHARE")]
    [hit] = [f for f in report.findings if f.code == "SW113"]
    assert 'holding SHARE on each of those tables ("m")' in hit.message


def test_check_over_a_folder_and_over_the_same_change_with_base_agree_on_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "migrations"
    (folder / "meta").mkdir(parents=True)
    (folder / "0000_base.sql").write_text(BASE)
    (folder / "0001_m.sql").write_text('ALTER TABLE "task" ALTER COLUMN "status" SET DATA TYPE integer;\n')
    entries = [{"idx": i, "version": "7", "when": i + 1, "tag": tag, "breakpoints": True} for i, tag in enumerate(["0000_base", "0001_m"])]
    (folder / "meta" / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": entries}))
    main(["check", "--format", "json", str(folder)])
    doc = json.loads(capsys.readouterr().out)
    [refused] = [f for file in doc["files"] for f in file["findings"] if f["code"] == "SW609"]
    assert "42804" in refused["message"] and doc["summary"]["failed"] is True


# -- SQL files the journal does not list --------------------------------------------------------


def _journal_folder(root: Path, tags: list[str]) -> Path:
    folder = root / "migrations"
    (folder / "meta").mkdir(parents=True, exist_ok=True)
    entries = [{"idx": i, "version": "7", "when": i + 1, "tag": tag, "breakpoints": True} for i, tag in enumerate(tags)]
    (folder / "meta" / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": entries}))
    return folder


def test_an_unlisted_sql_file_is_a_warning_in_folder_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _journal_folder(tmp_path, ["0000_base"])
    (folder / "0000_base.sql").write_text(BASE)
    (folder / "0001_by_hand.sql").write_text('ALTER TABLE "task" ADD COLUMN "due" date;\n')
    main(["check", "--format", "json", str(folder)])
    doc = json.loads(capsys.readouterr().out)
    [finding] = [f for file in doc["files"] for f in file["findings"] if f["code"] == "SW610"]
    assert finding["severity"] == "warning" and "0001_by_hand.sql is not in meta/_journal.json" in finding["message"]
    assert all("0001_by_hand" not in s["sql"] for file in doc["files"] for s in file["statements"])  # not judged as a migration


def test_an_unlisted_sql_file_a_branch_adds_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import subprocess

    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True, capture_output=True)

    folder = _journal_folder(tmp_path, ["0000_base"])
    (folder / "0000_base.sql").write_text(BASE)
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    (folder / "0001_by_hand.sql").write_text('ALTER TABLE "task" ADD COLUMN "due" date;\n')
    _journal_folder(tmp_path, ["0000_base"])
    (folder / "0002_listed.sql").write_text('ALTER TABLE "task" ALTER COLUMN "note" SET DATA TYPE integer;\n')
    _journal_folder(tmp_path, ["0000_base", "0002_listed"])
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--format", "json", "--base", "main"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    by_code = {f["code"]: (file["path"], f) for file in doc["files"] for f in file["findings"] if f["severity"] == "error"}
    assert by_code["SW610"][0] == "migrations/0001_by_hand.sql" and "this change adds it" in by_code["SW610"][1]["message"]
    # the listed migration is judged on the base's schema: note is text there, and has no cast to integer
    assert by_code["SW609"][0] == "migrations/0002_listed.sql"
    assert [file["path"] for file in doc["files"] if file["statements"]] == ["migrations/0002_listed.sql"]
