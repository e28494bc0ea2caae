"""Introspection: the schema model (`policies.schema.model.Schema`) of a live PostgreSQL database.

`introspect(conn)` fills every field of the model from the system catalogs (PostgreSQL 11 to 18),
with one query per object family, each printing definitions by PostgreSQL's own functions
(`format_type`, `pg_get_expr`, `pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`,
`pg_get_functiondef`, `pg_get_triggerdef`, `pg_get_partkeydef`; "System Information Functions",
section 9.26 of the PostgreSQL documentation; the catalogs in chapter 51 "System Catalogs").

* `_queries`: the SQL of each family, and the differences between server versions;
* `_assemble`: the rows into the model's parts.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import psycopg
from psycopg import pq
from psycopg.rows import namedtuple_row

from policies.schema import ObjectKey, Schema
from policies.schema.model import OWNER
from reconciler.database.introspect import _assemble as assemble
from reconciler.database.introspect._queries import SETTINGS, CatalogQueries

__all__ = ["OWNER", "introspect"]


def introspect(
    conn: psycopg.Connection[Any], *, exclude_schemas: Collection[str] = ("drizzle", "schemawarden")
) -> Schema:
    """The complete schema of the database `conn` is connected to (`Schema.complete` is true), every
    field of the model filled as its docstrings say.

    Left out: the schemas named in `exclude_schemas`, whole (pass the history table's schema and
    schemawarden's own; naming `public` would leave out everything in it); PostgreSQL's own schemas
    (`pg_catalog`, `information_schema`, `pg_toast`, temporary schemas); every object an extension
    owns (its schema, tables, types, functions: `pg_depend` deptype `e`); and what PostgreSQL makes
    and drops with another object (array and multirange types, range constructors, a table's row
    type, internal triggers such as a foreign key's, a partition's clones of its parent's
    triggers). Foreign tables and table inheritance (`INHERITS`) have no place in the model and are
    not read; an inherited column or constraint still says so (`inherited`).

    Definitions are printed by PostgreSQL as with `search_path = public` (an object in `public`
    unqualified, one elsewhere with its schema), `DateStyle = ISO`, `TimeZone = UTC` and
    `extra_float_digits = 3`, whatever the session's settings; keys are as `relation_key` gives
    them. Nothing depends on OIDs, creation order or who owns what (privileges write the owner as
    `OWNER`, `$owner`), so two databases with the same schema on one server version introspect
    equal with `==`. The order of the mappings (columns in `attnum` order, tables in the order they
    were created) is kept but is not part of `==`: compare `list(table.columns)` for column order.

    Reads the catalogs in one transaction (repeatable read, read only) when `conn` is idle, or in a
    savepoint of the caller's transaction, whose uncommitted work it then sees; either way it rolls
    back at the end, so the session's settings are left as they were. Raises `psycopg.Error` when a
    query fails (the connection lost, the caller's transaction already failed).
    """
    queries = CatalogQueries.for_server(conn.info.server_version)
    idle = conn.info.transaction_status == pq.TransactionStatus.IDLE
    excluded = [exclude_schemas] if isinstance(exclude_schemas, str) else list(exclude_schemas)
    params = {"excluded": excluded}
    with conn.transaction(force_rollback=True), conn.cursor(row_factory=namedtuple_row) as cursor:
        if idle:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute(SETTINGS)

        def rows(query: str) -> list[Any]:
            return cursor.execute(query, params).fetchall()

        comments: dict[ObjectKey, str] = {}
        grants: dict[ObjectKey, tuple[str, ...]] = {}
        attributes = assemble.Attributes()
        sequences, identities = assemble.sequences(rows(queries.sequences), comments, grants)
        columns = assemble.columns(rows(queries.columns), identities, comments, attributes)
        constraints = assemble.constraints(rows(queries.constraints), comments, attributes)
        tables = assemble.tables(rows(queries.relations), columns, constraints, attributes, comments, grants)
        indexes = assemble.indexes(rows(queries.indexes), comments, attributes)
        types = assemble.Types(rows(queries.types), comments)
        functions = assemble.functions(rows(queries.functions), comments)
        triggers = assemble.triggers(rows(queries.triggers), comments)
        policies = assemble.policies(rows(queries.policies), comments)
        schemas = assemble.schemas(rows(queries.schemas), comments)
        extensions = assemble.extensions(rows(queries.extensions))
    return Schema(
        tables=tables,
        indexes=indexes,
        sequences=sequences,
        enums=types.enums,
        types=types.others,
        schemas=schemas,
        extensions=extensions,
        complete=True,
        domains=types.domains,
        composites=types.composites,
        functions=functions,
        triggers=triggers,
        policies=policies,
        comments=comments,
        privileges=grants,
    )
