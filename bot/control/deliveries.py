"""Webhook deliveries: one row per verified `X-GitHub-Delivery`, written with its jobs.

A queue's dedupe key only covers jobs that are queued or running, so a redelivery of a delivery
whose job has finished would be processed again; this table is what remembers it. The row is
inserted in the transaction that enqueues the delivery's jobs: both happen, or neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from bot.control.schema import SCHEMA


async def record_delivery(
    conn: psycopg.AsyncConnection[Any],
    delivery_id: str,
    *,
    event: str,
    action: str | None,
    repository: str | None,
    outcome: str,
    jobs: Sequence[int] = (),
) -> bool:
    """Insert the delivery's row; False when the delivery was already recorded (a redelivery).

    Call inside the transaction that enqueued `jobs`, and roll it back on False so that the
    redelivery's jobs vanish with it. A concurrent insert of the same id waits for the first
    transaction and then reports False.
    """
    cursor = await conn.execute(
        f"""INSERT INTO {SCHEMA}.deliveries (delivery_id, event, action, repository, outcome, jobs)
            VALUES (%s, %s, %s, %s, %s, %s)
            ON CONFLICT (delivery_id) DO NOTHING
            RETURNING 1""",
        (delivery_id, event, action, repository, outcome, list(jobs)),
    )
    return await cursor.fetchone() is not None
