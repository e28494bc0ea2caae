"""The proof of every migration of every shared drizzle history and the sample: counts per status.

Each history is proven as one chain with the product's prover (`reconciler.prove.prove_migrations`,
what `schemawarden check --prove` runs): from an empty base, each migration on the schema the ones
before it leave. Prints per history the counts of `verified`, `irreversible` and `failed`, the share
verified-or-irreversible, each failure with its reason and cause (`history`: PostgreSQL refuses the
migration itself; `scratch`: a refusal of the scratch server; `ours`: the introspection, differ or
DDL; `stopped`: after an earlier failure), and the time; then the totals. Exits 1 when a failure
is `ours`. The logic is tests/history_proofs.py, which tests/test_history_roundtrip.py asserts on.

Usage: python benchmarks/prove_histories.py [--admin-url URL | --data-dir DIR] [--reasons] [NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from apply_speed import add_server_options, server_admin_url  # noqa: E402
from history_proofs import names, prove_history  # noqa: E402

from reconciler.database.scratch import ScratchServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_server_options(parser)
    parser.add_argument(
        "--reasons", action="store_true", help="also print each irreversible migration's reason"
    )
    parser.add_argument(
        "names", nargs="*", help="sample and/or folders of ../shared/drizzle-histories (default: all)"
    )
    args = parser.parse_args(argv)
    admin = server_admin_url(args)
    counts: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    good = total = 0
    started = time.perf_counter()
    with ScratchServer(admin, environment_targets={}, statement_timeout_ms=60_000) as server:
        print(f"PostgreSQL {server.pg_major} ({'--admin-url' if args.admin_url else 'embedded'})", flush=True)
        for name in args.names or names():
            result = prove_history(server, name)
            print(result.summary(reasons=args.reasons), flush=True)
            counts += result.counts()
            causes += result.causes()
            good += result.good()
            total += len(result.proofs)
    share = 100.0 * good / total if total else 100.0
    parts = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    print(
        f"all: {total} migrations: {parts}; verified or irreversible {share:.1f}%; failed by cause: "
        f"{dict(sorted(causes.items()))}; {time.perf_counter() - started:.1f} s"
    )
    return 1 if causes.get("ours") else 0


if __name__ == "__main__":
    sys.exit(main())
