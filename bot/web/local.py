"""The web service with its worker in a thread of this process, on a loopback port.

What `schemawarden serve --with-worker` runs, started from Python: the demo, the PR bot's tests
and the feedback benchmark post signed webhooks to it over real HTTP, and its worker runs the
real job handlers. `stop()` lets the worker finish the jobs in hand.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from bot.jobs import JobHandlers, registered_handlers
from bot.metrics import Metrics
from bot.settings import ServiceSettings
from bot.web.app import create_app
from bot.worker import WorkerOptions


class LocalService:
    """`create_app(settings, control_url, worker=...)` served by uvicorn on 127.0.0.1 (a free port
    unless `port` is given); `url` is its base URL once `start()` returns. The control database's
    schema must be set up (`bot.control.schema.setup`)."""

    def __init__(self, settings: ServiceSettings, control_url: str, *, options: WorkerOptions | None = None,
                 handlers: JobHandlers | None = None, port: int = 0, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or Metrics()
        worker = (handlers or registered_handlers(), options or WorkerOptions())
        app = create_app(settings, control_url, listen_host="127.0.0.1", metrics=self.metrics, worker=worker)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", port))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="schemawarden-service", daemon=True)

    def start(self, timeout_s: float = 30.0) -> LocalService:
        """Start serving; raises RuntimeError when the service is not up within `timeout_s`."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the schemawarden service did not start (see its log)")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop taking requests and jobs; the jobs in hand finish first."""
        self._server.should_exit = True
        self._thread.join(timeout=60)
        self._socket.close()

    def __enter__(self) -> LocalService:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
