"""The reconciler's command line: no configuration file needed, exit codes, JSON, no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from builders import SAMPLE_MIGRATIONS, write_journal_folder

SECRET = "topsecret-Xq81"


def run_cli(args: list[str], url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCHEMAWARDEN_ENV_STAGING_URL": f"{url} password={SECRET}"}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_apply_with_only_an_environment_variable_and_a_folder(database_url: str, tmp_path: Path) -> None:
    result = run_cli(
        ["apply", "--env", "staging", "--migrations", str(SAMPLE_MIGRATIONS), "--format", "json"],
        database_url,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True and len(document["outcomes"]) == 11
    assert {o["status"] for o in document["outcomes"]} == {"applied"}

    plan = run_cli(
        ["plan", "--env", "staging", "--migrations", str(SAMPLE_MIGRATIONS), "--format", "json"],
        database_url,
        tmp_path,
    )
    assert plan.returncode == 0
    assert json.loads(plan.stdout)["pending"] == []
    assert json.loads(plan.stdout)["recorded_version"] == "0010_backfill_todo_status"
    for output in (result.stdout, result.stderr, plan.stdout, plan.stderr):
        assert SECRET not in output


def test_plan_exits_1_and_explains_an_out_of_order_migration(database_url: str, tmp_path: Path) -> None:
    first = write_journal_folder(
        tmp_path / "v1",
        [("0000_a", "CREATE TABLE a (id int);"), ("0002_c", "CREATE TABLE c (id int);")],
        whens=[1000, 3000],
    )
    assert (
        run_cli(["apply", "--env", "staging", "--migrations", str(first)], database_url, tmp_path).returncode
        == 0
    )
    late = write_journal_folder(
        tmp_path / "v2",
        [
            ("0000_a", "CREATE TABLE a (id int);"),
            ("0002_c", "CREATE TABLE c (id int);"),
            ("0001_b", "CREATE TABLE b (id int);"),
        ],
        whens=[1000, 3000, 2000],
    )
    plan = run_cli(["plan", "--env", "staging", "--migrations", str(late)], database_url, tmp_path)
    assert plan.returncode == 1
    assert "out-of-order" in plan.stdout and "--allow-out-of-order 0001_b" in plan.stdout
    refused = run_cli(["apply", "--env", "staging", "--migrations", str(late)], database_url, tmp_path)
    assert refused.returncode == 1
    allowed = run_cli(
        ["apply", "--env", "staging", "--migrations", str(late), "--allow-out-of-order", "0001_b"],
        database_url,
        tmp_path,
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "applied 0001_b" in allowed.stdout


def test_malformed_folder_is_a_usage_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_journal_folder(tmp_path / "m", [("0000_a", "SELECT 1;"), ("0001_b", "SELECT 2;")])
    (folder / "0001_b.sql").unlink()
    code = main(["plan", "--env", "staging", "--migrations", str(folder)])
    err = capsys.readouterr().err
    assert code == 2
    assert "0001_b.sql: journal entry '0001_b' (entries[1] of meta/_journal.json) has no SQL file" in err
    assert "Traceback" not in err


def test_a_stray_sql_file_is_warned_about_by_name_and_never_applied(
    database_url: str, tmp_path: Path
) -> None:
    folder = write_journal_folder(tmp_path / "m", [("0000_a", "CREATE TABLE a (id int);")])
    (folder / "0001_stray.sql").write_text("CREATE TABLE stray (id int);")
    result = run_cli(["apply", "--env", "staging", "--migrations", str(folder)], database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "warning" in result.stdout
        and "0001_stray.sql: SQL file is not in meta/_journal.json" in result.stdout
    )
    plan = run_cli(
        ["plan", "--env", "staging", "--migrations", str(folder), "--format", "json"], database_url, tmp_path
    )
    assert json.loads(plan.stdout)["pending"] == []
    assert "0001_stray.sql" in json.loads(plan.stdout)["warnings"][0]


def test_unknown_environment_and_bad_config_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "schemawarden.toml"
    config.write_text('[environments.staging]\nlock_timeout = "soon"\n')
    assert (
        main(["plan", "--env", "staging", "--config", str(config), "--migrations", str(SAMPLE_MIGRATIONS)])
        == 2
    )
    assert "environments.staging.lock_timeout" in capsys.readouterr().err
    config.write_text('[environments.staging]\nurl = "postgresql://u:pw@h/db"\n')
    assert (
        main(["plan", "--env", "staging", "--config", str(config), "--migrations", str(SAMPLE_MIGRATIONS)])
        == 2
    )
    err = capsys.readouterr().err
    assert "SCHEMAWARDEN_ENV_STAGING_URL" in err and "pw@" not in err
    config.write_text("[environments.staging]\n")
    assert main(["plan", "--env", "qa", "--config", str(config), "--migrations", str(SAMPLE_MIGRATIONS)]) == 2
    assert "unknown environment 'qa'" in capsys.readouterr().err


def test_status_reports_each_environment_and_an_unreachable_one(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SCHEMAWARDEN_ENV_STAGING_URL": database_url,
        "SCHEMAWARDEN_ENV_PRODUCTION_URL": f"postgresql://owner:{SECRET}@127.0.0.1:1/app",
    }
    (tmp_path / "schemawarden.toml").write_text(
        '[environments.staging]\ngate = "auto"\n[environments.production]\ngate = "label"\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "status",
            "--migrations",
            str(SAMPLE_MIGRATIONS),
            "--format",
            "json",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    document = json.loads(result.stdout)
    by_name = {e["name"]: e for e in document["environments"]}
    assert len(by_name["staging"]["pending"]) == 11 and by_name["staging"]["error"] is None
    assert "cannot connect to environment 'production'" in by_name["production"]["error"]
    assert SECRET not in result.stdout + result.stderr


def test_a_typo_in_the_policy_file_is_refused_by_apply_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "schemawarden.toml"
    config.write_text('[migratons]\nfolder = "drizzle"\n')
    assert main(["apply", "--env", "staging", "--config", str(config), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "schemawarden.toml" in err and "migratons" in err
