"""Applying migrations to an environment: `apply_environment` and what it takes and gives.

* `runner`: the entry point: runner lock, the plan under it, the loop over runnable migrations.
* `executor`: one migration's steps, timeouts, retries, recovery recipes, progress, messages.
* `watch`: the running statement seen from outside (elapsed time, wait event, blockers).
* `events`: options, outcomes, result and the observer a front end implements.
"""

from reconciler.apply.events import (
    ApplyObserver,
    ApplyOptions,
    ApplyResult,
    MigrationOutcome,
    OrphanedBackend,
    RunnerLockHeld,
    SilentObserver,
)
from reconciler.apply.runner import apply_environment, current_plan, plan_environment

__all__ = [
    "ApplyObserver",
    "ApplyOptions",
    "ApplyResult",
    "MigrationOutcome",
    "OrphanedBackend",
    "RunnerLockHeld",
    "SilentObserver",
    "apply_environment",
    "current_plan",
    "plan_environment",
]
