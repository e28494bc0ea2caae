"""The control database: setup (twice, and from several processes at once), readiness, the status
token rule, approvals and the order of published analyses, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
import uvicorn
import webhook_payloads as wh
from conftest import fresh_database
from service_harness import SCHEMAWARDEN, free_port, service_environment

from bot.control.analyses import publication
from bot.control.approvals import mark_applied, record_approval, standing_approvals
from bot.control.schema import CURRENT_VERSION, MIGRATIONS, require_supported_server, setup
from bot.jobs import AnalysePullRequest, JobContext, JobHandlers
from bot.metrics import Metrics
from bot.settings import load_service_settings
from bot.web import create_app
from bot.worker import WorkerOptions
from policies.errors import ConfigurationError


def _versions(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [(int(v), str(d)) for v, d in conn.execute("SELECT version, description FROM schemawarden_control.schema_version ORDER BY version")]


def test_setup_twice_does_the_work_once(control_database_url: str) -> None:
    first = asyncio.run(setup(control_database_url))
    assert first[0].startswith("job queue: ") and first[-1].startswith(f"control schema version {CURRENT_VERSION}:")
    assert asyncio.run(setup(control_database_url)) == []
    assert _versions(control_database_url) == [(m.version, m.description) for m in MIGRATIONS]


def test_setup_from_several_processes_at_once_is_safe(control_database_url: str) -> None:
    env = service_environment(control_database_url)
    runs = [
        subprocess.Popen([*SCHEMAWARDEN, "setup"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * 4, outputs
    # One process installed; the others waited for its lock and found nothing to do.
    assert sum("control schema version 1" in out for out in outputs) == 1
    assert sum("nothing to do" in out for out in outputs) == 3
    assert _versions(control_database_url) == [(m.version, m.description) for m in MIGRATIONS]


def test_setup_names_an_unreachable_control_database_without_its_password() -> None:
    env = service_environment("postgresql://sw:hunter2-not-shown@127.0.0.1:1/control")
    run = subprocess.run([*SCHEMAWARDEN, "setup"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 3
    assert "cannot connect to the control database at 127.0.0.1:1/control" in run.stderr
    assert "SCHEMAWARDEN_CONTROL_URL" in run.stderr and "hunter2" not in run.stderr + run.stdout


class _Server:
    """The app served by uvicorn in a thread on a loopback port (real HTTP)."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def served(control_database_url: str) -> Iterator[str]:
    asyncio.run(setup(control_database_url))
    settings = load_service_settings({"SCHEMAWARDEN_WEBHOOK_SECRET": "s", "SCHEMAWARDEN_STATUS_TOKEN": "t0ken-of-status"})
    with _Server(create_app(settings, control_database_url, listen_host="0.0.0.0")) as base:
        yield base


def test_readyz_reports_a_stale_schema_and_which(served: str, control_database_url: str) -> None:
    assert httpx.get(f"{served}/readyz").json() == {"ready": True, "schema_version": CURRENT_VERSION}
    with psycopg.connect(control_database_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA schemawarden_control CASCADE")  # as before the first setup
        conn.execute("DROP INDEX schemawarden_queue.pgqueuer_unique_dedupe_key")
    response = httpx.get(f"{served}/readyz")
    assert response.status_code == 503
    assert response.json()["problems"] == [
        f"control schema version 0 is older than this build's {CURRENT_VERSION}: run `schemawarden setup`",
        "the job queue's tables need 1 change(s): run `schemawarden setup`",
    ]
    assert httpx.get(f"{served}/healthz").json() == {"status": "ok"}
    asyncio.run(setup(control_database_url))
    assert httpx.get(f"{served}/readyz").status_code == 200


def test_metrics_beyond_loopback_need_the_status_token(served: str) -> None:
    assert httpx.get(f"{served}/metrics").status_code == 401
    assert httpx.get(f"{served}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = httpx.get(f"{served}/metrics", headers={"Authorization": "Bearer t0ken-of-status"})
    assert response.status_code == 200 and "schemawarden_webhook_deliveries" in response.text
    assert httpx.get(f"{served}/openapi.json").json()["paths"]["/webhooks/github"]["post"]["responses"]["413"]


def test_metrics_beyond_loopback_without_a_token_are_refused_with_the_fix(control_database_url: str) -> None:
    asyncio.run(setup(control_database_url))
    settings = load_service_settings({"SCHEMAWARDEN_WEBHOOK_SECRET": "s"})
    with _Server(create_app(settings, control_database_url, listen_host="::")) as base:
        response = httpx.get(f"{base}/metrics")
    assert response.status_code == 403 and "set SCHEMAWARDEN_STATUS_TOKEN" in response.json()["detail"]


def test_an_approval_is_recorded_once_and_revocation_spares_applied_ones(control_database_url: str) -> None:
    asyncio.run(setup(control_database_url))
    with psycopg.connect(control_database_url, autocommit=True) as conn:
        args = {"repository": "acme/shop", "environment": "production", "pull_request": 7, "head_sha": "a" * 40,
                "approved_by": "lead", "label": "deploy:production"}
        first = record_approval(conn, **args, migrations=["0007_orders_status"])
        again = record_approval(conn, **args)  # a retried job
        assert again.id == first.id and first.migrations == ("0007_orders_status",)
        other = record_approval(conn, **{**args, "pull_request": 8})
        assert [a.id for a in standing_approvals(conn, repository="acme/shop", environment="production")] == [first.id, other.id]
        assert mark_applied(conn, [first.id]) == 1
        assert mark_applied(conn, [first.id]) == 0
        revoked = conn.execute(
            "UPDATE schemawarden_control.approvals SET revoked_at = now() WHERE applied_at IS NULL AND revoked_at IS NULL RETURNING id"
        ).fetchall()
        assert revoked == [(other.id,)]
        assert standing_approvals(conn, repository="acme/shop", environment="production") == []
        relabelled = record_approval(conn, **{**args, "pull_request": 8})  # labelled again after the revocation
        assert relabelled.id not in (first.id, other.id)


def test_an_older_analysis_never_overwrites_a_newer_one(control_database_url: str) -> None:
    asyncio.run(setup(control_database_url))
    at = datetime(2026, 1, 15, 15, 20, tzinfo=UTC)
    older = {"repository": "acme/shop", "pull_request": 7, "head_sha": "1" * 40, "head_updated_at": at, "job_id": 10}
    newer = {**older, "head_sha": "2" * 40, "head_updated_at": at + timedelta(seconds=30), "job_id": 11}
    same_second = {**newer, "head_sha": "3" * 40, "job_id": 12}  # a push in the same second, received later
    with psycopg.connect(control_database_url, autocommit=True) as a, psycopg.connect(control_database_url, autocommit=True) as b:
        with publication(a, **newer) as may:
            assert may
            # While the newer publishes, the older waits for the pull request's lock ...
            waiting: list[bool] = []
            thread = threading.Thread(target=lambda: waiting.append(_publish(control_database_url, older)))
            thread.start()
            deadline = time.monotonic() + 10
            while not b.execute("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone():
                assert time.monotonic() < deadline
                time.sleep(0.02)
        thread.join(timeout=10)
        assert waiting == [False]  # ... and then finds it is older: it publishes nothing.
        with publication(a, **newer) as may:  # a retry of the newest publishes again
            assert may
        with publication(a, **same_second) as may:
            assert may
        with publication(a, **newer) as may:
            assert not may
        [row] = a.execute("SELECT head_sha, job_id FROM schemawarden_control.pull_request_analyses").fetchall()
        assert row == ("3" * 40, 12)
        with pytest.raises(RuntimeError), publication(a, **{**same_second, "job_id": 13}) as may:
            raise RuntimeError("posting the comment failed")
        assert a.execute("SELECT job_id FROM schemawarden_control.pull_request_analyses").fetchone() == (12,)


def _publish(url: str, analysis: dict[str, object]) -> bool:
    with psycopg.connect(url, autocommit=True) as conn, publication(conn, **analysis) as may:  # type: ignore[arg-type]
        return may


def test_serve_without_a_webhook_secret_is_a_configuration_error(control_database_url: str) -> None:
    run = subprocess.run([*SCHEMAWARDEN, "serve", "--port", str(free_port())], env=service_environment(control_database_url),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "SCHEMAWARDEN_WEBHOOK_SECRET is not set" in run.stderr


def test_serve_with_worker_runs_the_jobs_in_the_same_process(control_database_url: str) -> None:
    asyncio.run(setup(control_database_url))
    with psycopg.connect(control_database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE analysed (head_sha text PRIMARY KEY, job_id bigint, attempt int)")

    def analyse(payload: AnalysePullRequest, ctx: JobContext) -> None:
        with psycopg.connect(ctx.control_url.get_secret_value(), autocommit=True) as conn:
            conn.execute("INSERT INTO analysed VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (payload.head_sha, ctx.job_id, ctx.attempt))

    settings = load_service_settings({"SCHEMAWARDEN_WEBHOOK_SECRET": "s"})
    metrics = Metrics()
    app = create_app(settings, control_database_url, metrics=metrics,
                     worker=(JobHandlers(analyse_pull_request=analyse), WorkerOptions(idle_poll_s=0.5)))
    with _Server(app) as base:
        body = wh.encode(wh.pull_request_event("opened", "acme/shop", 3, head_sha=wh.sha("in-process")))
        response = httpx.post(f"{base}/webhooks/github", content=body, headers=wh.headers("pull_request", body, "s"))
        assert response.json()["outcome"] == "queued"
        deadline = time.monotonic() + 30
        with psycopg.connect(control_database_url, autocommit=True) as conn:
            while not (done := conn.execute("SELECT head_sha, attempt FROM analysed").fetchall()):
                assert time.monotonic() < deadline, "the in-process worker never ran the job"
                time.sleep(0.05)
        assert done == [(wh.sha("in-process"), 1)]
        deadline = time.monotonic() + 10
        while 'schemawarden_jobs_total{kind="analyse_pull_request",outcome="successful"} 1.0' not in (
            text := httpx.get(f"{base}/metrics").text
        ):
            assert time.monotonic() < deadline, text
            time.sleep(0.05)
        assert 'schemawarden_job_duration_seconds_count{kind="analyse_pull_request"} 1.0' in text


def test_the_github_client_hook_reports_calls_and_rate_limit() -> None:
    metrics = Metrics()
    metrics.observe_github_response("post", 201, 4999)
    metrics.observe_github_response("GET", 403, 0, resource="search")
    text = metrics.render().decode()
    assert 'schemawarden_github_api_calls_total{method="POST",status="201"} 1.0' in text
    assert 'schemawarden_github_rate_limit_remaining{resource="core"} 4999.0' in text
    assert 'schemawarden_github_rate_limit_remaining{resource="search"} 0.0' in text


def test_setup_refuses_a_control_server_older_than_12_and_says_why(admin_url: str) -> None:
    """The queue's statements need PostgreSQL 12 (MATERIALIZED): on an older server `setup` stops
    before changing anything, naming the version and the way out; on 12 and later it installs."""
    with fresh_database(admin_url) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.info.server_version
        if version < 120000:
            with pytest.raises(ConfigurationError, match=r"needs PostgreSQL 12 or later .* this server is 11"):
                asyncio.run(setup(url))
            with psycopg.connect(url, autocommit=True) as conn:
                assert conn.execute("SELECT to_regnamespace('schemawarden_control')").fetchone() == (None,)
        else:
            assert asyncio.run(setup(url))
    with pytest.raises(ConfigurationError, match="needs PostgreSQL 12"):
        require_supported_server(110022)
    require_supported_server(120000)
