"""What a template saves: replaying a migration set into a scratch database vs cloning its template.

On the largest shared history (dokploy: 186 migrations, 841 statements), interleaved, a fresh
database each time, medians of --repeat runs:

* `replay` (reconciler.database.run.replay into a new scratch database, as the scratch role): the
  cold path, what building a template costs;
* `drizzle-orm migrate` (node, the peer, on a fresh database): the same schema built by drizzle's
  own migrator, timed inside `migrate()` and with its process start-up;
* `clone`: `ScratchServer.database(template=...)` end to end (CREATE DATABASE ... TEMPLATE, the
  block, the drop), and `CREATE DATABASE ... TEMPLATE` alone with each strategy PostgreSQL has
  (WAL_LOG is the default from 15, FILE_COPY checkpoints; docs: sql-createdatabase.html).

Usage: python benchmarks/scratch_templates.py [--admin-url URL] [--history DIR] [--repeat 5] [--no-drizzle]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402
from apply_speed import add_server_options, journal_only_copy, server_admin_url  # noqa: E402
from psycopg import sql  # noqa: E402

from drizzle_harness import V0  # noqa: E402
from reconciler.database.embedded import drop_database, ensure_database, with_database  # noqa: E402
from reconciler.database.run import replay  # noqa: E402
from reconciler.database.scratch import ScratchServer, template_key  # noqa: E402
from reconciler.migrations import load_migration_set  # noqa: E402

SHARED = Path(os.environ.get("SCHEMAWARDEN_SHARED_DIR") or ROOT.parent / "shared")
DEFAULT_HISTORY = SHARED / "drizzle-histories" / "dokploy"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_options(parser)
    parser.add_argument("--history", type=Path, default=DEFAULT_HISTORY, help="a drizzle migrations folder")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-drizzle", action="store_true", help="leave drizzle-orm (node) out")
    args = parser.parse_args(argv)
    admin = server_admin_url(args)
    migration_set = load_migration_set(args.history.resolve())
    runs: dict[str, list[float]] = {}
    node_walls: list[float] = []  # drizzle's runs with node's start-up

    def timed(label: str, work: Callable[[], float | None]) -> None:
        started = time.perf_counter()
        inner = work()
        runs.setdefault(label, []).append(inner if inner is not None else time.perf_counter() - started)

    with tempfile.TemporaryDirectory(prefix="sw-scratch-bench-") as tmp, ScratchServer(
        admin, environment_targets={}, statement_timeout_ms=60_000
    ) as server:
        folder = Path(tmp) / args.history.name
        journal_only_copy(args.history.resolve(), folder)
        key = template_key([m.hash for m in migration_set.migrations], server.pg_major)
        kept = key in server.templates()  # from an earlier run on this server
        started = time.perf_counter()
        template = server.template(key, lambda db: replay(migration_set, db))
        first = f"template {'found' if kept else 'built'} in {time.perf_counter() - started:.3f} s"
        with psycopg.connect(admin, autocommit=True) as conn:
            size = conn.execute("SELECT pg_database_size(%s)", (template.name,)).fetchone()
        strategies = ["WAL_LOG", "FILE_COPY"] if server.pg_major >= 15 else [""]
        if not args.no_drizzle:
            V0.install()
        for rep in range(args.repeat):
            with server.database() as db:
                timed("replay into a scratch database", lambda db=db: replay(migration_set, db))  # type: ignore[misc]
            if not args.no_drizzle:
                timed("drizzle-orm migrate() (node)", lambda: drizzle_migrate_s(admin, folder, node_walls))
            timed("clone: database(template=...) block", lambda: _clone(server, template))
            for strategy in strategies:
                timed(f"CREATE DATABASE ... TEMPLATE {strategy or '(default)'}", lambda s=strategy: _create(admin, template.name, s))  # type: ignore[misc]
            print(f"  rep {rep + 1}: " + ", ".join(f"{label} {values[-1]:.3f} s" for label, values in runs.items()), flush=True)

    medians = {label: statistics.median(values) for label, values in runs.items()}
    count = len(migration_set.migrations)
    statements = sum(len(m.statements) for m in migration_set.migrations)
    mb = int(str(size[0])) / 2**20 if size else float("nan")
    print(f"\n{args.history.name}: {count} migrations, {statements} statements; template {mb:.1f} MB; "
          f"{first}; median (min) of {args.repeat}")
    for label, value in medians.items():
        print(f"  {label:46} {value:7.3f} s  ({min(runs[label]):.3f} s)")
    replayed, cloned = medians["replay into a scratch database"], medians["clone: database(template=...) block"]
    print(f"  ratio clone / replay: {cloned / replayed:.3f} ({replayed / cloned:.1f}x faster with a template)")
    if "drizzle-orm migrate() (node)" in medians:
        print(f"  ratio replay / drizzle-orm migrate(): {replayed / medians['drizzle-orm migrate() (node)']:.2f}x")
        print(f"  (drizzle with node's start-up: {statistics.median(node_walls):.3f} s)")
    return 0


def drizzle_migrate_s(admin: str, folder: Path, walls: list[float]) -> float:
    """drizzle-orm's migrate() of `folder` into a new database on `admin`'s server (dropped after):
    its own time in seconds, node's wall time with start-up appended to `walls`."""
    name = f"sw_bench_drizzle_{uuid.uuid4().hex[:10]}"
    ensure_database(admin, name)
    try:
        result = V0.migrate(with_database(admin, name), folder)
        if not result.ok or result.migrate_ms is None:
            raise SystemExit(f"drizzle-orm failed: {result.stderr}")
        walls.append(result.wall_s)
        return float(result.migrate_ms) / 1000
    finally:
        drop_database(admin, name)


def _clone(server: ScratchServer, template: object) -> None:
    with server.database(template=template) as db:  # type: ignore[arg-type]
        db.connection().execute("SELECT 1")


def _create(admin: str, template: str, strategy: str) -> float:
    name = f"sw_bench_scratch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}" + (f" STRATEGY {strategy}" if strategy else "")).format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
        elapsed = time.perf_counter() - started
    drop_database(admin, name)
    return elapsed


if __name__ == "__main__":
    sys.exit(main())
