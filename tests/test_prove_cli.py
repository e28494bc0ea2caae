"""`check --prove`, `rollback-sql` and `revert` end to end: output contracts, exit codes, what is
written, and that a plain `check` never touches a scratch server.

The commands run in this process (`bot.cli.main`) with SCHEMAWARDEN_SCRATCH_URL at the test server,
the scratch registry in a database of this module's own (`scratch_bookkeeping`): what each command
created there is looked up in pg_database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import ScratchBookkeeping

from bot.cli import main
from builders import SAMPLE, SAMPLE_MIGRATIONS, write_journal_folder
from reconciler.database.scratch import template_key
from reconciler.migrations import Layout, load_migration_set

SAMPLE_1X = SAMPLE / "extras" / "kit-1.0.0-rc.5-fresh" / "migrations"
RENAME_BACK = 'ALTER TABLE public."user" RENAME COLUMN about TO bio;\n'


@pytest.fixture
def workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch_bookkeeping: ScratchBookkeeping
) -> Path:
    """An empty current directory (no schemawarden.toml), the scratch server at the test server and
    no environment variables of environments."""
    for name in list(os.environ):
        if name.startswith("SCHEMAWARDEN_ENV_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SCHEMAWARDEN_SCRATCH_URL", scratch_bookkeeping.url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def sample(workdir: Path) -> Path:
    """A copy of the bundled sample's 0.x migrations folder, as ./migrations."""
    return Path(shutil.copytree(SAMPLE_MIGRATIONS, workdir / "migrations"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def by_migration(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {file["migration"]: file for file in doc["files"]}


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class Created:
    """What the registry was told of during a block: scratch databases, templates and login roles."""

    def __init__(self, bookkeeping: ScratchBookkeeping) -> None:
        self.bookkeeping = bookkeeping
        self.before = {kind: set(bookkeeping.created(kind)) for kind in ("database", "template", "role")}

    def since(self, kind: str = "database") -> list[str]:
        return [name for name in self.bookkeeping.created(kind) if name not in self.before[kind]]


# -- check --prove ------------------------------------------------------------------------------------


def test_check_prove_json_gives_each_file_its_rollback_and_each_statement_its_trace(
    sample: Path, capsys: pytest.CaptureFixture[str], scratch_bookkeeping: ScratchBookkeeping
) -> None:
    created = Created(scratch_bookkeeping)
    code, out, _ = run(capsys, "check", "--prove", "--format", "json", "migrations")

    assert code == 1  # the sample's findings, not the proof
    files = by_migration(json.loads(out))
    assert len(files) == 11
    for file in files.values():
        assert set(file["rollback"]) == {"status", "sql", "reason", "notes"}
        assert isinstance(file["rollback"]["notes"], list)
    statuses = {tag: file["rollback"]["status"] for tag, file in files.items()}
    assert {tag for tag, status in statuses.items() if status != "verified"} == {
        "0007_drop_todo_done",
        "0010_backfill_todo_status",
    }
    assert statuses["0007_drop_todo_done"] == statuses["0010_backfill_todo_status"] == "irreversible"
    dropped = files["0007_drop_todo_done"]["rollback"]
    assert dropped["reason"] == "column todo.done is dropped: its values are lost"
    assert dropped["sql"] == "ALTER TABLE public.todo ADD COLUMN done boolean DEFAULT false NOT NULL;\n"
    assert any("PostgreSQL adds a column last" in note for note in dropped["notes"])
    assert files["0010_backfill_todo_status"]["rollback"]["reason"].startswith(
        "UPDATE at line 2 changes rows of todo that existed before"
    )
    renamed = files["0008_rename_user_bio_to_about"]["rollback"]
    assert (renamed["sql"], renamed["reason"], renamed["notes"]) == (RENAME_BACK, None, [])
    # per statement: what PostgreSQL did, in the shapes of the prediction
    (index, _) = files["0004_add_todo_indexes"]["statements"]
    assert index["locks"] == index["traced_locks"] == [{"relation": "todo", "mode": "SHARE"}]
    assert index["traced_rewrites"] == [] and index["trace_contradictions"] == []
    (retype,) = files["0006_todo_title_varchar"]["statements"]
    assert retype["rewrites"] == retype["traced_rewrites"] == ["todo"]
    assert {"relation": "todo", "mode": "ACCESS EXCLUSIVE"} in retype["traced_locks"]
    for file in files.values():
        for statement in file["statements"]:
            assert statement["trace_contradictions"] == [], (file["migration"], statement["line"])
            for lock in statement["traced_locks"]:
                assert set(lock) == {"relation", "mode"}
    # one clone for the folder, dropped; the template of the empty base kept
    assert len(created.since()) == 1 and scratch_bookkeeping.existing(created.since()) == set()


def test_check_prove_text_and_markdown_show_the_rollback(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text, _ = run(capsys, "check", "--prove", "migrations")
    assert code == 1
    assert (
        "migrations/0008_rename_user_bio_to_about.sql: rollback verified\n    " + RENAME_BACK
    ) in text
    assert (
        "migrations/0007_drop_todo_done.sql: rollback irreversible: column todo.done is dropped: its values are lost\n"
        "    note: columns of todo end in the order"
    ) in text

    code, markdown, _ = run(capsys, "check", "--prove", "--format", "markdown", "migrations")
    assert code == 1
    assert "| traced in a scratch database |" in markdown
    section = markdown[markdown.index("### `migrations/0008_rename_user_bio_to_about.sql`"):]
    section = section[: section.index("### ", 4)]
    assert "**Rollback**: ✅ verified" in section
    assert f"<details><summary>Rollback SQL</summary>\n\n```sql\n{RENAME_BACK}```\n\n</details>" in section


def test_check_without_prove_stays_static(
    sample: Path, capsys: pytest.CaptureFixture[str], scratch_bookkeeping: ScratchBookkeeping
) -> None:
    created = Created(scratch_bookkeeping)
    code, out, _ = run(capsys, "check", "--format", "json", "migrations")

    assert code == 1
    for file in json.loads(out)["files"]:
        assert file["rollback"] is None
        for statement in file["statements"]:
            assert (statement["traced_locks"], statement["traced_rewrites"], statement["trace_contradictions"]) == (
                None,
                None,
                None,
            )
    code, text, _ = run(capsys, "check", "migrations")
    assert "rollback" not in text
    # no scratch server was opened at all: not even a login role was registered
    assert created.since("database") == created.since("template") == created.since("role") == []


def test_loose_sql_files_are_not_proven(
    workdir: Path, capsys: pytest.CaptureFixture[str], scratch_bookkeeping: ScratchBookkeeping
) -> None:
    (workdir / "loose.sql").write_text('ALTER TABLE "t" ADD COLUMN "c" text;\n')
    created = Created(scratch_bookkeeping)

    code, out, err = run(capsys, "check", "--prove", "--format", "json", "loose.sql")

    assert code == 0
    assert "loose.sql: not a drizzle migrations folder, so not proven" in err
    (file,) = json.loads(out)["files"]
    assert file["rollback"] is None and file["statements"][0]["traced_locks"] is None
    assert "SW611" not in {f["code"] for f in file["findings"]}  # not run on an empty database
    assert created.since() == []


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)


def test_check_prove_base_proves_only_what_the_branch_adds_on_the_bases_set(
    workdir: Path, capsys: pytest.CaptureFixture[str], scratch_bookkeeping: ScratchBookkeeping
) -> None:
    base = [
        ("0000_users", 'CREATE TABLE "users" ("id" integer PRIMARY KEY, "name" text);'),
        ("0001_users_email", 'ALTER TABLE "users" ADD COLUMN "email" text;'),
    ]
    git(workdir, "init", "-q", "-b", "main")
    write_journal_folder(workdir / "migrations", base)
    git(workdir, "add", ".")
    git(workdir, "commit", "-q", "-m", "base")
    write_journal_folder(workdir / "migrations", [*base, ("0002_drop_name", 'ALTER TABLE "users" DROP COLUMN "name";')])
    created = Created(scratch_bookkeeping)

    code, out, _ = run(capsys, "check", "--prove", "--base", "main", "--format", "json", "migrations")

    assert code == 1  # SW302 drop-column
    (file,) = json.loads(out)["files"]
    assert file["migration"] == "0002_drop_name"
    assert file["rollback"]["status"] == "irreversible"
    assert file["rollback"]["reason"] == "column users.name is dropped: its values are lost"
    assert file["rollback"]["sql"] == "ALTER TABLE public.users ADD COLUMN name text;\n"
    assert file["statements"][0]["traced_locks"] == [{"relation": "users", "mode": "ACCESS EXCLUSIVE"}]
    # the schema before is the base's two migrations, replayed into a template of their own
    (built,) = created.since("template")
    hashes = [m.hash for m in load_migration_set(workdir / "migrations").migrations[:2]]
    with psycopg.connect(scratch_bookkeeping.url) as conn:
        (key,) = conn.execute("SELECT template_key FROM public.sw_test_seen WHERE name = %s", (built,)).fetchone()
        assert key == template_key(hashes, conn.info.server_version // 10000)
    # the next proof on the same base clones that template: nothing is replayed
    again = Created(scratch_bookkeeping)
    assert run(capsys, "check", "--prove", "--base", "main", "--format", "json", "migrations")[0] == 1
    assert again.since("template") == [] and len(again.since()) == 1
    assert scratch_bookkeeping.existing([built]) == {built}


def test_a_statement_run_outside_a_transaction_has_no_traced_locks(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_journal_folder(workdir / "migrations", [
        ("0000_users", 'CREATE TABLE "users" ("id" integer PRIMARY KEY, "name" text);'),
        ("0001_index", 'ALTER TABLE "users" ADD COLUMN "email" text;\n--> statement-breakpoint\n'
                       'CREATE INDEX CONCURRENTLY "users_email_idx" ON "users" ("email");'),
    ])

    code, out, _ = run(capsys, "check", "--prove", "--format", "json", "migrations")

    assert code == 1  # SW602: drizzle's migrator runs a migration in a transaction, CONCURRENTLY fails there
    index = by_migration(json.loads(out))["0001_index"]
    assert index["rollback"]["status"] == "verified", index["rollback"]
    add, concurrently = index["statements"]
    assert add["traced_locks"] == [{"relation": "users", "mode": "ACCESS EXCLUSIVE"}]
    # its locks ended with its own transaction: not known, which is not "none"
    assert (concurrently["traced_locks"], concurrently["traced_rewrites"]) == (None, [])
    assert concurrently["trace_contradictions"] == []


def test_a_scratch_url_leading_to_an_environments_database_is_refused(
    sample: Path, capsys: pytest.CaptureFixture[str], scratch_bookkeeping: ScratchBookkeeping,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCHEMAWARDEN_ENV_STAGING_URL", scratch_bookkeeping.url)
    created = Created(scratch_bookkeeping)

    for args in (["check", "--prove", "migrations"], ["rollback-sql", "0001_add_user_bio"],
                 ["revert", "--to", "0001_add_user_bio", "--write"]):
        code, out, err = run(capsys, *args, *(["--migrations", "migrations"] if args[0] != "check" else []))
        assert code == 2, args
        assert "the scratch server's URL leads to the database of environment 'staging'" in err
        assert "Point SCHEMAWARDEN_SCRATCH_URL at a database no environment uses" in err
        assert scratch_bookkeeping.url not in err and out == ""
    assert created.since("role") == created.since() == []
    assert files_of(sample) == files_of(SAMPLE_MIGRATIONS)


# -- rollback-sql -------------------------------------------------------------------------------------


def test_rollback_sql_exits_0_for_a_verified_rollback_and_prints_a_script(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "rollback-sql", "0008_rename_user_bio_to_about", "--migrations", "migrations")

    assert code == 0
    assert out == (
        "-- schemawarden: rollback of 0008_rename_user_bio_to_about: verified (run in a scratch database; the "
        "schema came back exactly)\n" + RENAME_BACK
    )
    code, out, _ = run(
        capsys, "rollback-sql", "0008_rename_user_bio_to_about", "--migrations", "migrations", "--format", "json"
    )
    assert code == 0
    assert json.loads(out) == {
        "migration": "0008_rename_user_bio_to_about",
        "rollback": {"status": "verified", "sql": RENAME_BACK, "reason": None, "notes": []},
    }


def test_rollback_sql_exits_1_for_an_irreversible_rollback_and_still_prints_the_sql(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "rollback-sql", "0007_drop_todo_done", "--migrations", "migrations")

    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "-- schemawarden: rollback of 0007_drop_todo_done: irreversible"
    assert lines[1] == "-- column todo.done is dropped: its values are lost"
    assert lines[2].startswith("-- note: columns of todo end in the order")
    assert lines[3:] == ["ALTER TABLE public.todo ADD COLUMN done boolean DEFAULT false NOT NULL;"]


def test_rollback_sql_exits_1_when_the_migration_does_not_apply(
    workdir: Path, capsys: pytest.CaptureFixture[str], scratch_bookkeeping: ScratchBookkeeping
) -> None:
    write_journal_folder(workdir / "migrations", [
        ("0000_t", 'CREATE TABLE "t" ("id" integer);'),
        ("0001_bad", 'ALTER TABLE "t" ADD COLUMN "id" text;'),
    ])
    created = Created(scratch_bookkeeping)

    code, out, _ = run(capsys, "rollback-sql", "0001_bad", "--migrations", "migrations")

    assert code == 1
    assert out.startswith("-- schemawarden: rollback of 0001_bad: failed\n-- the migration does not apply on the "
                          "schema before it: ")
    assert 'column "id" of relation "t" already exists (SQLSTATE 42701)' in out
    assert "-- (no SQL: there is nothing to undo in the schema)" in out
    assert scratch_bookkeeping.existing(created.since()) == set() and len(created.since()) == 1


SWAP = (
    'ALTER TABLE "t" RENAME COLUMN "a" TO "tmp";\n--> statement-breakpoint\n'
    'ALTER TABLE "t" RENAME COLUMN "b" TO "a";\n--> statement-breakpoint\n'
    'ALTER TABLE "t" RENAME COLUMN "tmp" TO "b";'
)


def test_a_rollback_that_did_not_prove_is_printed_commented_out_and_is_a_finding(
    workdir: Path, capsys: pytest.CaptureFixture[str], scratch_bookkeeping: ScratchBookkeeping
) -> None:
    """Names exchanged between two columns: a rollback matching columns by name would move each
    one's data under the other's name and drop a constraint on the wrong data. Its SQL must not be
    runnable from any output, and the proof's failure must reach the verdict (SW612)."""
    write_journal_folder(workdir / "migrations", [
        ("0000_t", 'CREATE TABLE "t" ("id" integer PRIMARY KEY, "a" text NOT NULL, "b" integer UNIQUE);'),
        ("0001_swap", SWAP),
    ])

    code, out, _ = run(capsys, "rollback-sql", "0001_swap", "--migrations", "migrations")
    assert code == 1
    assert out.startswith("-- schemawarden: rollback of 0001_swap: failed\n-- the rollback cannot follow names")
    assert "ALTER TABLE" in out  # still shown, for diagnosis
    with psycopg.connect(scratch_bookkeeping.url, autocommit=True) as conn:  # as psql would run it: nothing
        assert conn.execute(out).statusmessage is None  # type: ignore[arg-type]
    assert all(line.startswith("--") for line in out.splitlines() if line.strip())

    code, out, _ = run(capsys, "check", "--prove", "--format", "json", "migrations")
    swap = by_migration(json.loads(out))["0001_swap"]
    assert swap["rollback"]["status"] == "failed" and "ALTER TABLE" in swap["rollback"]["sql"]
    (finding,) = [f for f in swap["findings"] if f["code"] == "SW612"]
    assert finding["severity"] == "warning" and "columns t.a and t.b exchange names" in finding["message"]
    assert not [f for f in swap["findings"] if f["code"] == "SW611"]

    code, out, _ = run(capsys, "check", "--prove", "--format", "markdown", "migrations")
    assert "Rollback SQL that did not prove (do not run)" in out
    fenced = out.split("Rollback SQL that did not prove (do not run)", 1)[1].split("```sql\n", 1)[1].split("```", 1)[0]
    assert all(line.startswith("--") for line in fenced.splitlines() if line.strip())


@pytest.mark.parametrize("command", ["rollback-sql", "revert"])
def test_an_unknown_tag_is_a_usage_error_naming_what_to_pass(
    sample: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    args = ["0099_nope"] if command == "rollback-sql" else ["--to", "0099_nope"]

    code, out, err = run(capsys, command, *args, "--migrations", "migrations")

    assert (code, out) == (2, "")
    assert "'0099_nope' is not a migration of" in err
    assert "0010_backfill_todo_status" in err  # the latest tags, to pick from
    assert "pass a journal tag or a 1.x folder name" in err


@pytest.mark.parametrize("command", ["rollback-sql", "revert"])
def test_a_missing_folder_is_a_usage_error_naming_the_option(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    args = ["0000_init"] if command == "rollback-sql" else ["--to", "0000_init"]

    code, out, err = run(capsys, command, *args, "--migrations", "nowhere")

    assert (code, out) == (2, "")
    assert "nowhere: no such migrations folder; pass --migrations PATH or set [migrations] folder" in err


def test_a_folder_that_is_no_migration_set_is_a_usage_error_naming_the_fix(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "migrations").mkdir()
    (workdir / "migrations" / "0000_x.sql").write_text("SELECT 1;")

    code, out, err = run(capsys, "rollback-sql", "0000_x", "--migrations", "migrations")

    assert (code, out) == (2, "")
    assert err == (
        "schemawarden: migrations/meta/_journal.json: SQL files found but no drizzle journal. Restore "
        "meta/_journal.json from git, or regenerate the folder with `drizzle-kit generate`\n"
    )


# -- revert -------------------------------------------------------------------------------------------


def test_revert_write_adds_a_proven_migration_in_the_journal_layout(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_of(sample)

    code, out, err = run(capsys, "revert", "--to", "0007_drop_todo_done", "--migrations", "migrations", "--write")

    assert code == 0  # it drops data written since, which is what was asked: said, not a failure
    assert out.startswith(
        "-- schemawarden: revert to 0007_drop_todo_done (undoes 0008_rename_user_bio_to_about, "
        "0009_add_organization, 0010_backfill_todo_status): irreversible\n"
        "-- it drops data written since 0007_drop_todo_done: table organization is dropped"
    )
    assert "schemawarden: wrote migrations/0011_revert_to_0007_drop_todo_done.sql and its snapshot" in err
    after = files_of(sample)
    assert sorted(set(after) - set(before)) == ["0011_revert_to_0007_drop_todo_done.sql", "meta/0011_snapshot.json"]
    assert [p for p in before if before[p] != after[p]] == ["meta/_journal.json"]
    written = after["0011_revert_to_0007_drop_todo_done.sql"].decode()
    assert written == (
        'ALTER TABLE public."user" RENAME COLUMN about TO bio;--> statement-breakpoint\nDROP TABLE public.organization;'
    )
    reread = load_migration_set(sample)
    assert reread.migrations[-1].tag == "0011_revert_to_0007_drop_todo_done"

    # the folder with it is a history drizzle's order accepts, and the revert proves as a migration
    code, out, _ = run(capsys, "rollback-sql", "0011_revert_to_0007_drop_todo_done", "--migrations", "migrations")
    assert code == 1 and out.startswith(
        "-- schemawarden: rollback of 0011_revert_to_0007_drop_todo_done: irreversible\n"
        "-- table organization is dropped: its rows are lost\n"
    )
    assert 'ALTER TABLE public."user" RENAME COLUMN bio TO about;' in out


def test_revert_write_adds_a_folder_in_the_1x_layout(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = Path(shutil.copytree(SAMPLE_1X, workdir / "migrations"))
    before = files_of(folder)

    code, out, err = run(capsys, "revert", "--to", "20261124011841_init", "--migrations", "migrations", "--write")

    assert code == 0, err
    assert 'ALTER TABLE public."user" DROP COLUMN bio;' in out
    new = sorted(set(files_of(folder)) - set(before))
    assert len(new) == 2
    directory = new[0].split("/")[0]
    stamp, _, name = directory.partition("_")
    assert name == "revert_to_20261124011841_init" and len(stamp) == 14 and stamp.isdigit()
    assert new == [f"{directory}/migration.sql", f"{directory}/snapshot.json"]
    assert (folder / directory / "migration.sql").read_text() == 'ALTER TABLE public."user" DROP COLUMN bio;'
    reread = load_migration_set(folder)
    assert reread.migrations[-1].tag == directory and reread.migrations[-1].layout is Layout.DRIZZLE_1


def test_revert_writes_nothing_when_its_proof_fails(
    workdir: Path, capsys: pytest.CaptureFixture[str], scratch_bookkeeping: ScratchBookkeeping
) -> None:
    folder = write_journal_folder(workdir / "migrations", [
        ("0000_t", 'CREATE TABLE "t" ("n" integer);'),
        ("0001_text", 'ALTER TABLE "t" ALTER COLUMN "n" SET DATA TYPE text;'),
        ("0002_row", "INSERT INTO \"t\" VALUES ('not a number');"),
    ])
    before = files_of(folder)
    created = Created(scratch_bookkeeping)

    code, out, err = run(capsys, "revert", "--to", "0000_t", "--migrations", "migrations", "--write")

    assert code == 1
    assert out.startswith("-- schemawarden: revert to 0000_t (undoes 0001_text, 0002_row): failed\n"
                          "-- the revert does not run on the head schema: ")
    assert "schemawarden: not written: the revert's proof failed" in err
    assert files_of(folder) == before
    assert scratch_bookkeeping.existing(created.since()) == set()


def test_revert_to_the_latest_migration_is_a_usage_error(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = files_of(sample)

    code, _, err = run(capsys, "revert", "--to", "0010_backfill_todo_status", "--migrations", "migrations", "--write")

    assert code == 2
    assert "0010_backfill_todo_status is the latest migration: there is nothing after it to revert" in err
    assert files_of(sample) == before


@pytest.mark.parametrize(("command", "said"), [
    (["revert", "--to", "0000_t"], "the migrations up to the head do not replay"),
    (["rollback-sql", "0002_more"], "the migrations before 0002_more do not replay"),
])
def test_a_set_that_does_not_replay_says_what_was_built_and_why(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: list[str], said: str
) -> None:
    """Supabase's `auth` schema, which the environments have and a scratch database does not."""
    write_journal_folder(workdir / "migrations", [
        ("0000_t", 'CREATE TABLE "t" ("id" integer);'),
        ("0001_policy", 'CREATE POLICY "own" ON "t" FOR SELECT USING (auth.uid() IS NOT NULL);'),
        ("0002_more", 'ALTER TABLE "t" ADD COLUMN "x" integer;'),
    ])
    code, out, err = run(capsys, *command, "--migrations", "migrations")
    assert code == 1 and out == ""
    assert f"{said} in a scratch database, so nothing can be proven: 0001_policy.sql line 1:" in err
    assert '. Schema "auth" is created by no migration: the environments provide it' in err
