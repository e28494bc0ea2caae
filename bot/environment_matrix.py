"""Where a pull request's migrations stand in each environment: the rows of the comment's matrix.

Each environment's history is read (with its read-only role when one is configured) and planned
against a migration set, exactly as `schemawarden plan` does, changing nothing and running none of
the pull request's SQL. An environment that cannot be read (down, refused, no permission) gets a
row saying so: the analysis never fails because an environment is down. Environments are read at
once, each on its own connection, so one slow to refuse does not delay the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pydantic import SecretStr

from bot.comment import EnvironmentRow
from policies.errors import SchemawardenError
from reconciler.apply import ApplyOptions, plan_environment
from reconciler.database.connect import scrub_secrets
from reconciler.environments import EnvironmentConfig
from reconciler.migrations import MigrationSet
from reconciler.plan import Approvals, Plan, ProblemKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnvironmentTarget:
    """An environment to read: its settings (from the default branch's policy) and the URL to read
    its history with (a secret; None when none is configured)."""

    config: EnvironmentConfig
    url: SecretStr | None


def environment_rows(
    targets: Sequence[EnvironmentTarget], migration_set: MigrationSet, tags: Sequence[str]
) -> list[EnvironmentRow]:
    """One row per target, in order: its recorded version and what would become of the migrations
    `tags` (this pull request's) of `migration_set` there."""
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(targets)), thread_name_prefix="environment-matrix") as pool:
        return list(pool.map(lambda target: _row(target, migration_set, tags), targets))


def gate_text(env: EnvironmentConfig) -> str:
    """How the matrix names an environment's gate."""
    if env.gate == "label":
        who = f" by {', '.join(env.approvers)}" if env.approvers else ""
        return f"label `{env.approval_label}`{who}"
    if env.gate == "auto":
        return "auto (on merge)"
    return "manual (schemawarden apply --approved-by)"


def _row(target: EnvironmentTarget, migration_set: MigrationSet, tags: Sequence[str]) -> EnvironmentRow:
    env = target.config
    gate = gate_text(env)
    if target.url is None:
        return EnvironmentRow(env.name, gate, error="no database URL is configured for it")
    url = target.url.get_secret_value()
    try:
        plan = plan_environment(
            env, url, migration_set, ApplyOptions(actor="schemawarden analysis", approvals=Approvals(all_approved=True))
        )
    except SchemawardenError as exc:
        log.warning("%s: not read (%s)", env.label, type(exc).__name__)
        return EnvironmentRow(env.name, gate, error=_first_line(scrub_secrets(str(exc), url)))
    except Exception as exc:  # a history the read-only role may not read, a server error: say so
        log.warning("%s: not read (%s)", env.label, type(exc).__name__)
        reason = _first_line(scrub_secrets(str(exc), url)) or type(exc).__name__
        return EnvironmentRow(env.name, gate, error=f"reading its history failed: {reason}")
    last = plan.last_applied
    return EnvironmentRow(env.name, gate, last.tag if last else None, _standing(plan, tags), _blockers(plan, tags))


def _standing(plan: Plan, tags: Sequence[str]) -> str:
    """`pending (2)`, `applied`, `1 applied, 1 pending`, or `—` (no migration of the pull request)."""
    applied = {m.tag for m in plan.applied}
    pending = {item.migration.tag for item in plan.pending}
    ours = [tag for tag in tags if tag in applied or tag in pending]
    if not ours:
        return "—"
    n_applied = sum(1 for tag in ours if tag in applied)
    n_pending = len(ours) - n_applied
    if not n_applied:
        return f"pending ({n_pending})"
    if not n_pending:
        return "applied"
    return f"{n_applied} applied, {n_pending} pending"


def _blockers(plan: Plan, tags: Sequence[str]) -> tuple[str, ...]:
    """Why this pull request's pending migrations could not be applied there (gates aside)."""
    ours = set(tags)
    pending = [item for item in plan.pending if item.migration.tag in ours]
    if not pending:
        return ()
    newest = plan.last_applied.tag if plan.last_applied else "a newer migration"
    reasons: list[str] = []
    for problem in plan.open_problems:
        if problem.kind is ProblemKind.OUT_OF_ORDER and problem.tag in ours:
            reasons.append(
                f"out of order: `{problem.tag}` is older than `{newest}`, applied there already "
                "(drizzle-orm's migrator would skip it)"
            )
        elif problem.kind is ProblemKind.TAMPERED:
            reasons.append(f"tampered: `{problem.tag}` was edited after it was applied there")
        elif problem.kind is ProblemKind.UNKNOWN:
            reasons.append(
                "unknown history: it recorded a migration this branch does not have (merge the base branch?)"
            )
        elif problem.kind is ProblemKind.PARTIAL:
            reasons.append(f"partial: `{problem.tag}` was partly applied there by an earlier attempt")
        elif problem.kind is ProblemKind.TRANSACTION_CONTROL and problem.tag in ours:
            reasons.append(f"`{problem.tag}` runs BEGIN/COMMIT itself")
    first = pending[0]
    if not reasons and first.blocked_by:
        others = [item for item in plan.pending if item.migration.tag not in ours and item.blocked_by]
        if others:
            reasons.append(f"an earlier pending migration is blocked there: `{others[0].migration.tag}`")
        else:
            reasons.extend(first.blocked_by)
    return tuple(dict.fromkeys(reasons))


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""
