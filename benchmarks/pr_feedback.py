"""PR feedback latency: from the `pull_request` webhook posted to the sticky comment posted.

    python benchmarks/pr_feedback.py [--prs 5] [--history ../shared/drizzle-histories/dokploy]
                                     [--admin-url URL] [--squawk PATH]

The base branch is the largest shared history (dokploy: 186 migrations, its snapshots included,
28 MB) in a repository of the fake GitHub (`bot.fake_github`, served on loopback without request
validation, answering in about a millisecond: real GitHub answers each call in 50-300 ms, so the
number of calls is printed too). Each pull request adds one new migration (a plain CREATE INDEX
and a column drop). The real webhook service and worker run in this process
(`bot.web.local.LocalService`), with an environment `staging` (a database where dokploy's 186
migrations were applied) whose history the matrix reads. The first pull request is cold (nothing
cached: the folder is read through the archive); the next ones are warm (a second pull request on
the same base: blobs cached by sha). Measured twice: with the GitHub client's default pause of one
second between two writes of an installation, without it, and with the pause and every answer
of the fake delayed by `--github-latency-ms` (150 ms by default: what api.github.com takes for a
small call from a nearby region).

Printed: webhook -> comment and webhook -> check run, cold and warm (median of the warm ones), the
GitHub calls of one warm analysis, and where a warm analysis spends its time (the job's parts,
timed around the functions `bot.pull_request` calls). The peers, in the same run: `schemawarden
check --base` on a local clone of the same change (the same judgement, no GitHub, no queue: what a
CI step would take) and squawk-cli on the new file (a linter without history: it reads one file).
Target: warm under 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

import bot.pull_request as job  # noqa: E402
from bot.control.schema import setup  # noqa: E402
from bot.demo import RISKY_SQL  # noqa: E402
from bot.fake_github import FakeGitHub, FakeGitHubState, make_app_identity  # noqa: E402
from bot.fake_github.openapi import Description  # noqa: E402
from bot.fake_github.webhooks import delivery, pull_request_event  # noqa: E402
from bot.settings import load_service_settings  # noqa: E402
from bot.web.local import LocalService  # noqa: E402
from bot.worker import WorkerOptions  # noqa: E402
from reconciler.apply import ApplyOptions, apply_environment  # noqa: E402
from reconciler.database.embedded import EmbeddedPostgres, drop_database, ensure_database, with_database  # noqa: E402
from reconciler.environments import EnvironmentConfig  # noqa: E402
from reconciler.migrations import JOURNAL, load_migration_files  # noqa: E402

SECRET = "bench-webhook-secret"
REPO = "acme/dokploy"
TIMED = ("read_policy", "change_kinds", "migration_files", "migration_set", "pull_request_migrations",
         "base_schema_from", "_prove", "judge_change", "attach", "environment_rows", "publish")
TARGET_S = 3.0


def history_files(folder: Path) -> dict[str, bytes]:
    return {f"migrations/{p.relative_to(folder).as_posix()}": p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def pull_request_change(files: dict[str, bytes], n: int) -> dict[str, bytes | str | None]:
    journal = json.loads(files[f"migrations/{JOURNAL}"])
    last = journal["entries"][-1]
    tag = f"{last['idx'] + 1:04d}_bench_pr_{n}"
    journal["entries"].append({**last, "idx": last["idx"] + 1, "when": last["when"] + 60_000, "tag": tag})
    sql = RISKY_SQL.replace('"todo_title_idx" ON "todo" USING btree ("title")',
                            f'"bench_{n}_idx" ON "user" USING btree ("email")').replace('"user" DROP COLUMN "about"',
                                                                                     '"user" DROP COLUMN "image"')
    return {f"migrations/{tag}.sql": sql, f"migrations/{JOURNAL}": json.dumps(journal, indent=2)}


class Timings:
    """Seconds spent in each function `bot.pull_request` calls, per analysis."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    @contextmanager
    def around(self) -> Iterator[None]:
        originals = {name: getattr(job, name) for name in TIMED}
        for name, fn in originals.items():
            setattr(job, name, self._timed(name, fn))
        try:
            yield
        finally:
            for name, fn in originals.items():
                setattr(job, name, fn)

    def _timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - started
        return timed


def one_pull_request(service: LocalService, state: FakeGitHubState, files: dict[str, bytes], n: int) -> dict[str, Any]:
    branch = f"pr-{n}"
    state.push(REPO, branch, pull_request_change(files, n), base="main")
    number = state.open_pull_request(REPO, branch).number
    calls_before = len(state.requests)
    body, headers = delivery("pull_request", pull_request_event(state, REPO, number, "opened"), SECRET)
    started = time.perf_counter()
    assert httpx.post(f"{service.url}/webhooks/github", content=body, headers=headers, timeout=10).status_code == 202
    comment_s = run_s = None
    while run_s is None and time.perf_counter() - started < 120:
        if comment_s is None and state.comments_on(REPO, number):
            comment_s = time.perf_counter() - started
        head = state.pulls[(REPO, number)].head_sha
        if any(r.conclusion for r in state.check_runs(REPO, head)):
            run_s = time.perf_counter() - started
        time.sleep(0.002)
    assert comment_s is not None and run_s is not None, "the bot did not answer within 120 s"
    time.sleep(0.05)
    return {"comment_s": comment_s, "run_s": run_s, "calls": len(state.requests) - calls_before}


def measure(admin: str, staging: str, github: FakeGitHub, files: dict[str, bytes], prs: int,
            write_pause: float, latency_s: float = 0.0) -> dict[str, Any]:
    control_db = f"sw_bench_control_{uuid.uuid4().hex[:8]}"
    ensure_database(admin, control_db)
    control = with_database(admin, control_db)
    try:
        asyncio.run(setup(control))
        state = github.reset()
        state.create_repository(REPO, files)
        state.latency_s = latency_s
        settings = load_service_settings({
            "SCHEMAWARDEN_WEBHOOK_SECRET": SECRET, "SCHEMAWARDEN_GITHUB_APP_ID": str(github.app_identity.id),
            "SCHEMAWARDEN_GITHUB_PRIVATE_KEY": github.app_identity.private_key_pem,
            "SCHEMAWARDEN_GITHUB_API_URL": github.url, "SCHEMAWARDEN_ENV_STAGING_URL": staging,
            "SCHEMAWARDEN_GITHUB_SECONDS_BETWEEN_WRITES": str(write_pause),
            "SCHEMAWARDEN_SCRATCH_URL": admin,  # the proof of each pull request runs on the same server
        })
        timings = Timings()
        runs = []
        with LocalService(settings, control, options=WorkerOptions(concurrency=2, idle_poll_s=0.5)) as service:
            for n in range(prs + 1):
                timings.spent.clear()
                with timings.around():
                    runs.append({**one_pull_request(service, state, files, n), "parts": dict(timings.spent)})
        return {"cold": runs[0], "warm": runs[1:]}
    finally:
        drop_database(admin, control_db)


def check_base_peer(files: dict[str, bytes], change: dict[str, bytes | str | None]) -> float:
    """`schemawarden check --base main migrations` in a local clone holding the same change."""
    with tempfile.TemporaryDirectory(prefix="sw-bench-") as folder:
        root = Path(folder)
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
               "GIT_COMMITTER_EMAIL": "b@x"}
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "base"], ["checkout", "-qb", "pr"]):
            subprocess.run(["git", *args], cwd=root, env=env, check=True)
        for name, data in change.items():
            assert data is not None
            (root / name).write_bytes(data.encode() if isinstance(data, str) else data)
        command = [str(Path(sys.executable).parent / "schemawarden"), "check", "--base", "main", "migrations"]
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(command, cwd=root, capture_output=True, check=False)
            times.append(time.perf_counter() - started)
        return statistics.median(times)


def squawk_peer(squawk: str, change: dict[str, bytes | str | None]) -> float | None:
    if not Path(squawk).exists() and shutil.which(squawk) is None:
        return None
    sql_name, sql = next((k, v) for k, v in change.items() if k.endswith(".sql"))
    with tempfile.TemporaryDirectory(prefix="sw-bench-") as folder:
        path = Path(folder) / Path(sql_name).name
        path.write_text(str(sql))
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([squawk, "--pg-version=16", str(path)], capture_output=True, check=False)
            times.append(time.perf_counter() - started)
        return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prs", type=int, default=5, help="warm pull requests after the cold one")
    shared = Path(os.environ.get("SCHEMAWARDEN_SHARED_DIR") or ROOT.parent / "shared")
    parser.add_argument("--history", type=Path, default=shared / "drizzle-histories" / "dokploy")
    parser.add_argument("--admin-url")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("SCHEMAWARDEN_DATA_DIR",
                                                                             ROOT / ".schemawarden" / "bench-pgdata")))
    parser.add_argument("--github-latency-ms", type=float, default=150.0,
                        help="a third run where every GitHub answer waits this long (default 150)")
    parser.add_argument("--squawk", default=shutil.which("squawk") or str(Path(sys.executable).parent / "squawk"))
    args = parser.parse_args()

    if not (args.history / JOURNAL).is_file():
        parser.error(f"{args.history}: not a drizzle migrations folder (set SCHEMAWARDEN_SHARED_DIR or --history)")
    files = history_files(args.history)
    admin = args.admin_url or EmbeddedPostgres(args.data_dir).admin_url()
    staging_db = f"sw_bench_staging_{uuid.uuid4().hex[:8]}"
    ensure_database(admin, staging_db)
    staging = with_database(admin, staging_db)
    github = FakeGitHub(make_app_identity(slug="schemawarden"), Description(validate=False)).start()
    try:
        folder = {k.removeprefix("migrations/"): v for k, v in files.items()}
        migrations = load_migration_files(folder, "dokploy")
        assert apply_environment(EnvironmentConfig(name="staging", gate="auto"), staging, migrations,
                                 ApplyOptions(actor="bench")).ok
        print(f"base: {args.history.name}, {len(migrations.migrations)} migrations, {len(files)} files "
              f"({sum(map(len, files.values())) / 1e6:.1f} MB); environment staging at its head; "
              f"{args.prs} warm pull requests after a cold one\n")
        results = {(pause, 0.0): measure(admin, staging, github, files, args.prs, pause) for pause in (1.0, 0.0)}
        latency = args.github_latency_ms / 1000
        results[(1.0, latency)] = measure(admin, staging, github, files, args.prs, 1.0, latency)
    finally:
        github.stop()
        drop_database(admin, staging_db)

    print(f"{'pause between writes':<21} {'GitHub latency':<15} {'':<5} {'-> comment':>11} {'-> check run':>13} "
          f"{'GitHub calls':>13}")
    for (pause, latency), result in results.items():
        warm = result["warm"]
        for label, comment, run, calls in (
            ("cold", result["cold"]["comment_s"], result["cold"]["run_s"], result["cold"]["calls"]),
            ("warm", statistics.median(r["comment_s"] for r in warm), statistics.median(r["run_s"] for r in warm),
             statistics.median(r["calls"] for r in warm)),
        ):
            print(f"{pause:<21.1f} {latency * 1000:<15.0f} {label:<5} {comment:>10.3f}s {run:>12.3f}s {calls:>13.0f}")
    for (pause, latency), result in results.items():
        warm = result["warm"]
        parts = {name: statistics.median(r["parts"].get(name, 0.0) for r in warm) for name in TIMED}
        total = statistics.median(r["run_s"] for r in warm)
        print(f"\nwhere a warm analysis spends its time (pause {pause:.0f} s, GitHub latency {latency * 1000:.0f} ms; "
              f"median of {len(warm)}, webhook -> check run {total * 1000:.0f} ms; publish = comment + check run):")
        for name, seconds in sorted(parts.items(), key=lambda item: -item[1])[:6]:
            print(f"  {name:<26} {seconds * 1000:8.1f} ms  {seconds / total:6.1%}")
        rest = total - sum(parts.values())
        print(f"  {'rest: queue, webhook, pull request read':<26} {rest * 1000:8.1f} ms  {rest / total:6.1%}")

    change = pull_request_change(files, 99)
    peer = check_base_peer(files, change)
    warm_comment = statistics.median(r["comment_s"] for r in results[(1.0, 0.0)]["warm"])
    print(f"\npeer: schemawarden check --base on a local clone: {peer:.3f} s (process, median of 3); "
          f"the bot's warm webhook -> comment is {warm_comment / peer:.2f}x that")
    squawk = squawk_peer(args.squawk, change)
    if squawk is not None:
        print(f"peer: squawk-cli on the new file alone: {squawk:.3f} s; the bot's warm webhook -> comment is "
              f"{warm_comment / squawk:.1f}x that (squawk reads no history, no environment, posts nothing)")
    verdict = "met" if warm_comment < TARGET_S else "MISSED"
    print(f"\ntarget: warm webhook -> comment under {TARGET_S:.0f} s: {verdict} ({warm_comment:.3f} s)")


if __name__ == "__main__":
    main()
