"""Webhook ingest: signed deliveries per second into the durable queue, and none lost.

    python benchmarks/webhook_ingest.py [--deliveries 3000] [--concurrency 32] [--admin-url URL]

Starts `schemawarden serve` (uvicorn, one process) on a loopback port over a fresh control
database (`sw_bench_*` on the embedded server, or on `--admin-url`'s server; dropped afterwards),
and a load generator in another process (httpx, asyncio) that posts GitHub-shaped deliveries
signed with HMAC-SHA256, over keep-alive connections written with asyncio streams (httpx would
be the bottleneck: about 250 requests a second here, against 4,000 for `/healthz` this way): 70% `pull_request` synchronize (one analysis each), 20% `push` to the
default branch (two reconciles each), 10% events the service ignores. It prints deliveries per
second, latency percentiles as the generator saw them, and what reached the control database
(deliveries recorded and jobs queued, against what was sent: none may be lost).

The peer, in the same run: the same app, the same checks (size, signature, JSON, routing), with
the durable part (the transaction that enqueues the jobs and records the delivery) left out, to
show what durability costs. Target: at least 300 deliveries per second on the 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
import psycopg  # noqa: E402
import webhook_payloads as wh  # noqa: E402
from service_harness import post_all, raw_request  # noqa: E402

from reconciler.database.embedded import EmbeddedPostgres, drop_database, ensure_database, with_database  # noqa: E402

SECRET = "bench-webhook-secret"
REPOSITORY = "acme/shop"


def bodies(count: int, run: str) -> list[tuple[str, bytes, int]]:
    """(event, body, jobs it should queue) for `count` deliveries."""
    made = []
    for i in range(count):
        kind = i % 10
        if kind < 7:
            payload = wh.pull_request_event("synchronize", REPOSITORY, 1 + i % 50, head_sha=wh.sha(f"{run}-{i}"))
            made.append(("pull_request", wh.encode(payload), 1))
        elif kind < 9:
            made.append(("push", wh.encode(wh.push_event(REPOSITORY, after=wh.sha(f"{run}-push-{i}"))), 2))
        else:
            payload = wh.pull_request_event("assigned", REPOSITORY, 1 + i % 50)
            made.append(("pull_request", wh.encode(payload), 0))
    return made


async def _load(base: str, count: int, concurrency: int, run: str) -> dict[str, Any]:
    port = int(base.rsplit(":", 1)[1])
    warm = [raw_request("/webhooks/github", wh.headers(e, b, SECRET), b) for e, b, _ in bodies(50, run + "-warm")]
    prepared = [raw_request("/webhooks/github", wh.headers(e, b, SECRET), b) for e, b, _ in bodies(count, run)]
    await post_all(port, warm, concurrency)  # connections and the server's pool warmed up
    started = time.perf_counter()
    answers = await post_all(port, prepared, concurrency)
    elapsed = time.perf_counter() - started
    latencies = sorted(seconds for _, seconds in answers)
    statuses: dict[int, int] = {}
    for status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "elapsed_s": elapsed,
        "per_second": count / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "max_ms": latencies[-1] * 1000,
        "statuses": statuses,
    }


def load_process(base: str, count: int, concurrency: int, run: str) -> dict[str, Any]:
    """Run the load generator in a process of its own (the server must not share its CPU time slice)."""
    out = subprocess.run(
        [sys.executable, __file__, "--load", base, "--deliveries", str(count), "--concurrency", str(concurrency), "--run", run],
        capture_output=True, text=True, check=True,
    )
    return dict(json.loads(out.stdout))


def serve_without_enqueue(port: int) -> None:
    """The peer: the same app and checks, with the transaction that records and enqueues left out."""
    import uvicorn

    import bot.web.app as web_app
    from bot.settings import load_service_settings
    from bot.web import webhooks

    class NotDurable(webhooks.WebhookReceiver):
        async def _record(self, delivery: str, event: str, decision: Any) -> Any:
            return webhooks._Answer(202, "ignored" if decision.ignored else "queued", jobs=len(decision.jobs))

    web_app.WebhookReceiver = NotDurable  # type: ignore[misc]  # what create_app builds its endpoint with
    settings = load_service_settings()
    app = web_app.create_app(settings, os.environ["SCHEMAWARDEN_CONTROL_URL"])
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_config=None)


def _median(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the runs; the statuses added up."""
    merged: dict[str, Any] = {key: statistics.median(r[key] for r in results) for key in results[0] if key != "statuses"}
    statuses: dict[str, int] = {}
    for r in results:
        for status, n in r["statuses"].items():
            statuses[str(status)] = statuses.get(str(status), 0) + n
    merged["statuses"] = statuses
    return merged


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(argv: list[str], env: dict[str, str], count: int, concurrency: int, run: str) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen([*argv, str(port)] if argv[-1] == "--peer-port" else [*argv, "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server)
        return load_process(base, count, concurrency, run)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, interleaved; medians are printed")
    parser.add_argument("--admin-url", help="an admin URL of the server to use (default: the embedded one)")
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("SCHEMAWARDEN_DATA_DIR", str(ROOT / ".schemawarden" / "bench-pgdata")),
    )
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--run", default="", help=argparse.SUPPRESS)
    parser.add_argument("--peer-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(asyncio.run(_load(args.load, args.deliveries, args.concurrency, args.run))))
        return
    if args.peer_port:
        serve_without_enqueue(args.peer_port)
        return

    admin = args.admin_url or EmbeddedPostgres(Path(args.data_dir)).admin_url()
    name = f"sw_bench_{uuid.uuid4().hex[:10]}"
    ensure_database(admin, name)
    url = with_database(admin, name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMAWARDEN_")}
    env.update(SCHEMAWARDEN_CONTROL_URL=url, SCHEMAWARDEN_WEBHOOK_SECRET=SECRET, PYTHONPATH=str(ROOT),
               SCHEMAWARDEN_ENV_STAGING_URL="postgresql://app@db/app", SCHEMAWARDEN_ENV_PRODUCTION_URL="postgresql://app@db/app")
    schemawarden = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "serve"]
    durables: list[dict[str, Any]] = []
    peers: list[dict[str, Any]] = []
    runs = [uuid.uuid4().hex[:8] for _ in range(args.repeat)]
    try:
        for run in runs:  # interleaved, so that the machine's other load falls on both alike
            durables.append(measure(schemawarden, env, args.deliveries, args.concurrency, run))
            peers.append(measure([sys.executable, __file__, "--peer-port"], env, args.deliveries, args.concurrency, run + "p"))
        with psycopg.connect(url, autocommit=True) as conn:
            recorded = conn.execute("SELECT count(*) FROM schemawarden_control.deliveries").fetchone()
            queued = conn.execute("SELECT count(*) FROM schemawarden_queue.pgqueuer").fetchone()
            server = conn.execute("SELECT current_setting('server_version'), current_setting('synchronous_commit')").fetchone()
    finally:
        drop_database(admin, name)
    durable, peer = _median(durables), _median(peers)
    expected_jobs = sum(sum(jobs for _, _, jobs in bodies(args.deliveries, run)) for run in runs)
    warmup_jobs = sum(sum(jobs for _, _, jobs in bodies(50, run + "-warm")) for run in runs)
    sent = (args.deliveries + 50) * args.repeat
    assert recorded is not None and queued is not None and server is not None
    print(f"webhook ingest: {args.deliveries} deliveries (+50 warm-up), {args.concurrency} at once, median of {args.repeat}, "
          f"PostgreSQL {server[0]} (synchronous_commit={server[1]}), 2 processes on {os.cpu_count()} cores")
    print(f"{'':38} {'deliv/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}  statuses")
    for label, r in (("schemawarden serve (durable enqueue)", durable), ("same app without the enqueue (peer)", peer)):
        print(f"{label:38} {r['per_second']:8.0f} {r['p50_ms']:7.1f} {r['p95_ms']:7.1f} {r['p99_ms']:7.1f} {r['max_ms']:7.1f}  {r['statuses']}")
    print(f"ratio durable/peer: {durable['per_second'] / peer['per_second']:.2f}x the deliveries per second")
    lost_deliveries = sent - int(recorded[0])
    lost_jobs = expected_jobs + warmup_jobs - int(queued[0])
    print(f"reached the control database: {recorded[0]} of {sent} deliveries, {queued[0]} of "
          f"{expected_jobs + warmup_jobs} jobs queued; lost: {lost_deliveries} deliveries, {lost_jobs} jobs")
    print(f"target >= 300 deliveries/s: {'met' if durable['per_second'] >= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
