"""Is schemawarden's safe apply fast enough to replace `drizzle migrate`?

Applies the largest shared drizzle history (dokploy: 186 migrations, 841 statements) from an
empty database with drizzle-orm's own migrator and with the `schemawarden` command (a subprocess:
the user's real path), several times each, interleaved, on a fresh database every time, and
prints the medians and the ratio (target: schemawarden <= 1.3x drizzle). schemawarden pays for
per-migration transactions, lock_timeout, the advisory lock and the audit log that drizzle does
not have; process start-up (Python imports vs Node's) is measured on its own so it can be told
apart from the work.

With --round-trips, each tool also applies the history once through a counting proxy
(`pgwire_count.py`; a TCP server only) and the round trips per migration are printed, by SQL.

Usage: python benchmarks/apply_speed.py [--admin-url URL] [--history DIR] [--repeat 5] [--round-trips]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402
from check_throughput import compile_bytecode  # noqa: E402
from pgwire_count import CountingProxy  # noqa: E402

from drizzle_harness import V0, node_database_url, read_history, run_schemawarden, schemawarden_command  # noqa: E402
from reconciler.database.embedded import EmbeddedPostgres, drop_database, ensure_database, with_database  # noqa: E402

DEFAULT_HISTORY = ROOT.parent / "shared" / "drizzle-histories" / "dokploy"


@dataclass
class Timings:
    """Seconds per repetition for one way of applying."""

    label: str
    wall: list[float] = field(default_factory=list)
    inner: list[float] = field(default_factory=list)  # time reported by the tool itself, if any

    def median(self) -> float:
        return statistics.median(self.wall) if self.wall else float("nan")


def journal_only_copy(source: Path, target: Path) -> list[str]:
    """Copy the journal and the SQL files it lists; return the SQL files left out.

    dokploy's folder holds a stray `0130_abandoned_dagger.sql` that its journal does not list
    (drizzle never applies it; schemawarden refuses such a folder), so both tools are timed on
    exactly the migrations of the journal.
    """
    journal = json.loads((source / "meta" / "_journal.json").read_text())
    tags = [entry["tag"] for entry in journal["entries"]]
    (target / "meta").mkdir(parents=True)
    shutil.copy2(source / "meta" / "_journal.json", target / "meta" / "_journal.json")
    for tag in tags:
        shutil.copy2(source / f"{tag}.sql", target / f"{tag}.sql")
    return sorted(p.name for p in source.glob("*.sql") if p.stem not in set(tags))


def startup_seconds(cmd: list[str], repeat: int) -> float:
    """Median wall time of a command that loads the program and exits without touching a database."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False, timeout=60)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """--admin-url, or --data-dir of the embedded PostgreSQL (the benchmarks' server)."""
    parser.add_argument("--admin-url", help="admin URL of a PostgreSQL server (default: the embedded one)")
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("SCHEMAWARDEN_DATA_DIR", str(ROOT / ".schemawarden" / "bench-pgdata")),
        help="data folder of the embedded PostgreSQL when no --admin-url is given",
    )


def server_admin_url(args: argparse.Namespace) -> str:
    """The admin URL the options of `add_server_options` name (starting the embedded server if need be)."""
    return str(args.admin_url or EmbeddedPostgres(Path(args.data_dir)).admin_url())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_options(parser)
    parser.add_argument("--history", type=Path, default=DEFAULT_HISTORY, help="a drizzle migrations folder")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--tools",
        default="drizzle,schemawarden,in-process",
        help="comma-separated: drizzle, schemawarden (the CLI), in-process (bot.cli.main, no start-up)",
    )
    parser.add_argument(
        "--round-trips", action="store_true", help="also count each tool's round trips (TCP servers only)"
    )
    args = parser.parse_args(argv)
    compile_bytecode()  # an installed wheel has its .pyc files; see check_throughput.py

    admin = server_admin_url(args)
    with tempfile.TemporaryDirectory(prefix="sw-speed-") as tmp:
        folder = Path(tmp) / args.history.resolve().name
        left_out = journal_only_copy(args.history.resolve(), folder)
        if left_out:
            print(f"left out, not in the journal: {', '.join(left_out)}")
        code = bench(admin, folder, args)
        if args.round_trips:
            count_round_trips(admin, folder)
        return code


def count_round_trips(admin: str, folder: Path) -> None:
    """Apply `folder` once per tool through a counting proxy and print round trips per migration."""
    info = psycopg.conninfo.conninfo_to_dict(admin)
    host = str(info.get("host") or "")
    if not host or host.startswith("/"):
        print("\nround trips: counted only on a TCP server (give --admin-url postgresql://...@127.0.0.1/...)")
        return
    migrations = len(list(folder.glob("*.sql")))
    tools: dict[str, Callable[[str], None]] = {
        "drizzle-orm migrate": lambda url: _check(V0.migrate(url, folder).ok, "drizzle"),
        "schemawarden apply (CLI)": lambda url: _check(
            run_schemawarden(
                ["apply", "--env", "bench", "--migrations", str(folder)],
                env_urls={"bench": url},
                cwd=folder.parent,
            ).returncode
            == 0,
            "schemawarden",
        ),
    }
    for label, run in tools.items():
        name = f"sw_bench_trips_{uuid.uuid4().hex[:10]}"
        ensure_database(admin, name)
        try:
            with CountingProxy(host, int(info.get("port") or 5432)) as proxy:
                url = psycopg.conninfo.make_conninfo(
                    with_database(admin, name), host="127.0.0.1", port=str(proxy.port), sslmode="disable"
                )
                run(url)
            total = sum(c.round_trips for c in proxy.connections)
            print(
                f"\nround trips, {label}: {total} on {len(proxy.connections)} connection(s), "
                f"{total / migrations:.1f} per migration ({migrations} migrations)"
            )
            for number, conn in enumerate(proxy.connections, 1):
                top = ", ".join(f"{n}x {sql!r}" for sql, n in conn.labels.most_common(8))
                print(f"  connection {number}: {conn.round_trips} round trips; most frequent: {top}")
        finally:
            drop_database(admin, name)


def _check(ok: bool, tool: str) -> None:
    if not ok:
        raise SystemExit(f"{tool} failed while its round trips were counted")


def bench(admin: str, folder: Path, args: argparse.Namespace) -> int:
    """Time each tool on `folder`, interleaved, a fresh database each time, and print the figures."""
    expected = len(list(folder.glob("*.sql")))
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]

    def drizzle(url: str, timings: Timings) -> None:
        result = V0.migrate(url, folder)
        if not result.ok:
            raise SystemExit(f"drizzle-orm failed on {folder}: {result.stderr}")
        timings.wall.append(result.wall_s)
        if result.migrate_ms is not None:
            timings.inner.append(result.migrate_ms / 1000)

    def schemawarden(url: str, timings: Timings) -> None:
        cli = ["apply", "--env", "bench", "--migrations", str(folder)]
        result = run_schemawarden(cli, env_urls={"bench": url}, cwd=ROOT / "benchmarks")
        if result.returncode != 0:
            raise SystemExit(f"schemawarden failed on {folder}:\n{result.describe()}")
        timings.wall.append(result.wall_s)

    def schemawarden_in_process(url: str, timings: Timings) -> None:
        """The same command through `bot.cli.main` in this process: no start-up, no imports."""
        from bot.cli import build_parser, main

        build_parser()  # imports every command module before the clock starts
        sink = io.StringIO()
        os.environ["SCHEMAWARDEN_ENV_BENCH_URL"] = node_database_url(url)
        cwd = Path.cwd()
        os.chdir(folder.parent)  # no schemawarden.toml there
        try:
            started = time.perf_counter()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                code = main(["apply", "--env", "bench", "--migrations", str(folder)])
            elapsed = time.perf_counter() - started
        finally:
            os.chdir(cwd)
            del os.environ["SCHEMAWARDEN_ENV_BENCH_URL"]
        if code != 0:
            raise SystemExit(f"schemawarden (in process) failed on {folder}:\n{sink.getvalue()[-3000:]}")
        timings.wall.append(elapsed)

    runners: dict[str, tuple[Timings, Callable[[str, Timings], None]]] = {
        "drizzle": (Timings(f"drizzle-orm {V0.version()} migrate (node)"), drizzle),
        "schemawarden": (Timings("schemawarden apply (CLI)"), schemawarden),
        "in-process": (Timings("schemawarden apply (bot.cli.main in process)"), schemawarden_in_process),
    }
    V0.install()
    for rep in range(args.repeat):
        order = tools if rep % 2 == 0 else list(reversed(tools))  # interleave: no tool always goes first
        for tool in order:
            timings, run = runners[tool]
            name = f"sw_bench_speed_{uuid.uuid4().hex[:10]}"
            ensure_database(admin, name)
            try:
                url = with_database(admin, name)
                run(url, timings)
                rows = len(read_history(url))
                if rows != expected:
                    raise SystemExit(f"{tool}: {rows} history rows after apply, expected {expected}")
            finally:
                drop_database(admin, name)
            print(f"  rep {rep + 1} {tool:13} {timings.wall[-1]:7.3f} s", flush=True)

    node_start = startup_seconds(["node", str(V0.install() / "migrate.mjs")], 5)  # exits 2: no --folder
    sw_start = startup_seconds([*schemawarden_command(), "apply", "--help"], 5)  # the apply path's imports

    print(f"\napply {folder.name} ({expected} migrations) from an empty database, median of {args.repeat}")
    for tool in tools:
        timings = runners[tool][0]
        extra = ""
        if timings.inner:
            extra = f"  (inside migrate(): {statistics.median(timings.inner):.3f} s)"
        spread = f"min {min(timings.wall):.3f} max {max(timings.wall):.3f}"
        print(f"  {timings.label:46} {timings.median():7.3f} s  {spread}{extra}")
    print(
        f"  process start-up: node + drizzle imports {node_start:.3f} s; schemawarden apply --help {sw_start:.3f} s"
    )
    if {"drizzle", "schemawarden"} <= set(tools):
        d, s = runners["drizzle"][0].median(), runners["schemawarden"][0].median()
        net = (s - sw_start) / (d - node_start) if d > node_start else float("nan")
        print(
            f"  ratio CLI schemawarden / drizzle: {s / d:.2f}x wall (target <= 1.3x); {net:.2f}x net of start-up"
        )
    if {"drizzle", "in-process"} <= set(tools) and runners["drizzle"][0].inner:
        inner = statistics.median(runners["drizzle"][0].inner)
        print(
            f"  ratio in-process schemawarden / drizzle's migrate(): "
            f"{runners['in-process'][0].median() / inner:.2f}x (neither has start-up)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
