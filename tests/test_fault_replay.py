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

import pytest
from fault_replay import (
    BUDGET_ENV,
    DEFAULT_BUDGET_S,
    KINDS,
    budget_shares,
    history_names,
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
