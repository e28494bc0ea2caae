"""The webhook service and its workers, run as real processes over real HTTP and a real PostgreSQL.

`schemawarden serve` listens on a loopback port; webhooks of GitHub's shapes (tests/webhook_payloads.py)
are signed and posted with httpx; workers are `tests/service_worker.py` processes whose handlers
write rows, so retries and "nothing twice" are asserted on real effects. Every process's whole
output is kept, and the last test greps it for every secret the module used.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import webhook_payloads as wh
from conftest import fresh_database
from psycopg import sql
from service_harness import Processes, free_port, post_all, raw_request, rows, service_environment, wait_for

from bot.control.approvals import record_approval, standing_approvals

SUFFIX = uuid.uuid4().hex[:10]
OLD_SECRET = f"old-webhook-secret-{SUFFIX}"
NEW_SECRET = f"new-webhook-secret-{SUFFIX}"
STATUS_TOKEN = f"status-token-{SUFFIX}"
GITHUB_TOKEN = f"ghp_{SUFFIX}FAKETOKEN0123456789"
ROLE_PASSWORD = f"control-password-{SUFFIX}"
STAGING_PASSWORD = f"staging-password-{SUFFIX}"
PRODUCTION_PASSWORD = f"production-password-{SUFFIX}"
SECRETS = (OLD_SECRET, NEW_SECRET, STATUS_TOKEN, GITHUB_TOKEN, ROLE_PASSWORD, STAGING_PASSWORD, PRODUCTION_PASSWORD)
LIMIT = 256 * 1024
QUEUE = "schemawarden_queue.pgqueuer"
HEARTBEAT_S = 4


class Service:
    """The module's running service: its base URL, control database and processes."""

    def __init__(self, base: str, control_url: str, processes: Processes) -> None:
        self.base = base
        self.control_url = control_url
        self.processes = processes

    def post(self, event: str, payload: dict[str, Any] | bytes, *, secret: str = NEW_SECRET, delivery: str | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else wh.encode(payload)
        sent = wh.headers(event, body, secret, delivery)
        sent.update(headers or {})
        return httpx.post(f"{self.base}/webhooks/github", content=body, headers=sent, timeout=10)

    def jobs(self, repository: str) -> list[tuple[str, dict[str, Any], str | None]]:
        """(entrypoint, payload, dedupe key) of every job of `repository` still in the queue, oldest first."""
        found = rows(
            self.control_url,
            f"SELECT entrypoint, convert_from(payload, 'UTF8'), dedupe_key FROM {QUEUE} "
            "WHERE convert_from(payload, 'UTF8')::jsonb ->> 'repository' = %s ORDER BY id",
            (repository,),
        )
        return [(e, json.loads(p), d) for e, p, d in found]

    def deliveries(self, repository: str) -> list[tuple[str, str, str]]:
        return [
            (str(d), str(e), str(o))
            for d, e, o in rows(
                self.control_url,
                "SELECT delivery_id, event, outcome FROM schemawarden_control.deliveries WHERE repository = %s ORDER BY received_at",
                (repository,),
            )
        ]


def repo(name: str = "shop") -> str:
    """A repository name of its own for each test, so that counts never mix."""
    return f"acme-{uuid.uuid4().hex[:8]}/{name}"


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="module")
def control(control_admin_url: str) -> Iterator[str]:
    """A fresh control database owned by a role with a password (a secret the logs must not show)."""
    admin_url = control_admin_url
    role = f"sw_service_{SUFFIX}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(ROLE_PASSWORD)))
    try:
        with fresh_database(admin_url) as url:
            name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(str(name)), sql.Identifier(role)))
            yield psycopg.conninfo.make_conninfo(url, user=role, password=ROLE_PASSWORD)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(scope="module")
def processes(control: str, log_dir: Path) -> Iterator[Processes]:
    env = service_environment(
        control,
        SCHEMAWARDEN_WEBHOOK_SECRET=f"{OLD_SECRET}, {NEW_SECRET}",
        SCHEMAWARDEN_STATUS_TOKEN=STATUS_TOKEN,
        SCHEMAWARDEN_GITHUB_TOKEN=GITHUB_TOKEN,
        SCHEMAWARDEN_WEBHOOK_MAX_BYTES=str(LIMIT),
        SCHEMAWARDEN_ENV_STAGING_URL=f"postgresql://app:{STAGING_PASSWORD}@db.internal/app",
        SCHEMAWARDEN_ENV_PRODUCTION_URL=f"postgresql://app:{PRODUCTION_PASSWORD}@db.internal/app",
    )
    running = Processes(log_dir, env)
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="module")
def service(processes: Processes, control: str) -> Service:
    _, base = processes.serve(free_port(), "-vv")
    return Service(base, control, processes)


# --- signatures, sizes and shapes ----------------------------------------------------------------


def test_missing_wrong_and_foreign_signatures_are_401_and_enqueue_nothing(service: Service) -> None:
    name = repo()
    payload = wh.pull_request_event("opened", name, 1)
    body = wh.encode(payload)
    other_body = wh.encode(wh.pull_request_event("opened", name, 2))
    cases = {
        "missing": {"X-Hub-Signature-256": ""},
        "wrong secret": {"X-Hub-Signature-256": wh.sign(body, "not-the-secret")},
        "signature of another body": {"X-Hub-Signature-256": wh.sign(other_body, NEW_SECRET)},
        "sha1 scheme": {"X-Hub-Signature-256": "sha1=" + wh.sign(body, NEW_SECRET).split("=")[1]},
        "truncated digest": {"X-Hub-Signature-256": wh.sign(body, NEW_SECRET)[:-2]},
    }
    for case, headers in cases.items():
        response = service.post("pull_request", body, headers=headers)
        assert response.status_code == 401, case
        assert response.json()["outcome"] in ("unsigned", "bad_signature"), case
    assert service.jobs(name) == []
    assert service.deliveries(name) == []


def test_either_secret_is_accepted_while_rotating(service: Service) -> None:
    name = repo()
    for number, secret in ((1, OLD_SECRET), (2, NEW_SECRET)):
        response = service.post("pull_request", wh.pull_request_event("opened", name, number), secret=secret)
        assert response.status_code == 202 and response.json()["outcome"] == "queued"
    assert [p["number"] for _, p, _ in service.jobs(name)] == [1, 2]


def test_the_same_delivery_twice_is_processed_once(service: Service) -> None:
    name = repo()
    payload = wh.pull_request_event("opened", name, 3)
    delivery = wh.delivery_id()
    first = service.post("pull_request", payload, delivery=delivery)
    again = service.post("pull_request", payload, delivery=delivery, secret=OLD_SECRET)
    assert (first.status_code, first.json()["outcome"]) == (202, "queued")
    assert (again.status_code, again.json()["outcome"]) == (202, "duplicate")

    async def at_once() -> list[httpx.Response]:  # a redelivery racing the first: one wins
        body = wh.encode(wh.push_event(name))
        headers = wh.headers("push", body, NEW_SECRET, wh.delivery_id())
        async with httpx.AsyncClient(base_url=service.base, timeout=10) as client:
            return list(await asyncio.gather(*(client.post("/webhooks/github", content=body, headers=headers) for _ in range(5))))

    outcomes = sorted(r.json()["outcome"] for r in asyncio.run(at_once()))
    assert outcomes == ["duplicate"] * 4 + ["queued"]
    assert len(service.jobs(name)) == 1 + 2  # one analysis, and the push's two reconciles once
    assert len(service.deliveries(name)) == 2


def _raw_request(base: str, head: bytes, send_body: Any) -> tuple[bytes, int]:
    """Send `head`, then chunks from `send_body()` until the server answers; (response, body bytes sent)."""
    host, port = base.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head)
        s.setblocking(False)
        response = b""
        deadline = time.monotonic() + 10
        for chunk in send_body():
            with contextlib.suppress(BlockingIOError):
                response += s.recv(65536)
            if response or time.monotonic() > deadline:
                break
            try:
                s.sendall(chunk)
                sent += len(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                time.sleep(0.01)
        s.setblocking(True)
        try:
            while b"\r\n\r\n" not in response:
                more = s.recv(65536)
                if not more:
                    break
                response += more
        except ConnectionResetError:
            pass
    return response, sent


def test_a_body_over_the_limit_is_413_before_it_is_read_whole(service: Service) -> None:
    name = repo()
    signature = wh.sign(b"{}", NEW_SECRET)
    common = (
        f"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
        f"X-GitHub-Delivery: {wh.delivery_id()}\r\nX-Hub-Signature-256: {signature}\r\nContent-Type: application/json\r\n"
    )
    # A declared length of 1 GB, and ten bytes sent: answered at once, the rest never awaited.
    started = time.monotonic()
    response, _ = _raw_request(service.base, (common + "Content-Length: 1000000000\r\n\r\n").encode(), lambda: iter([b'{"ref": 1}'] + [b""] * 1000))
    assert response.startswith(b"HTTP/1.1 413"), response[:100]
    assert time.monotonic() - started < 5

    # A chunked body without a length: the server stops at the limit, long before the 200 MB on offer.
    def chunks() -> Iterator[bytes]:
        piece = b"x" * 65536
        for _ in range(3200):
            yield b"10000\r\n" + piece + b"\r\n"

    response, sent = _raw_request(service.base, (common + "Transfer-Encoding: chunked\r\n\r\n").encode(), chunks)
    assert response.startswith(b"HTTP/1.1 413"), response[:100]
    assert sent < 20 * 1024 * 1024, f"the client could send {sent} bytes"
    # Within the limit, the same route accepts a large but genuine payload.
    big = wh.push_event(name)
    big["commits"] = [big["head_commit"]] * 20
    assert len(wh.encode(big)) < LIMIT
    assert service.post("push", big).status_code == 202
    assert len(service.deliveries(name)) == 1


def test_not_json_is_400_and_a_wrong_shape_is_422(service: Service) -> None:
    name = repo()
    response = service.post("pull_request", b"{not json")
    assert (response.status_code, response.json()["outcome"]) == (400, "not_json")
    response = service.post("pull_request", b"[1, 2]")
    assert (response.status_code, response.json()["outcome"]) == (422, "wrong_shape")
    broken = wh.pull_request_event("opened", name, 4)
    del broken["pull_request"]["head"]
    broken["pull_request"]["number"] = "four"
    response = service.post("pull_request", broken)
    assert response.status_code == 422
    where = sorted(tuple(e["loc"]) for e in response.json()["errors"])
    assert where == [("pull_request", "head"), ("pull_request", "number")]
    labeled = wh.pull_request_event("labeled", name, 4)  # labeled without its label
    response = service.post("pull_request", labeled)
    assert (response.status_code, response.json()["detail"]) == (422, "label is missing from a labeled event")
    no_delivery = service.post("push", wh.push_event(name), headers={"X-GitHub-Delivery": ""})
    assert (no_delivery.status_code, no_delivery.json()["detail"]) == (400, "X-GitHub-Delivery is missing")
    assert service.jobs(name) == [] and service.deliveries(name) == []


def test_unknown_events_and_actions_are_202_ignored_with_the_reason(service: Service) -> None:
    name = repo()
    issue = {"action": "opened", "issue": {"number": 1}, "repository": wh.repository(name), "sender": wh.user("a")}
    response = service.post("issues", issue)
    assert response.status_code == 202
    assert response.json() == {"outcome": "ignored", "delivery": response.json()["delivery"], "jobs": 0,
                               "detail": "event 'issues' is not acted on"}
    assigned = service.post("pull_request", wh.pull_request_event("assigned", name, 5))
    assert (assigned.status_code, assigned.json()["detail"]) == (202, "pull_request action 'assigned' is not acted on")
    assert service.jobs(name) == []
    assert [o for _, _, o in service.deliveries(name)] == [
        "ignored: event 'issues' is not acted on",
        "ignored: pull_request action 'assigned' is not acted on",
    ]


# --- routing ----------------------------------------------------------------------------------------


def test_pull_request_events_become_analyses_and_a_new_push_is_never_dropped(service: Service) -> None:
    name = repo()
    first, second = wh.sha("head-1"), wh.sha("head-2")
    for action in ("opened", "reopened", "ready_for_review"):
        assert service.post("pull_request", wh.pull_request_event(action, name, 6, head_sha=first)).status_code == 202
    # The same head on the same base is queued once (its dedupe key); a second push is a new job.
    assert [o for _, _, o in service.deliveries(name)] == ["queued", "coalesced", "coalesced"]
    response = service.post("pull_request", wh.pull_request_event("synchronize", name, 6, head_sha=second))
    assert response.json()["outcome"] == "queued"
    edited = wh.pull_request_event("edited", name, 6, head_sha=second, changes={"title": {"from": "x"}})
    assert service.post("pull_request", edited).json()["detail"] == "edited without a change of the base branch"
    rebased = wh.pull_request_event(
        "edited", name, 6, head_sha=second, base_sha=wh.sha("new-base"), base_ref="release",
        changes={"base": {"ref": {"from": "main"}, "sha": {"from": wh.sha("old")}}},
    )
    assert service.post("pull_request", rebased).json()["outcome"] == "queued"
    jobs = service.jobs(name)
    assert [(e, p["head_sha"], p["base_ref"], p["action"]) for e, p, _ in jobs] == [
        ("analyse_pull_request", first, "main", "opened"),
        ("analyse_pull_request", second, "main", "synchronize"),
        ("analyse_pull_request", second, "release", "edited"),
    ]
    payload = jobs[0][1]
    assert payload["repository"] == name and payload["number"] == 6 and payload["installation_id"] == 424242
    assert payload["head_repository"] == name and payload["updated_at"] == "2026-01-15T15:20:35Z"
    assert jobs[0][2] == f"analyse:{name}#6:{first}:{wh.sha(name + ':base')}"


def test_a_merge_and_the_push_of_its_commit_reconcile_each_environment_once(service: Service) -> None:
    name = repo()
    merged = wh.pull_request_event("closed", name, 7, merged=True, state="closed")
    merge_sha = merged["pull_request"]["merge_commit_sha"]
    response = service.post("pull_request", merged)
    assert (response.status_code, response.json()["outcome"], response.json()["jobs"]) == (202, "queued", 2)
    push = service.post("push", wh.push_event(name, after=merge_sha))
    assert (push.status_code, push.json()["outcome"]) == (202, "coalesced")
    jobs = service.jobs(name)
    assert sorted((e, p["environment"], p["trigger"], p["sha"]) for e, p, _ in jobs) == [
        ("reconcile_environment:production", "production", "merge", merge_sha),
        ("reconcile_environment:staging", "staging", "merge", merge_sha),
    ]
    unmerged = wh.pull_request_event("closed", name, 8, state="closed")
    assert service.post("pull_request", unmerged).json()["detail"] == "closed without merging"
    elsewhere = wh.pull_request_event("closed", name, 9, merged=True, state="closed", base_ref="release")
    assert service.post("pull_request", elsewhere).json()["detail"] == "merged into release, not the default branch"
    branch = service.post("push", wh.push_event(name, ref="refs/heads/feature"))
    assert branch.json()["detail"] == "push to refs/heads/feature, not the default branch"
    tag = service.post("push", wh.push_event(name, ref="refs/tags/v1"))
    assert tag.json()["outcome"] == "ignored"
    later = service.post("push", wh.push_event(name, after=wh.sha("next")))
    assert later.json()["jobs"] == 2
    assert len(service.jobs(name)) == 4


def test_an_approval_label_reconciles_its_environment_and_unlabel_revokes(service: Service) -> None:
    name = repo()
    head = wh.sha("labelled-head")
    labeled = wh.pull_request_event("labeled", name, 10, head_sha=head, label="deploy:production", sender="maintainer")
    assert service.post("pull_request", labeled).json()["outcome"] == "queued"
    assert service.post("pull_request", wh.pull_request_event("labeled", name, 10, label="bug")).json()["detail"] == (
        "label 'bug' approves no environment"
    )
    [(entrypoint, payload, key)] = service.jobs(name)
    assert entrypoint == "reconcile_environment:production" and key is None
    assert (payload["trigger"], payload["labeller"], payload["label"], payload["pull_request"], payload["sha"]) == (
        "label", "maintainer", "deploy:production", 10, head,
    )
    # The job would record the approval; then the label goes before the apply ran.
    with psycopg.connect(service.control_url, autocommit=True) as conn:
        record_approval(conn, repository=name, environment="production", pull_request=10, head_sha=head,
                        approved_by="maintainer", label="deploy:production")
    unlabeled = wh.pull_request_event("unlabeled", name, 10, head_sha=head, label="deploy:production", sender="someone")
    response = service.post("pull_request", unlabeled)
    assert response.json()["outcome"] == "revoked" and response.json()["detail"] == "1 approval(s) revoked"
    with psycopg.connect(service.control_url, autocommit=True) as conn:
        assert standing_approvals(conn, repository=name, environment="production") == []
        [(revoked_by,)] = conn.execute(
            "SELECT revoked_by FROM schemawarden_control.approvals WHERE repository = %s", (name,)
        ).fetchall()
    assert revoked_by == "someone"


def test_a_burst_of_deliveries_is_all_durably_queued_each_answered_within_a_second(service: Service) -> None:
    name = repo()
    count = 200
    bodies = [wh.encode(wh.pull_request_event("synchronize", name, 11, head_sha=wh.sha(f"burst-{i}"))) for i in range(count)]

    port = int(service.base.rsplit(":", 1)[1])
    requests = [raw_request("/webhooks/github", wh.headers("pull_request", body, NEW_SECRET), body) for body in bodies]
    answers = asyncio.run(post_all(port, requests, 32))  # 32 connections at once, each timed per request
    assert [status for status, _ in answers] == [202] * count
    times = sorted(seconds for _, seconds in answers)
    assert times[-1] < 1.0, f"slowest answers took {times[-5:]} s (median {times[count // 2]:.3f} s)"
    assert len(service.jobs(name)) == count
    assert len(service.deliveries(name)) == count


# --- workers ------------------------------------------------------------------------------------------


def _job_log(url: str, repository: str) -> list[tuple[int, str]]:
    return [
        (int(job_id), str(status))
        for job_id, status in rows(
            url,
            "SELECT l.job_id, l.status::text FROM schemawarden_queue.pgqueuer_log l "
            "WHERE l.job_id = ANY(SELECT unnest(jobs) FROM schemawarden_control.deliveries WHERE repository = %s) "
            "ORDER BY l.id",
            (repository,),
        )
    ]


def _finished(url: str, repository: str, expected: int, status: str = "successful") -> bool:
    return sum(1 for _, s in _job_log(url, repository) if s == status) >= expected


@pytest.mark.workers
def test_a_worker_killed_mid_job_is_retried_by_another_and_its_effect_happens_once(service: Service) -> None:
    name = repo("block")
    p = service.processes
    first = p.worker("--heartbeat-timeout", str(HEARTBEAT_S))
    try:
        assert service.post("pull_request", wh.pull_request_event("opened", name, 12)).json()["outcome"] == "queued"
        key = f"analyse:{name}#12@{wh.sha(name + '#12:head')}"
        # The effect is committed and the handler is still running: kill its process there.
        wait_for(lambda: rows(service.control_url, "SELECT 1 FROM test_effects.effects WHERE key = %s", (key,)), 30, "the effect")
        p.stop(first, signal.SIGKILL)
        second = p.worker("--heartbeat-timeout", str(HEARTBEAT_S))
        attempts_of = "SELECT 1 FROM test_effects.attempts WHERE key = %s"
        wait_for(lambda: len(rows(service.control_url, attempts_of, (key,))) == 2, 30, "the job to be taken over")
        # While its worker lives, a job running past the heartbeat timeout is not taken again.
        time.sleep(2 * HEARTBEAT_S)
        assert len(rows(service.control_url, attempts_of, (key,))) == 2
        rows(service.control_url, "INSERT INTO test_effects.release VALUES (%s) RETURNING 1", (key,))
        wait_for(lambda: _finished(service.control_url, name, 1), 30, "the job to succeed")
        attempts = rows(service.control_url, "SELECT pid, attempt, finished_at IS NOT NULL FROM test_effects.attempts WHERE key = %s ORDER BY started_at", (key,))
        assert [(pid, done) for pid, _, done in attempts] == [(first.pid, False), (second.pid, True)]
        assert [a for _, a, _ in attempts] == [1, 1]  # a takeover is not a failed attempt
        assert rows(service.control_url, "SELECT count(*) FROM test_effects.effects WHERE key = %s", (key,)) == [(1,)]
        assert service.jobs(name) == []
        statuses = [s for _, s in _job_log(service.control_url, name)]
        assert statuses == ["queued", "picked", "picked", "successful"]
    finally:
        p.stop_workers()


@pytest.mark.workers
def test_a_failing_job_is_retried_with_backoff_and_held_after_its_last_attempt(service: Service) -> None:
    flaky, broken = repo("fail-2"), repo("fail-always")
    p = service.processes
    worker = p.worker("--max-attempts", "3", "--first-retry", "0.4")
    try:
        service.post("pull_request", wh.pull_request_event("opened", flaky, 13))
        service.post("pull_request", wh.pull_request_event("opened", broken, 14))
        wait_for(lambda: _finished(service.control_url, flaky, 1), 30, "the flaky job to succeed")
        wait_for(lambda: _finished(service.control_url, broken, 1, "failed"), 30, "the broken job to be held")
        starts = [t for (t,) in rows(service.control_url, "SELECT extract(epoch FROM started_at) FROM test_effects.attempts WHERE key LIKE %s ORDER BY started_at", (f"%{flaky}#%",))]
        assert len(starts) == 3
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        # equal jitter: the first retry waits 0.2-0.4 s, the second 0.4-0.8 s
        assert float(gaps[0]) >= 0.2 and float(gaps[1]) >= 0.4, gaps
        assert len(rows(service.control_url, "SELECT 1 FROM test_effects.attempts WHERE key LIKE %s", (f"%{broken}#%",))) == 3
        [(status, attempts)] = rows(service.control_url, f"SELECT status::text, attempts FROM {QUEUE} WHERE convert_from(payload, 'UTF8')::jsonb ->> 'repository' = %s", (broken,))
        assert (status, attempts) == ("failed", 2)  # held for a person, not retried a fourth time
        assert worker.poll() is None
    finally:
        p.stop_workers()


@pytest.mark.workers
def test_one_reconcile_per_environment_at_a_time_across_two_workers(service: Service) -> None:
    name = repo()
    p = service.processes
    workers = [p.worker(), p.worker()]
    try:
        for i in range(6):  # six pushes to the default branch: twelve reconciles, six per environment
            assert service.post("push", wh.push_event(name, after=wh.sha(f"main-{i}"))).json()["jobs"] == 2
        wait_for(lambda: _finished(service.control_url, name, 12), 60, "twelve reconciles")
        runs = rows(
            service.control_url,
            "SELECT split_part(key, ':', 3), pid, started_at, finished_at FROM test_effects.attempts WHERE key LIKE %s",
            (f"reconcile:{name}:%",),
        )
        assert len(runs) == 12
        assert rows(service.control_url, "SELECT count(*) FROM test_effects.overlaps") == [(0,)]
        for env in ("staging@", "production@"):
            spans = sorted((s, f) for e, _, s, f in runs if e.startswith(env.rstrip("@")))
            assert len(spans) == 6
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), f"{env} overlapped"
        # every run came from these two workers; which of them took which job is the queue's choice (one
        # may take them all when it polls first), so the test holds the limit, not the spread
        assert {pid for _, pid, _, _ in runs} <= {w.pid for w in workers}
    finally:
        p.stop_workers()


@pytest.mark.workers
def test_queued_jobs_survive_a_restart_of_the_service(service: Service) -> None:
    name = repo()
    p = service.processes
    first, base = p.serve(free_port())
    for number in range(20, 25):
        body = wh.encode(wh.pull_request_event("opened", name, number))
        response = httpx.post(f"{base}/webhooks/github", content=body, headers=wh.headers("pull_request", body, NEW_SECRET))
        assert response.status_code == 202
    p.stop(first, signal.SIGKILL)
    assert len(service.jobs(name)) == 5
    second, base = p.serve(free_port())
    assert httpx.get(f"{base}/readyz").json()["ready"] is True
    p.worker()
    try:
        wait_for(lambda: _finished(service.control_url, name, 5), 30, "the five jobs")
        assert rows(service.control_url, "SELECT count(*) FROM test_effects.effects WHERE key LIKE %s", (f"analyse:{name}#%",)) == [(5,)]
    finally:
        p.stop_workers()
        p.stop(second)


def test_metrics_count_deliveries_and_the_queue(service: Service) -> None:
    assert service.post("pull_request", wh.pull_request_event("opened", repo(), 31)).status_code == 202  # no worker runs
    text = httpx.get(f"{service.base}/metrics").text  # loopback: no token needed
    assert 'schemawarden_webhook_deliveries_total{event="pull_request",outcome="queued"}' in text
    assert 'schemawarden_webhook_deliveries_total{event="pull_request",outcome="bad_signature"}' in text
    assert 'schemawarden_queue_jobs{kind="analyse_pull_request",status="queued"}' in text
    assert "schemawarden_webhook_duration_seconds_bucket" in text


@pytest.mark.secrets
def test_nothing_the_service_and_workers_printed_holds_a_secret(service: Service) -> None:
    service.post("pull_request", wh.pull_request_event("opened", repo(), 30), secret="a-wrong-secret")
    output = service.processes.output()
    assert "webhook event=pull_request" in output  # the logs are there: one line per delivery
    if list(service.processes.log_dir.glob("worker-*.log")):
        assert "analyse_pull_request attempt 1: successful" in output  # and one per job attempt
    for secret in SECRETS:
        assert secret not in output
