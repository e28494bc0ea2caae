"""The rollback of every migration of real drizzle histories, proven by round trip (issue 10).

For each migration of a history (the bundled sample and ../shared/drizzle-histories), against the
schema just before it: a clone of the database holding that schema (`CREATE DATABASE ... TEMPLATE`);
in it the migration, statement by statement; introspection (`after`); the rollback
`render(diff(after, before, renames_in_sql(migration).inverted()))`, statement by statement;
introspection, which must equal `before` (and the columns their order, unless a note says no ALTER
can restore it); the migration again, which must give `after` again. The clone is dropped and the
migration applied to the base, and so on.

Each migration ends in one status:

* `verified`: the schema came back exactly (`reordered` when only the column order did not, with
  its note); `irreversible` is counted beside it when `losses` names data the rollback cannot bring
  back (the structure still comes back);
* `not equal`, `rollback failed`, `again failed`, `again differs`: a fault of the differ, its DDL
  or the introspection;
* `migration failed`: the migration itself does not apply to the schema before it.

Run as a script (`python tests/history_roundtrip.py [--url ADMIN_URL] [NAME ...]`, default the
system PostgreSQL 15) or through tests/test_history_roundtrip.py (marker `shared`).
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from policies.schema import Schema
from policies.schema.changes import ColumnOrder
from policies.schema.ddl import notes, render
from policies.schema.diff import diff
from policies.schema.losses import losses
from policies.schema.renames import renames_in_sql
from reconciler.database.introspect import introspect
from reconciler.migrations import SAMPLE_PROJECT, load_migration_set

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = Path(os.environ.get("SCHEMAWARDEN_SHARED_DIR") or ROOT.parent / "shared") / "drizzle-histories"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NAMES = ("sample", "dokploy", "kan", "trigger-dashboard-agent", "nextjs-boilerplate")
FAULTS = ("not equal", "rollback failed", "again failed", "again differs", "order lost")
"""Statuses that are our own fault (the differ, its DDL, the introspection)."""


class Outcome(NamedTuple):
    """One migration's round trip."""

    tag: str
    status: str
    detail: str = ""
    losses: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def folder_of(name: str) -> Path:
    return SAMPLE_PROJECT / "migrations" if name == "sample" else HISTORIES / name


def _url(admin_url: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(admin_url, dbname=database)


@contextmanager
def _database(admin_url: str, template: str | None = None) -> Iterator[str]:
    name = f"sw_trip_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(statement)
    try:
        yield name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def _run(conn: psycopg.Connection[Any], statements: list[str]) -> None:
    for statement in statements:
        conn.execute(statement.encode())


def _columns(schema: Schema) -> dict[str, list[str]]:
    return {key: list(table.columns) for key, table in schema.tables.items()}


def differences(expected: Schema, got: Schema, limit: int = 3) -> str:
    """The first fields of two schemas that differ, shortly."""
    found = []
    for field in Schema._fields:
        left, right = getattr(expected, field), getattr(got, field)
        if left == right:
            continue
        if hasattr(left, "keys"):
            for key in sorted(set(left) | set(right), key=str):
                if left.get(key) != right.get(key):
                    found.append(f"{field}[{key!r}]: want {left.get(key)!r} got {right.get(key)!r}")
        else:
            found.append(f"{field}: want {left!r} got {right!r}")
    return "; ".join(found[:limit])


def round_trip_history(admin_url: str, name: str) -> list[Outcome]:
    """Every migration of history `name`, each against the schema before it (see the docstring)."""
    migrations = load_migration_set(folder_of(name)).migrations
    outcomes: list[Outcome] = []
    with _database(admin_url) as base:
        for migration in migrations:
            statements = [s.sql for s in migration.statements]
            with psycopg.connect(_url(admin_url, base), autocommit=True) as conn:
                before = introspect(conn)
            with _database(admin_url, template=base) as trip:
                outcomes.append(_one(_url(admin_url, trip), migration.tag, migration.text, statements, before))
            with psycopg.connect(_url(admin_url, base), autocommit=True) as conn:
                try:
                    _run(conn, statements)
                except psycopg.Error:
                    break  # the rest of the history would not apply either
    return outcomes


def _one(url: str, tag: str, text: str, statements: list[str], before: Schema) -> Outcome:
    with psycopg.connect(url, autocommit=True) as conn:
        version = conn.info.server_version // 10000
        try:
            _run(conn, statements)
        except psycopg.Error as error:
            return Outcome(tag, "migration failed", str(error).splitlines()[0])
        after = introspect(conn)
        changes = diff(after, before, renames_in_sql(text).inverted())
        rollback = render(changes, pg_version=version)
        lost = tuple(loss.reason for loss in losses(changes, after, before))
        noted = notes(changes, pg_version=version)
        for statement in rollback:
            try:
                conn.execute(statement.encode())
            except psycopg.Error as error:
                return Outcome(tag, "rollback failed", f"{statement.splitlines()[0]}: {str(error).splitlines()[0]}", lost)
        restored = introspect(conn)
        if restored != before:
            return Outcome(tag, "not equal", differences(before, restored), lost)
        reordered = _columns(restored) != _columns(before)
        if reordered and not any(isinstance(c, ColumnOrder) for c in changes):
            return Outcome(tag, "order lost", "columns moved without a note", lost)
        try:
            _run(conn, statements)
        except psycopg.Error as error:
            return Outcome(tag, "again failed", str(error).splitlines()[0], lost)
        again = introspect(conn)
        if again != after:
            return Outcome(tag, "again differs", differences(after, again), lost)
    return Outcome(tag, "reordered" if reordered else "verified", "", lost, noted)


def summary(name: str, outcomes: list[Outcome]) -> str:
    counts = Counter(o.status for o in outcomes)
    irreversible = sum(1 for o in outcomes if o.losses)
    parts = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    lines = [f"{name}: {len(outcomes)} migrations: {parts}; irreversible (data lost) {irreversible}"]
    lines += [f"  {o.tag}: {o.status}: {o.detail}" for o in outcomes if o.status not in ("verified", "reordered")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=os.environ.get("SCHEMAWARDEN_TEST_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("names", nargs="*", default=list(NAMES))
    arguments = parser.parse_args(argv)
    faults = 0
    for name in arguments.names:
        outcomes = round_trip_history(arguments.url, name)
        print(summary(name, outcomes), flush=True)
        faults += sum(1 for o in outcomes if o.status in FAULTS)
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
