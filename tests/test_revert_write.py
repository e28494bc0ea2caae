"""Writing a revert migration into a migrations folder: names, bytes, snapshots, refusals, atomicity.

These run on copies of the bundled sample's folders (written by the real drizzle-kit). That the
result is what drizzle-kit and drizzle-orm accept is proven against the real tools in
tests/test_revert_write_interop.py (marker `interop`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from policies.errors import MigrationSetError
from reconciler.migrations import SAMPLE_PROJECT, Layout, load_migration_set
from reconciler.migrations.ddl_state import DdlState, key_of
from reconciler.migrations.snapshot_chain import ChainSnapshot, SnapshotChain
from reconciler.migrations.write import migration_sql, write_revert_migration

SAMPLE_0X = SAMPLE_PROJECT / "migrations"
SAMPLE_1X = SAMPLE_PROJECT / "extras" / "kit-1.0.0-rc.5-fresh" / "migrations"
INIT_1X, BIO_1X = "20261124011841_init", "20261124011843_add_user_bio"
TO_0007 = ['DROP TABLE "organization"', 'ALTER TABLE "user" RENAME COLUMN "about" TO "bio";']
NOW = 1_900_000_000_123  # 2030-03-17T17:46:40.123Z, later than every sample migration


@pytest.fixture
def folder_0x(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLE_0X, tmp_path / "migrations"))


@pytest.fixture
def folder_1x(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLE_1X, tmp_path / "migrations"))


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


# --- the SQL file ---------------------------------------------------------------------------------


def test_statements_are_joined_as_drizzle_kit_joins_them() -> None:
    text = migration_sql(['DROP TABLE "a"', '  ALTER TABLE "b" ADD COLUMN "c" text;\n', "", "CREATE INDEX i ON b (c);"])

    assert text == (
        'DROP TABLE "a";--> statement-breakpoint\n'
        'ALTER TABLE "b" ADD COLUMN "c" text;--> statement-breakpoint\n'
        "CREATE INDEX i ON b (c);"
    )


# --- 0.x: journal layout --------------------------------------------------------------------------


def test_journal_layout_gets_the_next_number_a_snapshot_of_tag_and_a_journal_entry(folder_0x: Path) -> None:
    before = files_of(folder_0x)

    written = write_revert_migration(folder_0x, load_migration_set(folder_0x), "0007_drop_todo_done", TO_0007, now_ms=NOW)

    assert written.tag == "0011_revert_to_0007_drop_todo_done"
    assert (written.layout, written.when, written.notes) == (Layout.DRIZZLE_0, NOW, ())
    after = files_of(folder_0x)
    assert sorted(set(after) - set(before)) == ["0011_revert_to_0007_drop_todo_done.sql", "meta/0011_snapshot.json"]
    assert [p for p in before if before[p] != after[p]] == ["meta/_journal.json"]
    assert after["0011_revert_to_0007_drop_todo_done.sql"] == (
        b'DROP TABLE "organization";--> statement-breakpoint\nALTER TABLE "user" RENAME COLUMN "about" TO "bio";'
    )
    journal = read_json(folder_0x / "meta" / "_journal.json")
    assert journal["entries"][-1] == {
        "idx": 11,
        "version": "7",
        "when": NOW,
        "tag": "0011_revert_to_0007_drop_todo_done",
        "breakpoints": True,
    }
    # the journal is rewritten as drizzle-kit writes it: only the new entry shows in the diff
    old_text = before["meta/_journal.json"].decode()
    assert after["meta/_journal.json"].decode().startswith(old_text[: old_text.rindex("}\n  ]")])
    snapshot, at_tag = read_json(folder_0x / "meta" / "0011_snapshot.json"), read_json(SAMPLE_0X / "meta" / "0007_snapshot.json")
    assert snapshot["prevId"] == read_json(SAMPLE_0X / "meta" / "0010_snapshot.json")["id"]
    assert snapshot["id"] == written.snapshot_id and snapshot["id"] not in {at_tag["id"], at_tag["prevId"]}
    assert {**snapshot, "id": at_tag["id"], "prevId": at_tag["prevId"]} == at_tag
    assert list(snapshot) == list(at_tag)
    assert after["meta/0011_snapshot.json"].decode() == json.dumps(snapshot, indent=2, ensure_ascii=False)
    reread = load_migration_set(folder_0x)
    assert reread.migrations[-1].tag == written.tag and reread.migrations[-1].when == NOW
    assert reread.unlisted == ()


def test_when_is_later_than_every_entry_when_the_clock_is_behind(folder_0x: Path) -> None:
    newest = max(m.when for m in load_migration_set(folder_0x).migrations)

    written = write_revert_migration(folder_0x, load_migration_set(folder_0x), "0007_drop_todo_done", TO_0007, now_ms=1000)

    assert written.when == newest + 1
    assert "drizzle-orm's migrator" in written.notes[0]


def journal_folder(root: Path, tags: list[str], first_idx: int = 0) -> Path:
    """A journal folder with these tags (idx from `first_idx` on), SQL files and a snapshot chain."""
    meta = root / "meta"
    meta.mkdir(parents=True)
    entries, previous = [], "00000000-0000-0000-0000-000000000000"
    for idx, tag in enumerate(tags):
        (root / f"{tag}.sql").write_text(f'CREATE TABLE "t{idx}" ("id" integer);')
        snapshot = {**read_json(SAMPLE_0X / "meta" / "0000_snapshot.json"), "id": f"id-{idx}", "prevId": previous}
        (meta / f"{tag.split('_', 1)[0]}_snapshot.json").write_text(json.dumps(snapshot, indent=2))
        previous = f"id-{idx}"
        entries.append({"idx": first_idx + idx, "version": "7", "when": 1_700_000_000_000 + idx, "tag": tag, "breakpoints": True})
    (meta / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": entries}, indent=2))
    return root


def test_numbering_goes_past_9999_like_drizzle_kit_and_says_which_snapshot_it_will_read(tmp_path: Path) -> None:
    folder = journal_folder(tmp_path / "m", ["9998_a", "9999_b"], first_idx=9998)

    written = write_revert_migration(folder, load_migration_set(folder), "9998_a", ['DROP TABLE "t1"'], now_ms=NOW)

    assert written.tag == "10000_revert_to_9998_a"
    assert written.snapshot_path == "meta/10000_snapshot.json"
    assert any("9999_snapshot.json" in note and "sorts last" in note for note in written.notes)


@pytest.mark.parametrize(
    ("tags", "now", "expected"),
    [
        (["20240101120000_a", "20240101120005_b"], NOW, "20300317174640_revert_to_20240101120000_a"),
        (["20240101120000_a", "20240101120005_b"], 0, "20240101120006_revert_to_20240101120000_a"),
        (["1704110400_a", "1704110405_b"], NOW, "1900000000_revert_to_1704110400_a"),
        (["1704110400_a", "1704110405_b"], 0, "1704110406_revert_to_1704110400_a"),
    ],
    ids=["timestamp", "timestamp-clock-behind", "unix", "unix-clock-behind"],
)
def test_time_prefixed_tags_follow_the_folders_scheme(tmp_path: Path, tags: list[str], now: int, expected: str) -> None:
    folder = journal_folder(tmp_path / "m", tags)

    written = write_revert_migration(folder, load_migration_set(folder), tags[0], ['DROP TABLE "t1"'], now_ms=now)

    assert written.tag == expected
    assert (folder / "meta" / f"{expected.split('_', 1)[0]}_snapshot.json").is_file()


# --- refusals: nothing written ----------------------------------------------------------------------


def refused(folder: Path, to_tag: str, statements: list[str], match: str, migration_set: Any = None) -> None:
    before = files_of(folder)
    with pytest.raises(MigrationSetError, match=match):
        write_revert_migration(folder, migration_set or load_migration_set(folder), to_tag, statements, now_ms=NOW)
    assert files_of(folder) == before


def test_refuses_an_unknown_tag(folder_0x: Path) -> None:
    refused(folder_0x, "0007_drop_todo", TO_0007, "not a migration of this folder")


def test_refuses_the_latest_tag(folder_0x: Path) -> None:
    refused(folder_0x, "0010_backfill_todo_status", TO_0007, "nothing after it to revert")


def test_refuses_no_statements(folder_0x: Path) -> None:
    refused(folder_0x, "0007_drop_todo_done", [" ", ""], "no statements to write")


def test_refuses_a_folder_without_snapshots(folder_0x: Path) -> None:
    for snapshot in (folder_0x / "meta").glob("*_snapshot.json"):
        snapshot.unlink()
    refused(folder_0x, "0007_drop_todo_done", TO_0007, "no drizzle-kit snapshots")


def test_refuses_a_tag_without_snapshot(folder_0x: Path) -> None:
    (folder_0x / "meta" / "0007_snapshot.json").unlink()
    refused(folder_0x, "0007_drop_todo_done", TO_0007, "0007_drop_todo_done has no snapshot")


def test_never_overwrites_an_existing_file(folder_0x: Path) -> None:
    (folder_0x / "0011_revert_to_0007_drop_todo_done.sql").write_text("-- an earlier attempt, never listed\n")
    refused(folder_0x, "0007_drop_todo_done", TO_0007, "exists already")


def test_refuses_a_folder_changed_since_it_was_read(folder_0x: Path) -> None:
    migration_set = load_migration_set(folder_0x)
    (folder_0x / "0009_add_organization.sql").write_text("-- edited\n")
    refused(folder_0x, "0007_drop_todo_done", TO_0007, "changed since", migration_set)


@pytest.mark.parametrize(
    "blocked",
    ["meta/__journal.json.schemawarden-tmp", "meta/_0011_snapshot.json.schemawarden-tmp"],
    ids=["journal-fails-after-the-files", "snapshot-fails-before-the-journal"],
)
def test_a_failed_write_leaves_the_folder_as_it_was(folder_0x: Path, blocked: str) -> None:
    (folder_0x / blocked).mkdir()  # a file's temporary name is taken: writing it fails
    before = files_of(folder_0x)

    with pytest.raises(MigrationSetError, match="could not write the revert migration"):
        write_revert_migration(folder_0x, load_migration_set(folder_0x), "0007_drop_todo_done", TO_0007, now_ms=NOW)

    assert files_of(folder_0x) == before


# --- 1.x: folder layout -----------------------------------------------------------------------------


def chain_of(folder: Path) -> SnapshotChain:
    paths = sorted(folder.glob("*/snapshot.json"))
    return SnapshotChain([ChainSnapshot(p.parent.name, read_json(p)) for p in paths])


def test_folder_layout_gets_a_later_folder_with_a_diff_snapshot_back_to_tag(folder_1x: Path) -> None:
    before = files_of(folder_1x)

    written = write_revert_migration(
        folder_1x, load_migration_set(folder_1x), INIT_1X, ['ALTER TABLE "user" DROP COLUMN "bio"'], now_ms=NOW
    )

    assert written.tag == f"20300317174640_revert_to_{INIT_1X}"
    assert (written.layout, written.when, written.journal_path) == (Layout.DRIZZLE_1, 1_900_000_000_000, None)
    after = files_of(folder_1x)
    assert sorted(set(after) - set(before)) == [f"{written.tag}/migration.sql", f"{written.tag}/snapshot.json"]
    assert all(after[p] == before[p] for p in before)
    assert after[f"{written.tag}/migration.sql"] == b'ALTER TABLE "user" DROP COLUMN "bio";'
    snapshot = read_json(folder_1x / written.tag / "snapshot.json")
    leaf = read_json(SAMPLE_1X / BIO_1X / "snapshot.json")["id"]
    assert list(snapshot) == ["type", "version", "dialect", "id", "prevIds", "footprints", "deltas"]
    assert (snapshot["type"], snapshot["version"], snapshot["dialect"], snapshot["prevIds"]) == ("diff", "9", "postgres", [leaf])
    assert snapshot["deltas"] == [{"op": "drop", "key": 'columns\0["public","user","bio"]'}]
    assert snapshot["footprints"] == [
        {
            "statementType": "revert",
            "statementTarget": ["table", "public", "user"],
            "writes": ["s|tbl|public.user", "n|tbl|public.user", "e|tbl|public.user"],
            "reads": ["n|sch|public"],
        }
    ]
    assert after[f"{written.tag}/snapshot.json"].decode() == json.dumps(snapshot, indent=2, ensure_ascii=False)
    chain = chain_of(folder_1x)
    assert chain.leaf_ids == [written.snapshot_id]
    init_id = read_json(SAMPLE_1X / INIT_1X / "snapshot.json")["id"]
    assert chain.state_at(written.snapshot_id).rows() == chain.state_at(init_id).rows()
    assert load_migration_set(folder_1x).migrations[-1].tag == written.tag
    assert not list(folder_1x.parent.glob("*.schemawarden-tmp"))


def test_folder_is_stamped_a_second_after_the_newest_when_the_clock_is_behind(folder_1x: Path) -> None:
    written = write_revert_migration(folder_1x, load_migration_set(folder_1x), INIT_1X, ["SELECT 1"], now_ms=0)

    assert written.tag == f"20261124011844_revert_to_{INIT_1X}"
    assert written.notes


def test_format_8_folder_gets_the_whole_ddl_at_tag(folder_1x: Path) -> None:
    """drizzle-kit 1.0 betas to rc.4 keep the whole ddl in every snapshot (format 8): so does the revert."""
    chain = chain_of(folder_1x)
    for path in folder_1x.glob("*/snapshot.json"):
        data = read_json(path)
        ddl = chain.state_at(data["id"]).rows()
        path.write_text(json.dumps({"version": "8", "dialect": "postgres", "id": data["id"],
                                    "prevIds": data["prevIds"], "ddl": ddl, "renames": []}, indent=2))

    written = write_revert_migration(folder_1x, load_migration_set(folder_1x), INIT_1X, ["SELECT 1"], now_ms=NOW)

    snapshot = read_json(folder_1x / written.tag / "snapshot.json")
    at_init = read_json(folder_1x / INIT_1X / "snapshot.json")
    leaf = read_json(folder_1x / BIO_1X / "snapshot.json")["id"]
    assert snapshot == {**at_init, "id": written.snapshot_id, "prevIds": [leaf]}
    assert list(snapshot) == ["version", "dialect", "id", "prevIds", "ddl", "renames"]


def test_refuses_snapshots_of_another_format(folder_1x: Path) -> None:
    path = folder_1x / BIO_1X / "snapshot.json"
    path.write_text(json.dumps({**read_json(path), "version": "8"}))
    refused(folder_1x, INIT_1X, ["SELECT 1"], "drizzle-kit up")


def test_refuses_two_open_branches(folder_1x: Path) -> None:
    twin = folder_1x / "20261124011844_other_branch"
    shutil.copytree(folder_1x / BIO_1X, twin)
    twin_snapshot = twin / "snapshot.json"
    twin_snapshot.write_text(json.dumps({**read_json(twin_snapshot), "id": "another-leaf"}))
    refused(folder_1x, INIT_1X, ["SELECT 1"], "2 branches")


def test_refuses_a_1x_folder_without_snapshots(folder_1x: Path) -> None:
    for snapshot in folder_1x.glob("*/snapshot.json"):
        snapshot.unlink()
    refused(folder_1x, INIT_1X, ["SELECT 1"], "no drizzle-kit snapshots")


def test_refuses_a_1x_tag_without_snapshot(folder_1x: Path) -> None:
    (folder_1x / INIT_1X / "snapshot.json").unlink()
    refused(folder_1x, INIT_1X, ["SELECT 1"], "has no snapshot")


# --- the replay of deltas ----------------------------------------------------------------------------


def column(table: str, name: str) -> dict[str, Any]:
    return {"schema": "public", "table": table, "name": name, "type": "text", "entityType": "columns"}


def test_a_table_rename_moves_its_columns_indexes_and_the_foreign_keys_to_it() -> None:
    state = DdlState(
        [
            {"schema": "public", "name": "user", "isRlsEnabled": False, "entityType": "tables"},
            {"schema": "public", "name": "post", "isRlsEnabled": False, "entityType": "tables"},
            column("user", "id"),
            column("post", "author"),
            {"schema": "public", "table": "user", "name": "user_id_idx", "entityType": "indexes",
             "columns": [{"value": "id", "isExpression": False}]},
            {"schema": "public", "table": "post", "name": "post_author_fk", "entityType": "fks",
             "columns": ["author"], "schemaTo": "public", "tableTo": "user", "columnsTo": ["id"]},
        ]
    )

    state.apply([{"op": "rename", "key": 'tables\0["public","user"]', "set": {"name": "member"}}])

    keys = [key_of(row) for row in state.rows()]
    assert 'columns\0["public","member","id"]' in keys and 'columns\0["public","user","id"]' not in keys
    fk = state.find('fks\0["public","post","post_author_fk"]')
    index = state.find('indexes\0["public","user_id_idx"]')
    assert fk is not None and (fk["tableTo"], fk["columnsTo"]) == ("member", ["id"])
    assert index is not None and index["table"] == "member"


def test_a_column_rename_moves_the_index_and_key_columns_that_name_it() -> None:
    state = DdlState(
        [
            column("user", "bio"),
            {"schema": "public", "table": "user", "name": "user_bio_idx", "entityType": "indexes",
             "columns": [{"value": "bio", "isExpression": False}, {"value": "lower(bio)", "isExpression": True}]},
            {"schema": "public", "table": "user", "name": "user_bio_key", "entityType": "uniques", "columns": ["bio"]},
        ]
    )

    state.apply([{"op": "rename", "key": 'columns\0["public","user","bio"]', "set": {"name": "about"}}])

    index = state.find('indexes\0["public","user_bio_idx"]')
    unique = state.find('uniques\0["public","user","user_bio_key"]')
    assert index is not None and [c["value"] for c in index["columns"]] == ["about", "lower(bio)"]
    assert unique is not None and unique["columns"] == ["about"]
