"""schemawarden and drizzle-orm's own migrator agree on what is applied, row for row.

Each test runs the real drizzle-orm (installed from npm by `drizzle_harness`) and the real
`schemawarden` command against the same real PostgreSQL: whichever tool applies a folder first,
the other must see nothing left to do, and both must write the same history rows. Deselected by
default; run with `pytest -m interop` (the tests over ../shared/drizzle-histories are also marked
`shared`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from drizzle_harness import (
    V0,
    V1,
    CliResult,
    DrizzleHarness,
    MigrateResult,
    history_columns,
    missing_extensions,
    read_history,
    run_schemawarden,
    write_journal_folder,
)

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "reconciler" / "sample"
SAMPLE_0X = SAMPLE / "migrations"
SAMPLE_029 = SAMPLE / "extras" / "kit-0.29.1" / "migrations"
SAMPLE_1X = SAMPLE / "extras" / "kit-1.0.0-rc.5-fresh" / "migrations"
SHARED_HISTORIES = ["dokploy", "kan", "trigger-dashboard-agent", "nextjs-boilerplate"]
JOURNAL_LAYOUT_SAMPLES = [
    pytest.param(SAMPLE_0X, id="kit-0.31.11"),
    pytest.param(SAMPLE_029, id="kit-0.29.1"),
]


@pytest.fixture(scope="session")
def drizzle() -> DrizzleHarness:
    """drizzle-orm 0.45 (journal layout), installed once per lock file."""
    V0.install()
    return V0


@pytest.fixture(scope="session")
def drizzle_v1() -> DrizzleHarness:
    """drizzle-orm 1.0 release candidate: the migrator that reads the folder-per-migration layout."""
    V1.install()
    return V1


def sw(command: str, url: str, migrations: Path, cwd: Path, *extra: str) -> CliResult:
    """`schemawarden COMMAND --env staging --migrations M` with no configuration file."""
    args = [command, "--env", "staging", "--migrations", str(migrations), *extra]
    return run_schemawarden(args, env_urls={"staging": url}, cwd=cwd)


def sw_ok(command: str, url: str, migrations: Path, cwd: Path, *extra: str) -> CliResult:
    result = sw(command, url, migrations, cwd, *extra)
    assert result.returncode == 0, result.describe()
    return result


def dz_ok(
    harness: DrizzleHarness, url: str, migrations: Path, schema: str | None = None, table: str | None = None
) -> MigrateResult:
    result = harness.migrate(url, migrations, schema=schema, table=table)
    assert result.ok, f"{harness.label} failed on {migrations}:\n{result.stderr}"
    return result


def pending_tags(plan_doc: Any) -> list[str]:
    """Tags listed as pending in `schemawarden plan --format json`."""
    return [str(item["tag"]) for item in plan_doc["pending"]]


def assert_nothing_pending(url: str, migrations: Path, cwd: Path) -> None:
    """schemawarden's plan shows no pending migration and no problem."""
    result = sw_ok("plan", url, migrations, cwd, "--format", "json")
    assert pending_tags(result.json()) == [], result.describe()
    assert result.json()["problems"] == [], result.describe()


def journal(migrations: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((migrations / "meta" / "_journal.json").read_text())["entries"]
    return entries


def core(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The columns drizzle 0.x writes, in id order."""
    return [(r["id"], r["hash"], r["created_at"]) for r in rows]


def journal_prefix(source: Path, target: Path, count: int) -> Path:
    """A copy of a journal-layout folder holding only its first `count` migrations."""
    entries = journal(source)[:count]
    write_journal_folder(
        target, [(e["tag"], (source / f"{e['tag']}.sql").read_bytes().decode(), e["when"]) for e in entries]
    )
    for e in entries:  # byte-exact copies: the hash is over the file's bytes
        shutil.copy2(source / f"{e['tag']}.sql", target / f"{e['tag']}.sql")
    return target


# --- (a) schemawarden first, then drizzle applies nothing -------------------------------------


@pytest.mark.parametrize("migrations", JOURNAL_LAYOUT_SAMPLES)
def test_drizzle_applies_nothing_after_schemawarden(
    drizzle: DrizzleHarness, database_url: str, migrations: Path, tmp_path: Path
) -> None:
    sw_ok("apply", database_url, migrations, tmp_path)
    before = read_history(database_url)
    assert len(before) == len(journal(migrations))

    dz_ok(drizzle, database_url, migrations)

    assert read_history(database_url) == before


# --- (b) drizzle first, then schemawarden plans nothing and apply is a no-op -------------------


@pytest.mark.parametrize("migrations", JOURNAL_LAYOUT_SAMPLES)
def test_schemawarden_plans_nothing_after_drizzle(
    drizzle: DrizzleHarness, database_url: str, migrations: Path, tmp_path: Path
) -> None:
    dz_ok(drizzle, database_url, migrations)
    before = read_history(database_url)

    assert_nothing_pending(database_url, migrations, tmp_path)
    sw_ok("apply", database_url, migrations, tmp_path)

    assert read_history(database_url) == before


# --- (c) the same files applied separately: identical rows and an identical table --------------


@pytest.mark.parametrize("migrations", JOURNAL_LAYOUT_SAMPLES)
def test_history_rows_match_drizzle_column_by_column(
    drizzle: DrizzleHarness, database_url: str, other_database_url: str, migrations: Path, tmp_path: Path
) -> None:
    sw_ok("apply", database_url, migrations, tmp_path)
    dz_ok(drizzle, other_database_url, migrations)

    ours, theirs = read_history(database_url), read_history(other_database_url)
    assert [list(r) for r in ours] == [list(r) for r in theirs]  # same columns, same order
    assert core(ours) == core(theirs)
    assert history_columns(database_url) == history_columns(other_database_url)


@pytest.mark.parametrize(
    ("schema", "table"),
    [("app_meta", "migrations_log"), ("AppMeta", "Migrations Log")],  # drizzle quotes both names
)
def test_custom_history_schema_and_table_match_drizzle(
    drizzle: DrizzleHarness,
    database_url: str,
    other_database_url: str,
    schema: str,
    table: str,
    tmp_path: Path,
) -> None:
    """drizzle's migrationsSchema/migrationsTable and schemawarden's history_schema/history_table agree."""
    (tmp_path / "schemawarden.toml").write_text(
        f'[environments.staging]\ngate = "auto"\nhistory_schema = "{schema}"\nhistory_table = "{table}"\n'
    )
    sw_ok("apply", database_url, SAMPLE_0X, tmp_path)
    dz_ok(drizzle, other_database_url, SAMPLE_0X, schema=schema, table=table)

    ours = read_history(database_url, schema, table)
    assert core(ours) == core(read_history(other_database_url, schema, table))
    assert history_columns(database_url, schema, table) == history_columns(other_database_url, schema, table)
    dz_ok(drizzle, database_url, SAMPLE_0X, schema=schema, table=table)
    assert read_history(database_url, schema, table) == ours
    assert_nothing_pending(other_database_url, SAMPLE_0X, tmp_path)


# --- mixed use: each tool continues where the other stopped ------------------------------------


def test_drizzle_continues_where_schemawarden_stopped(
    drizzle: DrizzleHarness, database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    tags = [e["tag"] for e in journal(SAMPLE_0X)]
    sw_ok("apply", database_url, SAMPLE_0X, tmp_path, "--to", tags[4])
    assert len(read_history(database_url)) == 5

    dz_ok(drizzle, database_url, SAMPLE_0X)
    dz_ok(drizzle, other_database_url, SAMPLE_0X)

    assert core(read_history(database_url)) == core(read_history(other_database_url))


def test_schemawarden_continues_where_drizzle_stopped(
    drizzle: DrizzleHarness, database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    prefix = journal_prefix(SAMPLE_0X, tmp_path / "prefix", 6)
    dz_ok(drizzle, database_url, prefix)

    plan = sw_ok("plan", database_url, SAMPLE_0X, tmp_path, "--format", "json")
    assert pending_tags(plan.json()) == [e["tag"] for e in journal(SAMPLE_0X)[6:]], plan.describe()
    sw_ok("apply", database_url, SAMPLE_0X, tmp_path)
    dz_ok(drizzle, other_database_url, SAMPLE_0X)

    assert core(read_history(database_url)) == core(read_history(other_database_url))


# --- what drizzle gets wrong silently, schemawarden reports ------------------------------------


def test_late_merged_migration_drizzle_skips_schemawarden_reports(
    drizzle: DrizzleHarness, database_url: str, tmp_path: Path
) -> None:
    """A migration merged after a newer one was applied: drizzle skips it forever, without a word."""
    folder = tmp_path / "migrations"
    first = ("0000_first", 'CREATE TABLE "a" ("id" integer PRIMARY KEY);', 1_700_000_000_000)
    late = ("0001_from_old_branch", 'CREATE TABLE "late" ("id" integer PRIMARY KEY);', 1_700_000_000_500)
    newer = ("0002_newer", 'CREATE TABLE "b" ("id" integer PRIMARY KEY);', 1_700_000_001_000)
    write_journal_folder(folder, [first, newer])
    dz_ok(drizzle, database_url, folder)
    write_journal_folder(folder, [first, late, newer])

    dz_ok(drizzle, database_url, folder)
    assert len(read_history(database_url)) == 2  # drizzle applied nothing and said nothing

    plan = sw("plan", database_url, folder, tmp_path)
    assert plan.returncode == 1, plan.describe()
    assert "0001_from_old_branch" in plan.stdout + plan.stderr
    assert "out-of-order" in (plan.stdout + plan.stderr).lower(), plan.describe()


def test_edited_applied_migration_drizzle_ignores_schemawarden_reports(
    drizzle: DrizzleHarness, database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    entry = ("0000_first", 'CREATE TABLE "a" ("id" integer PRIMARY KEY);', 1_700_000_000_000)
    write_journal_folder(folder, [entry])
    dz_ok(drizzle, database_url, folder)
    write_journal_folder(folder, [(entry[0], entry[1].replace('"a"', '"a2"'), entry[2])])

    dz_ok(drizzle, database_url, folder)  # the stored hash is never compared

    plan = sw("plan", database_url, folder, tmp_path)
    assert plan.returncode == 1, plan.describe()
    assert "0000_first" in plan.stdout + plan.stderr
    assert "tampered" in (plan.stdout + plan.stderr).lower(), plan.describe()


# --- (d) the shared real-world histories --------------------------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize("name", SHARED_HISTORIES)
def test_shared_history_interop(
    drizzle: DrizzleHarness,
    database_url: str,
    other_database_url: str,
    shared_dir: Path,
    name: str,
    tmp_path: Path,
) -> None:
    folder = journal_only(shared_dir / "drizzle-histories" / name, tmp_path / name)
    missing = missing_extensions(database_url, folder)
    if missing:
        pytest.skip(
            f"{name} needs extension(s) {', '.join(missing)}, not available on this server "
            "(the embedded server has contrib but not uuid-ossp or pgcrypto): set SCHEMAWARDEN_TEST_DATABASE_URL "
            "to a full PostgreSQL"
        )
    sw_ok("apply", database_url, folder, tmp_path)
    ours = read_history(database_url)
    dz_ok(drizzle, database_url, folder)
    assert read_history(database_url) == ours  # drizzle applied nothing

    dz_ok(drizzle, other_database_url, folder)
    assert core(ours) == core(read_history(other_database_url))
    assert_nothing_pending(other_database_url, folder, tmp_path)
    theirs = read_history(other_database_url)
    sw_ok("apply", other_database_url, folder, tmp_path)
    assert read_history(other_database_url) == theirs


@pytest.mark.shared
def test_shared_midday_refused_by_schemawarden(
    drizzle: DrizzleHarness, database_url: str, other_database_url: str, shared_dir: Path, tmp_path: Path
) -> None:
    """midday's folder is malformed (SQL files outside its journal, a journal entry without a file)."""
    folder = shared_dir / "drizzle-histories" / "midday"
    result = sw("apply", database_url, folder, tmp_path)
    assert result.returncode in (1, 2), result.describe()
    named = {p.name for p in folder.glob("*.sql")} | {f"{e['tag']}.sql" for e in journal(folder)}
    assert any(n in result.stderr + result.stdout for n in named), result.describe()
    with_table = [r for r in _tables(database_url) if r != "schemawarden"]
    assert with_table == [], f"nothing may be created in the environment, found schemas {with_table}"

    theirs = drizzle.migrate(other_database_url, folder)  # informative: what drizzle does with it
    print(f"drizzle-orm on midday: exit {theirs.returncode}: {(theirs.stderr or theirs.stdout).strip()}")


def _tables(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT table_schema FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


def journal_only(source: Path, target: Path) -> Path:
    """A copy of a journal-layout folder with only the SQL files that its journal lists."""
    (target / "meta").mkdir(parents=True)
    shutil.copy2(source / "meta" / "_journal.json", target / "meta" / "_journal.json")
    for e in journal(source):
        shutil.copy2(source / f"{e['tag']}.sql", target / f"{e['tag']}.sql")
    return target


# --- (e) the drizzle-kit 1.x layout with drizzle-orm 1.0's migrator -----------------------------


def test_v1_drizzle_applies_nothing_after_schemawarden(
    drizzle_v1: DrizzleHarness, database_url: str, tmp_path: Path
) -> None:
    sw_ok("apply", database_url, SAMPLE_1X, tmp_path)
    before = read_history(database_url)
    assert [r["name"] for r in before] == sorted(p.name for p in SAMPLE_1X.iterdir() if p.is_dir())

    dz_ok(drizzle_v1, database_url, SAMPLE_1X)

    assert read_history(database_url) == before


def test_v1_schemawarden_plans_nothing_after_drizzle(
    drizzle_v1: DrizzleHarness, database_url: str, tmp_path: Path
) -> None:
    dz_ok(drizzle_v1, database_url, SAMPLE_1X)
    before = read_history(database_url)

    assert_nothing_pending(database_url, SAMPLE_1X, tmp_path)
    sw_ok("apply", database_url, SAMPLE_1X, tmp_path)

    assert read_history(database_url) == before


def test_v1_history_rows_match_drizzle_column_by_column(
    drizzle_v1: DrizzleHarness, database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    sw_ok("apply", database_url, SAMPLE_1X, tmp_path)
    dz_ok(drizzle_v1, other_database_url, SAMPLE_1X)

    ours, theirs = read_history(database_url), read_history(other_database_url)
    assert list(ours[0]) == ["id", "hash", "created_at", "name", "applied_at"]
    assert [list(r) for r in ours] == [list(r) for r in theirs]
    assert [(r["id"], r["hash"], r["created_at"], r["name"]) for r in ours] == [
        (r["id"], r["hash"], r["created_at"], r["name"]) for r in theirs
    ]
    assert all(r["applied_at"] is not None for r in ours + theirs)  # apply time, set by DEFAULT now()
    assert history_columns(database_url) == history_columns(other_database_url)


def test_v1_drizzle_rejects_journal_layout_schemawarden_reads_both(
    drizzle_v1: DrizzleHarness, database_url: str, tmp_path: Path
) -> None:
    """drizzle-orm 1.0 refuses a 0.x folder ("run drizzle-kit up"); schemawarden never requires it."""
    refused = drizzle_v1.migrate(database_url, SAMPLE_0X)
    assert not refused.ok and "drizzle-kit up" in refused.stderr
    sw_ok("apply", database_url, SAMPLE_0X, tmp_path)
    assert len(read_history(database_url)) == len(journal(SAMPLE_0X))


# --- file contents drizzle reads in ways that are easy to get wrong ------------------------------


def _write_raw(folder: Path, entries: list[tuple[str, bytes, int]], breakpoints: bool = True) -> Path:
    """A journal-layout folder whose SQL files hold exactly these bytes."""
    (folder / "meta").mkdir(parents=True, exist_ok=True)
    journal_doc = {
        "version": "7",
        "dialect": "postgresql",
        "entries": [
            {"idx": i, "version": "7", "when": when, "tag": tag, "breakpoints": breakpoints}
            for i, (tag, _, when) in enumerate(entries)
        ],
    }
    (folder / "meta" / "_journal.json").write_text(json.dumps(journal_doc, indent=2))
    for tag, data, _ in entries:
        (folder / f"{tag}.sql").write_bytes(data)
    return folder


ODD_BYTES = [
    (
        "0000_crlf",
        b'CREATE TABLE "crlf" (\r\n\t"id" integer PRIMARY KEY\r\n);\r\n--> statement-breakpoint\r\n'
        b'ALTER TABLE "crlf" ADD COLUMN "n" text;\r\n',
        1_700_000_000_000,
    ),
    (
        "0001_utf8",
        '-- données: naïve café, emoji \U0001f600\nCREATE TABLE "utf8" ("libellé" text DEFAULT \'été\');\n'.encode(),
        1_700_000_001_000,
    ),
    (
        "0002_trailing_breakpoint",
        b'CREATE TABLE "tb" ("id" integer);\n--> statement-breakpoint\n',
        1_700_000_002_000,
    ),
]

NOTHING_TO_RUN = [
    ("0000_first", b'CREATE TABLE "a" ("id" integer PRIMARY KEY);\n', 1_700_000_000_000),
    # what `drizzle-kit generate --custom` writes, left unedited
    ("0001_custom_left_empty", b"-- Custom SQL migration file, put your code below! --", 1_700_000_001_000),
    ("0002_empty", b"", 1_700_000_002_000),
    ("0003_after", b'CREATE TABLE "b" ("id" integer PRIMARY KEY);\n', 1_700_000_003_000),
]


def _applied_by_both_alike(
    drizzle: DrizzleHarness, database_url: str, other_database_url: str, folder: Path, cwd: Path
) -> None:
    sw_ok("apply", database_url, folder, cwd)
    dz_ok(drizzle, other_database_url, folder)

    ours = read_history(database_url)
    assert core(ours) == core(read_history(other_database_url))
    dz_ok(drizzle, database_url, folder)
    assert read_history(database_url) == ours
    assert_nothing_pending(database_url, folder, cwd)
    assert_nothing_pending(other_database_url, folder, cwd)


def test_crlf_utf8_and_trailing_breakpoint_hash_like_drizzle(
    drizzle: DrizzleHarness, database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    """The hash is over the file's bytes: CRLF and multi-byte UTF-8 must survive as drizzle reads them."""
    folder = _write_raw(tmp_path / "migrations", ODD_BYTES)
    _applied_by_both_alike(drizzle, database_url, other_database_url, folder, tmp_path)


def test_migrations_with_nothing_to_run_are_recorded_like_drizzle(
    drizzle: DrizzleHarness, database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    """An empty or comment-only file is still a migration: drizzle writes its history row."""
    folder = _write_raw(tmp_path / "migrations", NOTHING_TO_RUN)
    _applied_by_both_alike(drizzle, database_url, other_database_url, folder, tmp_path)


def test_breakpoints_false_multi_statement_file(
    drizzle: DrizzleHarness, database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    """Old drizzle-kit journals say `breakpoints: false`: one chunk holding several statements."""
    body = (
        b'CREATE TABLE "nb" ("id" integer PRIMARY KEY, "v" text);\n'
        b'CREATE INDEX "nb_v_idx" ON "nb" ("v");\n'
        b"INSERT INTO \"nb\" VALUES (1, 'a; b'), (2, $$c;d$$);\n"
    )
    folder = _write_raw(tmp_path / "migrations", [("0000_no_breakpoints", body, 1_700_000_000_000)], False)
    sw_ok("apply", database_url, folder, tmp_path)
    dz_ok(drizzle, other_database_url, folder)

    assert core(read_history(database_url)) == core(read_history(other_database_url))
    dz_ok(drizzle, database_url, folder)
    assert_nothing_pending(other_database_url, folder, tmp_path)


# --- what drizzle cannot apply at all, schemawarden applies, and drizzle then leaves alone -------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            'CREATE TABLE "big" ("id" integer PRIMARY KEY, "v" text);\n--> statement-breakpoint\n'
            'CREATE INDEX CONCURRENTLY "big_v_idx" ON "big" USING btree ("v");',
            id="create-index-concurrently",
        ),
        pytest.param(
            "CREATE TYPE \"state\" AS ENUM('a', 'b');\n--> statement-breakpoint\n"
            'CREATE TABLE "t" ("s" "state" DEFAULT \'a\');\n--> statement-breakpoint\n'
            "ALTER TYPE \"state\" ADD VALUE 'c';\n--> statement-breakpoint\n"
            'ALTER TABLE "t" ALTER COLUMN "s" SET DEFAULT \'c\';',
            id="enum-value-added-and-used",
        ),
    ],
)
def test_drizzle_fails_schemawarden_applies_drizzle_then_sees_nothing(
    drizzle: DrizzleHarness, database_url: str, other_database_url: str, body: str, tmp_path: Path
) -> None:
    """drizzle runs all pending migrations in one transaction: these two cannot run in one."""
    folder = tmp_path / "migrations"
    write_journal_folder(folder, [("0000_needs_autocommit", body, 1_700_000_000_000)])

    refused = drizzle.migrate(other_database_url, folder)
    assert not refused.ok, "drizzle-orm is expected to fail here (one transaction for everything)"
    assert read_history(other_database_url) == []

    sw_ok("apply", database_url, folder, tmp_path)
    rows = read_history(database_url)
    assert core(rows) == [(1, _sha256(folder / "0000_needs_autocommit.sql"), 1_700_000_000_000)]
    dz_ok(drizzle, database_url, folder)
    assert read_history(database_url) == rows


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _v1_folder(root: Path, migrations: dict[str, str]) -> Path:
    """A drizzle-kit 1.x folder: `<YYYYMMDDHHMMSS>_name/migration.sql` per migration, no journal."""
    for name, body in migrations.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "migration.sql").write_text(body)
    return root


def test_v1_same_second_folders_are_ordered_like_drizzle(
    drizzle_v1: DrizzleHarness, database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    """Two folders with one timestamp: drizzle 1.x sorts names with localeCompare, not by bytes.

    `20260101000000_Zeta` sorts before `..._alpha` byte-wise but after it for localeCompare, so a
    byte-order sort applies them in a different order (and writes different ids) than drizzle.
    """
    folder = _v1_folder(
        tmp_path / "migrations",
        {
            "20260101000000_alpha": 'CREATE TABLE "a" ("id" integer);',
            "20260101000000_Zeta": 'CREATE TABLE "z" ("id" integer);',
        },
    )
    sw_ok("apply", database_url, folder, tmp_path)
    dz_ok(drizzle_v1, other_database_url, folder)

    ours = [(r["id"], r["name"], r["hash"], r["created_at"]) for r in read_history(database_url)]
    theirs = [(r["id"], r["name"], r["hash"], r["created_at"]) for r in read_history(other_database_url)]
    assert ours == theirs


def test_v1_late_folder_drizzle_applies_schemawarden_asks_for_a_decision(
    drizzle_v1: DrizzleHarness, database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    """drizzle 1.x decides pending by name, so it applies a late-merged older folder; it is not
    skipped. schemawarden holds it back as out-of-order until someone decides, and once drizzle
    has applied it, schemawarden sees nothing pending (history id order != folder order is fine)."""
    folder = _v1_folder(
        tmp_path / "migrations",
        {
            "20260101000000_first": 'CREATE TABLE "a" ("id" integer);',
            "20260102000000_second": 'CREATE TABLE "b" ("id" integer);',
        },
    )
    sw_ok("apply", database_url, folder, tmp_path)
    dz_ok(drizzle_v1, other_database_url, folder)
    _v1_folder(folder, {"20260101120000_from_old_branch": 'CREATE TABLE "late" ("id" integer);'})

    plan = sw("plan", database_url, folder, tmp_path, "--format", "json")
    assert plan.returncode == 1, plan.describe()
    assert [p["kind"] for p in plan.json()["problems"]] == ["out-of-order"], plan.describe()
    assert "skip" not in plan.stdout, "drizzle 1.x does not skip it; the message must not say so"

    dz_ok(drizzle_v1, other_database_url, folder)
    assert [r["name"] for r in read_history(other_database_url)][-1] == "20260101120000_from_old_branch"
    assert_nothing_pending(other_database_url, folder, tmp_path)

    sw_ok("apply", database_url, folder, tmp_path, "--allow-out-of-order", "20260101120000_from_old_branch")
    ours = [(r["id"], r["name"], r["hash"], r["created_at"]) for r in read_history(database_url)]
    theirs = [(r["id"], r["name"], r["hash"], r["created_at"]) for r in read_history(other_database_url)]
    assert ours == theirs


# --- a team moving from drizzle-kit 0.x to 1.x (`drizzle-kit up`) --------------------------------


def _kit_up(drizzle_v1: DrizzleHarness, source: Path, target: Path) -> Path:
    """Convert a copy of a 0.x folder with the real `drizzle-kit up` (1.0 rc): what a team would do."""
    shutil.copytree(source, target)
    done = drizzle_v1.kit(["up", "--dialect", "postgresql", "--out", str(target)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (target / "meta" / "_journal.json").exists(), "drizzle-kit up should remove the journal"
    return target


def test_upgrade_to_1x_layout_after_schemawarden_applied_0x(
    drizzle_v1: DrizzleHarness,
    database_url: str,
    other_database_url: str,
    drizzle: DrizzleHarness,
    tmp_path: Path,
) -> None:
    """schemawarden applied the 0.x folder; the team runs `drizzle-kit up`; nothing is pending for
    either tool, drizzle 1.x upgrades the history table, and a new 1.x migration is recorded by
    schemawarden exactly as drizzle 1.x records it on a database drizzle managed all along."""
    upgraded = _kit_up(drizzle_v1, SAMPLE_0X, tmp_path / "up")
    sw_ok("apply", database_url, SAMPLE_0X, tmp_path)
    dz_ok(drizzle, other_database_url, SAMPLE_0X)

    assert_nothing_pending(database_url, upgraded, tmp_path)
    dz_ok(drizzle_v1, database_url, upgraded)  # upgrades the table, applies nothing
    dz_ok(drizzle_v1, other_database_url, upgraded)
    assert len(read_history(database_url)) == len(journal(SAMPLE_0X))
    assert_nothing_pending(database_url, upgraded, tmp_path)

    _v1_folder(upgraded, {"20270101000000_add_note": 'ALTER TABLE "todo" ADD COLUMN "note" text;'})
    sw_ok("apply", database_url, upgraded, tmp_path)
    ours = read_history(database_url)
    dz_ok(drizzle_v1, database_url, upgraded)
    assert read_history(database_url) == ours
    dz_ok(drizzle_v1, other_database_url, upgraded)

    theirs = read_history(other_database_url)
    assert [(r["id"], r["hash"], r["created_at"], r["name"]) for r in ours] == [
        (r["id"], r["hash"], r["created_at"], r["name"]) for r in theirs
    ]
    assert [r["applied_at"] is None for r in ours] == [r["applied_at"] is None for r in theirs]
    assert history_columns(database_url) == history_columns(other_database_url)


def test_new_1x_migration_on_a_0x_history_table_is_not_applied_half_way(
    drizzle_v1: DrizzleHarness, database_url: str, tmp_path: Path
) -> None:
    """Before drizzle 1.x has upgraded the table (no `name` column) schemawarden either records the
    new migration the way drizzle 1.x would, or refuses with an explanation; never a row that
    drizzle 1.x cannot match."""
    upgraded = _kit_up(drizzle_v1, SAMPLE_0X, tmp_path / "up")
    sw_ok("apply", database_url, SAMPLE_0X, tmp_path)
    before = read_history(database_url)
    _v1_folder(upgraded, {"20270101000000_add_note": 'ALTER TABLE "todo" ADD COLUMN "note" text;'})

    result = sw("apply", database_url, upgraded, tmp_path)
    if result.returncode != 0:
        assert "drizzle" in result.stderr and "1.x" in result.stderr, result.describe()
        assert read_history(database_url) == before
        return
    dz_ok(drizzle_v1, database_url, upgraded)
    assert [r["name"] for r in read_history(database_url)][-1] == "20270101000000_add_note"
    assert len(read_history(database_url)) == len(before) + 1


def test_harness_installs_once_per_lock_file(drizzle: DrizzleHarness) -> None:
    """A second run reuses the cached install: same folder, outside the repository, untouched."""
    target = drizzle.install()
    marker = target / ".installed"
    stamp = marker.stat().st_mtime_ns
    assert drizzle.install() == target
    assert marker.stat().st_mtime_ns == stamp
    assert ROOT not in target.parents
    assert drizzle.version() == "0.45.4"
