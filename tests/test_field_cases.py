"""The field cases (tests/fixtures/field_cases, copied from ../shared/field-cases): situations real
teams reported, each judged by `check` in folder mode and in `--base` mode, with the verdict its
README calls right; and what the verdict claims (a failure, the fix that works) held against a
real PostgreSQL.

In `--base` mode the case's `0000_*` migration is the base branch and the later files the pull
request; in folder mode the whole folder is judged as its history.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import FIXTURES

from bot.cli import main

CASES = FIXTURES / "field_cases"


def check(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    main(["check", "--format", "json", *args])
    out, _ = capsys.readouterr()
    return json.loads(out)


def findings(doc: dict[str, Any], file_part: str) -> list[dict[str, Any]]:
    return [f for file in doc["files"] if file_part in file["path"] for f in file["findings"]]


def codes(doc: dict[str, Any], file_part: str, severity: str | None = None) -> list[str]:
    return [f["code"] for f in findings(doc, file_part) if severity is None or f["severity"] == severity]


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.fixture
def as_pull_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Make a git repository whose main branch holds a case folder's `0000_*` migration (and a
    journal listing it), and whose working tree adds the rest: `check --base main` judges the rest."""

    def make(case: str, folder: str = "migrations") -> str:
        source = CASES / case / folder
        target = tmp_path / "migrations"
        shutil.copytree(source, target)
        journal = json.loads((source / "meta" / "_journal.json").read_text())
        base = dict(journal, entries=journal["entries"][:1])
        (target / "meta" / "_journal.json").write_text(json.dumps(base))
        for later in journal["entries"][1:]:
            (target / f"{later['tag']}.sql").rename(tmp_path / f"{later['tag']}.sql")
        _git(tmp_path, "init", "-q", "-b", "main")
        _git(tmp_path, "add", ".")
        _git(tmp_path, "commit", "-q", "-m", "base")
        for later in journal["entries"][1:]:
            (tmp_path / f"{later['tag']}.sql").rename(target / f"{later['tag']}.sql")
        (target / "meta" / "_journal.json").write_text(json.dumps(journal))
        monkeypatch.chdir(tmp_path)
        return "migrations"

    yield make


def both_modes(capsys: pytest.CaptureFixture[str], as_pull_request: Any, case: str, folder: str = "migrations") -> list[dict[str, Any]]:
    """The case judged as a folder, then as a pull request on its 0000 migration."""
    as_folder = check(capsys, str(CASES / case / folder))
    as_pull_request(case, folder)
    return [as_folder, check(capsys, "--base", "main")]


def apply_files(url: str, *sqls: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for sql in sqls:
            for chunk in sql.split("--> statement-breakpoint"):
                if chunk.strip():
                    conn.execute(chunk)  # type: ignore[call-overload]


def case_sql(case: str, name: str, folder: str = "migrations") -> str:
    return (CASES / case / folder / name).read_text()


# -- c01: text -> enum without USING ---------------------------------------------------------------


def test_c01_a_type_change_that_needs_using_is_an_error_with_the_using_clause(
    capsys: pytest.CaptureFixture[str], as_pull_request: Any, database_url: str
) -> None:
    for doc in both_modes(capsys, as_pull_request, "c01_text_to_enum"):
        [refused] = [f for f in findings(doc, "0001_role_enum") if f["code"] == "SW609"]
        assert refused["severity"] == "error" and "42804" in refused["message"]
        assert 'USING role::account_role' in refused["message"]  # PostgreSQL's own HINT
        assert refused["safer"].endswith('SET DATA TYPE "account_role" USING "role"::"account_role";')
        assert "SW203" not in codes(doc, "0001_role_enum", "warning")  # not a "maybe a rewrite"
    apply_files(database_url, case_sql("c01_text_to_enum", "0000_init.sql"))
    with pytest.raises(psycopg.errors.DatatypeMismatch) as failure:
        apply_files(database_url, case_sql("c01_text_to_enum", "0001_role_enum.sql"))
    assert failure.value.diag.message_hint == 'You might need to specify "USING role::account_role".'
    fixed = case_sql("c01_text_to_enum", "0001_role_enum.sql").replace(
        'ALTER TABLE "account" ALTER COLUMN "role" SET DATA TYPE account_role;', refused["safer"]
    )
    apply_files(database_url, fixed)


# -- c02: identity integer key -> uuid / text ------------------------------------------------------


@pytest.mark.parametrize("folder", ["migrations", "migrations_text"])
def test_c02_an_identity_columns_type_change_is_an_error_naming_drop_identity_first(
    capsys: pytest.CaptureFixture[str], as_pull_request: Any, database_url: str, folder: str
) -> None:
    for doc in both_modes(capsys, as_pull_request, "c02_identity_to_uuid", folder):
        refused, *later = [f for f in findings(doc, "_id.sql") if f["code"] == "SW609"]
        assert refused["line"] == 1 and "22023" in refused["message"] and "identity column type must be" in refused["message"]
        # drizzle-kit's order also sets a default on the column while it is still an identity (42601)
        assert all("ERROR 42601: " in f["message"] for f in later)
        assert refused["safer"].splitlines()[0].endswith('ALTER COLUMN "id" DROP IDENTITY;')
    later = next(p.name for p in sorted((CASES / "c02_identity_to_uuid" / folder).glob("000[12]_*.sql")))
    apply_files(database_url, case_sql("c02_identity_to_uuid", "0000_users.sql", folder))
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        apply_files(database_url, case_sql("c02_identity_to_uuid", later, folder))


# -- c03: serial -> identity -----------------------------------------------------------------------


def test_c03_same_type_is_no_rewrite_and_a_taken_sequence_name_is_an_error(
    capsys: pytest.CaptureFixture[str], as_pull_request: Any, database_url: str
) -> None:
    for doc in both_modes(capsys, as_pull_request, "c03_serial_to_identity"):
        file = next(f for f in doc["files"] if "0001_identity" in f["path"])
        assert file["statements"][0]["rewrites"] == []  # SET DATA TYPE integer on an integer column
        assert "SW203" not in codes(doc, "0001_identity")
        [refused] = [f for f in findings(doc, "0001_identity") if f["code"] == "SW609"]
        assert '42P07: relation "track_id_seq" already exists' in refused["message"]
        # the restart below the values (SW408) is named in the fix: the statement itself never runs
        assert "SW408" not in codes(doc, "0001_identity") and "SW408" in refused["safer"]
    apply_files(database_url, case_sql("c03_serial_to_identity", "0000_tracks.sql"))
    with pytest.raises(psycopg.errors.DuplicateTable):
        apply_files(database_url, case_sql("c03_serial_to_identity", "0001_identity.sql"))


def test_c03b_restarting_an_identity_below_the_values_is_an_error_with_a_fix_that_works(
    capsys: pytest.CaptureFixture[str], as_pull_request: Any, database_url: str, other_database_url: str
) -> None:
    for doc in both_modes(capsys, as_pull_request, "c03_serial_to_identity", "migrations_b"):
        [restart] = [f for f in findings(doc, "0001b") if f["code"] == "SW408"]
        assert restart["severity"] == "error" and "duplicate key" in restart["message"]
        assert "setval(pg_get_serial_sequence" in restart["safer"]
    base = case_sql("c03_serial_to_identity", "0000_tracks.sql", "migrations_b")
    change = case_sql("c03_serial_to_identity", "0001b_identity_dropdefault.sql", "migrations_b")
    apply_files(database_url, base, change)  # PostgreSQL accepts the migration...
    with pytest.raises(psycopg.errors.UniqueViolation):  # ...and the application's next insert fails
        apply_files(database_url, "INSERT INTO track (title) VALUES ('d')")
    fix = "\n".join(line for line in restart["safer"].splitlines() if not line.startswith("--"))
    apply_files(other_database_url, base, change, fix, "INSERT INTO track (title) VALUES ('d')")


# -- c07: CREATE INDEX on a partitioned parent -----------------------------------------------------


def test_c07_the_safer_way_for_a_partitioned_parent_is_one_postgresql_accepts(
    capsys: pytest.CaptureFixture[str], as_pull_request: Any, database_url: str
) -> None:
    for doc in both_modes(capsys, as_pull_request, "c07_partitioned_index"):
        [index] = [f for f in findings(doc, "0001_index") if f["code"] == "SW101"]
        assert index["safer_kind"] == "recipe" and "ON ONLY" in index["safer"] and "CONCURRENTLY" in index["safer"]
        assert '"event_log_2026"' in index["safer"] and "ATTACH PARTITION" in index["safer"]
    apply_files(database_url, case_sql("c07_partitioned_index", "0000_events.sql"))
    with psycopg.connect(database_url, autocommit=True) as conn:
        for statement in index["safer"].split(";"):
            if statement.strip() and not all(line.startswith("--") for line in statement.strip().splitlines()):
                conn.execute(statement)  # type: ignore[call-overload]  # outside a transaction: CONCURRENTLY works
        valid = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'event_log_account_id_idx'::regclass"
        ).fetchone()
    assert valid == (True,)


def test_c07_concurrently_on_a_partitioned_parent_is_an_error(
    capsys: pytest.CaptureFixture[str], as_pull_request: Any, database_url: str
) -> None:
    for doc in both_modes(capsys, as_pull_request, "c07_partitioned_index", "migrations_conc"):
        [refused] = [f for f in findings(doc, "0001c") if f["code"] == "SW609"]
        assert "0A000" in refused["message"] and "ON ONLY" in refused["safer"]
    apply_files(database_url, case_sql("c07_partitioned_index", "0000_events.sql", "migrations_conc"))
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        apply_files(database_url, case_sql("c07_partitioned_index", "0001c_index_concurrently.sql", "migrations_conc"))


# -- c08: PRIMARY KEY USING INDEX on a nullable column ---------------------------------------------


def test_c08_a_primary_key_using_index_on_a_nullable_column_is_a_scan_finding_with_the_check_path(
    capsys: pytest.CaptureFixture[str], as_pull_request: Any, database_url: str
) -> None:
    for doc in both_modes(capsys, as_pull_request, "c08_pk_using_index_nullable"):
        file = next(f for f in doc["files"] if "0002_pk" in f["path"])
        assert file["statements"][0]["scans"] == ["voucher"]
        [scan] = [f for f in file["findings"] if f["code"] == "SW106"]
        assert scan["severity"] == "warning" and '"voucher"."code"' in scan["message"]
        first = scan["safer"].splitlines()[0]
        assert 'CHECK ("code" IS NOT NULL) NOT VALID' in first
    # The recipe, migration by migration, ends with the primary key.
    apply_files(database_url, case_sql("c08_pk_using_index_nullable", "0000_voucher.sql"))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute('CREATE UNIQUE INDEX "voucher_code_key" ON "voucher" ("code")')
        for statement in scan["safer"].split(";"):
            lines = [line for line in statement.strip().splitlines() if not line.startswith("--")]
            if lines:
                conn.execute("\n".join(lines))  # type: ignore[call-overload]
        assert conn.execute("SELECT conname FROM pg_constraint WHERE contype = 'p' AND conrelid = 'voucher'::regclass").fetchall() == [("voucher_pkey",)]


# -- c11: dropping a foreign key locks the referenced table ----------------------------------------


def test_c11_dropping_a_foreign_key_names_the_referenced_table_among_the_locks(
    capsys: pytest.CaptureFixture[str], as_pull_request: Any
) -> None:
    for doc in both_modes(capsys, as_pull_request, "c11_fk_rename_busy_parent"):
        file = next(f for f in doc["files"] if "0001_rename_fk" in f["path"])
        assert {"relation": "payment", "mode": "ACCESS EXCLUSIVE"} in file["statements"][0]["locks"]
        assert {"relation": "invoice_item", "mode": "ACCESS EXCLUSIVE"} in file["statements"][0]["locks"]


# -- c12: the recommended CHECK -> VALIDATE -> SET NOT NULL path -----------------------------------


def test_c12_a_validated_check_makes_set_not_null_free(capsys: pytest.CaptureFixture[str], as_pull_request: Any) -> None:
    for doc in both_modes(capsys, as_pull_request, "c12_check_then_set_not_null"):
        assert "SW106" not in codes(doc, "0002")
        file = next(f for f in doc["files"] if "0002" in f["path"])
        assert file["statements"][1]["scans"] == []


def test_c12_step_three_of_sw106s_recipe_on_its_own_is_free(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SW106's own recipe, one step per migration: the SET NOT NULL migration alone gets no SW106."""
    folder = tmp_path / "migrations"
    shutil.copytree(CASES / "c12_check_then_set_not_null" / "migrations", folder)
    (folder / "0002_validate_set_not_null.sql").write_text('ALTER TABLE "task" VALIDATE CONSTRAINT "task_project_id_null";\n')
    (folder / "0003_set_not_null.sql").write_text(
        'ALTER TABLE "task" ALTER COLUMN "project_id" SET NOT NULL;\n--> statement-breakpoint\n'
        'ALTER TABLE "task" DROP CONSTRAINT "task_project_id_null";\n'
    )
    journal = json.loads((folder / "meta" / "_journal.json").read_text())
    journal["entries"].append(dict(journal["entries"][-1], idx=3, when=journal["entries"][-1]["when"] + 1, tag="0003_set_not_null"))
    (folder / "meta" / "_journal.json").write_text(json.dumps(journal))
    doc = check(capsys, str(folder))
    assert "SW106" not in codes(doc, "0003")
    doc = check(capsys, str(folder), "--pg-version", "11")  # before 12 the CHECK proves nothing
    assert "SW106" in codes(doc, "0003")
