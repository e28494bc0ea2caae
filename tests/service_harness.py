"""Start the real service (`schemawarden serve`) and workers as processes on loopback, for tests.

Every process writes its whole output to a file of the test's log folder, so that a test can grep
everything the service and its workers printed (for secrets).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
SCHEMAWARDEN = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout_s: float = 30.0, what: str = "the condition") -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Processes:
    """The processes a test started (each ended by its own pid) and their output files."""

    log_dir: Path
    env: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        out = (self.log_dir / f"{name}-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def serve(self, port: int, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
        """`schemawarden serve` on 127.0.0.1:port, once `/readyz` answers 200; returns it and its base URL."""
        process = self.spawn("serve", [*SCHEMAWARDEN, "serve", "--host", "127.0.0.1", "--port", str(port), *extra])
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"serve exited with {process.returncode}: {self.output()[-2000:]}")
            try:
                return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 60, "the service to be ready")
        return process, base

    def worker(self, *extra: str) -> subprocess.Popen[bytes]:
        """A worker with the test handlers (tests/service_worker.py), once it says it is ready."""
        process = self.spawn("worker", [sys.executable, str(ROOT / "tests" / "service_worker.py"), *extra])
        log = Path(self.log_dir / f"worker-{len(self.started) - 1}.log")

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker exited with {process.returncode}: {log.read_text()[-2000:]}")
            return b"ready" in log.read_bytes()

        wait_for(ready, 60, "the worker to start")
        return process

    def stop(self, process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_workers(self) -> None:
        for process in self.started:
            if "service_worker.py" in " ".join(map(str, process.args)):  # type: ignore[arg-type]
                self.stop(process)

    def stop_all(self) -> None:
        for process in self.started:
            self.stop(process)

    def output(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


def rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def service_environment(control_url: str, **variables: str) -> dict[str, str]:
    """The process environment for the service: no SCHEMAWARDEN_* of the caller's, these instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMAWARDEN_")}
    env["SCHEMAWARDEN_CONTROL_URL"] = control_url
    env["PYTHONPATH"] = str(ROOT)
    env.update(variables)
    return env


def raw_request(path: str, headers: dict[str, str], body: bytes) -> bytes:
    """An HTTP/1.1 POST as bytes, ready to write on a keep-alive connection."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "content-length"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def post_all(port: int, requests: list[bytes], concurrency: int) -> list[tuple[int, float]]:
    """Send prepared requests over `concurrency` keep-alive connections; (status, seconds) of each.

    A few lines of asyncio streams rather than httpx: httpx spends about 4 ms of CPU a request,
    so on two cores it, not the server, would be what is measured (it tops out near 250 a second
    against a /healthz that answers 4,000).
    """
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    answers: list[tuple[int, float]] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                started = time.perf_counter()
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(
                    (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
                )
                await reader.readexactly(length)
                answers.append((status, time.perf_counter() - started))
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(min(concurrency, len(requests)))))
    return answers
