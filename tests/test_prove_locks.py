"""The rulebook's examples proven: every rule's bad, good and safer SQL run in a scratch database
with tracing, and the lock trace held against the lock model's prediction for each statement.

Issue 10: traced locks equal the lock model's for the rulebook's examples (CI: PostgreSQL 15 and 16,
and the embedded 18; tests/run_on_postgres.py for the others), and a prediction that the trace
contradicts is a lock-model bug. Each example runs as the prover runs a migration
(`reconciler.database.run.run_sql` with `trace=True`, statement by statement through apply's plan)
in a clone of one template database holding `SETUP` (the tables, types, views and rows the
examples name), after the few statements of its own in `EXTRA` (an index the good example uses, a
column an example adds dropped first). The prediction is the analysis of the example on the schema
the same SQL leaves (`policies.analysis.replay_schema`) for the server's major version, as the PR
bot judges a pull request on its base; `policies.lock_trace.contradictions` compares them (locks,
rewrites, scans).

Nothing is skipped silently: an example that cannot run as it is stands in `NOT_RUN` with the
reason, an example that fails on purpose (or on an older server that lacks its syntax) in
`EXPECTED_FAILURES` with the SQLSTATE it must fail with (its statements before the failure are still
compared), and an example of comments only in `NO_STATEMENTS`. `CASCADE_CASES` add the dependents
the examples do not reach (each one a lock-model bug found here).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from policies import Context, analyze_sql
from policies.analysis import replay_schema
from policies.lock_trace import contradictions
from policies.report import StatementReport
from policies.rules import all_rules
from policies.schema.model import Schema
from reconciler.database.run import MigrationFailed, MigrationRun, StatementRun, run_sql
from reconciler.database.scratch import ScratchDatabase, ScratchServer, Template, template_key

SETUP = """
CREATE TYPE order_status AS ENUM ('pending', 'shipped');
CREATE DOMAIN positive_amount AS numeric(12, 2);
CREATE TABLE customers (id bigint PRIMARY KEY, name text, tier text);
INSERT INTO customers SELECT g, 'c' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'gold' END FROM generate_series(1, 50) g;
CREATE TABLE orders (
    id bigint PRIMARY KEY, customer_id bigint NOT NULL, status order_status NOT NULL DEFAULT 'pending',
    total numeric(12, 2) NOT NULL, quantity integer NOT NULL, amount positive_amount,
    created_at timestamptz NOT NULL DEFAULT now(), placed_at timestamptz NOT NULL DEFAULT now(),
    refunded_at timestamptz
);
INSERT INTO orders
SELECT g, g % 50 + 1, (CASE WHEN g % 2 = 0 THEN 'shipped' ELSE 'pending' END)::order_status, g, g % 7 + 1, g,
       now() - g * interval '1 day', now() - g * interval '1 day', CASE WHEN g % 10 = 0 THEN now() END
FROM generate_series(1, 200) g;
CREATE INDEX orders_status_idx ON orders (status);
CREATE VIEW shipped_orders AS SELECT id, customer_id FROM orders WHERE status = 'shipped';
CREATE MATERIALIZED VIEW sales_summary AS SELECT placed_at::date AS day, sum(total) AS total FROM orders GROUP BY 1;
CREATE TABLE users (
    id bigint PRIMARY KEY, email text, name text, tier text, role text DEFAULT 'member', nickname text NOT NULL,
    legacy_flag boolean
);
INSERT INTO users
SELECT g, 'u' || g || '@example.com', 'user ' || g, CASE WHEN g % 4 = 0 THEN NULL ELSE 'pro' END, 'member', 'n' || g,
       g % 2 = 0
FROM generate_series(1, 100) g;
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO events SELECT g, DATE '2023-06-01' + g, 'k' FROM generate_series(1, 300) g;
CREATE TABLE legacy_events (id bigint PRIMARY KEY, payload text);
INSERT INTO legacy_events SELECT g, 'p' FROM generate_series(1, 50) g;
CREATE TABLE users_old (id bigint PRIMARY KEY, email text);
INSERT INTO users_old SELECT g, 'o' || g FROM generate_series(1, 50) g;
CREATE VIEW active_users AS SELECT id, email FROM users_old;
CREATE TABLE users_old_notes (id bigint PRIMARY KEY, user_id bigint REFERENCES users_old (id));
CREATE TABLE users_old_logins (user_id bigint REFERENCES users_old (id), at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE users_old_logins_2024 PARTITION OF users_old_logins FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE SCHEMA reporting;
CREATE TABLE reporting.daily_totals (day date PRIMARY KEY, customer_id bigint REFERENCES customers (id), total numeric);
INSERT INTO reporting.daily_totals SELECT DATE '2024-01-01' + g, g % 50 + 1, g FROM generate_series(1, 30) g;
CREATE VIEW reporting.top_customers AS SELECT customer_id, sum(total) AS total FROM reporting.daily_totals GROUP BY 1;
CREATE VIEW reporting.recent_orders AS SELECT id, total FROM orders WHERE placed_at > now() - interval '7 days';
CREATE TABLE reporting.snapshots (customer_id bigint REFERENCES customers (id), at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE reporting.snapshots_2024 PARTITION OF reporting.snapshots FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE VIEW report_totals AS SELECT day, total FROM reporting.daily_totals;
CREATE SCHEMA audit;
CREATE TABLE audit_log (id bigint PRIMARY KEY, at timestamptz, what text);
INSERT INTO audit_log SELECT g, now(), 'w' FROM generate_series(1, 20) g;
CREATE TABLE sessions (id bigint PRIMARY KEY, expires_at timestamptz NOT NULL);
INSERT INTO sessions SELECT g, now() + (g - 20) * interval '1 day' FROM generate_series(1, 40) g;
CREATE TABLE track (id integer NOT NULL, title text);
INSERT INTO track SELECT g, 't' || g FROM generate_series(1, 30) g;
CREATE TABLE countries (id bigint PRIMARY KEY, name text);
INSERT INTO countries SELECT g, 'c' || g FROM generate_series(1, 10) g;
CREATE TABLE workspaces (id bigint PRIMARY KEY);
INSERT INTO workspaces SELECT g FROM generate_series(1, 10) g;
CREATE TABLE workspace_member_invitations (id bigint PRIMARY KEY, workspace_id bigint);
INSERT INTO workspace_member_invitations SELECT g, g % 10 + 1 FROM generate_series(1, 30) g;
CREATE TABLE todo (id bigint PRIMARY KEY, title text);
INSERT INTO todo SELECT g, 't' || g FROM generate_series(1, 10) g;
"""

GEN_RANDOM_UUID_BEFORE_13 = """
CREATE FUNCTION gen_random_uuid() RETURNS uuid LANGUAGE sql VOLATILE
AS $f$ SELECT md5(random()::text || clock_timestamp()::text)::uuid $f$;
"""
"""gen_random_uuid() is built in from PostgreSQL 13 (pgcrypto's before): on older servers the
template has a volatile stand-in, which is what the examples need of it (a volatile default)."""

_DROP_ORDERS = "DROP TABLE orders CASCADE;"
_DROP_USERS_NAME = "ALTER TABLE users DROP COLUMN name;"
_DROP_USERS_TIER = "ALTER TABLE users DROP COLUMN tier;"

EXTRA: dict[str, str] = {
    # what the example uses exists (the rule's text says it was made before)
    "SW105-good": 'CREATE UNIQUE INDEX "users_email_key" ON "users" ("email");',
    "SW109-safer": 'CREATE INDEX "orders_customer_id_idx" ON "orders" ("customer_id");',
    "SW110-good": 'CREATE UNIQUE INDEX "sales_summary_day_key" ON "sales_summary" ("day");',
    "SW112-good": (
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_customer_id_fk" FOREIGN KEY ("customer_id") '
        'REFERENCES "customers" ("id") NOT VALID;'
    ),
    "SW201-good": "ALTER TABLE orders DROP COLUMN created_at;",  # the example adds it
    "SW205-bad": 'CREATE INDEX "orders_created_at_idx" ON "orders" ("created_at");',
    # "after no column or code uses it" / "each dependent dropped explicitly"
    "SW304-safer": "DROP VIEW shipped_orders;\nALTER TABLE orders DROP COLUMN status;",
    "SW306-safer": (
        "ALTER TABLE users_old_notes DROP CONSTRAINT users_old_notes_user_id_fkey;\n"
        "ALTER TABLE users_old_logins DROP CONSTRAINT users_old_logins_user_id_fkey;"
    ),
    "SW303-safer": (
        "DROP VIEW report_totals;\nDROP VIEW reporting.top_customers, reporting.recent_orders;\n"
        "DROP TABLE reporting.snapshots, reporting.daily_totals;"
    ),
    "SW609-safer": (  # the bad example's first two statements
        'CREATE TABLE "account" ("id" bigint PRIMARY KEY, "role" text NOT NULL);\n'
        "CREATE TYPE \"account_role\" AS ENUM ('admin', 'member');"
    ),
    # what the example adds or creates is not there yet
    "SW302-good": "ALTER TABLE users DROP COLUMN nickname;",
    "SW307-bad": _DROP_USERS_NAME,
    "SW307-good": _DROP_USERS_NAME,
    "SW403-bad": _DROP_USERS_TIER,
    "SW403-good": _DROP_USERS_TIER,
    "SW403-safer": _DROP_USERS_TIER,
    "SW501-bad": _DROP_ORDERS,
    "SW501-good": _DROP_ORDERS,
    "SW501-safer": _DROP_ORDERS,
    "SW506-bad": _DROP_ORDERS,
    "SW506-good": _DROP_ORDERS,
    "SW509-bad": _DROP_ORDERS,
    "SW509-good": _DROP_ORDERS,
    "SW509-safer": _DROP_ORDERS,
}
"""Statements run (untraced) in the example's clone before it, keyed `CODE-kind`."""

NOT_RUN: dict[str, str] = {
    "SW309-bad": (
        "DROP DATABASE drops a database of the server, not of the scratch database (and runs outside a "
        "transaction, so it has no lock to trace)"
    ),
    "SW604-safer": "a shell command (npx drizzle-kit generate), not SQL",
    "SW610-safer": "a shell command (npx drizzle-kit generate --custom), not SQL",
}
"""Examples that are not run, each with why; exact (a key that is no example fails a test)."""

NO_STATEMENTS: dict[str, str] = {
    "SW205-safer": "a comment: pg_repack, outside migrations",
    "SW309-safer": "a comment: provisioning tooling",
    "SW601-safer": "a comment: fix the syntax",
    "SW604-bad": "a comment: the changed files of a pull request",
    "SW604-good": "a comment: the changed files of a pull request",
    "SW610-bad": "a comment: a file missing from the journal",
    "SW610-good": "a comment: a file made by drizzle-kit",
    "SW690-bad": "a comment: an edited migration",
    "SW690-good": "a comment: an added migration",
    "SW690-safer": "a comment: restore the migration",
}
"""Examples that are only comments (run: they have no statement to trace); exact."""


@dataclass(frozen=True)
class Failure:
    """An example that must fail on PostgreSQL `since` to `until` (inclusive) with `sqlstate` (None:
    refused before anything runs), for `reason`."""

    sqlstate: str | None
    reason: str
    since: int = 0
    until: int = 99


EXPECTED_FAILURES: dict[str, Failure] = {
    "SW109-good": Failure("42601", "REINDEX CONCURRENTLY is PostgreSQL 12 syntax", until=11),
    "SW109-safer": Failure("42601", "REINDEX CONCURRENTLY is PostgreSQL 12 syntax", until=11),
    "SW111-good": Failure("42601", "DETACH PARTITION CONCURRENTLY is PostgreSQL 14 syntax", until=13),
    "SW111-safer": Failure("42601", "DETACH PARTITION CONCURRENTLY is PostgreSQL 14 syntax", until=13),
    "SW202-bad": Failure("42601", "stored generated columns are PostgreSQL 12 syntax", until=11),
    "SW403-bad": Failure("23502", "the rule's point: a NOT NULL column without a default on a table with rows"),
    "SW601-bad": Failure("42601", "the rule's point: the statement does not parse"),
    "SW608-bad": Failure("42601", "NULLS NOT DISTINCT is PostgreSQL 15 syntax (the rule's point)", until=14),
    "SW609-bad": Failure("42804", "the rule's point: text to an enum needs USING"),
    "SW611-bad": Failure("23502", "the rule's point: a NOT NULL column without a default on a table with rows"),
}
"""Examples that fail, with the SQLSTATE; their statements before the failure are still compared."""

RULES = all_rules()
KINDS = ("bad", "good", "safer")


@dataclass(frozen=True)
class Example:
    id: str
    sql: str
    context: dict[str, Any]


def _examples() -> list[Example]:
    found = []
    for rule in RULES:
        for kind in KINDS:
            context = dict(getattr(rule, f"{kind}_context", {}))
            context.pop("pg_version", None)  # judged for the server's version
            found.append(Example(f"{rule.code}-{kind}", getattr(rule, kind), context))
    return found


EXAMPLES = _examples()

# Dependents the examples do not reach, by what PostgreSQL drops with them (each was a lock-model
# bug: the model did not name the dependent's lock).
CASCADE_CASES: dict[str, tuple[str, str]] = {
    "drop-view-cascade-dependent-view": (
        "CREATE VIEW active_user_emails AS SELECT email FROM active_users;",
        "DROP VIEW active_users CASCADE;",
    ),
    "drop-table-cascade-referencing-partitioned-table": ("", "DROP TABLE users_old CASCADE;"),
    "drop-table-cascade-materialized-view": ("", "DROP TABLE orders CASCADE;"),
    "drop-domain-cascade-column": ("", "DROP DOMAIN positive_amount CASCADE;"),
    "drop-type-cascade-column-and-view": ("", "DROP TYPE order_status CASCADE;"),
    "drop-schema-cascade-dependents-elsewhere": ("", "DROP SCHEMA reporting CASCADE;"),
    "drop-table-referenced-partition": ("", "DROP TABLE users_old_logins_2024;"),
    "drop-table-owning-sequences": (
        "CREATE TABLE counters (id serial PRIMARY KEY, n bigint GENERATED ALWAYS AS IDENTITY);",
        "DROP TABLE counters;",
    ),
    "drop-column-owning-a-sequence": (
        "CREATE TABLE counters (id serial PRIMARY KEY, n bigint GENERATED ALWAYS AS IDENTITY);",
        "ALTER TABLE counters DROP COLUMN n;",
    ),
    "drop-column-cascade-view-reading-it": ("", "ALTER TABLE orders DROP COLUMN status CASCADE;"),
    "drop-schema-cascade-sequences": (
        "CREATE SEQUENCE reporting.numbers;\nCREATE TABLE reporting.counters (id serial PRIMARY KEY);",
        "DROP SCHEMA reporting CASCADE;",
    ),
    "drop-sequence-cascade-view-and-default": (
        "CREATE SEQUENCE numbers;\nCREATE VIEW next_numbers AS SELECT last_value FROM numbers;\n"
        "CREATE TABLE tickets (id bigint PRIMARY KEY, n bigint DEFAULT nextval('numbers'));",
        "DROP SEQUENCE numbers CASCADE;",
    ),
}
"""`name: (extra setup, SQL)`: cases of the same kind as the examples' CASCADEs, run the same way."""


@pytest.fixture(scope="module")
def server(admin_url: str) -> Iterator[ScratchServer]:
    with ScratchServer(admin_url, environment_targets={}, statement_timeout_ms=20_000) as scratch:
        yield scratch


def _setup(version: int) -> str:
    return (GEN_RANDOM_UUID_BEFORE_13 if version < 13 else "") + SETUP


@pytest.fixture(scope="module")
def template(server: ScratchServer) -> Template:
    """The template holding `SETUP`, cloned per example (built once per server and text)."""
    setup = _setup(server.pg_major)
    key = template_key([hashlib.sha256(f"prove-locks\n{setup}".encode()).hexdigest()], server.pg_major)

    def build(db: ScratchDatabase) -> None:
        run_sql(db, setup, source="setup.sql")

    return server.template(key, build)


@functools.lru_cache(maxsize=64)
def _replayed(setup: str, version: int) -> Schema:
    """The schema `setup` leaves, as the analysis replays it (once per text: most cases share it)."""
    return replay_schema([setup], version)


def _predicted(setup: str, sql: str, context: dict[str, Any], version: int) -> dict[int, StatementReport]:
    """The analysis's report per statement of `sql` (by line), judged on the schema `setup` leaves."""
    schema = _replayed(setup, version)
    report = analyze_sql("migrations/0001_example.sql", sql, Context(pg_version=version, **context), schema=schema)
    by_line: dict[int, StatementReport] = {}
    for statement in report.statements:
        by_line.setdefault(statement.line, statement)  # the first of a line is the one executed
    return by_line


def _contradicted(runs: tuple[StatementRun, ...], predicted: dict[int, StatementReport], version: int) -> list[str]:
    found = []
    for run in runs:
        report = predicted.get(run.statement.line)
        assert report is not None, f"no prediction for line {run.statement.line}: {run.statement.sql!r}"
        assert run.trace is not None
        found += [
            f"line {run.statement.line} {run.statement.sql!r} on PostgreSQL {version}: {sentence}"
            for sentence in contradictions(report, run.trace)
        ]
    return found


def _prove(server: ScratchServer, template: Template, case: str, extra: str, sql: str, context: dict[str, Any]) -> None:
    version = server.pg_major
    setup = _setup(version) + ("\n" + extra if extra else "")
    predicted = _predicted(setup, sql, context, version)
    failure = EXPECTED_FAILURES.get(case)
    expected = failure if failure is not None and failure.since <= version <= failure.until else None
    with server.database(template=template) as db:
        if extra:
            run_sql(db, extra, source="extra.sql")
        run: MigrationRun | None = None
        try:
            run = run_sql(db, sql, source="migrations/0001_example.sql", trace=True)
        except MigrationFailed as failed:
            if expected is None:
                raise
            assert failed.sqlstate == expected.sqlstate, f"{case}: {failed}"
            completed = failed.completed
        else:
            assert expected is None, f"{case} ran on PostgreSQL {version}; expected to fail: {expected.reason}"
            completed = run.statements
    found = _contradicted(completed, predicted, version)
    assert not found, "the trace contradicts the lock model:\n" + "\n".join(found)
    if case in NO_STATEMENTS:
        assert run is not None and run.statements == (), f"{case} is listed as comments only"
    elif expected is None:
        assert run is not None and run.statements, f"{case} ran no statement: list it in NO_STATEMENTS"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.id not in NOT_RUN], ids=lambda e: e.id)
def test_the_trace_of_each_rule_example_contradicts_nothing_the_lock_model_predicts(
    server: ScratchServer, template: Template, example: Example
) -> None:
    _prove(server, template, example.id, EXTRA.get(example.id, ""), example.sql, example.context)


@pytest.mark.parametrize("name", sorted(CASCADE_CASES))
def test_the_trace_of_what_a_drop_takes_with_it_contradicts_nothing_the_lock_model_predicts(
    server: ScratchServer, template: Template, name: str
) -> None:
    extra, sql = CASCADE_CASES[name]
    _prove(server, template, name, extra, sql, {})


def test_the_lists_name_only_examples_and_each_says_why() -> None:
    ids = {example.id for example in EXAMPLES}
    for listed in (EXTRA, NOT_RUN, NO_STATEMENTS, EXPECTED_FAILURES):
        assert set(listed) <= ids, sorted(set(listed) - ids)
    assert all(reason.strip() for reason in [*NOT_RUN.values(), *NO_STATEMENTS.values()])
    assert all(failure.reason.strip() for failure in EXPECTED_FAILURES.values())
    assert not set(NOT_RUN) & (set(NO_STATEMENTS) | set(EXPECTED_FAILURES) | set(EXTRA))
    assert len(EXAMPLES) == 3 * len(RULES)
