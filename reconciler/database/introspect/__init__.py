"""Introspection: the schema model (`policies.schema.model.Schema`) of a live PostgreSQL database.

`introspect(conn)` fills every field of the model from the system catalogs (PostgreSQL 11 to 18),
with one query per object family, each printing definitions by PostgreSQL's own functions
(`format_type`, `pg_get_expr`, `pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`,
`pg_get_functiondef`, `pg_get_triggerdef`, `pg_get_partkeydef`; "System Information Functions",
section 9.26 of the PostgreSQL documentation; the catalogs in chapter 51 "System Catalogs").

* `_queries`: the SQL of each family, and the differences between server versions;
* `_references`: keys by OID, comments, column names: what the families' rows share;
* `_assemble`: the rows into the model's parts.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import psycopg
from psycopg import pq
from psycopg.rows import tuple_row

from policies.schema import Schema
from policies.schema.model import OWNER
from reconciler.database.introspect import _assemble as assemble
from reconciler.database.introspect import _references as references
from reconciler.database.introspect._queries import SETTINGS, CatalogQueries
from reconciler.database.introspect._references import Row

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
    excluded = [exclude_schemas] if isinstance(exclude_schemas, str) else list(exclude_schemas)
    with _without_cyclic_gc():
        return _build(_read(conn, excluded), named_not_null=conn.info.server_version >= 180000)


class _Catalog(NamedTuple):
    """The rows of every catalog query (see `_queries`), and the names of the relations they reference."""

    relations: list[Row]
    columns: list[Row]
    constraints: list[Row]
    indexes: list[Row]
    sequences: list[Row]
    triggers: list[Row]
    policies: list[Row]
    types: list[Row]
    functions: list[Row]
    schemas: list[Row]
    extensions: list[Row]
    comments: list[Row]
    names: references.Names


def _read(conn: psycopg.Connection[Any], excluded: list[str]) -> _Catalog:
    """Every query in one transaction (or savepoint), rolled back at the end."""
    queries = CatalogQueries.for_server(conn.info.server_version)
    idle = conn.info.transaction_status == pq.TransactionStatus.IDLE
    with conn.transaction(force_rollback=True), conn.cursor(row_factory=tuple_row) as cursor:
        if idle:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute(SETTINGS)

        def rows(query: str, **params: object) -> list[Row]:
            return cursor.execute(query, {"excluded": excluded, **params}).fetchall()

        relations = rows(queries.relations)
        in_scope = references.scope(relations)
        columns, constraints, indexes, sequences, triggers, policies = (
            rows(query, **in_scope)
            for query in (
                queries.columns, queries.constraints, queries.indexes, queries.sequences, queries.triggers,
                queries.policies,
            )
        )
        names = references.Names(relations, indexes)
        outside = names.missing(references.referenced(relations, columns, constraints, indexes, sequences))
        if outside:
            names.add(rows(queries.names, oids=outside))
        return _Catalog(
            relations, columns, constraints, indexes, sequences, triggers, policies, rows(queries.types),
            rows(queries.functions), rows(queries.schemas), rows(queries.extensions), rows(queries.comments), names,
        )  # fmt: skip


def _build(catalog: _Catalog, *, named_not_null: bool) -> Schema:
    """The model from the catalog's rows (`named_not_null`: PostgreSQL 18 or later, `Schema.not_null_names`)."""
    names, comments, attributes = catalog.names, references.Comments(catalog.comments), references.Attributes()
    sequences, identities = assemble.sequences(catalog.sequences, names)
    columns = assemble.columns(catalog.columns, names, identities, comments, attributes)
    constraints, made_for = assemble.constraints(catalog.constraints, names, comments, attributes)
    tables, privileges = assemble.tables(catalog.relations, names, columns, constraints, attributes, comments)
    indexes = assemble.indexes(catalog.indexes, names, made_for, comments, attributes)
    triggers = assemble.triggers(catalog.triggers, names, comments)
    policies = assemble.policies(catalog.policies, names, comments)
    types = assemble.Types(catalog.types, comments)
    functions = assemble.functions(catalog.functions, comments)
    schemas = assemble.schemas(catalog.schemas, comments)
    return Schema(
        tables=tables,
        indexes=indexes,
        sequences=sequences,
        enums=types.enums,
        types=types.others,
        schemas=schemas,
        extensions=assemble.extensions(catalog.extensions),
        complete=True,
        domains=types.domains,
        composites=types.composites,
        functions=functions,
        triggers=triggers,
        policies=policies,
        comments=comments.found,
        privileges=privileges,
        not_null_names=named_not_null,
    )


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Python's cyclic garbage collector paused while tens of thousands of rows and model tuples are
    made: none of them forms a cycle, and with a large heap alive (another schema, say) the collections
    they trigger took as long as building the model."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
