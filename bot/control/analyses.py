"""The newest analysis published per pull request, so that an older one never overwrites it.

Two analyses of one pull request may run at once on two workers (a second push while the first
is analysed). Each is ordered by the pull request's `updated_at` in its webhook, then by its
job id (ids grow in the order the service received the deliveries). The comment and check run
are published inside `publication`, which holds the pull request's lock in the control database
and says whether this analysis is still the newest: checking and publishing cannot interleave
with another analysis of the same pull request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg

from bot.control.schema import SCHEMA

PUBLICATION_LOCK = 0x53575052  # "SWPR": namespace of the per-pull-request advisory locks


@contextmanager
def pull_request_lock(conn: psycopg.Connection[Any], *, repository: str, pull_request: int) -> Iterator[None]:
    """Hold the pull request's publication lock for the block (in a transaction of `conn`, an
    autocommit connection with none open): what changes the sticky comment from elsewhere (a
    reconcile updating its environment matrix) cannot interleave with an analysis publishing."""
    with conn.transaction():
        _lock(conn, repository, pull_request)
        yield


def _lock(conn: psycopg.Connection[Any], repository: str, pull_request: int) -> None:
    conn.execute(
        "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (PUBLICATION_LOCK, f"{repository}#{pull_request}")
    )


@contextmanager
def publication(
    conn: psycopg.Connection[Any],
    *,
    repository: str,
    pull_request: int,
    head_sha: str,
    head_updated_at: datetime,
    job_id: int,
) -> Iterator[bool]:
    """Hold the pull request's publication lock; yield True when this analysis may publish.

    True when no newer analysis of the pull request has been published (a retry of the same job
    may publish again: updating the sticky comment is idempotent). When the block ends without an
    exception and it was True, this analysis is recorded as the newest published. `conn` must be
    an autocommit connection with no transaction open; the lock is released when the block ends.
    """
    with conn.transaction():
        _lock(conn, repository, pull_request)
        newer = conn.execute(
            f"""SELECT 1 FROM {SCHEMA}.pull_request_analyses
                WHERE repository = %s AND pull_request = %s AND (head_updated_at, job_id) > (%s, %s)""",
            (repository, pull_request, head_updated_at, job_id),
        ).fetchone()
        may_publish = newer is None
        yield may_publish
        if may_publish:
            conn.execute(
                f"""INSERT INTO {SCHEMA}.pull_request_analyses
                        (repository, pull_request, head_sha, head_updated_at, job_id)
                    VALUES (%s, %s, %s, %s, %s)
                    ON CONFLICT (repository, pull_request) DO UPDATE SET
                        head_sha = EXCLUDED.head_sha, head_updated_at = EXCLUDED.head_updated_at,
                        job_id = EXCLUDED.job_id, published_at = now()""",
                (repository, pull_request, head_sha, head_updated_at, job_id),
            )
