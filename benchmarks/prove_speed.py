"""Time to prove one new migration on the largest shared history, cold and warm, beside a peer.

The new migration is the last of dokploy's journal (0185_needy_kingpin), its base the 185 before
it. Interleaved, medians (min) of --repeat runs, in one process and on one server:

* `prove, cold`: `reconciler.prove.prove_migrations(server, base, [last])` end to end (stand-in
  roles, the template of the base built by replaying the 185 migrations, the clone, the proof:
  run, trace, introspect, rollback, introspect, run again, introspect; the drop), the template
  dropped before each run;
* `prove, warm`: the same call with the template kept from the run before (`CREATE DATABASE ...
  TEMPLATE` instead of the replay): what the second proof on the same base costs;
* with --cli, the same two as a user runs them: `schemawarden check --prove --base HEAD FOLDER` in
  a git repository whose HEAD holds the base and whose working tree adds the last migration (the
  console script as a subprocess: start-up, static analysis of the folder, the proof, rendering);
* peers, which prove nothing: `drizzle-orm migrate()` (node, the real migrator) of the whole
  history into a fresh database (inside migrate(), and with node's start-up), and a plain psycopg
  replay of the whole history (CREATE DATABASE, every statement in one transaction, DROP).

Ratios are printed against both peers. Usage:
python benchmarks/prove_speed.py [--admin-url URL | --data-dir DIR] [--repeat 5] [--no-drizzle] [--cli]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import psycopg  # noqa: E402
from apply_speed import add_server_options, journal_only_copy, server_admin_url  # noqa: E402
from check_throughput import compile_bytecode  # noqa: E402
from psycopg import sql  # noqa: E402
from scratch_templates import drizzle_migrate_s  # noqa: E402

from drizzle_harness import V0  # noqa: E402
from policies.report import RollbackStatus  # noqa: E402
from reconciler.database import _scratch_registry as registry  # noqa: E402
from reconciler.database.embedded import drop_database, with_database  # noqa: E402
from reconciler.database.scratch import ScratchServer, template_key  # noqa: E402
from reconciler.migrations import Migration, load_migration_set  # noqa: E402
from reconciler.prove import prove_migrations  # noqa: E402

SHARED = Path(os.environ.get("SCHEMAWARDEN_SHARED_DIR") or ROOT.parent / "shared")
DEFAULT_HISTORY = SHARED / "drizzle-histories" / "dokploy"
COLD, WARM = "prove, cold (template built)", "prove, warm (template reused)"
CLI_COLD, CLI_WARM = "check --prove CLI, cold", "check --prove CLI, warm"
DRIZZLE, PSYCOPG = "peer: drizzle-orm migrate() (node)", "peer: psycopg replay, one transaction"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_server_options(parser)
    parser.add_argument("--history", type=Path, default=DEFAULT_HISTORY, help="a drizzle migrations folder")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-drizzle", action="store_true", help="leave drizzle-orm (node) out")
    parser.add_argument(
        "--cli", action="store_true", help="also time `schemawarden check --prove --base` (git)"
    )
    args = parser.parse_args(argv)
    admin = server_admin_url(args)
    migrations = load_migration_set(args.history.resolve()).migrations
    base, last = list(migrations[:-1]), migrations[-1]
    runs: dict[str, list[float]] = {}
    node_walls: list[float] = []

    def timed(label: str, work: Callable[[], float | None]) -> None:
        started = time.perf_counter()
        inner = work()
        runs.setdefault(label, []).append(inner if inner is not None else time.perf_counter() - started)

    if not args.no_drizzle:
        V0.install()
    if args.cli:
        compile_bytecode()
    with (
        tempfile.TemporaryDirectory(prefix="sw-prove-speed-") as tmp,
        ScratchServer(admin, environment_targets={}, statement_timeout_ms=60_000) as server,
    ):
        folder = Path(tmp) / args.history.name
        journal_only_copy(args.history.resolve(), folder)
        key = template_key([m.hash for m in base], server.pg_major)
        repo = _git_repo(Path(tmp) / "repo", folder, last) if args.cli else None
        for rep in range(args.repeat):
            _forget_template(admin, key)
            timed(COLD, lambda: _prove(server, base, last))
            timed(WARM, lambda: _prove(server, base, last))
            if repo is not None:
                _forget_template(admin, key)
                timed(CLI_COLD, lambda: _cli(repo, args))
                timed(CLI_WARM, lambda: _cli(repo, args))
            if not args.no_drizzle:
                timed(DRIZZLE, lambda: drizzle_migrate_s(admin, folder, node_walls))
            timed(PSYCOPG, lambda: _psycopg_replay(admin, migrations))
            print(f"  rep {rep + 1}: " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in runs.items()), flush=True)
    medians = {label: statistics.median(values) for label, values in runs.items()}
    statements = sum(len(m.statements) for m in migrations)
    print(
        f"\n{args.history.name}: prove {last.tag} on the {len(base)} migrations before it "
        f"({statements} statements in all); PostgreSQL {server.pg_major}; median (min) of {args.repeat}"
    )
    for label, value in medians.items():
        print(f"  {label:40} {value:7.3f} s  ({min(runs[label]):.3f} s)")
    if node_walls:
        print(f"  (drizzle with node's start-up: {statistics.median(node_walls):.3f} s)")
    peers = [p for p in (DRIZZLE, PSYCOPG) if p in medians]
    for label in (COLD, WARM, CLI_COLD, CLI_WARM):
        if label in medians:
            ratios = ", ".join(
                f"{medians[label] / medians[p]:.2f}x {p.removeprefix('peer: ')}" for p in peers
            )
            print(f"  {label}: {ratios}")
    print(f"  warm / cold: {medians[WARM] / medians[COLD]:.2f}")
    return 0


def _prove(server: ScratchServer, base: Sequence[Migration], last: Migration) -> None:
    proofs = prove_migrations(server, base, [last])
    if proofs[0].rollback.status == RollbackStatus.FAILED:
        raise SystemExit(f"the proof of {last.tag} failed: {proofs[0].rollback.reason}")


def _forget_template(admin: str, key: str) -> None:
    """Drop the key's template database, so that the next proof builds it again (the scratch server
    treats a registry row whose database is gone as no template)."""
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute(f"SELECT name FROM {registry.REGISTRY} WHERE template_key = %s", (key,)).fetchone()
    if row is not None:
        drop_database(admin, str(row[0]))


def _git_repo(repo: Path, folder: Path, last: Migration) -> Path:
    """A git repository: HEAD holds the folder without `last`, the working tree adds it."""
    target = repo / "drizzle"
    shutil.copytree(folder, target)
    journal_path = target / "meta" / "_journal.json"
    journal = json.loads(journal_path.read_text())
    full = journal_path.read_text()
    journal["entries"] = [e for e in journal["entries"] if e["tag"] != last.tag]
    journal_path.write_text(json.dumps(journal, indent=2) + "\n")
    moved = (target / last.path).read_bytes()
    (target / last.path).unlink()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", *command], cwd=repo, check=True, env=env)
    journal_path.write_text(full)
    (target / last.path).write_bytes(moved)
    return repo


def _cli(repo: Path, args: argparse.Namespace) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMAWARDEN_ENV_")}
    command = [
        str(Path(sys.executable).parent / "schemawarden"),
        "check",
        "--prove",
        "--base",
        "HEAD",
        "--format",
        "json",
    ]
    if args.admin_url:
        env["SCHEMAWARDEN_SCRATCH_URL"] = args.admin_url
    else:
        env.pop("SCHEMAWARDEN_SCRATCH_URL", None)
        command += ["--data-dir", args.data_dir]
    done = subprocess.run(
        [*command, "drizzle"], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    try:
        files = json.loads(done.stdout)["files"]
        status = [f["rollback"]["status"] for f in files if f.get("rollback")]
    except (ValueError, KeyError, TypeError):
        status = []
    if status != ["verified"] and status != ["irreversible"]:
        raise SystemExit(f"check --prove gave {status} (exit {done.returncode}): {done.stderr[-2000:]}")


def _psycopg_replay(admin: str, migrations: Sequence[Migration]) -> None:
    name = f"sw_bench_prove_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(with_database(admin, name)) as conn:
            for migration in migrations:
                for statement in migration.statements:
                    conn.execute(statement.sql.encode())
    finally:
        drop_database(admin, name)


if __name__ == "__main__":
    sys.exit(main())
