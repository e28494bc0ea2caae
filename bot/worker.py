"""The worker: takes jobs from the control database's queue and runs their handlers.

Built on pgqueuer's QueueManager: jobs are taken with `FOR UPDATE SKIP LOCKED`; a running job's
heartbeat is refreshed every half `heartbeat_timeout`, and a job whose heartbeat is older than
that (its worker was killed, its machine lost) is taken by another worker. A failed attempt is
retried with capped exponential backoff and jitter until `max_attempts`; then the job is held in
the queue with status `failed` (visible in `/metrics`; `pgq` can re-queue it). A configuration
error (exit code 2: a bad policy file, a missing URL) is not retried: it would fail again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pgqueuer.core.executors import EntrypointExecutor, EntrypointExecutorParameters
from pgqueuer.domain import models
from pgqueuer.errors import RetryRequested
from pgqueuer.qm import QueueManager
from pydantic import SecretStr, ValidationError

from bot.control import queue
from bot.control.database import connect_async
from bot.jobs import GITHUB, JobContext, JobHandlers, JobKind, decode, reconcile_entrypoint
from bot.metrics import Metrics
from bot.settings import ServiceSettings
from policies.errors import EXIT_USAGE, SchemawardenError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker runs: jobs at once, heartbeat timeout (s), and the retry policy (s)."""

    concurrency: int = 4
    heartbeat_timeout_s: float = 30.0
    max_attempts: int = 5
    first_retry_s: float = 2.0
    max_retry_s: float = 300.0
    idle_poll_s: float = 5.0
    """How long an idle worker waits for a NOTIFY before it looks at the queue again."""

    def retry_delay_s(self, attempt: int, jitter: float) -> float:
        """Seconds before the retry after failed attempt `attempt` (1 = the first): the ceiling
        `first_retry_s * 2**(attempt-1)` capped at `max_retry_s`, and "equal jitter" (half the
        ceiling plus `jitter` in [0, 1] times the other half)."""
        ceiling: float = min(self.max_retry_s, self.first_retry_s * float(2 ** min(attempt - 1, 30)))
        return ceiling * (0.5 + 0.5 * jitter)


@dataclass
class _JobExecutor(EntrypointExecutor):
    """Runs one kind's handler in a thread and turns its failures into bounded, delayed retries."""

    kind: JobKind = JobKind.ANALYSE_PULL_REQUEST
    handlers: JobHandlers = field(default_factory=JobHandlers)
    settings: ServiceSettings | None = None
    control_url: SecretStr = field(default_factory=lambda: SecretStr(""))
    options: WorkerOptions = field(default_factory=WorkerOptions)
    metrics: Metrics | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    async def execute(self, job: models.Job, context: models.Context) -> None:
        started = time.monotonic()
        kind = self.kind.value
        attempt = job.attempts + 1
        if self.metrics is not None:
            wait = (datetime.now(UTC) - job.created).total_seconds()
            self.metrics.job_wait_seconds.labels(kind).observe(max(wait, 0.0))
        outcome = "failed"
        try:
            try:
                payload = decode(self.kind, job.payload)
            except ValidationError as exc:
                outcome = "invalid"
                log.error("job %s %s: its payload is not a %s (%s); held as failed", job.id, kind, kind, exc.error_count())
                raise
            handler = getattr(self.handlers, kind)
            assert self.settings is not None
            ctx = JobContext(
                job_id=int(job.id),
                attempt=attempt,
                max_attempts=self.options.max_attempts,
                settings=self.settings,
                control_url=self.control_url,
                extras=self.extras,
            )
            log.info("job %s %s attempt %d: %s", job.id, kind, attempt, _subject(payload))
            try:
                await asyncio.to_thread(handler, payload, ctx)
            except SchemawardenError as exc:
                if exc.exit_code == EXIT_USAGE:
                    outcome = "configuration"
                    log.error("job %s %s: %s (not retried)", job.id, kind, exc)
                    raise
                raise self._retry(job, attempt, exc) from exc
            except Exception as exc:
                raise self._retry(job, attempt, exc) from exc
            outcome = "successful"
        except RetryRequested:
            outcome = "retried"
            raise
        finally:
            elapsed = time.monotonic() - started
            log.info("job %s %s attempt %d: %s in %.0f ms", job.id, kind, attempt, outcome, elapsed * 1000)
            if self.metrics is not None:
                self.metrics.jobs.labels(kind, outcome).inc()
                self.metrics.job_seconds.labels(kind).observe(elapsed)

    def _retry(self, job: models.Job, attempt: int, exc: Exception) -> Exception:
        reason = f"{type(exc).__name__}: {exc}" if isinstance(exc, SchemawardenError) else type(exc).__name__
        if attempt >= self.options.max_attempts:
            log.error("job %s %s attempt %d failed (%s): no attempts left, held as failed", job.id, self.kind, attempt, reason)
            return exc
        delay = self.options.retry_delay_s(attempt, random.random())
        log.warning("job %s %s attempt %d failed (%s): retry in %.1f s", job.id, self.kind, attempt, reason, delay)
        return RetryRequested(delay=timedelta(seconds=delay), reason=reason)


def _subject(payload: Any) -> str:
    """What a log line says about a job: repository and PR or environment, never a secret."""
    fields = payload.model_dump(include={"repository", "number", "head_sha", "environment", "trigger", "sha"})
    return " ".join(f"{k}={str(v)[:12] if k.endswith('sha') else v}" for k, v in fields.items())


def entrypoints(settings: ServiceSettings, handlers: JobHandlers) -> list[tuple[str, JobKind, int]]:
    """(entrypoint, kind, concurrency limit) a worker registers: analyses unlimited, one
    reconcile at a time per environment of every repository the service serves."""
    found: list[tuple[str, JobKind, int]] = []
    if handlers.analyse_pull_request is not None:
        found.append((JobKind.ANALYSE_PULL_REQUEST.value, JobKind.ANALYSE_PULL_REQUEST, 0))
    if handlers.reconcile_environment is not None:
        for repository, env in settings.all_environments():
            found.append((reconcile_entrypoint(repository, env.name), JobKind.RECONCILE_ENVIRONMENT, 1))
    return found


async def run_worker(
    control_url: str,
    settings: ServiceSettings,
    handlers: JobHandlers,
    options: WorkerOptions = WorkerOptions(),
    *,
    metrics: Metrics | None = None,
    extras: dict[str, Any] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Take and run jobs until `stop` is set (or the task is cancelled).

    The handlers share `extras` and, unless it holds one already, a GitHub client built from
    `settings` (when they name credentials) whose every answer is counted in `metrics`. Raises
    SchemawardenError (exit 2) when `handlers` has none, and ControlDatabaseUnreachable when the
    control database cannot be reached.
    """
    registered = entrypoints(settings, handlers)
    if not registered:
        raise SchemawardenError("no job handlers are registered: this worker would take no job")
    shared = dict(extras or {})
    own_github = None
    if GITHUB not in shared and settings.github_auth is not None:
        from bot.github import ApiUsage, connect

        usage = ApiUsage(on_response=metrics.observe_github_response if metrics is not None else None)
        own_github = shared[GITHUB] = connect(settings.github_config(), usage)
    conn = await connect_async(control_url, application_name="schemawarden-worker")
    listen = await connect_async(control_url, application_name="schemawarden-worker-listen")
    manager = QueueManager(queue.queries(conn, listen), channel=queue.CHANNEL)
    for name, kind, limit in registered:
        executor = _JobExecutor(
            EntrypointExecutorParameters(concurrency_limit=limit, func=_never_called, accepts_context=True, on_failure="hold"),
            kind=kind,
            handlers=handlers,
            settings=settings,
            control_url=SecretStr(control_url),
            options=options,
            metrics=metrics,
            extras=shared,
        )
        manager.register_executor(name, executor)
    log.info(
        "worker taking %s (%d at once, heartbeat timeout %.0f s)",
        ", ".join(name for name, _, _ in registered),
        options.concurrency,
        options.heartbeat_timeout_s,
    )
    stopper = asyncio.create_task(_stop_when(stop, manager)) if stop is not None else None
    batch = max(1, options.concurrency // 2)
    try:
        await manager.run(
            dequeue_timeout=timedelta(seconds=options.idle_poll_s),
            batch_size=batch,
            max_concurrent_tasks=max(options.concurrency, 2 * batch),
            heartbeat_timeout=timedelta(seconds=options.heartbeat_timeout_s),
        )
    finally:
        if stopper is not None:
            stopper.cancel()
        await conn.close()
        await listen.close()
        if own_github is not None:
            own_github.close()
        log.info("worker stopped")


async def _stop_when(stop: asyncio.Event, manager: QueueManager) -> None:
    await stop.wait()
    manager.shutdown.set()


async def _never_called(job: models.Job, context: models.Context) -> None:
    """pgqueuer's executor parameters want a function; `_JobExecutor.execute` replaces it."""
    raise AssertionError("_JobExecutor.execute runs the handlers")

