"""A worker process whose handlers do real, observable work in the control database (tests only).

Run as `python tests/service_worker.py [--heartbeat-timeout S] [--max-attempts N] [--first-retry S]`
with the service's environment. The handlers write rows in schema `test_effects` (created by
`EFFECTS_SQL`) and behave by the repository's name:

* every attempt is a row in `attempts` (job id, attempt, pid, start and end);
* the effect is a row in `effects`, keyed by what the job is about, written with
  ON CONFLICT DO NOTHING: the idempotent shape real handlers have;
* `*/block`: after the effect is committed, wait until a row for the key appears in `release`;
* `*/fail-N`: fail the first N attempts; `*/fail-always`: fail every attempt;
* reconciles mark their environment in `running` (a primary key: a second reconcile of the same
  environment at once fails to insert and is counted in `overlaps`) for `hold_ms` milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bot.commands.service import serve_worker
from bot.control.database import connect, control_url
from bot.control.schema import setup
from bot.jobs import AnalysePullRequest, JobContext, JobHandlers, ReconcileEnvironment
from bot.settings import load_service_settings
from bot.worker import WorkerOptions

EFFECTS_SQL = """
CREATE SCHEMA IF NOT EXISTS test_effects;
CREATE TABLE IF NOT EXISTS test_effects.attempts (
    job_id bigint, attempt int, kind text, key text, pid int,
    started_at timestamptz DEFAULT clock_timestamp(), finished_at timestamptz);
CREATE TABLE IF NOT EXISTS test_effects.effects (key text PRIMARY KEY, job_id bigint, pid int);
CREATE TABLE IF NOT EXISTS test_effects.release (key text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS test_effects.running (environment text PRIMARY KEY, job_id bigint);
CREATE TABLE IF NOT EXISTS test_effects.overlaps (environment text, job_id bigint);
"""
HOLD_MS = 150


def _attempt(conn: psycopg.Connection[tuple[object, ...]], ctx: JobContext, kind: str, key: str) -> None:
    conn.execute(
        "INSERT INTO test_effects.attempts (job_id, attempt, kind, key, pid) VALUES (%s, %s, %s, %s, %s)",
        (ctx.job_id, ctx.attempt, kind, key, os.getpid()),
    )


def _finish(conn: psycopg.Connection[tuple[object, ...]], ctx: JobContext) -> None:
    conn.execute(
        "UPDATE test_effects.attempts SET finished_at = clock_timestamp() WHERE job_id = %s AND pid = %s AND finished_at IS NULL",
        (ctx.job_id, os.getpid()),
    )


def _behave(conn: psycopg.Connection[tuple[object, ...]], repository: str, key: str, attempt: int) -> None:
    name = repository.split("/")[1]
    if name == "fail-always" or (name.startswith("fail-") and attempt <= int(name.removeprefix("fail-"))):
        raise RuntimeError(f"{name}: attempt {attempt} fails on purpose")
    if name == "block":
        deadline = time.monotonic() + 60
        while not conn.execute("SELECT 1 FROM test_effects.release WHERE key = %s", (key,)).fetchone():
            if time.monotonic() > deadline:
                raise TimeoutError("never released")
            time.sleep(0.05)


def analyse(payload: AnalysePullRequest, ctx: JobContext) -> None:
    key = f"analyse:{payload.repository}#{payload.number}@{payload.head_sha}"
    with connect(ctx.control_url.get_secret_value()) as conn:
        _attempt(conn, ctx, "analyse", key)
        conn.execute(
            "INSERT INTO test_effects.effects (key, job_id, pid) VALUES (%s, %s, %s) ON CONFLICT (key) DO NOTHING",
            (key, ctx.job_id, os.getpid()),
        )
        _behave(conn, payload.repository, key, ctx.attempt)
        _finish(conn, ctx)


def reconcile(payload: ReconcileEnvironment, ctx: JobContext) -> None:
    key = f"reconcile:{payload.repository}:{payload.environment}@{payload.sha}:{payload.trigger}"
    with connect(ctx.control_url.get_secret_value()) as conn:
        _attempt(conn, ctx, "reconcile", key)
        try:
            conn.execute(
                "INSERT INTO test_effects.running (environment, job_id) VALUES (%s, %s)",
                (payload.environment, ctx.job_id),
            )
            mine = True
        except psycopg.errors.UniqueViolation:
            conn.execute(
                "INSERT INTO test_effects.overlaps (environment, job_id) VALUES (%s, %s)",
                (payload.environment, ctx.job_id),
            )
            mine = False
        time.sleep(HOLD_MS / 1000)  # the work itself
        conn.execute(
            "INSERT INTO test_effects.effects (key, job_id, pid) VALUES (%s, %s, %s) ON CONFLICT (key) DO NOTHING",
            (key, ctx.job_id, os.getpid()),
        )
        if mine:
            conn.execute("DELETE FROM test_effects.running WHERE environment = %s", (payload.environment,))
        _behave(conn, payload.repository, key, ctx.attempt)
        _finish(conn, ctx)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--heartbeat-timeout", type=float, default=30.0)
    parser.add_argument("--max-attempts", type=int, default=5)
    parser.add_argument("--first-retry", type=float, default=0.2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bot").setLevel(logging.DEBUG)
    settings = load_service_settings()
    url = control_url(settings)
    asyncio.run(setup(url))
    with connect(url) as conn:
        conn.execute(EFFECTS_SQL)
    options = WorkerOptions(
        concurrency=4,
        heartbeat_timeout_s=args.heartbeat_timeout,
        max_attempts=args.max_attempts,
        first_retry_s=args.first_retry,
        max_retry_s=2.0,
        idle_poll_s=0.5,
    )
    print(f"worker {os.getpid()} ready", flush=True)
    asyncio.run(serve_worker(url, settings, JobHandlers(analyse, reconcile), options))


if __name__ == "__main__":
    main()
