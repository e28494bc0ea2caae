"""Reading migration folders exactly as drizzle-orm does, and refusing the malformed ones by name."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from builders import SAMPLE, SAMPLE_MIGRATIONS, write_journal_folder
from policies.errors import MigrationSetError
from reconciler.migrations import Layout, load_migration_files, load_migration_set


def test_sample_journal_folder_is_read_in_journal_order_with_drizzles_hash() -> None:
    migration_set = load_migration_set(SAMPLE_MIGRATIONS)
    journal = json.loads((SAMPLE_MIGRATIONS / "meta" / "_journal.json").read_text())
    assert migration_set.layout is Layout.DRIZZLE_0
    assert [m.tag for m in migration_set.migrations] == [e["tag"] for e in journal["entries"]]
    assert [m.when for m in migration_set.migrations] == [e["when"] for e in journal["entries"]]
    first = migration_set.migrations[0]
    assert first.hash == hashlib.sha256((SAMPLE_MIGRATIONS / "0000_init.sql").read_bytes()).hexdigest()
    assert first.name is None


def test_breakpoint_chunks_are_kept_untrimmed_like_drizzle() -> None:
    init = load_migration_set(SAMPLE_MIGRATIONS).migrations[0]
    assert len(init.chunks) == 10
    assert all(chunk.startswith("\n") for chunk in init.chunks[1:])
    assert "".join(init.chunks) == init.text.replace("--> statement-breakpoint", "")


def test_statements_keep_their_file_lines() -> None:
    backfill = load_migration_set(SAMPLE_MIGRATIONS).by_tag("0010_backfill_todo_status")
    assert backfill is not None
    assert [(s.line, s.sql.split()[0]) for s in backfill.statements] == [(2, "UPDATE"), (3, "UPDATE")]


def test_drizzle_1_layout_takes_order_and_when_from_folder_names() -> None:
    migration_set = load_migration_set(SAMPLE / "extras" / "kit-1.0.0-rc.5-fresh" / "migrations")
    assert migration_set.layout is Layout.DRIZZLE_1
    assert [m.tag for m in migration_set.migrations] == ["20261124011841_init", "20261124011843_add_user_bio"]
    # 2026-11-24 01:18:41 UTC, as drizzle-orm 1.x's formatToMillis computes it
    assert migration_set.migrations[0].when == 1795483121000
    assert migration_set.migrations[0].name == "20261124011841_init"


def test_drizzle_0_29_style_with_do_blocks_is_read() -> None:
    migration_set = load_migration_set(SAMPLE / "extras" / "kit-0.29.1" / "migrations")
    init = migration_set.migrations[0]
    assert sum(s.sql.startswith("DO $$") for s in init.statements) == 2


def test_crlf_files_hash_their_exact_bytes(tmp_path: Path) -> None:
    sql = 'CREATE TABLE "a" ("id" integer);\r\n--> statement-breakpoint\r\nSELECT 1;\r\n'
    migration = load_migration_set(write_journal_folder(tmp_path, [("0000_crlf", sql)])).migrations[0]
    assert migration.hash == hashlib.sha256(sql.encode()).hexdigest()
    assert "\r\n" in migration.chunks[1]


def test_folder_given_as_a_mapping_reads_like_the_folder_on_disk() -> None:
    files = {
        p.relative_to(SAMPLE_MIGRATIONS).as_posix(): p.read_bytes()
        for p in SAMPLE_MIGRATIONS.rglob("*")
        if p.is_file()
    }
    from_mapping = load_migration_files(files, source="github:main/migrations")
    from_disk = load_migration_set(SAMPLE_MIGRATIONS)
    assert [(m.tag, m.hash, m.when) for m in from_mapping.migrations] == [
        (m.tag, m.hash, m.when) for m in from_disk.migrations
    ]


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(SAMPLE_MIGRATIONS, folder)
    return folder


def _journal(folder: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((folder / "meta" / "_journal.json").read_text())
    return data


def _write_journal(folder: Path, journal: dict[str, object]) -> None:
    (folder / "meta" / "_journal.json").write_text(json.dumps(journal, indent=2))


def _error(folder: Path) -> MigrationSetError:
    with pytest.raises(MigrationSetError) as caught:
        load_migration_set(folder)
    return caught.value


def test_journal_entry_without_its_file_is_named(sample_copy: Path) -> None:
    (sample_copy / "0003_add_todo_owner_fk.sql").unlink()
    error = _error(sample_copy)
    assert error.path.endswith("0003_add_todo_owner_fk.sql")
    assert "has no SQL file" in str(error) and "Restore the file" in str(error)


def test_sql_file_missing_from_the_journal_is_reported_by_name(sample_copy: Path) -> None:
    (sample_copy / "0011_hand_written.sql").write_text("SELECT 1;")
    migration_set = load_migration_set(sample_copy)
    assert [m.tag for m in migration_set.migrations][-1] == "0010_backfill_todo_status"
    (warning,) = migration_set.warnings
    assert "0011_hand_written.sql: SQL file is not in meta/_journal.json" in warning
    assert "ever apply it" in warning and "drizzle-kit generate" in warning


def test_drizzle_1_folders_of_the_same_second_sort_like_locale_compare(tmp_path: Path) -> None:
    for name in [
        "20260101000000_Zeta",
        "20260101000000_alpha",
        "20260101000000_add1",
        "20260101000000_add_x",
    ]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "migration.sql").write_text("SELECT 1;")
    tags = [m.tag for m in load_migration_set(tmp_path).migrations]
    assert tags == [
        "20260101000000_add_x",
        "20260101000000_add1",
        "20260101000000_alpha",
        "20260101000000_Zeta",
    ]


def test_duplicate_tag_is_refused(sample_copy: Path) -> None:
    journal = _journal(sample_copy)
    entries = journal["entries"]
    assert isinstance(entries, list)
    entries.append({**entries[1], "idx": 99})
    _write_journal(sample_copy, journal)
    assert "duplicate tag '0001_add_user_bio'" in str(_error(sample_copy))


def test_duplicate_idx_is_refused(sample_copy: Path) -> None:
    journal = _journal(sample_copy)
    entries = journal["entries"]
    assert isinstance(entries, list)
    entries[2]["idx"] = 1
    _write_journal(sample_copy, journal)
    error = _error(sample_copy)
    assert "duplicate idx 1" in str(error) and "regenerate" in str(error)


def test_malformed_journal_json_names_the_line(sample_copy: Path) -> None:
    text = (sample_copy / "meta" / "_journal.json").read_text()
    (sample_copy / "meta" / "_journal.json").write_text(
        text.replace('"tag": "0002', '<<<<<<< HEAD\n"tag": "0002', 1)
    )
    error = _error(sample_copy)
    assert error.path.endswith("meta/_journal.json")
    assert error.line is not None and error.line > 1
    assert "malformed JSON" in str(error)


def test_unknown_journal_version_is_refused(sample_copy: Path) -> None:
    journal = _journal(sample_copy)
    journal["version"] = "99"
    _write_journal(sample_copy, journal)
    assert "unknown journal version '99'" in str(_error(sample_copy))


def test_non_postgres_journal_is_refused(sample_copy: Path) -> None:
    journal = _journal(sample_copy)
    journal["dialect"] = "sqlite"
    _write_journal(sample_copy, journal)
    assert "dialect 'sqlite' is not PostgreSQL" in str(_error(sample_copy))


def test_non_utf8_sql_names_file_and_line(sample_copy: Path) -> None:
    (sample_copy / "0001_add_user_bio.sql").write_bytes(b"-- first line\n-- caf\xe9\nSELECT 1;")
    error = _error(sample_copy)
    assert error.path.endswith("0001_add_user_bio.sql")
    assert error.line == 2
    assert "not valid UTF-8" in str(error)


def test_missing_folder_says_how_to_point_at_one(tmp_path: Path) -> None:
    error = _error(tmp_path / "nope")
    assert "migrations folder not found" in str(error) and "--migrations" in str(error)


def test_drizzle_1_folder_without_a_timestamp_is_refused(tmp_path: Path) -> None:
    (tmp_path / "init").mkdir()
    (tmp_path / "init" / "migration.sql").write_text("SELECT 1;")
    assert "does not start with a 14-digit timestamp" in str(_error(tmp_path))


def test_entry_with_a_bad_when_is_refused(sample_copy: Path) -> None:
    journal = _journal(sample_copy)
    entries = journal["entries"]
    assert isinstance(entries, list)
    entries[0]["when"] = "yesterday"
    _write_journal(sample_copy, journal)
    assert "entries[0] has a bad when 'yesterday'" in str(_error(sample_copy))
