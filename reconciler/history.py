"""An environment's history: the rows of drizzle's own `__drizzle_migrations` table.

schemawarden writes exactly the rows drizzle-orm's migrator would write, so that the
application's own `drizzle migrate` sees nothing left to do, and the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from reconciler.migrations import Layout, Migration

DEFAULT_SCHEMA = "drizzle"
DEFAULT_TABLE = "__drizzle_migrations"


@dataclass(frozen=True)
class HistoryTable:
    """Where the history lives (drizzle's `migrationsSchema` / `migrationsTable`)."""

    schema: str = DEFAULT_SCHEMA
    table: str = DEFAULT_TABLE

    @property
    def qualified(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.table))

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class HistoryRow:
    """One applied migration as recorded; `name` exists only in drizzle 1.x tables."""

    id: int
    hash: str
    created_at: int | None
    name: str | None = None


def read_history(conn: psycopg.Connection[tuple[object, ...]], table: HistoryTable) -> list[HistoryRow]:
    """All rows in id order; an empty list when the table does not exist yet."""
    if not _table_exists(conn, table):
        return []
    has_name = "name" in history_columns(conn, table)
    name_column = sql.SQL("name") if has_name else sql.SQL("NULL::text")
    query = sql.SQL("SELECT id, hash, created_at, {} FROM {} ORDER BY id").format(
        name_column, table.qualified
    )
    rows = conn.execute(query).fetchall()
    return [
        HistoryRow(
            id=int(str(r[0])),
            hash=str(r[1]),
            created_at=None if r[2] is None else int(str(r[2])),
            name=None if r[3] is None else str(r[3]),
        )
        for r in rows
    ]


def ensure_history_table(
    conn: psycopg.Connection[tuple[object, ...]], table: HistoryTable, layout: Layout
) -> None:
    """Create the schema and table exactly as drizzle-orm's migrator of that layout does."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(table.schema)))
    if layout is Layout.DRIZZLE_0:
        ddl = sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)"
        )
    else:
        ddl = sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id SERIAL PRIMARY KEY, hash text NOT NULL, "
            "created_at bigint, name text, applied_at timestamp with time zone DEFAULT now())"
        )
    conn.execute(ddl.format(table.qualified))


def record_applied(
    conn: psycopg.Connection[tuple[object, ...]], table: HistoryTable, migration: Migration
) -> None:
    """Insert the row drizzle-orm would insert for this migration (inside the caller's transaction)."""
    if migration.layout is Layout.DRIZZLE_0:
        conn.execute(
            sql.SQL('INSERT INTO {} ("hash", "created_at") VALUES (%s, %s)').format(table.qualified),
            (migration.hash, migration.when),
        )
    else:
        conn.execute(
            sql.SQL('INSERT INTO {} ("hash", "created_at", "name") VALUES (%s, %s, %s)').format(
                table.qualified
            ),
            (migration.hash, migration.when, migration.name),
        )


def _table_exists(conn: psycopg.Connection[tuple[object, ...]], table: HistoryTable) -> bool:
    row = conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        (table.schema, table.table),
    ).fetchone()
    return row is not None


def history_columns(conn: psycopg.Connection[tuple[object, ...]], table: HistoryTable) -> set[str]:
    """The columns the history table has (empty when it does not exist): 0.x or 1.x form."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (table.schema, table.table),
    ).fetchall()
    return {str(r[0]) for r in rows}
