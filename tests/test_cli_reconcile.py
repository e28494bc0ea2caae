"""The reconciler's command line: no configuration file needed, exit codes, JSON, no secrets.

Also: an environment without a URL is a configuration error (only `embedded = true` may use the
embedded server), every output names its target, gates need a recorded approval, a closed pipe
ends output quietly, `-v` logs each step, `--version`, and `--help` lists the exit codes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from bot.cli import main
from builders import SAMPLE_MIGRATIONS, write_journal_folder
from policies.errors import EXIT_CODES
from reconciler.database.connect import target_of
from reconciler.database.embedded import EmbeddedPostgres

SECRET = "topsecret-Xq81"
ROOT = Path(__file__).resolve().parent.parent


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
    assert result.returncode == 3  # unreachable, and no other problem
    document = json.loads(result.stdout)
    by_name = {e["name"]: e for e in document["environments"]}
    assert len(by_name["staging"]["pending"]) == 11 and by_name["staging"]["error"] is None
    assert "cannot connect to environment 'production' at 127.0.0.1:1/app" in by_name["production"]["error"]
    assert by_name["production"]["error_kind"] == "unreachable"
    assert by_name["production"]["target"] == {"host": "127.0.0.1", "port": 1, "database": "app"}
    assert SECRET not in result.stdout + result.stderr


def test_a_typo_in_the_policy_file_is_refused_by_apply_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "schemawarden.toml"
    config.write_text('[migratons]\nfolder = "drizzle"\n')
    assert main(["apply", "--env", "staging", "--config", str(config), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "schemawarden.toml" in err and "migratons" in err


# --- environments without a URL, targets, gates, exit codes, pipes, -v, --version, --help ---------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No SCHEMAWARDEN_ENV_* variables from the caller's shell, and a working directory of our own."""
    for key in list(os.environ):
        if key.startswith(("SCHEMAWARDEN_ENV_", "SCHEMAWARDEN_CONFIG", "SCHEMAWARDEN_DATA_DIR")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def scalar(url: str, query: str) -> object:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
        return row[0] if row else None


def database_of(url: str) -> str:
    return str(conninfo_to_dict(url)["dbname"])


@pytest.mark.parametrize(
    "command",
    [
        ["apply", "--env", "production"],
        ["plan", "--env", "staging"],
        ["apply", "--env", "staging", "--dry-run"],
    ],
)
def test_an_environment_without_a_url_is_a_configuration_error_that_touches_no_database(
    command: list[str], clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "pgdata"
    code = main([*command, "--migrations", str(SAMPLE_MIGRATIONS), "--data-dir", str(data_dir)])
    err = capsys.readouterr().err
    assert code == 2
    name = command[2]
    assert f"SCHEMAWARDEN_ENV_{name.upper()}_URL" in err
    assert f"embedded = true` under [environments.{name}]" in err
    assert "Traceback" not in err
    assert not data_dir.exists()  # the embedded server was never started, so no database was made


def test_status_lists_a_declared_environment_without_a_url_with_its_error(
    database_url: str, clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schemawarden.toml").write_text('[environments.staging]\ngate = "auto"\n[environments.qa]\n')
    clean_env.setenv("SCHEMAWARDEN_ENV_STAGING_URL", database_url)
    data_dir = tmp_path / "pgdata"
    code = main(["status", "--migrations", str(SAMPLE_MIGRATIONS), "--data-dir", str(data_dir)])
    out = capsys.readouterr().out
    assert code == 2  # a misconfigured environment, and no problem found
    qa = next(line for line in out.splitlines() if line.strip().startswith("qa "))
    assert "not configured" in qa and "SCHEMAWARDEN_ENV_QA_URL" in qa
    staging = next(line for line in out.splitlines() if line.strip().startswith("staging "))
    assert str(target_of(database_url)) in staging
    assert not data_dir.exists()


def test_embedded_true_lets_an_environment_use_the_embedded_server(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schemawarden.toml").write_text('[environments.local]\ngate = "auto"\nembedded = true\n')
    data_dir = ROOT / ".pytest-pgdata"  # the tests' own embedded server (conftest), started once
    code = main(
        [
            *("plan", "--env", "local", "--migrations", str(SAMPLE_MIGRATIONS)),
            *("--data-dir", str(data_dir), "--format", "json"),
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["target"]["database"] == "schemawarden_local"
    assert document["target"]["host"] == str(target_of(EmbeddedPostgres(data_dir).admin_url()).host)
    assert len(document["pending"]) == 11  # plan only: the database stays empty across runs


def test_a_malformed_url_is_a_configuration_error_without_the_url(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("SCHEMAWARDEN_ENV_STAGING_URL", f"postgresql://u:{SECRET}@host:5432/db?nonsense=1")
    code = main(["plan", "--env", "staging", "--migrations", str(SAMPLE_MIGRATIONS)])
    err = capsys.readouterr().err
    assert code == 2
    assert "SCHEMAWARDEN_ENV_STAGING_URL is not a PostgreSQL URL" in err and SECRET not in err


def test_every_output_names_the_target_and_never_the_password(database_url: str, tmp_path: Path) -> None:
    database = database_of(database_url)
    info = conninfo_to_dict(database_url)
    target = {"host": "127.0.0.1", "port": int(str(info.get("port") or 5432)), "database": database}
    if info.get("host") != "127.0.0.1":  # the embedded server: a socket
        target = target_of(database_url).as_json()
    where = f"{target['host']}:{target['port']}/{database}"
    folder = ["--migrations", str(SAMPLE_MIGRATIONS)]

    text_plan = run_cli(["plan", "--env", "staging", *folder], database_url, tmp_path)
    assert f"Plan for environment 'staging' at {where}" in text_plan.stdout
    json_plan = run_cli(["plan", "--env", "staging", *folder, "--format", "json"], database_url, tmp_path)
    assert json.loads(json_plan.stdout)["target"] == target
    text_apply = run_cli(["apply", "--env", "staging", *folder], database_url, tmp_path)
    assert f"Result for environment 'staging' at {where}: ok" in text_apply.stdout
    json_apply = run_cli(["apply", "--env", "staging", *folder, "--format", "json"], database_url, tmp_path)
    assert json.loads(json_apply.stdout)["target"] == target
    status = run_cli(["status", *folder, "--format", "json"], database_url, tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr
    [listed] = json.loads(status.stdout)["environments"]  # production: no URL, not declared, not listed
    assert listed["name"] == "staging" and listed["target"] == target
    for result in (text_plan, json_plan, text_apply, json_apply, status):
        assert SECRET not in result.stdout + result.stderr
        assert "postgres@" not in result.stdout and "user" not in json.dumps(target)


def test_a_gate_other_than_auto_needs_a_recorded_approval(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "schemawarden.toml").write_text('[environments.production]\ngate = "label"\n')
    env = {**os.environ, "SCHEMAWARDEN_ENV_PRODUCTION_URL": database_url}
    folder = ["--migrations", str(SAMPLE_MIGRATIONS)]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = cli("apply", "--env", "production", *folder)
    assert refused.returncode == 1
    assert "gate 'label'" in refused.stderr and "--approved-by NAME --reason TEXT" in refused.stderr
    assert "is the default" not in refused.stderr  # the gate was written in the file
    assert (
        scalar(database_url, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('drizzle', 'schemawarden')")
        == 0
    )

    half = cli("apply", "--env", "production", *folder, "--approved-by", "alice")
    assert half.returncode == 2 and "--approved-by needs --reason" in half.stderr

    dry = cli("apply", "--env", "production", *folder, "--dry-run", "--format", "json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["gate_satisfied"] is False
    plan = cli("plan", "--env", "production", *folder)
    assert plan.returncode == 0 and "gate: label, not satisfied" in plan.stdout
    assert "blocked: not approved for this environment" in plan.stdout
    assert (
        scalar(database_url, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('drizzle', 'schemawarden')")
        == 0
    )

    approved = cli(
        "apply", "--env", "production", *folder, "--approved-by", "alice", "--reason", "release 1.2, see #7"
    )
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert scalar(database_url, "SELECT count(*) FROM drizzle.__drizzle_migrations") == 11
    decisions = scalar(
        database_url,
        "SELECT array_agg(DISTINCT decision) FROM schemawarden.apply_log WHERE status = 'applied'",
    )
    assert decisions == ["approved by alice: release 1.2, see #7"]


def test_production_is_gated_without_a_policy_file_and_a_url_only_environment_is_not(
    database_url: str,
    other_database_url: str,
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("SCHEMAWARDEN_ENV_PRODUCTION_URL", database_url)
    clean_env.setenv("SCHEMAWARDEN_ENV_PREVIEW_URL", other_database_url)
    assert main(["apply", "--env", "production", "--migrations", str(SAMPLE_MIGRATIONS)]) == 1
    assert "gate 'label'" in capsys.readouterr().err
    assert scalar(database_url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'drizzle'") == 0
    assert main(["apply", "--env", "preview", "--migrations", str(SAMPLE_MIGRATIONS)]) == 0
    assert scalar(other_database_url, "SELECT count(*) FROM drizzle.__drizzle_migrations") == 11


def test_an_environment_declared_without_a_gate_is_manual_and_the_refusal_says_so(
    database_url: str, clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schemawarden.toml").write_text('[environments.staging]\nlock_timeout = "1s"\n')
    clean_env.setenv("SCHEMAWARDEN_ENV_STAGING_URL", database_url)
    assert main(["apply", "--env", "staging", "--migrations", str(SAMPLE_MIGRATIONS)]) == 1
    err = capsys.readouterr().err
    assert "gate 'manual'" in err and 'set gate = "auto" under [environments.staging]' in err
    assert scalar(database_url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'drizzle'") == 0


@pytest.mark.parametrize("command", [["plan", "--env", "staging"], ["apply", "--env", "staging"], ["status"]])
def test_an_unreachable_database_exits_3(command: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "SCHEMAWARDEN_ENV_STAGING_URL": f"postgresql://owner:{SECRET}@127.0.0.1:1/app"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", *command, "--migrations", str(SAMPLE_MIGRATIONS)],
        env={k: v for k, v in env.items() if k != "SCHEMAWARDEN_ENV_PRODUCTION_URL"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "cannot connect to environment 'staging' at 127.0.0.1:1/app" in result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_status_exit_code_precedence_problem_then_configuration_then_unreachable(
    database_url: str, clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "schemawarden.toml"
    clean_env.setenv("SCHEMAWARDEN_ENV_STAGING_URL", database_url)
    clean_env.setenv("SCHEMAWARDEN_ENV_PRODUCTION_URL", "postgresql://owner@127.0.0.1:1/app")
    folder = write_journal_folder(tmp_path / "m", [("0000_a", "CREATE TABLE a (id int);")])
    status = ["status", "--migrations", str(folder)]

    config.write_text('[environments.staging]\ngate = "auto"\n[environments.production]\n[environments.qa]\n')
    assert main(status) == 2  # qa has no URL; production is unreachable
    config.write_text('[environments.staging]\ngate = "auto"\n[environments.production]\n')
    assert main(status) == 3  # only unreachable
    assert main(["apply", "--env", "staging", "--migrations", str(folder)]) == 0
    (folder / "0000_a.sql").write_text("CREATE TABLE a (id bigint);")  # edited after it was applied
    config.write_text('[environments.staging]\ngate = "auto"\n[environments.production]\n[environments.qa]\n')
    assert main(status) == 1  # a tampered history outranks both
    assert "tampered" in capsys.readouterr().out


def test_a_closed_pipe_ends_output_quietly_and_apply_still_finishes(
    database_url: str, tmp_path: Path
) -> None:
    # Long tags make the output larger than a pipe's buffer, so writing it must meet the closed pipe.
    migrations = [(f"{n:04d}_{'x' * 240}", f"SELECT {n};") for n in range(300)]
    folder = write_journal_folder(tmp_path / "m", migrations)
    for command in (["plan", "--env", "staging"], ["apply", "--env", "staging"]):
        with (tmp_path / "stderr.txt").open("w+") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", *command, "--migrations", str(folder)],
                env={**os.environ, "SCHEMAWARDEN_ENV_STAGING_URL": database_url},
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
            assert process.stdout is not None
            assert process.stdout.readline().startswith("Plan for environment 'staging'")
            process.stdout.close()  # as `| head -1` does
            code = process.wait(timeout=120)
            stderr.seek(0)
            errors = stderr.read()
        assert code == 0, errors
        assert "Traceback" not in errors and "BrokenPipe" not in errors and "Exception ignored" not in errors
    assert scalar(database_url, "SELECT count(*) FROM drizzle.__drizzle_migrations") == 300


def test_verbose_logs_the_target_the_plan_and_each_step_before_or_after_the_command(
    database_url: str, tmp_path: Path
) -> None:
    folder = write_journal_folder(tmp_path / "m", [("0000_a", "CREATE TABLE a (id int);\n")])
    quiet = run_cli(
        ["apply", "--env", "staging", "--migrations", str(folder), "--dry-run"], database_url, tmp_path
    )
    assert "INFO" not in quiet.stderr
    before = run_cli(["-v", "plan", "--env", "staging", "--migrations", str(folder)], database_url, tmp_path)
    after = run_cli(["apply", "--env", "staging", "--migrations", str(folder), "-v"], database_url, tmp_path)
    assert before.returncode == 0 and after.returncode == 0, after.stderr
    where = f"environment 'staging' at {target_of(database_url)}"
    for result in (before, after):
        assert f"connecting to {where}" in result.stderr
        assert f"plan for {where}: 0 applied, 1 pending (1 runnable)" in result.stderr
        assert SECRET not in result.stderr
    assert "0000_a line 1 done: CREATE TABLE a (id int)" in after.stderr
    assert "0000_a applied in" in after.stderr


def test_version_prints_the_package_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"schemawarden {metadata.version('schemawarden')}\n"


@pytest.mark.parametrize("command", ["plan", "apply", "status"])
def test_help_describes_the_command_and_lists_every_exit_code_and_variable(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "usage: schemawarden " + command in text
    assert "exit codes:" in text and "environment variables:" in text
    for code, meaning in EXIT_CODES:
        assert f"{code} {' '.join(meaning.split())}" in text
    for name in ("SCHEMAWARDEN_ENV_<NAME>_URL", "SCHEMAWARDEN_CONFIG", "SCHEMAWARDEN_DATA_DIR"):
        assert name in text


def test_the_readme_lists_the_same_exit_codes() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(\d)` \| (.+) \|$", readme, flags=re.MULTILINE)
    assert [int(code) for code, _ in rows] == [code for code, _ in EXIT_CODES]
