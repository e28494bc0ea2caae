"""`POST /webhooks/github`: verify, bound, parse, route, and record the delivery with its jobs.

Order of the checks, each answered at once: a declared `Content-Length` over the limit (413,
before a byte is read); no `X-Hub-Signature-256` (401); the body, read in chunks and counted,
over the limit (413: never held whole); a signature that matches none of the secrets (401,
HMAC-SHA256 of the raw body, compared with `hmac.compare_digest` against every secret); missing
`X-GitHub-Event` or `X-GitHub-Delivery` (400); not JSON (400); the fields routing reads missing
or mistyped (422); then one transaction enqueues the jobs and inserts the delivery's row, and a
redelivery (the row exists) rolls back and is answered 202 `duplicate`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr, ValidationError

from bot.control import queue
from bot.control.approvals import revoke_approvals
from bot.control.deliveries import record_delivery
from bot.jobs import encode
from bot.metrics import Metrics
from bot.settings import ServiceSettings
from bot.web.routing import Decision, WrongShape, route

log = logging.getLogger(__name__)


class _Redelivery(Exception):
    """Raised inside the transaction to roll back a redelivery's jobs."""


@dataclass(frozen=True)
class _Answer:
    status: int
    outcome: str
    detail: str = ""
    jobs: int = 0
    errors: list[dict[str, Any]] | None = None


def verify_signature(body: bytes, header: str, secrets: tuple[SecretStr, ...]) -> bool:
    """True when `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under one of `secrets`.

    Every secret is compared, in constant time, whichever matches: the time taken does not say
    which secret (or how much of a digest) was right.
    """
    scheme, _, given = header.partition("=")
    if scheme != "sha256" or not given:
        return False
    given_bytes = given.strip().lower().encode()
    matched = False
    for secret in secrets:
        digest = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest().encode()
        matched |= hmac.compare_digest(digest, given_bytes)
    return matched


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, counted chunk by chunk; None as soon as it passes `limit` bytes (nothing more is read)."""
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class WebhookReceiver:
    """The endpoint's state: settings, the control database's pool and the metrics."""

    def __init__(self, settings: ServiceSettings, pool: AsyncConnectionPool[Any], metrics: Metrics) -> None:
        self.settings = settings
        self.secrets = settings.require_webhook_secrets()
        self.pool = pool
        self.metrics = metrics

    async def __call__(self, request: Request) -> JSONResponse:
        started = time.perf_counter()
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        decision: Decision | None = None
        try:
            answer, decision = await self._receive(request, event, delivery)
        except Exception:
            log.exception("webhook delivery=%s: the control database failed", delivery or "-")
            answer = _Answer(503, "error", "the delivery could not be recorded; GitHub may redeliver it")
        elapsed_ms = (time.perf_counter() - started) * 1000
        action = decision.action if decision else None
        repository = decision.repository if decision else None
        log.info(
            "webhook event=%s action=%s delivery=%s repository=%s status=%d outcome=%s jobs=%d%s ms=%.1f",
            event or "-",
            action or "-",
            delivery or "-",
            repository or "-",
            answer.status,
            answer.outcome,
            answer.jobs,
            f" detail={answer.detail!r}" if answer.detail else "",
            elapsed_ms,
        )
        self.metrics.deliveries.labels(event or "-", answer.outcome).inc()
        self.metrics.webhook_seconds.labels(str(answer.status)).observe(elapsed_ms / 1000)
        content: dict[str, Any] = {"outcome": answer.outcome, "delivery": delivery or None, "jobs": answer.jobs}
        if answer.detail:
            content["detail"] = answer.detail
        if answer.errors is not None:
            content["errors"] = answer.errors
        return JSONResponse(content, status_code=answer.status)

    async def _receive(self, request: Request, event: str, delivery: str) -> tuple[_Answer, Decision | None]:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and not declared.isdigit():
            return _Answer(400, "bad_request", "Content-Length is not a number"), None
        if declared is not None and int(declared) > limit:
            return _Answer(413, "too_large", f"the body is over {limit} bytes (SCHEMAWARDEN_WEBHOOK_MAX_BYTES)"), None
        signature = request.headers.get("x-hub-signature-256")
        if not signature:
            return _Answer(401, "unsigned", "X-Hub-Signature-256 is missing"), None
        body = await read_body(request, limit)
        if body is None:
            return _Answer(413, "too_large", f"the body is over {limit} bytes (SCHEMAWARDEN_WEBHOOK_MAX_BYTES)"), None
        if not verify_signature(body, signature, self.secrets):
            return _Answer(401, "bad_signature", "X-Hub-Signature-256 does not match the body"), None
        if not event or not delivery:
            missing = "X-GitHub-Event" if not event else "X-GitHub-Delivery"
            return _Answer(400, "bad_request", f"{missing} is missing"), None
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _Answer(400, "not_json", "the body is not JSON"), None
        if not isinstance(payload, dict):
            return _Answer(422, "wrong_shape", "the body is not a JSON object"), None
        try:
            decision = route(event, payload, delivery, self.settings)
        except ValidationError as exc:
            errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_input=False, include_url=False)]
            return _Answer(422, "wrong_shape", f"the {event} payload does not have GitHub's shape", errors=errors), None
        except WrongShape as exc:
            return _Answer(422, "wrong_shape", str(exc)), None
        return await self._record(delivery, event, decision), decision

    async def _record(self, delivery: str, event: str, decision: Decision) -> _Answer:
        if decision.ignored:
            outcome, detail = "ignored", decision.ignored
        else:
            outcome, detail = "queued", ""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                ids: list[int] = []
                if decision.jobs:
                    enqueued = await queue.queries(conn).enqueue(
                        [entrypoint for entrypoint, _ in decision.jobs],
                        [encode(payload) for _, payload in decision.jobs],
                        [0] * len(decision.jobs),
                        dedupe_key=[payload.dedupe_key() for _, payload in decision.jobs],
                        on_conflict="skip",
                    )
                    ids = [int(i) for i in enqueued if i is not None]
                    if not ids:
                        outcome, detail = "coalesced", "the same work is already queued or running"
                revoked = 0
                for r in decision.revocations:
                    revoked += await revoke_approvals(
                        conn,
                        repository=r.repository,
                        environment=r.environment,
                        pull_request=r.pull_request,
                        label=r.label,
                        revoked_by=r.revoked_by,
                    )
                if decision.revocations:
                    outcome, detail = "revoked", f"{revoked} approval(s) revoked"
                stored = outcome if not detail or outcome != "ignored" else f"ignored: {detail}"
                fresh = await record_delivery(
                    conn, delivery, event=event, action=decision.action, repository=decision.repository,
                    outcome=stored, jobs=ids,
                )
                if not fresh:
                    raise _Redelivery
        except _Redelivery:
            return _Answer(202, "duplicate", "this delivery was received before; not processed again")
        return _Answer(202, outcome, detail, jobs=len(ids))
