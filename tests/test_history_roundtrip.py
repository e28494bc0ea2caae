"""Every migration of the shared drizzle histories and the bundled sample rolls back exactly.

The logic is in tests/history_roundtrip.py (also a script printing the counts per status). A
history that needs an extension the server lacks (kan needs uuid-ossp, which the embedded server
does not ship) must stop at the migration that creates it, with PostgreSQL's error, and nothing
before it may fail: run the suite against a full PostgreSQL for the whole of it
(`SCHEMAWARDEN_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres pytest -m shared`).
"""

from __future__ import annotations

import psycopg
import pytest
from history_roundtrip import FAULTS, NAMES, folder_of, round_trip_history, summary

from drizzle_harness import missing_extensions
from reconciler.migrations import load_migration_set

pytestmark = pytest.mark.shared

APPLY_FROM = 13
"""The histories need PostgreSQL 13 (dokploy calls gen_random_uuid(), built in from 13; trigger's
generated columns need 12): before, they stop at the first migration the server refuses."""


@pytest.mark.parametrize("name", NAMES)
def test_every_migration_rolls_back_to_the_schema_before_it(name: str, admin_url: str, database_url: str) -> None:
    outcomes = round_trip_history(admin_url, name)
    with psycopg.connect(admin_url) as conn:
        version = conn.info.server_version // 10000
    report = summary(name, outcomes)
    print(report)
    assert not [o for o in outcomes if o.status in FAULTS], report
    missing = missing_extensions(database_url, folder_of(name))
    if missing:
        assert outcomes[-1].status == "migration failed", report
        assert f'extension "{missing[0]}"' in outcomes[-1].detail, report
        assert all(o.status in ("verified", "reordered") for o in outcomes[:-1]), report
    elif version < APPLY_FROM and outcomes[-1].status == "migration failed":
        assert all(o.status in ("verified", "reordered") for o in outcomes[:-1]), report
    else:
        assert all(o.status in ("verified", "reordered") for o in outcomes), report
        assert len(outcomes) == len(load_migration_set(folder_of(name)).migrations), report
    assert all(o.notes for o in outcomes if o.status == "reordered"), report
