"""Every shared drizzle history survives random faults during apply (issue 8, "Done when").

The logic is in tests/fault_replay.py (also a script: `python tests/fault_replay.py --seed N
--budget-s S [--history NAME]`). The seed is SCHEMAWARDEN_FAULT_SEED (a random one by default),
printed first and in every failure; the time budget is SCHEMAWARDEN_FAULT_BUDGET_S (seconds for all
histories together, default 300), after which no fault is injected and a clean apply finishes each
pass. Run against a full PostgreSQL (kan needs pg_trgm and uuid-ossp):
`SCHEMAWARDEN_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres pytest -m faults -s`.
"""

from __future__ import annotations

import os

import psycopg
import pytest
from fault_replay import (
    BUDGET_ENV,
    DEFAULT_BUDGET_S,
    KINDS,
    HistoryReplay,
    budget_shares,
    connect,
    fresh_database,
    history_names,
    load_history,
    replay_history,
    seed_from_env,
)

pytestmark = pytest.mark.faults

SEED = seed_from_env()
BUDGET_S = float(os.environ.get(BUDGET_ENV, DEFAULT_BUDGET_S))
NAMES = history_names()
SHARES = budget_shares(NAMES, BUDGET_S)


@pytest.fixture(scope="module", autouse=True)
def announce_seed() -> None:
    print(f"\nfault replay seed {SEED} (replay with SCHEMAWARDEN_FAULT_SEED={SEED}), budget {BUDGET_S:.0f}s")


@pytest.mark.parametrize("name", NAMES)
def test_history_survives_random_faults_and_ends_as_a_clean_apply(admin_url: str, name: str) -> None:
    report = replay_history(admin_url, name, SEED, SHARES[name], log=print)
    print(report.summary())
    if report.skipped:
        pytest.skip(f"[seed {SEED}] {report.summary()}")
    assert not report.failures, report.failure_text()
    injected = sum(report.count(kind)[1] for kind in KINDS)
    assert injected > 0, (
        f"[seed {SEED}] {name}: no fault took effect in {SHARES[name]:.0f}s: {report.summary()}"
    )


def test_the_end_state_check_catches_what_a_faulty_engine_would_leave(admin_url: str) -> None:
    """The checks of a pass can fail: a stray table, a duplicated history row, an invalid index
    and a schemawarden backend left alive are each reported, with the seed."""
    replay = HistoryReplay(admin_url, "nextjs-boilerplate", SEED, 30, log=print)
    replay.backends_gone_s = 0.5
    replay.migrations = load_history(replay.folder)
    reference = replay.reference()
    assert reference is not None, replay.report.failure_text()
    with fresh_database(admin_url, "sw_faults_check") as url, connect(url) as conn:
        assert replay.start_apply(conn, url, 1).wait().returncode == 0
        conn.execute("CREATE TABLE public.stray (id int)")
        conn.execute("INSERT INTO public.stray VALUES (1), (1)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY stray_id ON public.stray (id)")
        conn.execute(
            "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) "
            "SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id LIMIT 1"
        )
        with psycopg.connect(url, autocommit=True, application_name="schemawarden apply faults (left)"):
            ok = replay.resume_and_check(conn, url, reference, pass_no=1, rounds=1)
    failures = "\n".join(replay.report.failures)
    assert not ok
    assert "backends still alive" in failures, failures
    assert "invalid indexes left: ['stray_id']" in failures, failures
    assert "history rows differ" in failures, failures
    assert "the schema differs" in failures and "+CREATE TABLE public.stray" in failures, failures
    assert f"[seed {SEED}]" in replay.report.failure_text()
