"""The FastAPI application: webhooks, health, readiness and metrics (OpenAPI docs at `/docs`)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from psycopg_pool import AsyncConnectionPool

from bot.control import queue
from bot.control.database import APPLICATION_NAME, describe
from bot.control.schema import schema_status
from bot.jobs import JobHandlers, kind_of_entrypoint
from bot.metrics import CONTENT_TYPE, Metrics
from bot.settings import ServiceSettings
from bot.web.webhooks import WebhookReceiver
from bot.worker import WorkerOptions, run_worker

log = logging.getLogger(__name__)

_WEBHOOK_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object", "description": "GitHub's webhook payload"}}},
}


def is_loopback(host: str) -> bool:
    """True when a server bound to `host` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def create_app(
    settings: ServiceSettings,
    control_url: str,
    *,
    listen_host: str = "127.0.0.1",
    metrics: Metrics | None = None,
    worker: tuple[JobHandlers, WorkerOptions] | None = None,
) -> FastAPI:
    """The web service over the control database at `control_url` (its schema set up already).

    `listen_host` decides whether `/metrics` (and the later status page) need
    `Authorization: Bearer $SCHEMAWARDEN_STATUS_TOKEN`: they do beyond loopback. `worker` runs a
    worker in the same process (`serve --with-worker`). Raises ConfigurationError when no webhook
    secret is set.
    """
    settings.require_webhook_secrets()
    metrics = metrics or Metrics()
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        control_url,
        kwargs={"autocommit": True, "application_name": APPLICATION_NAME},
        min_size=2,
        max_size=10,
        open=False,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=True, timeout=30)
        stop = asyncio.Event()
        task = None
        if worker is not None:
            handlers, options = worker
            task = asyncio.create_task(run_worker(control_url, settings, handlers, options, metrics=metrics, stop=stop))
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            await pool.close()

    app = FastAPI(
        title="schemawarden",
        summary="GitHub webhooks in, durable jobs out: the schemawarden PR bot",
        lifespan=lifespan,
    )
    receiver = WebhookReceiver(settings, pool, metrics)
    require_status_token = _status_token_rule(settings, is_loopback(listen_host))

    @app.post(
        "/webhooks/github",
        status_code=202,
        summary="Receive a GitHub webhook",
        openapi_extra={"requestBody": _WEBHOOK_BODY},
        responses={
            202: {"description": "queued, coalesced, revoked, ignored or duplicate (see `outcome`)"},
            400: {"description": "not JSON, or X-GitHub-Event / X-GitHub-Delivery missing"},
            401: {"description": "X-Hub-Signature-256 missing or not matching any secret"},
            413: {"description": "the body is over SCHEMAWARDEN_WEBHOOK_MAX_BYTES"},
            422: {"description": "the fields the router reads are missing or of the wrong type"},
            503: {"description": "the control database could not record the delivery"},
        },
    )
    async def webhooks_github(request: Request) -> JSONResponse:
        return await receiver(request)

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The control database is reachable and its schema current")
    async def readyz() -> JSONResponse:
        try:
            async with pool.connection(timeout=5) as conn:
                status = await schema_status(conn)
        except Exception as exc:
            log.warning("readyz: %s is unreachable (%s)", describe(control_url), type(exc).__name__)
            return JSONResponse({"ready": False, "problems": [f"{describe(control_url)} is unreachable"]}, 503)
        if not status.current:
            return JSONResponse({"ready": False, "problems": status.problems()}, 503)
        return JSONResponse({"ready": True, "schema_version": status.version})

    @app.get("/metrics", summary="Prometheus metrics", dependencies=[Depends(require_status_token)])
    async def metrics_endpoint() -> Response:
        with contextlib.suppress(Exception):  # the queue gauges keep their last values
            async with pool.connection(timeout=5) as conn:
                metrics.set_queue(*await _queue_figures(conn))
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    app.state.require_status_token = require_status_token
    return app


async def _queue_figures(conn: Any) -> tuple[list[tuple[str, str, int]], list[tuple[str, float]]]:
    rows = await (
        await conn.execute(
            f"""SELECT entrypoint, status::text, count(*),
                       extract(epoch FROM now() - min(created) FILTER (WHERE status = 'queued'))
                FROM {queue.QUEUE_TABLE} GROUP BY entrypoint, status"""
        )
    ).fetchall()
    depth: dict[tuple[str, str], int] = {}
    oldest: dict[str, float] = {}
    for entrypoint, status, count, age in rows:
        kind = kind_of_entrypoint(entrypoint)
        depth[(kind, status)] = depth.get((kind, status), 0) + int(count)
        if age is not None:
            oldest[kind] = max(oldest.get(kind, 0.0), float(age))
    return [(k, s, n) for (k, s), n in sorted(depth.items())], sorted(oldest.items())


def _status_token_rule(settings: ServiceSettings, loopback: bool) -> Any:
    """The dependency guarding `/metrics` (and the status page): open on loopback, else a bearer token."""

    async def require_status_token(request: Request) -> None:
        if loopback:
            return
        if settings.status_token is None:
            raise HTTPException(
                403, "this service listens beyond loopback: set SCHEMAWARDEN_STATUS_TOKEN to enable this page"
            )
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = settings.status_token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise HTTPException(401, "Authorization: Bearer <SCHEMAWARDEN_STATUS_TOKEN> is required", {"WWW-Authenticate": "Bearer"})

    return require_status_token
