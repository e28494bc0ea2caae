"""The comparison of a lock trace with the lock model's prediction (pure: traces written by hand).

What the traces of real statements look like is held against PostgreSQL in
test_lock_model_on_postgres.py and test_trace_on_postgres.py; here each rule of
`policies.lock_trace.contradictions` is shown to catch its own kind of disagreement, and to stay
quiet where the trace cannot contradict the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from policies.lock_trace import StatementTrace, contradictions
from policies.report import LockRef, StatementReport

AE, SHARE, RE, AS = "ACCESS EXCLUSIVE", "SHARE", "ROW EXCLUSIVE", "ACCESS SHARE"


def predicted(
    *locks: tuple[str, str], rewrites: tuple[str, ...] = (), scans: tuple[str, ...] = (), kind: str = "alter_table_other",
    relation: str | None = None,
) -> StatementReport:
    operation: dict[str, Any] = {"kind": kind, "shape": "AlterTableStmt"}
    if relation:
        operation["relation"] = relation
    return StatementReport(
        line=1, sql="-- by hand", operations=(operation,), locks=tuple(LockRef(r, m) for r, m in locks),
        rewrites=rewrites, scans=scans,
    )


EXISTING = frozenset({"child", "parent", "child_n_idx", "s.B"})


def trace(
    taken: dict[str, set[str]] | None, *, before: dict[str, set[str]] | None = None,
    rewrites: Iterable[str] = (), scans: Iterable[str] | None = (), existed: Iterable[str] = EXISTING,
    created: Iterable[str] = (), partitions: dict[str, frozenset[str]] | None = None,
) -> StatementTrace:
    return StatementTrace(
        modes_taken=None if taken is None else {r: frozenset(m) for r, m in taken.items()},
        modes_before={r: frozenset(m) for r, m in (before or {}).items()},
        rewrites=frozenset(rewrites),
        scans=None if scans is None else frozenset(scans),
        existed=frozenset(existed),
        created=frozenset(created),
        indexes={"child_n_idx": "child"},
        partitions=partitions or {},
    )


def test_agreement_is_no_contradiction_and_names_compare_as_relation_keys() -> None:
    assert contradictions(predicted(("public.child", AE)), trace({"child": {AE, AS}})) == []
    assert contradictions(predicted(('"s"."B"', AE)), trace({"s.B": {AE}})) == []


def test_a_named_lock_in_another_mode_is_a_contradiction() -> None:
    assert contradictions(predicted(("child", SHARE)), trace({"child": {AE}})) == [
        "the lock model says SHARE on child; PostgreSQL took ACCESS EXCLUSIVE"
    ]
    assert contradictions(predicted(("child", AE)), trace({})) == [
        "the lock model says ACCESS EXCLUSIVE on child; PostgreSQL took no lock on it"
    ]


def test_a_lock_on_a_relation_the_trace_does_not_know_is_reported() -> None:
    """A name that matches nothing (a naming bug on either side) must not pass silently."""
    assert contradictions(predicted(("Child", AE)), trace({"child": {AE}})) == [
        "the lock model names ACCESS EXCLUSIVE on Child, which did not exist before the statement "
        "(a name the trace does not know)",
        "PostgreSQL took ACCESS EXCLUSIVE on child, which the lock model does not name",
    ]


def test_inside_a_longer_transaction_a_mode_already_held_is_not_seen_again() -> None:
    held = {"child": {AE}}
    assert contradictions(predicted(("child", AE)), trace({}, before=held)) == []
    assert contradictions(predicted(("child", AE)), trace({"child": {RE}}, before=held)) == []
    assert contradictions(predicted(("child", SHARE)), trace({"child": {AE}}, before={"child": {SHARE}})) == [
        "the lock model says SHARE on child; PostgreSQL took ACCESS EXCLUSIVE"
    ]


def test_an_unnamed_lock_beyond_access_share_is_a_contradiction_unless_on_an_index_or_a_new_relation() -> None:
    assert contradictions(predicted(("child", AE)), trace({"child": {AE}, "parent": {SHARE}})) == [
        "PostgreSQL took SHARE on parent, which the lock model does not name"
    ]
    quiet = trace({"child": {AE}, "parent": {AS}, "child_n_idx": {AE}, "fresh": {AE}}, created={"fresh"})
    assert contradictions(predicted(("child", AE)), quiet) == []


def test_reindex_index_may_lock_the_indexs_table_share_without_naming_it() -> None:
    reindex = predicted(("child_n_idx", AE), scans=("child_n_idx",), kind="reindex")
    assert contradictions(reindex, trace({"child_n_idx": {AE}, "child": {SHARE}}, scans={"child"})) == []
    assert contradictions(reindex, trace({"child_n_idx": {AE}, "child": {AE}}, scans={"child"})) == [
        "PostgreSQL took ACCESS EXCLUSIVE on child, which the lock model does not name"
    ]


def test_rewrites_must_be_equal_both_ways() -> None:
    assert contradictions(predicted(("child", AE), rewrites=("child",)), trace({"child": {AE}})) == [
        "the lock model says child rewritten; PostgreSQL did not rewrite it"
    ]
    assert contradictions(predicted(("child", AE)), trace({"child": {AE}}, rewrites={"child"})) == [
        "PostgreSQL rewrote child, which the lock model does not say"
    ]


def test_truncates_new_file_is_neither_a_rewrite_nor_a_scan_also_on_partitions() -> None:
    truncate = predicted(("events", AE), kind="truncate", relation="events")
    parts = {"events": frozenset({"events_1", "events_2"})}
    everything = {"events", "events_1", "events_2"}
    observed = trace({"events": {AE}}, rewrites=everything, scans=everything, existed=everything, partitions=parts)
    assert contradictions(truncate, observed) == []
    assert contradictions(predicted(("events", AE), relation="events"), observed) == [
        "PostgreSQL rewrote events, events_1, events_2, which the lock model does not say",
        "PostgreSQL scanned events, which the lock model says is neither scanned nor rewritten",
        "PostgreSQL scanned events_1, which the lock model says is neither scanned nor rewritten",
        "PostgreSQL scanned events_2, which the lock model says is neither scanned nor rewritten",
    ]


def test_scans_said_must_happen_and_the_altered_tables_scans_must_be_said() -> None:
    assert contradictions(predicted(("child", AE), scans=("child",)), trace({"child": {AE}})) == [
        "the lock model says child is scanned; PostgreSQL did not scan it"
    ]
    assert contradictions(predicted(("child", AE), scans=("child",)), trace({"child": {AE}}, rewrites={"child"})) == [
        "PostgreSQL rewrote child, which the lock model does not say"
    ]
    assert contradictions(predicted(("child", AE)), trace({"child": {AE}}, scans={"child"})) == [
        "PostgreSQL scanned child, which the lock model says is neither scanned nor rewritten"
    ]
    # a scan of another table (a foreign key's referenced one, say) is not the altered table's
    assert contradictions(predicted(("child", AE)), trace({"child": {AE}}, scans={"parent"})) == []
    # an index's scan reads its table
    assert contradictions(predicted(("child_n_idx", AE), scans=("child_n_idx",), kind="reindex"),
                          trace({"child_n_idx": {AE}, "child": {SHARE}}, scans={"child"})) == []


def test_outside_a_transaction_only_new_data_files_are_compared() -> None:
    untraced = trace(None, scans=None, rewrites={"child"})
    assert contradictions(predicted(("child", "SHARE UPDATE EXCLUSIVE"), scans=("child",)), untraced) == [
        "PostgreSQL rewrote child, which the lock model does not say"
    ]
    assert untraced.locks is None


def test_traced_locks_are_what_the_statement_took_or_strengthened_on_existing_relations() -> None:
    observed = trace(
        {"child": {AE, AS}, "parent": {RE}, "child_n_idx": {AS}, "fresh": {AE}},
        before={"parent": {AE}, "child_n_idx": set()},
        created={"fresh"},
    )
    assert observed.locks == (LockRef("child", AE), LockRef("child_n_idx", AS))


def test_a_do_blocks_statements_may_take_their_locks_but_need_not() -> None:
    """drizzle-kit 0.29 wraps each foreign key in `DO $$ BEGIN ALTER TABLE ... EXCEPTION WHEN
    duplicate_object THEN null; END $$`: the trace is the block's, the locks are its statement's.
    Whether that statement runs (a condition, a caught error that releases its locks with the
    subtransaction) is not known, so its locks excuse what was taken without being required."""
    block = StatementReport(line=1, sql="DO $$ BEGIN\n ALTER TABLE ...;\nEND $$", operations=())
    inner = predicted(("child", SHARE), ("parent", SHARE), rewrites=("child",))
    assert contradictions(block, trace({"child": {SHARE}, "parent": {SHARE}}, rewrites=["child"]), [inner]) == []
    assert contradictions(block, trace({}), [inner]) == []  # caught, or under an IF that was false
    assert contradictions(block, trace({"child": {AE}}), [inner]) == [
        "PostgreSQL took ACCESS EXCLUSIVE on child; the lock model says at most SHARE"
    ]
    assert contradictions(block, trace({"child": {SHARE}, "child_n_idx": {AE}}), [inner]) == []  # an index
    assert contradictions(block, trace({"s.B": {SHARE}}), [inner]) == [
        "PostgreSQL took SHARE on s.B, which the lock model does not name"
    ]
    assert contradictions(block, trace({"child": {SHARE}}, rewrites=["parent"]), [inner]) == [
        "PostgreSQL rewrote parent, which the lock model does not say"
    ]
