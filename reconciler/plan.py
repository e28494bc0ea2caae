"""The plan for one environment: a pure function of a migration set, a history, progress and approvals.

It says what is pending (in order) and what blocks each pending migration, and it finds what
drizzle-orm's migrator silently gets wrong: an applied file edited since (tampered), a recorded
migration that main does not have (unknown), a pending migration older than the newest applied
one (out-of-order; drizzle 0.x would skip it forever), a migration left part-applied by an
attempt on an earlier version of its file (partial), and a migration whose own `COMMIT` or
`BEGIN` would commit part of it with no record (transaction-control).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from policies.execution import statement_keys, transaction_control
from reconciler.history import HistoryRow
from reconciler.migrations import Layout, Migration, MigrationSet


class ProblemKind(StrEnum):
    TAMPERED = "tampered"
    UNKNOWN = "unknown"
    OUT_OF_ORDER = "out-of-order"
    PARTIAL = "partial"
    TRANSACTION_CONTROL = "transaction-control"


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
    pass. Overrides are explicit, recorded decisions: apply an out-of-order migration, go on
    despite tampered or unknown history, and for a migration left partly applied by an earlier
    version of its file, resume it (skip the statements already run, which the new file still
    has unchanged) or restart it (run the new file whole).
    """

    all_approved: bool = True
    tags: frozenset[str] = frozenset()
    allow_out_of_order: frozenset[str] = frozenset()
    accept_tampered_reason: str | None = None
    allow_unknown: bool = False
    resume_partial: frozenset[str] = frozenset()
    restart_partial: frozenset[str] = frozenset()
    approved_by: str | None = None  # who let the migrations through a gate other than auto
    approval_reason: str | None = None  # and why (both recorded in the audit log)

    def approves(self, tag: str) -> bool:
        return self.all_approved or tag in self.tags


@dataclass(frozen=True)
class Progress:
    """What earlier attempts committed of one migration that is not applied yet.

    Read from `schemawarden.apply_progress`: the file's hash when the steps ran, the keys of the
    statements that completed (`policies.execution.statement_keys`), and the file lines of the
    completed steps.
    """

    tag: str
    hashes: frozenset[str]
    statement_keys: frozenset[str]
    lines: tuple[int, ...]


@dataclass(frozen=True)
class FolderSeen:
    """The migrations folder as the runner that applied the newest migration saw it.

    `head` is its last migration's tag and `size` its number of migrations (recorded in
    `schemawarden.apply_log`). A pending migration at or before `head` was already in the folder
    then: the run stopped before it, it was not merged late.
    """

    head: str
    size: int


@dataclass(frozen=True)
class PendingMigration:
    """A migration not yet applied, and why it may not be applied now (empty: it may).

    `resume` is set when earlier attempts committed some of its statements: apply skips those.
    `restart` is set when a recorded decision discards that progress and runs the file whole.
    """

    migration: Migration
    blocked_by: tuple[str, ...] = ()
    resume: Progress | None = None
    restart: bool = False

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
    def runnable_items(self) -> tuple[PendingMigration, ...]:
        """The ordered prefix of pending migrations that may be applied now."""
        prefix: list[PendingMigration] = []
        for item in self.pending:
            if not item.runnable:
                break
            prefix.append(item)
        return tuple(prefix)

    @property
    def runnable(self) -> tuple[Migration, ...]:
        return tuple(item.migration for item in self.runnable_items)

    @property
    def open_problems(self) -> tuple[Problem, ...]:
        """Problems no recorded decision has accepted: these fail `plan` and `apply`."""
        return tuple(p for p in self.problems if not p.accepted)

    @property
    def accepted_problems(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.accepted)

    @property
    def last_applied(self) -> Migration | None:
        return self.applied[-1] if self.applied else None


def make_plan(
    migration_set: MigrationSet,
    history: Sequence[HistoryRow],
    approvals: Approvals | None = None,
    stop_at: str | None = None,
    progress: Mapping[str, Progress] | None = None,
    folder_seen: FolderSeen | None = None,
) -> Plan:
    """Compare a migration set with an environment's history and recorded progress.

    `stop_at` (a tag) limits the runnable prefix to migrations up to and including it; raises
    KeyError when no migration has that tag. `progress` maps a tag to what earlier attempts
    committed of it (`reconciler.audit.read_progress`). `folder_seen` tells a migration merged late
    from one a stopped run had not reached yet (`reconciler.audit.read_folder_seen`).
    """
    approvals = approvals or Approvals()
    progress = progress or {}
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
        control = transaction_control(migration.statements)
        if control:
            problems.append(_transaction_control_problem(migration, control[0].statement.line, control[0].command))
            reasons.append("transaction control in the migration: remove it")
        resume, restart = None, False
        recorded = progress.get(migration.tag)
        if recorded is not None:
            resume, restart, problem = _judge_progress(migration, recorded, approvals)
            if problem is not None:
                problems.append(problem)
                if not problem.accepted:
                    reasons.append("partly applied from an earlier file: needs --resume-partial or --restart-partial")
        if _is_out_of_order(migration, newest_applied) and _was_in_folder(migration_set, migration, folder_seen):
            problems.append(
                Problem(
                    ProblemKind.OUT_OF_ORDER,
                    migration.tag,
                    f"{migration.tag} is pending with a when ({migration.when}) below the newest applied "
                    f"({newest_applied}), but it was already in the folder when that was applied: the run stopped "
                    "before it, and schemawarden applies it in journal order. "
                    + (
                        "drizzle-orm's migrator would skip it: let schemawarden apply it before drizzle runs here"
                        if migration_set.layout is Layout.DRIZZLE_0
                        else "Nothing to decide"
                    ),
                    accepted=True,
                )
            )
        elif _is_out_of_order(migration, newest_applied):
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
        pending.append(PendingMigration(migration, tuple(reasons), resume, restart))
        earlier_blocked = earlier_blocked or bool(reasons)
        if migration.tag == stop_at:
            past_stop = True
    known = {m.tag for m in migration_set.migrations}
    for tag in sorted(set(progress) - known):
        problems.append(
            Problem(
                ProblemKind.PARTIAL,
                tag,
                f"{tag} was partly applied (steps at lines {_lines(progress[tag])} committed) but is not in "
                "this folder: it was removed or renamed after an attempt failed part way. Restore it, or "
                "undo what it committed by hand and delete its rows from schemawarden.apply_progress",
            )
        )
    return Plan(applied=applied, pending=tuple(pending), problems=tuple(problems))


def _judge_progress(
    migration: Migration, recorded: Progress, approvals: Approvals
) -> tuple[Progress | None, bool, Problem | None]:
    """(progress to resume from, restart, problem) for a pending migration with committed steps."""
    if recorded.hashes == {migration.hash}:
        return recorded, False, None  # the same file: resume where it stopped
    missing = recorded.statement_keys - set(statement_keys(migration.statements))
    tag = migration.tag
    message = (
        f"{tag} was partly applied: the steps at lines {_lines(recorded)} were committed by an attempt on "
        f"an earlier version of {migration.path}, which has changed since (now {migration.hash[:12]}…). "
    )
    if missing:
        message += (
            f"{len(missing)} of the statements that ran are no longer in the file, so what is done cannot be "
            "told apart from what is not. Make the database match what the new file expects by hand, then "
            f"apply with --restart-partial {tag} (runs the whole new file), or restore the old text"
        )
    else:
        message += (
            f"The statements that ran are unchanged in the new file: --resume-partial {tag} skips them and "
            f"runs the rest; --restart-partial {tag} runs the whole new file again (only if repeating what "
            "already ran is safe)"
        )
    if tag in approvals.restart_partial:
        return None, True, Problem(ProblemKind.PARTIAL, tag, message, accepted=True)
    if tag in approvals.resume_partial and not missing:
        return recorded, False, Problem(ProblemKind.PARTIAL, tag, message, accepted=True)
    return None, False, Problem(ProblemKind.PARTIAL, tag, message)


def _lines(recorded: Progress) -> str:
    return ", ".join(str(line) for line in recorded.lines) or "?"


def _transaction_control_problem(migration: Migration, line: int, command: str) -> Problem:
    return Problem(
        ProblemKind.TRANSACTION_CONTROL,
        migration.tag,
        f"{migration.path}:{line}: {command.upper().replace('_', ' ')} inside a migration. schemawarden runs "
        "each migration in its own transaction (a statement that cannot run in one runs alone), so this "
        "would commit or discard part of the migration with no record of it and drop its lock_timeout. "
        "Remove the BEGIN/COMMIT/ROLLBACK/SAVEPOINT statements (a whole file wrapped in one BEGIN ... "
        "COMMIT is fine), and put what must commit separately into a migration of its own "
        "(`drizzle-kit generate --custom`)",
    )


def _match_history(
    migration_set: MigrationSet, history: Iterable[HistoryRow], approvals: Approvals
) -> tuple[set[str], list[Problem]]:
    """Which migrations the history records, and the tampered and unknown rows.

    A row matches as drizzle-orm decides what is applied: by `name` in the 1.x layout, by
    `created_at` == the journal's `when` in the 0.x layout; the hash comes second (a row whose
    created_at matches no migration, or several). Each migration matches one row at most, so two
    migrations with identical bytes are told apart. A matched row whose hash differs is tampered.
    """
    by_name = {m.tag: m for m in migration_set.migrations}
    by_when: dict[int, list[Migration]] = {}
    by_hash: dict[str, list[Migration]] = {}
    for m in migration_set.migrations:
        by_when.setdefault(m.when, []).append(m)
        by_hash.setdefault(m.hash, []).append(m)

    matched: set[str] = set()
    problems: list[Problem] = []
    for row in history:
        found = _match_row(row, migration_set.layout, by_name, by_when, by_hash, matched)
        if found is None:
            again = next((m for m in by_hash.get(row.hash, []) if m.tag in matched), None)
            what = (
                f"records {again.tag} a second time (two runners applied it?)"
                if again is not None
                else "matches no migration in this folder: it was applied from another branch, or main was rewritten"
            )
            problems.append(
                Problem(
                    ProblemKind.UNKNOWN,
                    row.name,
                    f"history row id {row.id} (hash {row.hash[:12]}…, created_at {row.created_at}) {what}. "
                    "Find where it came from; schemawarden never removes it for you",
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


def _match_row(
    row: HistoryRow,
    layout: Layout,
    by_name: Mapping[str, Migration],
    by_when: Mapping[int, list[Migration]],
    by_hash: Mapping[str, list[Migration]],
    matched: set[str],
) -> Migration | None:
    if layout is Layout.DRIZZLE_1 and row.name:
        named = by_name.get(row.name)
        if named is not None and named.tag not in matched:
            return named
    if row.created_at is not None:
        same_when = [m for m in by_when.get(row.created_at, []) if m.tag not in matched]
        if len(same_when) == 1 and layout is Layout.DRIZZLE_0:
            return same_when[0]
        for candidate in same_when:
            if candidate.hash == row.hash:
                return candidate
    return next((m for m in by_hash.get(row.hash, []) if m.tag not in matched), None)


def _history_blockers(problems: Sequence[Problem]) -> tuple[str, ...]:
    reasons: list[str] = []
    open_kinds = {p.kind for p in problems if not p.accepted}
    if ProblemKind.TAMPERED in open_kinds:
        reasons.append("an applied migration was edited: needs --accept-tampered REASON")
    if ProblemKind.UNKNOWN in open_kinds:
        reasons.append("the history has unknown migrations: needs --allow-unknown")
    return tuple(reasons)


def _was_in_folder(migration_set: MigrationSet, migration: Migration, seen: FolderSeen | None) -> bool:
    """Whether the migration was in the folder the newest applied migration was applied from.

    Only when nothing was inserted before that folder's last migration since (its position still
    matches the recorded size) and the migration stands at or before it.
    """
    if seen is None:
        return False
    tags = [m.tag for m in migration_set.migrations]
    if seen.head not in tags or tags.index(seen.head) + 1 != seen.size:
        return False
    return tags.index(migration.tag) <= tags.index(seen.head)


def _is_out_of_order(migration: Migration, newest_applied: int | None) -> bool:
    """drizzle 0.x applies only `when` strictly above the newest `created_at`."""
    if newest_applied is None:
        return False
    return migration.when <= newest_applied
