"""The lock trace held against the lock model: what PostgreSQL did for a statement, and where the
model's prediction says otherwise.

`StatementTrace` is what a scratch database observed for one statement (filled by
`reconciler.database.trace`): the lock modes the statement newly took on each relation
(`pg_locks` of its backend), the relations given a new data file (`pg_class.relfilenode`), the
relations read by a sequential scan (`pg_stat_xact_user_tables`), and which relations existed
before it. `contradictions(predicted, traced)` compares that with the `locks`, `rewrites` and
`scans` the analysis predicted for the statement (`policies.report.StatementReport`) and returns
each disagreement as a sentence: every one is a bug of the lock model (or of the trace).

The rules:
* every lock the model names is taken by the statement in exactly that mode (or, inside a longer
  transaction, was already held in that mode and nothing stronger was taken);
* every relation other than an index that the statement newly locks beyond ACCESS SHARE is named by
  the model (an index is locked with its table), except a relation the statement created, and the
  few facts the text cannot tell (`UNNAMED_INDEX_TABLE_MODE`);
* the model's rewrites are exactly the rewritten relations (TRUNCATE's new, empty file is not a
  rewrite: `NEW_FILE_NOT_A_REWRITE`);
* every relation the model says is scanned was scanned or rewritten (an index's scan reads its
  table), and the altered relation (the model's first lock) and each of its partitions, when
  PostgreSQL scanned it, is one the model says is scanned or rewritten, unless the statement is a
  query whose scans the planner chooses (`PLANNED_SCANS`).
A partitioned table has no data of its own: the trace counts it rewritten (scanned) when one of its
partitions is. Relation names on both sides are compared as `relation_key` gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from policies.locks import (
    ACCESS_EXCLUSIVE,
    ACCESS_SHARE,
    EXCLUSIVE,
    ROW_EXCLUSIVE,
    ROW_SHARE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
)
from policies.operations import OperationKind
from policies.report import LockRef, StatementReport
from policies.schema.model import relation_key

LOCK_MODES: tuple[str, ...] = (
    ACCESS_SHARE,
    ROW_SHARE,
    ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    EXCLUSIVE,
    ACCESS_EXCLUSIVE,
)
"""The table-level lock modes, weakest first, in PostgreSQL's own numbering (lockdefs.h; docs:
explicit-locking.html#LOCKING-TABLES): a mode later in the list conflicts with at least as much."""

_RANK = {mode: rank for rank, mode in enumerate(LOCK_MODES)}

UNNAMED_INDEX_TABLE_MODE: Mapping[OperationKind, str] = MappingProxyType({
    # `REINDEX INDEX i` names only the index; PostgreSQL also locks i's table SHARE (sql-reindex.html)
    OperationKind.REINDEX: SHARE,
})
"""Locks the statement's text cannot show: for these operation kinds, the table of an index the model
locks may be locked in this mode without being named."""

NEW_FILE_NOT_A_REWRITE: frozenset[OperationKind] = frozenset({
    # TRUNCATE gives the table (and its partitions) a new, empty data file and moves its
    # sequential-scan counter, though it reads and rewrites no row (sql-truncate.html)
    OperationKind.TRUNCATE,
})
"""Operation kinds whose new data files (and sequential-scan counts) on the relations they name are
neither rewrites nor scans."""

PLANNED_SCANS: frozenset[OperationKind] = frozenset({
    # a query's scans are the planner's choice (a WHERE on a small table is read sequentially, one on
    # an indexed column of a large one is not): the lock model's scan facts are about DDL
    OperationKind.UPDATE, OperationKind.DELETE, OperationKind.MERGE, OperationKind.INSERT, OperationKind.SELECT,
})
"""Operation kinds whose sequential scans the planner decides (queries): a scan the model does not
name is no contradiction there."""

_EMPTY: Mapping[str, frozenset[str]] = MappingProxyType({})


def strongest(modes: Iterable[str]) -> str | None:
    """The strongest of some lock modes (`LOCK_MODES` order), or None for none."""
    return max(modes, key=_RANK.__getitem__, default=None)


@dataclass(frozen=True)
class StatementTrace:
    """What PostgreSQL did for one statement, observed in a scratch database.

    Relations are named as `relation_key` gives them (`users`, `audit.events`).

    * `modes_taken`: the lock modes the statement newly took on each relation (a mode its
      transaction already held is not seen again); None when the statement ran outside a
      transaction, where its locks end with it and cannot be read afterwards.
    * `modes_before`: the modes its transaction held on each relation before it.
    * `rewrites`: relations that existed before and after it and got a new data file
      (rewritten, or emptied by TRUNCATE); a partitioned table when one of its partitions did.
    * `scans`: relations read by a sequential scan (a partitioned table when a partition was);
      None outside a transaction (the per-transaction counters are gone by then).
    * `existed`, `created`, `dropped`: relations before it; new after it; gone after it.
    * `indexes`: each index's table; `partitions`: each partitioned table's partitions (both as
      before the statement, and for what it created).
    """

    modes_taken: Mapping[str, frozenset[str]] | None
    modes_before: Mapping[str, frozenset[str]] = field(default_factory=dict)
    rewrites: frozenset[str] = frozenset()
    scans: frozenset[str] | None = frozenset()
    existed: frozenset[str] = frozenset()
    created: frozenset[str] = frozenset()
    dropped: frozenset[str] = frozenset()
    indexes: Mapping[str, str] = field(default_factory=dict)
    partitions: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def locks(self) -> tuple[LockRef, ...] | None:
        """Locks the statement took or strengthened on relations that existed before it (tables,
        indexes, sequences, views): the strongest new mode per relation, when stronger than what its
        transaction already held, sorted by relation. A relation it created is left out (nobody else
        can see it before the commit). None when not traced (see `modes_taken`)."""
        if self.modes_taken is None:
            return None
        found = []
        for relation, modes in self.modes_taken.items():
            if relation not in self.existed:
                continue
            new, held = strongest(modes), strongest(self.modes_before.get(relation, ()))
            if new is not None and (held is None or _RANK[new] > _RANK[held]):
                found.append(LockRef(relation, new))
        return tuple(sorted(found, key=lambda lock: lock.relation))


def contradictions(
    predicted: StatementReport, traced: StatementTrace, inner: Sequence[StatementReport] = ()
) -> list[str]:
    """Where the trace contradicts the prediction for the same statement, one sentence each, in a
    stable order (locks named, locks not named, rewrites, scans); empty when they agree.

    `predicted` is the analysis's report of the statement on the scratch server's major version.
    `inner` are the reports of the statements a DO block runs (traced as the block): what they lock
    or rewrite is no contradiction, but it is not required either, since a condition (IF, an
    EXCEPTION handler that catches their failure and releases their locks with the
    subtransaction) decides whether they run (PL/pgSQL, "Trapping Errors").
    """
    predicted_locks = _strongest_by_relation(predicted.locks)
    allowed_locks = _strongest_by_relation([*predicted.locks, *(lock for s in inner for lock in s.locks)])
    operations = [*predicted.operations, *(op for s in inner for op in s.operations)]
    kinds = {kind for kind in map(_kind, operations) if kind is not None}
    new_files_only = _new_files_only(operations, traced, kinds)
    optional_rewrites = {relation_key(name) for s in inner for name in s.rewrites}
    found: list[str] = []
    if traced.modes_taken is not None:
        found += _named_locks(predicted_locks, traced)
        found += _stronger_than_allowed(allowed_locks, predicted_locks, traced)
        found += _unnamed_locks(allowed_locks, traced, kinds)
    found += _rewrites(predicted, traced, new_files_only | optional_rewrites)
    if traced.scans is not None:
        found += _scans(predicted, traced, new_files_only | optional_rewrites, planned=bool(kinds & PLANNED_SCANS))
    return found


def _stronger_than_allowed(allowed: Mapping[str, str], required: Mapping[str, str], traced: StatementTrace) -> list[str]:
    """Locks of a DO block's statements (allowed, not required) that PostgreSQL took in a stronger mode."""
    found = []
    for relation, mode in sorted(allowed.items()):
        if relation in required:
            continue
        new = strongest((traced.modes_taken or _EMPTY).get(relation, ()))
        if new is not None and _RANK[new] > _RANK[mode]:
            found.append(f"PostgreSQL took {new} on {relation}; the lock model says at most {mode}")
    return found


def _strongest_by_relation(locks: Iterable[LockRef]) -> dict[str, str]:
    """The strongest mode named per relation (by `relation_key`)."""
    modes: dict[str, str] = {}
    for lock in locks:
        key = relation_key(lock.relation)
        known = modes.get(key)
        modes[key] = lock.mode if known is None else str(strongest((known, lock.mode)))
    return modes


def _named_locks(predicted: Mapping[str, str], traced: StatementTrace) -> list[str]:
    taken = traced.modes_taken or _EMPTY
    found = []
    for relation, mode in predicted.items():
        if relation in traced.created:
            continue
        if relation not in traced.existed:
            found.append(
                f"the lock model names {mode} on {relation}, which did not exist before the statement "
                "(a name the trace does not know)"
            )
            continue
        new = strongest(taken.get(relation, ()))
        before = traced.modes_before.get(relation, frozenset())
        if new == mode or (mode in before and (new is None or _RANK[new] < _RANK[mode])):
            continue
        if new is None:
            found.append(f"the lock model says {mode} on {relation}; PostgreSQL took no lock on it")
        else:
            found.append(f"the lock model says {mode} on {relation}; PostgreSQL took {new}")
    return found


def _unnamed_locks(predicted: Mapping[str, str], traced: StatementTrace, kinds: set[OperationKind]) -> list[str]:
    excused: dict[str, str] = {}
    for kind, mode in UNNAMED_INDEX_TABLE_MODE.items():
        if kind in kinds:
            for relation in predicted:
                table = traced.indexes.get(relation)
                if table is not None:
                    excused[table] = mode
    found = []
    for relation, modes in sorted((traced.modes_taken or _EMPTY).items()):
        new = strongest(modes)
        if (
            new is None
            or new == ACCESS_SHARE
            or relation in predicted
            or relation in traced.indexes
            or relation not in traced.existed
            or excused.get(relation) == new
        ):
            continue
        found.append(f"PostgreSQL took {new} on {relation}, which the lock model does not name")
    return found


def _rewrites(predicted: StatementReport, traced: StatementTrace, new_files_only: frozenset[str]) -> list[str]:
    claimed = {relation_key(name) for name in predicted.rewrites}
    seen = set(traced.rewrites) - new_files_only
    found = []
    if missing := sorted(claimed - seen):
        found.append(f"the lock model says {', '.join(missing)} rewritten; PostgreSQL did not rewrite it")
    if extra := sorted(seen - claimed):
        found.append(f"PostgreSQL rewrote {', '.join(extra)}, which the lock model does not say")
    return found


def _scans(
    predicted: StatementReport, traced: StatementTrace, new_files_only: frozenset[str], planned: bool = False
) -> list[str]:
    scans = traced.scans or frozenset()
    read = scans | traced.rewrites
    claimed_scans = {relation_key(name) for name in predicted.scans}
    claimed_read = claimed_scans | {relation_key(name) for name in predicted.rewrites}
    found = []
    for relation in sorted(claimed_scans):
        table = traced.indexes.get(relation, relation)  # scanning an index's table reads its rows
        if table not in read:
            found.append(f"the lock model says {relation} is scanned; PostgreSQL did not scan it")
    if predicted.locks and not planned:
        altered = relation_key(predicted.locks[0].relation)  # the model names the altered relation first
        for relation in sorted(({altered} | traced.partitions.get(altered, frozenset())) & (scans - new_files_only)):
            if relation not in claimed_read:
                found.append(f"PostgreSQL scanned {relation}, which the lock model says is neither scanned nor rewritten")
    return found


def _new_files_only(
    operations: Sequence[Mapping[str, Any]], traced: StatementTrace, kinds: set[OperationKind]
) -> frozenset[str]:
    """Relations whose new data file (or scan count) comes from an operation that neither reads nor rewrites."""
    if not kinds & NEW_FILE_NOT_A_REWRITE:
        return frozenset()
    named = {
        relation_key(str(op["relation"]))
        for op in operations
        if _kind(op) in NEW_FILE_NOT_A_REWRITE and op.get("relation")
    }
    return frozenset(named.union(*(traced.partitions.get(name, frozenset()) for name in named)))


def _kind(operation: Mapping[str, object]) -> OperationKind | None:
    try:
        return OperationKind(str(operation.get("kind")))
    except ValueError:
        return None
