"""How long do readers stall when a migration meets a long transaction?

A migration that needs ACCESS EXCLUSIVE on a table (here `ALTER TABLE ... ADD COLUMN`) queues
behind any open transaction that touched the table, and every reader that arrives afterwards
queues behind the migration. drizzle-orm's migrator waits as long as the blocker lives, so the
application stalls for the length of the long transaction; schemawarden sets `lock_timeout`,
gives up, lets the readers through and retries. This benchmark measures exactly that, as the
readers see it:

1. a fresh database with a table of N rows, created by the tool under test (migration 0000);
2. R reader threads (own connections, autocommit) run `SELECT ... WHERE id = $1` in a loop and
   record each query's start and end;
3. a holder session opens a transaction, reads the table (ACCESS SHARE, which conflicts with
   ACCESS EXCLUSIVE) and keeps it open for --hold seconds;
4. the tool under test applies migration 0001 (`ADD COLUMN`) while the holder is open; a
   watcher polls the catalog (no lock on the table) to see when the new column is committed;
5. report the longest single query seen by the readers while the migration ran, and how long
   after the holder's commit the migration committed.

schemawarden runs at its own defaults (no `schemawarden.toml` keys) unless --lock-timeout,
--lock-retries, --retry-backoff or --retry-backoff-max is given. Every loop is bounded,
everything stops by itself, connections go to loopback only.
Usage: python benchmarks/lock_stall.py [--admin-url URL] [--hold 6] [--repeat 3] [--lock-timeout 1s]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from drizzle_harness import V0, CliResult, run_schemawarden, write_journal_folder  # noqa: E402
from reconciler.database.embedded import EmbeddedPostgres, drop_database, ensure_database, with_database  # noqa: E402
from reconciler.environments import EnvironmentConfig  # noqa: E402

TABLE = "bench_item"
BASE_WHEN = 1_700_000_000_000
LOOPBACK = {"", "localhost", "127.0.0.1", "::1"}


@dataclass
class ReaderLog:
    """(start, end) of every query one reader ran, on the monotonic clock."""

    samples: list[tuple[float, float]] = field(default_factory=list)
    error: str | None = None


@dataclass
class Outcome:
    """What one tool did and what the readers saw while it did it."""

    tool: str
    migrated: bool
    detail: str
    migrate_s: float
    hold_s: float
    worst_stall_s: float
    worst_at_s: float  # when the worst query started, relative to the holder taking its lock
    commit_after_hold_s: float  # migration's commit (seen by the watcher) minus the holder's commit
    p50_ms: float
    queries: int
    reader_errors: list[str]


def base_sql(rows: int) -> str:
    return (
        f'CREATE TABLE "{TABLE}" (\n\t"id" integer PRIMARY KEY NOT NULL,\n\t"title" text NOT NULL\n);\n'
        "--> statement-breakpoint\n"
        f'INSERT INTO "{TABLE}" ("id", "title") SELECT g, \'item \' || g FROM generate_series(1, {rows}) g;'
    )


MIGRATION_SQL = f'ALTER TABLE "{TABLE}" ADD COLUMN "note" text;'


def reader(url: str, rows: int, stop: threading.Event, deadline: float, log: ReaderLog) -> None:
    """Point reads in a loop until told to stop (or the hard deadline), timing each one."""
    rng = random.Random()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set() and time.monotonic() < deadline:
                started = time.monotonic()
                conn.execute(f'SELECT "id", "title" FROM "{TABLE}" WHERE "id" = %s', (rng.randint(1, rows),))
                log.samples.append((started, time.monotonic()))
                time.sleep(0.002)
    except psycopg.Error as exc:
        log.error = str(exc)


def holder(url: str, hold_s: float, holding: threading.Event, span: list[float]) -> None:
    """An application transaction that read the table and stays open for `hold_s` seconds."""
    with psycopg.connect(url) as conn:
        conn.execute(f'SELECT count(*) FROM "{TABLE}"')
        span.append(time.monotonic())
        holding.set()
        time.sleep(hold_s)
        conn.commit()
        span.append(time.monotonic())


def watch_commit(url: str, stop: threading.Event, deadline: float, seen: list[float]) -> None:
    """Poll the catalog every 5 ms until the new column is committed; append when it was first seen.

    Reads `pg_attribute` joined to `pg_class` by name: no lock on the table, so the watcher
    neither waits behind the migration nor makes it wait. Resolution: 5 ms plus one query.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set() and time.monotonic() < deadline:
            row = conn.execute(
                "SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "WHERE c.relname = %s AND a.attname = 'note' AND NOT a.attisdropped",
                (TABLE,),
            ).fetchone()
            if row is not None:
                seen.append(time.monotonic())
                return
            time.sleep(0.005)


def column_exists(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = 'note'",
            (TABLE,),
        ).fetchone()
    return row is not None


def measure(
    tool: str,
    url: str,
    migrate: Callable[[], tuple[bool, str]],
    *,
    rows: int,
    readers: int,
    hold_s: float,
) -> Outcome:
    """Run the readers and the holder around one call of `migrate` and collect the stalls."""
    stop = threading.Event()
    holding = threading.Event()
    deadline = time.monotonic() + hold_s + 120
    logs = [ReaderLog() for _ in range(readers)]
    threads = [
        threading.Thread(target=reader, args=(url, rows, stop, deadline, log), daemon=True) for log in logs
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # readers warm up: a baseline before anything blocks
    span: list[float] = []
    hold_thread = threading.Thread(target=holder, args=(url, hold_s, holding, span), daemon=True)
    hold_thread.start()
    holding.wait(timeout=30)
    committed: list[float] = []
    watch_stop = threading.Event()
    watcher = threading.Thread(target=watch_commit, args=(url, watch_stop, deadline, committed), daemon=True)
    watcher.start()
    time.sleep(0.3)
    mig_start = time.monotonic()
    migrated, detail = migrate()
    mig_end = time.monotonic()
    hold_thread.join(timeout=hold_s + 30)
    watch_stop.set()
    watcher.join(timeout=30)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    samples = [s for log in logs for s in log.samples]
    # A query counts if it was running at any moment between the migration's start and end.
    window = [(a, b) for a, b in samples if b >= mig_start and a <= mig_end]
    worst = max(window, key=lambda s: s[1] - s[0], default=(0.0, 0.0))
    return Outcome(
        tool=tool,
        migrated=migrated and column_exists(url),
        detail=detail,
        migrate_s=mig_end - mig_start,
        hold_s=(span[1] - span[0]) if len(span) == 2 else float("nan"),
        worst_stall_s=worst[1] - worst[0],
        worst_at_s=worst[0] - span[0] if span else float("nan"),
        commit_after_hold_s=committed[0] - span[1] if committed and len(span) == 2 else float("nan"),
        p50_ms=statistics.median([(b - a) * 1000 for a, b in samples]) if samples else float("nan"),
        queries=len(samples),
        reader_errors=[log.error for log in logs if log.error],
    )


def run_drizzle(url: str, folder: Path, args: argparse.Namespace) -> Outcome:
    write_journal_folder(folder, [("0000_base", base_sql(args.rows), BASE_WHEN)])
    first = V0.migrate(url, folder)
    if not first.ok:
        raise SystemExit(f"drizzle could not create the table: {first.stderr}")
    write_journal_folder(
        folder,
        [("0000_base", base_sql(args.rows), BASE_WHEN), ("0001_add_note", MIGRATION_SQL, BASE_WHEN + 1)],
    )

    def migrate() -> tuple[bool, str]:
        result = V0.migrate(url, folder)
        return result.ok, (result.stderr.strip() or result.stdout.strip())[-300:]

    return measure(
        f"drizzle-orm {V0.version()}", url, migrate, rows=args.rows, readers=args.readers, hold_s=args.hold
    )


def given_settings(args: argparse.Namespace) -> dict[str, str | int]:
    """The retry settings given on the command line; the others stay schemawarden's defaults."""
    given = {
        "lock_timeout": args.lock_timeout,
        "lock_retries": args.lock_retries,
        "retry_backoff": args.retry_backoff,
        "retry_backoff_max": args.retry_backoff_max,
    }
    return {key: value for key, value in given.items() if value is not None}


def effective_settings(args: argparse.Namespace) -> EnvironmentConfig:
    """What schemawarden will run with: its own defaults overridden by the given settings."""
    return EnvironmentConfig(name="bench", gate="auto", **given_settings(args))  # type: ignore[arg-type]


def schemawarden_label(args: argparse.Namespace) -> str:
    env = effective_settings(args)
    origin = "set" if given_settings(args) else "defaults"
    return (
        f"schemawarden ({origin}: lock_timeout {env.lock_timeout}ms, {env.lock_retries} retries, "
        f"backoff {env.retry_backoff}-{env.retry_backoff_max}ms)"
    )


def run_schemawarden_tool(url: str, folder: Path, args: argparse.Namespace) -> Outcome:
    config = folder.parent / "schemawarden.toml"
    # gate "auto": the URL is given, no approval is needed; only the retry settings given are written
    lines = ["[environments.bench]", 'gate = "auto"', 'statement_timeout = "5min"']
    for key, value in given_settings(args).items():
        lines.append(f"{key} = {value}" if isinstance(value, int) else f'{key} = "{value}"')
    config.write_text("\n".join(lines) + "\n")
    write_journal_folder(folder, [("0000_base", base_sql(args.rows), BASE_WHEN)])
    cli = ["apply", "--config", str(config), "--env", "bench", "--migrations", str(folder)]
    first = run_schemawarden(cli, env_urls={"bench": url}, cwd=folder.parent)
    if first.returncode != 0:
        raise SystemExit(f"schemawarden could not create the table:\n{first.describe()}")
    write_journal_folder(
        folder,
        [("0000_base", base_sql(args.rows), BASE_WHEN), ("0001_add_note", MIGRATION_SQL, BASE_WHEN + 1)],
    )
    last: list[CliResult] = []

    def migrate() -> tuple[bool, str]:
        result = run_schemawarden(cli, env_urls={"bench": url}, cwd=folder.parent)
        last.append(result)
        return (
            result.returncode == 0,
            f"exit {result.returncode}: {result.stdout.strip()[-600:]}",
        )

    return measure(
        schemawarden_label(args), url, migrate, rows=args.rows, readers=args.readers, hold_s=args.hold
    )


def check_loopback(url: str) -> None:
    """Refuse anything but a local server: this benchmark holds locks on purpose."""
    host = str(psycopg.conninfo.conninfo_to_dict(url).get("host") or "")
    if not all(h.startswith("/") or h in LOOPBACK for h in host.split(",")):
        raise SystemExit(f"refusing to run against {host!r}: loopback or Unix socket only")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", help="admin URL of a local PostgreSQL (default: the embedded one)")
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("SCHEMAWARDEN_DATA_DIR", str(ROOT / ".schemawarden" / "bench-pgdata")),
        help="data folder of the embedded PostgreSQL when no --admin-url is given",
    )
    parser.add_argument("--hold", type=float, default=6.0, help="seconds the long transaction stays open")
    parser.add_argument(
        "--lock-timeout", help="schemawarden's lock_timeout (default: schemawarden's default)"
    )
    parser.add_argument("--lock-retries", type=int, help="schemawarden's lock_retries (default: its default)")
    parser.add_argument("--retry-backoff", help="schemawarden's retry_backoff (default: its default)")
    parser.add_argument("--retry-backoff-max", help="schemawarden's retry_backoff_max (default: its default)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool, interleaved")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--tools", default="drizzle,schemawarden", help="comma-separated: drizzle,schemawarden"
    )
    args = parser.parse_args(argv)

    env = effective_settings(args)  # a bad setting stops here, before any database is made
    admin = args.admin_url or EmbeddedPostgres(Path(args.data_dir)).admin_url()
    check_loopback(admin)
    runners = {"drizzle": run_drizzle, "schemawarden": run_schemawarden_tool}
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    outcomes: list[Outcome] = []
    width = max(len(schemawarden_label(args)), 24)
    print(
        f"lock stall: ADD COLUMN on a {args.rows}-row table while a transaction holds it "
        f"for {args.hold:.1f} s; {args.readers} readers"
    )
    print(
        f"{'tool':{width}} {'worst stall':>11} {'at':>7} {'commit after':>12} {'p50':>8} {'queries':>8} {'run':>7}"
    )
    for rep in range(args.repeat):
        for tool in tools if rep % 2 == 0 else list(reversed(tools)):
            name = f"sw_bench_stall_{uuid.uuid4().hex[:10]}"
            ensure_database(admin, name)
            try:
                with tempfile.TemporaryDirectory(prefix="sw-stall-") as tmp:
                    folder = Path(tmp) / "migrations"
                    o = runners[tool](with_database(admin, name), folder, args)
            finally:
                drop_database(admin, name)
            outcomes.append(o)
            print(
                f"{o.tool:{width}} {o.worst_stall_s * 1000:9.0f}ms {o.worst_at_s:6.2f}s "
                f"{o.commit_after_hold_s * 1000:10.0f}ms {o.p50_ms:6.2f}ms {o.queries:8d} {o.migrate_s:6.2f}s"
                f"  {'applied' if o.migrated else 'NOT applied'}",
                flush=True,
            )
            if not o.migrated:
                print(f"    {o.detail}")
            for err in o.reader_errors:
                print(f"    reader error: {err}")

    print(
        f"\nworst stall: the longest reader query that overlapped the apply; commit after: when the new "
        f"column was first seen committed, after the holder's commit; median and max of {args.repeat} run(s)"
    )
    stall_limit_ms = env.lock_timeout + 100
    commit_limit_ms = env.retry_backoff_max + 100
    for label in dict.fromkeys(o.tool for o in outcomes):
        runs = [o for o in outcomes if o.tool == label]
        stalls = [o.worst_stall_s * 1000 for o in runs]
        commits = [o.commit_after_hold_s * 1000 for o in runs if o.migrated]
        applied = sum(o.migrated for o in runs)
        commit_text = (
            f"median {statistics.median(commits):.0f} ms, max {max(commits):.0f} ms" if commits else "never"
        )
        print(
            f"  {label}: worst stall median {statistics.median(stalls):.0f} ms, max {max(stalls):.0f} ms; "
            f"commit after the holder {commit_text}; applied {applied}/{len(runs)}"
        )
        if label.startswith("schemawarden"):
            stall_ok = max(stalls) <= stall_limit_ms
            commit_ok = bool(commits) and applied == len(runs) and max(commits) <= commit_limit_ms
            print(
                f"    target: worst stall <= lock_timeout + 100 ms = {stall_limit_ms} ms: "
                f"{'ok' if stall_ok else 'OVER TARGET'}; committed within retry_backoff_max + 100 ms = "
                f"{commit_limit_ms} ms of the holder's end: {'ok' if commit_ok else 'MISSED'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
