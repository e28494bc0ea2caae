"""`setup`, `serve` and `worker`: the PR bot's web service, its workers and their control database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING

from bot.commands import EXIT_OK, exit_codes_epilog
from bot.settings import SERVICE_VARIABLES, ServiceSettings, load_service_settings
from policies.errors import SchemawardenError

if TYPE_CHECKING:  # the service's modules load only when a service command runs
    from bot.jobs import JobHandlers
    from bot.metrics import Metrics
    from bot.worker import WorkerOptions

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `setup`, `serve` and `worker` to the CLI."""
    epilog = exit_codes_epilog(SERVICE_VARIABLES)
    formatter = argparse.RawDescriptionHelpFormatter

    setup = subparsers.add_parser(
        "setup",
        help="install or upgrade the control database's schema",
        description=(
            "Install or upgrade the control database (SCHEMAWARDEN_CONTROL_URL, else database "
            "schemawarden_control on the embedded server): the job queue's tables and schemawarden's "
            "own (deliveries, approvals, analyses). Safe to run again and from several processes at once."
        ),
        epilog=epilog,
        formatter_class=formatter,
    )
    setup.set_defaults(handler=run_setup)

    worker_options = argparse.ArgumentParser(add_help=False)
    worker_options.add_argument("--concurrency", type=int, default=4, help="jobs run at once (default 4)")
    worker_options.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a job whose heartbeat is older is taken over by another worker (default 30)",
    )
    worker_options.add_argument("--max-attempts", type=int, default=5, help="attempts per job (default 5)")

    serve = subparsers.add_parser(
        "serve",
        parents=[worker_options],
        help="run the webhook service (GitHub App webhooks -> durable jobs)",
        description=(
            "Run the web service: POST /webhooks/github (signed by SCHEMAWARDEN_WEBHOOK_SECRET), "
            "/healthz, /readyz, /metrics and the API docs at /docs. Runs `setup` first. Jobs run in "
            "`schemawarden worker` processes, or in this one with --with-worker."
        ),
        epilog=epilog,
        formatter_class=formatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--with-worker", action="store_true", help="also run a worker in this process")
    serve.set_defaults(handler=run_serve)

    worker = subparsers.add_parser(
        "worker",
        parents=[worker_options],
        help="run a worker: take jobs from the control database's queue",
        description=(
            "Take jobs (pull request analyses, environment reconciles) from the control database's "
            "queue until SIGTERM or SIGINT, running at most one reconcile per environment across all "
            "workers. Runs `setup` first."
        ),
        epilog=epilog,
        formatter_class=formatter,
    )
    worker.add_argument(
        "--metrics-port", type=int, metavar="PORT", help="serve this worker's /metrics on 127.0.0.1:PORT"
    )
    worker.set_defaults(handler=run_worker_command)


def _prepare(verbose: int, *, serving: bool = False) -> tuple[ServiceSettings, str]:
    """Settings, the control database's URL, and its schema installed or upgraded.

    `serving`: the web service needs a webhook secret; that is checked before any database is touched.
    """
    from bot.control.database import control_url
    from bot.control.schema import setup

    if verbose == 0:  # a service logs what it does (one line per delivery and job) by default
        for name in ("bot", "reconciler", "policies"):
            logging.getLogger(name).setLevel(logging.INFO)
    settings = load_service_settings()
    if serving:
        settings.require_webhook_secrets()
    url = control_url(settings)
    asyncio.run(setup(url))
    return settings, url


def run_setup(args: argparse.Namespace) -> int:
    from bot.control.database import control_url, describe
    from bot.control.schema import setup

    settings = load_service_settings()
    url = control_url(settings)
    done = asyncio.run(setup(url))
    for line in done or ["nothing to do: the schema is current"]:
        print(f"{describe(url)}: {line}")
    return EXIT_OK


def _worker_options(args: argparse.Namespace) -> WorkerOptions:
    from bot.worker import WorkerOptions

    if args.concurrency < 1 or args.max_attempts < 1 or args.heartbeat_timeout <= 0:
        raise SchemawardenError("--concurrency and --max-attempts must be at least 1, --heartbeat-timeout above 0")
    return WorkerOptions(
        concurrency=args.concurrency, heartbeat_timeout_s=args.heartbeat_timeout, max_attempts=args.max_attempts
    )


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.jobs import registered_handlers
    from bot.web import create_app

    options = _worker_options(args)
    settings, url = _prepare(args.verbose, serving=True)
    worker = None
    if args.with_worker:
        handlers = registered_handlers()
        if not handlers.kinds():
            raise SchemawardenError("--with-worker: no job handlers are registered in this build")
        worker = (handlers, options)
    app = create_app(settings, url, listen_host=args.host, worker=worker)
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)  # "Uvicorn running on ..." and shutdown
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_config=None, lifespan="on")
    return EXIT_OK


def run_worker_command(args: argparse.Namespace) -> int:
    from bot.jobs import registered_handlers
    from bot.metrics import Metrics

    options = _worker_options(args)
    settings, url = _prepare(args.verbose)
    metrics = Metrics()
    if args.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr="127.0.0.1", registry=metrics.registry)
    asyncio.run(serve_worker(url, settings, registered_handlers(), options, metrics))
    return EXIT_OK


async def serve_worker(
    url: str, settings: ServiceSettings, handlers: JobHandlers, options: WorkerOptions, metrics: Metrics | None = None
) -> None:
    """Run a worker until SIGTERM or SIGINT (then finish the jobs in hand and stop)."""
    from bot.worker import run_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await run_worker(url, settings, handlers, options, metrics=metrics, stop=stop)
