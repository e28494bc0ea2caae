"""The plan for one environment: a pure function of a migration set, a history and approvals.

It says what is pending (in order) and what blocks each pending migration, and it finds what
drizzle-orm's migrator silently gets wrong: an applied file edited since (tampered), a recorded
migration that main does not have (unknown), and a pending migration older than the newest
applied one (out-of-order; drizzle 0.x would skip it forever).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.history import HistoryRow
from reconciler.migrations import Layout, Migration, MigrationSet


class ProblemKind(StrEnum):
    TAMPERED = "tampered"
    UNKNOWN = "unknown"
    OUT_OF_ORDER = "out-of-order"


@dataclass(frozen=True)
class Problem:
    """Something in the history or the folder that a person must decide on."""

    kind: ProblemKind
    tag: str | None
    message: str
    accepted: bool = False  # an explicit, recorded decision lets apply go on despite it


@dataclass(frozen=True)
class Approvals:
    """What lets pending migrations through the environment's gate.

    `all_approved` is the automatic gate (staging on merge); otherwise only the listed tags
    pass. Overrides are explicit, recorded decisions: apply an out-of-order migration, or go
    on despite tampered or unknown history.
    """

    all_approved: bool = True
    tags: frozenset[str] = frozenset()
    allow_out_of_order: frozenset[str] = frozenset()
    accept_tampered_reason: str | None = None
    allow_unknown: bool = False
    approved_by: str | None = None  # who let the migrations through a gate other than auto
    approval_reason: str | None = None  # and why (both recorded in the audit log)

    def approves(self, tag: str) -> bool:
        return self.all_approved or tag in self.tags


@dataclass(frozen=True)
class PendingMigration:
    """A migration not yet applied, and why it may not be applied now (empty: it may)."""

    migration: Migration
    blocked_by: tuple[str, ...] = ()

    @property
    def runnable(self) -> bool:
        return not self.blocked_by


@dataclass(frozen=True)
class Plan:
    """For one environment: applied, pending (in order, with blockers) and problems."""

    applied: tuple[Migration, ...]
    pending: tuple[PendingMigration, ...]
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def runnable(self) -> tuple[Migration, ...]:
        """The ordered prefix of pending migrations that may be applied now."""
        prefix: list[Migration] = []
        for item in self.pending:
            if not item.runnable:
                break
            prefix.append(item.migration)
        return tuple(prefix)

    @property
    def open_problems(self) -> tuple[Problem, ...]:
        """Problems no recorded decision has accepted: these fail `plan` and `apply`."""
        return tuple(p for p in self.problems if not p.accepted)

    @property
    def last_applied(self) -> Migration | None:
        return self.applied[-1] if self.applied else None


def make_plan(
    migration_set: MigrationSet,
    history: Sequence[HistoryRow],
    approvals: Approvals | None = None,
    stop_at: str | None = None,
) -> Plan:
    """Compare a migration set with an environment's history.

    `stop_at` (a tag) limits the runnable prefix to migrations up to and including it.
    """
    approvals = approvals or Approvals()
    matched, problems = _match_history(migration_set, history, approvals)
    applied = tuple(m for m in migration_set.migrations if m.tag in matched)
    newest_applied = max((row.created_at or 0 for row in history), default=None)

    if stop_at is not None and migration_set.by_tag(stop_at) is None:
        raise KeyError(stop_at)

    pending: list[PendingMigration] = []
    earlier_blocked = False
    past_stop = False
    history_blocks = _history_blockers(problems)
    for migration in migration_set.migrations:
        if migration.tag in matched:
            if migration.tag == stop_at:
                past_stop = True
            continue
        reasons: list[str] = list(history_blocks)
        if _is_out_of_order(migration, newest_applied):
            problems.append(
                Problem(
                    ProblemKind.OUT_OF_ORDER,
                    migration.tag,
                    f"{migration.tag} is pending but older than the newest applied migration "
                    f"(when {migration.when} <= {newest_applied}): it was merged late. "
                    + (
                        "drizzle-orm's migrator would skip it silently forever. "
                        if migration_set.layout is Layout.DRIZZLE_0
                        else ""
                    )
                    + "Check that it does not conflict with what ran after it, then apply it "
                    f"explicitly with --allow-out-of-order {migration.tag}",
                    accepted=migration.tag in approvals.allow_out_of_order,
                )
            )
            if migration.tag not in approvals.allow_out_of_order:
                reasons.append("out of order: needs --allow-out-of-order")
        if not approvals.approves(migration.tag):
            reasons.append("not approved for this environment")
        if past_stop:
            reasons.append(f"after --to {stop_at}")
        if earlier_blocked and not reasons:
            reasons.append("an earlier pending migration is blocked")
        pending.append(PendingMigration(migration, tuple(reasons)))
        earlier_blocked = earlier_blocked or bool(reasons)
        if migration.tag == stop_at:
            past_stop = True
    return Plan(applied=applied, pending=tuple(pending), problems=tuple(problems))


def _match_history(
    migration_set: MigrationSet, history: Iterable[HistoryRow], approvals: Approvals
) -> tuple[set[str], list[Problem]]:
    """Which migrations the history records, and the tampered and unknown rows.

    A row matches by name (drizzle 1.x), else by hash, else by `created_at` == `when`
    (the journal entry is there but its file changed: tampered).
    """
    by_hash = {m.hash: m for m in migration_set.migrations}
    by_name = {m.tag: m for m in migration_set.migrations}
    by_when: dict[int, list[Migration]] = {}
    for m in migration_set.migrations:
        by_when.setdefault(m.when, []).append(m)

    matched: set[str] = set()
    problems: list[Problem] = []
    for row in history:
        found = by_name.get(row.name) if row.name else None
        if found is None:
            found = by_hash.get(row.hash)
        if found is None and row.created_at is not None and len(by_when.get(row.created_at, [])) == 1:
            found = by_when[row.created_at][0]
        if found is None:
            problems.append(
                Problem(
                    ProblemKind.UNKNOWN,
                    row.name,
                    f"history row id {row.id} (hash {row.hash[:12]}…, created_at {row.created_at}) "
                    "matches no migration in this folder: it was applied from another branch, or main "
                    "was rewritten. Find where it came from; schemawarden never removes it for you",
                    accepted=approvals.allow_unknown,
                )
            )
            continue
        if found.hash != row.hash:
            problems.append(
                Problem(
                    ProblemKind.TAMPERED,
                    found.tag,
                    f"{found.path} was edited after it was applied (recorded hash {row.hash[:12]}…, "
                    f"file hash {found.hash[:12]}…): the environment ran the old text. Restore the "
                    "file and put the change in a new migration",
                    accepted=approvals.accept_tampered_reason is not None,
                )
            )
        matched.add(found.tag)
    return matched, problems


def _history_blockers(problems: Sequence[Problem]) -> tuple[str, ...]:
    reasons: list[str] = []
    open_kinds = {p.kind for p in problems if not p.accepted}
    if ProblemKind.TAMPERED in open_kinds:
        reasons.append("an applied migration was edited: needs --accept-tampered REASON")
    if ProblemKind.UNKNOWN in open_kinds:
        reasons.append("the history has unknown migrations: needs --allow-unknown")
    return tuple(reasons)


def _is_out_of_order(migration: Migration, newest_applied: int | None) -> bool:
    """drizzle 0.x applies only `when` strictly above the newest `created_at`."""
    if newest_applied is None:
        return False
    return migration.when <= newest_applied
