"""Prometheus metrics of one process: webhooks, jobs, the queue and GitHub API calls.

Each process has its own `Metrics` (its own registry, passed where it is needed): the web
service's `/metrics` shows its deliveries, the jobs of its `--with-worker` worker, and the queue
read from the control database at scrape time; `schemawarden worker --metrics-port` shows a
worker's jobs. The GitHub client reports each response through `observe_github_response`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


class Metrics:
    """The counters, histograms and gauges of one process, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.deliveries = Counter(
            "schemawarden_webhook_deliveries",
            "Webhook requests by event and outcome (queued, coalesced, ignored, duplicate, rejected ...)",
            ["event", "outcome"],
            registry=r,
        )
        self.webhook_seconds = Histogram(
            "schemawarden_webhook_duration_seconds",
            "Time to answer a webhook request, by HTTP status",
            ["status"],
            buckets=_FAST,
            registry=r,
        )
        self.jobs = Counter(
            "schemawarden_jobs", "Job attempts run by this process, by kind and outcome", ["kind", "outcome"], registry=r
        )
        self.job_seconds = Histogram(
            "schemawarden_job_duration_seconds", "Time a job attempt ran, by kind", ["kind"], buckets=_SLOW, registry=r
        )
        self.job_wait_seconds = Histogram(
            "schemawarden_job_wait_seconds",
            "Time from enqueue to the start of a job attempt, by kind",
            ["kind"],
            buckets=_SLOW,
            registry=r,
        )
        self.queue_jobs = Gauge(
            "schemawarden_queue_jobs",
            "Jobs in the queue by kind and status (queued, picked, failed), read at scrape time",
            ["kind", "status"],
            registry=r,
        )
        self.queue_oldest_seconds = Gauge(
            "schemawarden_queue_oldest_queued_seconds",
            "Age of the oldest queued job by kind, read at scrape time",
            ["kind"],
            registry=r,
        )
        self.github_calls = Counter(
            "schemawarden_github_api_calls", "GitHub API responses by method and status", ["method", "status"], registry=r
        )
        self.github_rate_limit_remaining = Gauge(
            "schemawarden_github_rate_limit_remaining",
            "X-RateLimit-Remaining of the latest GitHub response, by resource",
            ["resource"],
            registry=r,
        )

    def observe_github_response(
        self, method: str, status: int | str, rate_limit_remaining: int | None, resource: str = "core"
    ) -> None:
        """The GitHub client's hook (`bot.github.ApiUsage(on_response=...)`): one call per request,
        `status` GitHub's code, `2xx` for a success, `timeout` or `unreachable`; `resource` is
        X-RateLimit-Resource."""
        self.github_calls.labels(method.upper(), str(status)).inc()
        if rate_limit_remaining is not None:
            self.github_rate_limit_remaining.labels(resource).set(rate_limit_remaining)

    def set_queue(self, depth: list[tuple[str, str, int]], oldest: list[tuple[str, float]]) -> None:
        """Replace the queue gauges: (kind, status, count) rows and (kind, oldest age in s) rows."""
        self.queue_jobs.clear()
        for kind, status, count in depth:
            self.queue_jobs.labels(kind, status).set(count)
        self.queue_oldest_seconds.clear()
        for kind, age_s in oldest:
            self.queue_oldest_seconds.labels(kind).set(age_s)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
