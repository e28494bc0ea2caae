"""Plans are a pure function of a migration set, a history and approvals."""

from __future__ import annotations

from pathlib import Path

from builders import BASE_WHEN, journal_set
from reconciler.history import HistoryRow
from reconciler.migrations import MigrationSet
from reconciler.plan import Approvals, ProblemKind, make_plan

THREE = [
    ("0000_a", "CREATE TABLE a (id int);"),
    ("0001_b", "CREATE TABLE b (id int);"),
    ("0002_c", "CREATE TABLE c (id int);"),
]


def _rows(migration_set: MigrationSet, count: int) -> list[HistoryRow]:
    return [
        HistoryRow(id=i + 1, hash=m.hash, created_at=m.when)
        for i, m in enumerate(migration_set.migrations[:count])
    ]


def test_pending_are_the_unapplied_migrations_in_journal_order(tmp_path: Path) -> None:
    migration_set = journal_set(tmp_path, THREE)
    plan = make_plan(migration_set, _rows(migration_set, 1))
    assert [m.tag for m in plan.applied] == ["0000_a"]
    assert [p.migration.tag for p in plan.pending] == ["0001_b", "0002_c"]
    assert [m.tag for m in plan.runnable] == ["0001_b", "0002_c"]
    assert plan.problems == ()


def test_an_edited_applied_file_is_tampered_and_blocks_apply(tmp_path: Path) -> None:
    original = journal_set(tmp_path / "before", THREE)
    history = _rows(original, 2)
    edited = journal_set(tmp_path / "after", [THREE[0], ("0001_b", "CREATE TABLE b (id bigint);"), THREE[2]])
    plan = make_plan(edited, history)
    assert [(p.kind, p.tag) for p in plan.problems] == [(ProblemKind.TAMPERED, "0001_b")]
    assert "0001_b.sql was edited after it was applied" in plan.problems[0].message
    assert plan.runnable == ()
    assert "needs --accept-tampered" in plan.pending[0].blocked_by[0]

    accepted = make_plan(edited, history, Approvals(accept_tampered_reason="hotfix already in prod"))
    assert [m.tag for m in accepted.runnable] == ["0002_c"]


def test_a_recorded_hash_unknown_to_main_is_reported_not_fixed(tmp_path: Path) -> None:
    migration_set = journal_set(tmp_path, THREE)
    history = [*_rows(migration_set, 1), HistoryRow(id=2, hash="f" * 64, created_at=BASE_WHEN + 500)]
    plan = make_plan(migration_set, history)
    assert [p.kind for p in plan.problems] == [ProblemKind.UNKNOWN]
    assert "history row id 2" in plan.problems[0].message
    assert plan.runnable == ()


def test_a_migration_merged_late_with_an_older_when_is_out_of_order(tmp_path: Path) -> None:
    # main had a and c applied; b was merged later but generated before c.
    migration_set = journal_set(
        tmp_path, [THREE[0], THREE[2], THREE[1]], whens=[BASE_WHEN, BASE_WHEN + 2000, BASE_WHEN + 1000]
    )
    plan = make_plan(migration_set, _rows(migration_set, 2))
    assert [(p.kind, p.tag) for p in plan.problems] == [(ProblemKind.OUT_OF_ORDER, "0001_b")]
    assert "skip it silently forever" in plan.problems[0].message
    assert plan.runnable == ()
    allowed = make_plan(
        migration_set, _rows(migration_set, 2), Approvals(allow_out_of_order=frozenset({"0001_b"}))
    )
    assert [m.tag for m in allowed.runnable] == ["0001_b"]


def test_a_later_approved_migration_never_jumps_an_earlier_unapproved_one(tmp_path: Path) -> None:
    migration_set = journal_set(tmp_path, THREE)
    plan = make_plan(migration_set, [], Approvals(all_approved=False, tags=frozenset({"0000_a", "0002_c"})))
    assert [m.tag for m in plan.runnable] == ["0000_a"]
    assert plan.pending[1].blocked_by == ("not approved for this environment",)
    assert plan.pending[2].blocked_by == ("an earlier pending migration is blocked",)


def test_stop_at_limits_the_runnable_prefix(tmp_path: Path) -> None:
    migration_set = journal_set(tmp_path, THREE)
    plan = make_plan(migration_set, [], stop_at="0001_b")
    assert [m.tag for m in plan.runnable] == ["0000_a", "0001_b"]
    assert plan.pending[2].blocked_by == ("after --to 0001_b",)


def test_drizzle_1_history_matches_by_name(tmp_path: Path) -> None:
    from builders import SAMPLE
    from reconciler.migrations import load_migration_set

    migration_set = load_migration_set(SAMPLE / "extras" / "kit-1.0.0-rc.5-fresh" / "migrations")
    first = migration_set.migrations[0]
    plan = make_plan(migration_set, [HistoryRow(1, first.hash, first.when, first.tag)])
    assert [p.migration.tag for p in plan.pending] == ["20261124011843_add_user_bio"]


def test_a_migration_inserted_before_the_recorded_folder_head_is_still_a_late_merge(tmp_path: Path) -> None:
    from reconciler.plan import FolderSeen

    whens = [BASE_WHEN, BASE_WHEN + 9000, BASE_WHEN + 5000]
    stopped = journal_set(tmp_path / "stopped", THREE, whens)
    history = _rows(stopped, 2)
    # the run that applied 0001_b saw all three: 0002_c was there and simply not reached
    known = make_plan(stopped, history, folder_seen=FolderSeen(head="0002_c", size=3))
    assert [m.tag for m in known.runnable] == ["0002_c"] and known.open_problems == ()
    # the run saw only two, and 0002_c came later: merged late
    late = make_plan(stopped, history, folder_seen=FolderSeen(head="0001_b", size=2))
    assert [p.kind for p in late.open_problems] == [ProblemKind.OUT_OF_ORDER] and late.runnable == ()
    # something was inserted before the recorded head since: the record no longer tells
    shifted = make_plan(stopped, history, folder_seen=FolderSeen(head="0002_c", size=2))
    assert [p.kind for p in shifted.open_problems] == [ProblemKind.OUT_OF_ORDER]
