"""`schemawarden check` end to end: files and folders, formats, policy file, exit codes, --base."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.commands.check import sql_files_under
from policies.rules import rule_by_code

CHECK = Path(__file__).resolve().parent / "fixtures" / "check"


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run_check(capsys, "--format", "json", *args)
    return code, json.loads(out)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of the fixtures as the current directory (the CLI reads ./schemawarden.toml)."""
    shutil.copytree(CHECK, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def codes(doc: dict[str, Any]) -> list[str]:
    """Codes of the findings that matter here: info-level advice (lock_timeout hints) left out."""
    return [f["code"] for file in doc["files"] for f in file["findings"] if f["severity"] != "info"]


def file_codes(file: dict[str, Any]) -> list[str]:
    return [f["code"] for f in file["findings"] if f["severity"] != "info"]


def test_a_blocking_index_on_an_existing_table_fails_the_check(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_check(capsys, "risky.sql")
    assert code == 1
    assert "risky.sql:2: error   SW101 require-concurrent-index-creation" in out
    assert "CREATE INDEX CONCURRENTLY" in out
    assert "\033[" not in out  # captured stdout is not a terminal: no colour
    assert out.rstrip().endswith("failed (findings at or above error)")


def test_a_table_created_and_indexed_in_the_same_file_passes(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_check(capsys, "clean.sql")
    assert code == 0
    assert "no findings; passed" in out


def test_warnings_pass_unless_the_failing_severity_is_lowered(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_check(capsys, "warning_only.sql")[0] == 0
    code, doc = check_json(capsys, "warning_only.sql", "--fail-on", "warning")
    assert code == 1
    assert doc["summary"]["fail_on"] == "warning" and doc["summary"]["failed"] is True


def test_a_statement_postgresql_cannot_parse_is_a_finding_at_its_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = check_json(capsys, "bad_syntax.sql")
    assert code == 1
    [finding] = [f for f in doc["files"][0]["findings"] if f["code"] == "SW601"]
    assert finding["line"] == 2 and finding["category"] == "process" and finding["severity"] == "error"


def test_a_drizzle_folder_is_judged_in_journal_order_with_tags(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = check_json(capsys, "drizzle")
    assert code == 1
    assert [(f["path"], f["migration"]) for f in doc["files"]] == [
        ("drizzle/0000_init.sql", "0000_init"),
        ("drizzle/0001_email_index.sql", "0001_email_index"),
        ("drizzle/0002_drop_email.sql", "0002_drop_email"),
    ]
    # Each migration is judged against tables that already exist: the index one is flagged.
    assert file_codes(doc["files"][1]) == ["SW101"]
    assert "SW302" in file_codes(doc["files"][2])


def test_without_paths_the_policys_migrations_folder_is_judged(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "schemawarden.toml").write_text('[migrations]\nfolder = "drizzle"\n')
    code, doc = check_json(capsys)
    assert code == 1
    assert doc["summary"]["files"] == 3


def test_the_json_output_follows_the_contract(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = check_json(capsys, "risky.sql", "clean.sql")
    assert set(doc) == {"version", "files", "summary"} and doc["version"] == 1
    risky = doc["files"][0]
    assert risky["path"] == "risky.sql" and risky["migration"] is None
    index = risky["statements"][0]
    assert index["line"] == 2
    assert index["sql"].startswith('CREATE INDEX "users_email_idx"')
    assert index["locks"] == [{"relation": "users", "mode": "SHARE"}]
    assert index["operations"] and all(isinstance(op, dict) for op in index["operations"])
    assert set(risky["findings"][0]) == {"code", "name", "category", "severity", "line", "message", "safer", "safer_kind"}
    infos = sum(f["severity"] == "info" for file in doc["files"] for f in file["findings"])
    assert doc["summary"] == {
        "files": 2,
        "statements": 4,
        "findings": {"error": 1, "warning": 0, "info": infos},
        "fail_on": "error",
        "failed": True,
    }


def test_sarif_and_github_formats_point_at_the_file_and_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_check(capsys, "risky.sql", "--format", "sarif")
    log = json.loads(out)
    assert log["version"] == "2.1.0"
    [result] = [r for r in log["runs"][0]["results"] if r["level"] != "note"]
    assert result["ruleId"] == "SW101" and result["level"] == "error"
    region = result["locations"][0]["physicalLocation"]
    assert region == {"artifactLocation": {"uri": "risky.sql"}, "region": {"startLine": 2}}
    rule = log["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == "SW101"
    assert "helpUri" not in rule  # no docs_url in the policy: SARIF gets no made-up address
    documented = rule_by_code("SW101")
    assert documented is not None
    assert rule["shortDescription"]["text"] == documented.summary
    assert rule["fullDescription"]["text"] == documented.rationale

    (workdir / "schemawarden.toml").write_text('docs_url = "https://docs.example.org/schemawarden/rules.md"\n')
    log = json.loads(run_check(capsys, "risky.sql", "--format", "sarif")[1])
    [rule] = [r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "SW101"]
    assert rule["helpUri"] == "https://docs.example.org/schemawarden/rules.md#sw101-require-concurrent-index-creation"

    _, out, _ = run_check(capsys, "risky.sql", "--format", "github")
    first = out.splitlines()[0]
    assert first.startswith("::error file=risky.sql,line=2,title=SW101 require-concurrent-index-creation::")


def test_markdown_is_the_pr_comment(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_check(capsys, "risky.sql", "--format", "markdown")
    assert "### `risky.sql`" in out
    assert "| 2 | <code>CREATE INDEX" in out and "SHARE on <code>users</code>" in out
    assert "<details><summary>Safer way</summary>" in out


def test_the_policy_file_switches_rules_off_and_sets_the_failing_severity(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "schemawarden.toml").write_text('[rules]\nSW101 = "off"\n')
    code, doc = check_json(capsys, "risky.sql")
    assert code == 0 and codes(doc) == []

    (workdir / "schemawarden.toml").write_text('fail_on = "warning"\n[rules]\nSW101 = "warning"\n')
    code, doc = check_json(capsys, "risky.sql")
    assert code == 1
    [finding] = [f for f in doc["files"][0]["findings"] if f["code"] == "SW101"]
    assert finding["severity"] == "warning"
    # The command line wins over the policy file.
    assert run_check(capsys, "risky.sql", "--fail-on", "error")[0] == 0


def test_config_flag_names_another_policy_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "strict.toml").write_text('fail_on = "info"\n')
    assert run_check(capsys, "warning_only.sql", "--config", "strict.toml")[0] == 1


def test_pg_version_reaches_the_analysis(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # From PostgreSQL 12, SET NOT NULL uses a validated CHECK (col IS NOT NULL) instead of a scan.
    def set_not_null_findings(*args: str) -> list[str]:
        doc = check_json(capsys, "set_not_null_after_check.sql", *args)[1]
        # (SW108 may also note that the scan on 11 runs under the earlier ACCESS EXCLUSIVE lock.)
        return [f["code"] for f in doc["files"][0]["findings"] if f["line"] == 5 and f["code"] != "SW108"]

    assert set_not_null_findings("--pg-version", "11") == ["SW106"]
    assert set_not_null_findings("--pg-version", "12") == []
    (workdir / "schemawarden.toml").write_text("pg_version = 11\n")
    assert set_not_null_findings() == ["SW106"]
    assert set_not_null_findings("--pg-version", "16") == []  # the command line wins


@pytest.mark.parametrize(
    ("args", "policy", "expected"),
    [
        (["nope.sql"], None, "nope.sql: no such file or folder"),
        (["risky.sql", "--pg-version", "9"], None, "--pg-version 9 is not supported (allowed: 11 to 18)"),
        (["risky.sql", "--config", "missing.toml"], None, "missing.toml: no such policy file"),
        (["risky.sql"], "pg_version = 16\n[rulez]\n", "schemawarden.toml: rulez: unknown key"),
        (["risky.sql"], '[rules]\nSW101 = "loud"\n', "rules.SW101: 'loud' is not allowed"),
        (["risky.sql"], "[rules\n", "schemawarden.toml: not valid TOML: "),
        ([], None, "migrations: the migrations folder of the policy does not exist"),
    ],
)
def test_usage_and_configuration_errors_exit_2_with_a_message(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], policy: str | None, expected: str
) -> None:
    if policy is not None:
        (workdir / "schemawarden.toml").write_text(policy)
    code, out, err = run_check(capsys, *args)
    assert code == 2
    assert out == ""
    assert expected in err
    assert "Traceback" not in err


def test_exit_codes_of_the_real_process(workdir: Path) -> None:
    def exit_code(*args: str) -> tuple[int, str]:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "check", *args],
            cwd=workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.returncode, done.stderr

    assert exit_code("clean.sql")[0] == 0
    assert exit_code("risky.sql")[0] == 1
    assert exit_code("risky.sql", "--format", "yaml")[0] == 2  # argparse: invalid choice
    code, err = exit_code("--pg-version", "99", "risky.sql")
    assert code == 2 and "not supported" in err and "Traceback" not in err


# --- --base: judge what a branch adds, flag edits to migrations the base already had -------------


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository whose main branch has two applied migrations and a schema file."""
    git(tmp_path, "init", "-q", "-b", "main")
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0000_init.sql").write_text((CHECK / "drizzle" / "0000_init.sql").read_text())
    (migrations / "0001_orders.sql").write_text(
        'CREATE TABLE "orders" ("id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, "user_id" bigint);\n'
    )
    schema = tmp_path / "src" / "models"
    schema.mkdir(parents=True)
    (schema / "Schema.ts").write_text("export const users = pgTable('users', {});\n")
    (tmp_path / "notes.sql").write_text("SELECT 1;\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_base_judges_only_the_added_migrations(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # One added migration is committed on the branch, one staged, one untracked.
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "migrations" / "0002_index.sql").write_text(
        'CREATE INDEX "orders_user_idx" ON "orders" ("user_id");\n'
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "index")
    (repo / "migrations" / "0003_payments.sql").write_text(
        'CREATE TABLE "payments" ("id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, "amount" bigint);\n'
    )
    git(repo, "add", "migrations/0003_payments.sql")
    (repo / "migrations" / "0004_payments_index.sql").write_text(
        'CREATE INDEX "payments_amount_idx" ON "payments" ("amount");\n'
    )
    (repo / "notes.sql").write_text("SELECT 2;\n")  # changed, but not a migration

    code, doc = check_json(capsys, "--base", "main")
    paths = [f["path"] for f in doc["files"]]
    assert paths == [
        "migrations/0002_index.sql",
        "migrations/0003_payments.sql",
        "migrations/0004_payments_index.sql",
    ]
    assert [f["migration"] for f in doc["files"]] == ["0002_index", "0003_payments", "0004_payments_index"]
    by_path = {f["path"]: file_codes(f) for f in doc["files"]}
    assert by_path["migrations/0002_index.sql"] == ["SW101"]
    # The table is created earlier in the same branch: indexing it blocks nobody.
    assert by_path["migrations/0004_payments_index.sql"] == []
    assert code == 1


def test_base_reports_an_edited_or_deleted_applied_migration(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "migrations" / "0000_init.sql").write_text("-- rewritten after the fact\nSELECT 1;\n")
    (repo / "migrations" / "0001_orders.sql").unlink()
    code, doc = check_json(capsys, "--base", "HEAD")
    assert code == 1
    edited = {f["path"]: f["findings"] for f in doc["files"]}
    assert set(edited) == {"migrations/0000_init.sql", "migrations/0001_orders.sql"}
    assert sorted(f["migration"] for f in doc["files"]) == ["0000_init", "0001_orders"]
    for path, kind in (("migrations/0000_init.sql", "modified"), ("migrations/0001_orders.sql", "deleted")):
        [finding] = edited[path]
        assert finding["code"] == "SW690" and finding["category"] == "process"
        assert finding["severity"] == "error" and finding["line"] is None
        assert kind in finding["message"]

    (repo / "schemawarden.toml").write_text('[rules]\nSW690 = "off"\n')
    code, doc = check_json(capsys, "--base", "HEAD")
    assert code == 0 and doc["files"] == []


def test_base_flags_a_schema_change_without_a_migration(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "src" / "models" / "Schema.ts").write_text("export const users = pgTable('people', {});\n")
    code, doc = check_json(capsys, "--base", "HEAD")
    assert code == 1
    assert [(f["path"], file_codes(f)) for f in doc["files"]] == [("src/models/Schema.ts", ["SW604"])]


def test_base_with_nothing_changed_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = check_json(capsys, "--base", "HEAD")
    assert code == 0
    assert doc["files"] == [] and doc["summary"]["statements"] == 0


def test_base_that_is_not_a_commit_is_a_usage_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_check(capsys, "--base", "no-such-branch")
    assert code == 2 and out == ""
    assert "--base no-such-branch: not a commit here" in err


def test_base_outside_a_git_repository_is_a_usage_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_check(capsys, "--base", "HEAD")
    assert code == 2 and "--base HEAD" in err


def test_the_sql_files_of_a_plain_folder_are_found_in_path_order(tmp_path: Path) -> None:
    """The same files, in the same order, as `sorted(rglob("*.sql"))`, links to folders not followed."""
    for name in ["b.sql", "a/z.sql", "a/b/c.sql", "a.sql", ".hidden/x.sql", "B.sql", "notes.txt", "d.sql/e.sql"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("SELECT 1;\n")
    (tmp_path / "linked").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "alias.sql").symlink_to(tmp_path / "b.sql")
    (tmp_path / "broken.sql").symlink_to(tmp_path / "missing.sql")
    expected = sorted(p for p in tmp_path.rglob("*.sql") if p.is_file())
    assert sql_files_under(tmp_path) == expected
    assert [p.relative_to(tmp_path).as_posix() for p in expected] == [
        ".hidden/x.sql", "B.sql", "a/b/c.sql", "a/z.sql", "a.sql", "alias.sql", "b.sql", "d.sql/e.sql",
    ]
