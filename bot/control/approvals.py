"""Approvals: recorded decisions that let a pull request's migrations through an environment's gate.

Recorded by the reconcile job once it has checked the labeller's permission against the policy
of the default branch; revoked by the webhook service when the label is removed, unless the
approval has already been applied. A retried job records nothing twice: one standing
(unrevoked) approval per repository, environment, pull request, head commit and label. A label
added by someone without the permission is a refusal, recorded once per job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from bot.control.schema import SCHEMA

_COLUMNS = (
    "id, repository, environment, pull_request, head_sha, migrations, approved_by, approved_at, "
    "label, revoked_at, revoked_by, applied_at"
)


@dataclass(frozen=True)
class Approval:
    """One approval row. `migrations` are the tags approved (empty: the pull request's, as of `head_sha`)."""

    id: int
    repository: str
    environment: str
    pull_request: int
    head_sha: str
    migrations: tuple[str, ...]
    approved_by: str
    approved_at: datetime
    label: str | None
    revoked_at: datetime | None
    revoked_by: str | None
    applied_at: datetime | None


def _approval(row: Sequence[Any]) -> Approval:
    values = list(row)
    values[5] = tuple(values[5])
    return Approval(*values)


def record_approval(
    conn: psycopg.Connection[Any],
    *,
    repository: str,
    environment: str,
    pull_request: int,
    head_sha: str,
    approved_by: str,
    label: str | None,
    migrations: Sequence[str] = (),
) -> Approval:
    """Record an approval, or return the standing one for the same PR, commit and label (idempotent)."""
    with conn.transaction():
        row = conn.execute(
            f"""INSERT INTO {SCHEMA}.approvals
                    (repository, environment, pull_request, head_sha, migrations, approved_by, label)
                VALUES (%s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (repository, environment, pull_request, head_sha, coalesce(label, ''))
                    WHERE revoked_at IS NULL
                DO NOTHING
                RETURNING {_COLUMNS}""",
            (repository, environment, pull_request, head_sha, list(migrations), approved_by, label),
        ).fetchone()
        if row is None:
            row = conn.execute(
                f"""SELECT {_COLUMNS} FROM {SCHEMA}.approvals
                    WHERE repository = %s AND environment = %s AND pull_request = %s AND head_sha = %s
                      AND coalesce(label, '') = coalesce(%s, '') AND revoked_at IS NULL""",
                (repository, environment, pull_request, head_sha, label),
            ).fetchone()
    assert row is not None  # the conflicting row is standing, and is seen after the conflict
    return _approval(row)


def standing_approvals(
    conn: psycopg.Connection[Any], *, repository: str, environment: str, pull_request: int | None = None
) -> list[Approval]:
    """Approvals of `environment` neither revoked nor applied, oldest first (optionally of one PR)."""
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM {SCHEMA}.approvals
            WHERE repository = %s AND environment = %s AND revoked_at IS NULL AND applied_at IS NULL
              AND (%s::integer IS NULL OR pull_request = %s)
            ORDER BY approved_at, id""",
        (repository, environment, pull_request, pull_request),
    ).fetchall()
    return [_approval(row) for row in rows]


def mark_applied(conn: psycopg.Connection[Any], approval_ids: Sequence[int]) -> int:
    """Mark approvals as used by an apply (a later unlabel no longer revokes them); returns how many.

    Only standing approvals are marked: one revoked meanwhile stays revoked (count it as not applied).
    """
    cursor = conn.execute(
        f"""UPDATE {SCHEMA}.approvals SET applied_at = now()
            WHERE id = ANY(%s) AND revoked_at IS NULL AND applied_at IS NULL""",
        (list(approval_ids),),
    )
    return cursor.rowcount


async def revoke_approvals(
    conn: psycopg.AsyncConnection[Any],
    *,
    repository: str,
    environment: str,
    pull_request: int,
    label: str,
    revoked_by: str,
) -> int:
    """Revoke the PR's standing approvals of `environment` given through `label`; returns how many.

    Applied approvals are history and stay as they are.
    """
    cursor = await conn.execute(
        f"""UPDATE {SCHEMA}.approvals SET revoked_at = now(), revoked_by = %s
            WHERE repository = %s AND environment = %s AND pull_request = %s AND label = %s
              AND revoked_at IS NULL AND applied_at IS NULL""",
        (revoked_by, repository, environment, pull_request, label),
    )
    return cursor.rowcount


@dataclass(frozen=True)
class Refusal:
    """An approval label that did not count: who added it, where, and why."""

    id: int
    repository: str
    environment: str
    pull_request: int
    head_sha: str
    label: str
    labeller: str
    reason: str
    refused_at: datetime


def record_refusal(
    conn: psycopg.Connection[Any],
    *,
    repository: str,
    environment: str,
    pull_request: int,
    head_sha: str,
    label: str,
    labeller: str,
    reason: str,
    job_id: int,
) -> bool:
    """Record a refused approval; False when this job already recorded it (a retry)."""
    cursor = conn.execute(
        f"""INSERT INTO {SCHEMA}.approval_refusals
                (repository, environment, pull_request, head_sha, label, labeller, reason, job_id)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (job_id, environment) DO NOTHING""",
        (repository, environment, pull_request, head_sha, label, labeller, reason, job_id),
    )
    return cursor.rowcount == 1


def refusals(conn: psycopg.Connection[Any], *, repository: str, pull_request: int | None = None) -> list[Refusal]:
    """The refusals of `repository` (optionally of one pull request), oldest first."""
    rows = conn.execute(
        f"""SELECT id, repository, environment, pull_request, head_sha, label, labeller, reason, refused_at
            FROM {SCHEMA}.approval_refusals
            WHERE repository = %s AND (%s::integer IS NULL OR pull_request = %s)
            ORDER BY refused_at, id""",
        (repository, pull_request, pull_request),
    ).fetchall()
    return [Refusal(*row) for row in rows]
