"""The lock trace: what PostgreSQL really did for each statement, read from the catalog around it.

Before and after a statement, on the connection that runs it, one snapshot reads:

* the relation-level locks our backend holds (`pg_locks` where `pid = pg_backend_pid()`; docs:
  view-pg-locks.html): every mode held is a row of its own, so a mode the statement newly took is
  one that was not there before it;
* every relation of the user's schemas with its data file (`pg_class.relfilenode`: a rewrite gives
  the relation a new one; docs: catalog-pg-class.html), its table when it is an index, and its
  partitioned table when it is a partition;
* the sequential scans of the current transaction per table (`pg_stat_xact_user_tables.seq_scan`;
  docs: monitoring-stats.html#MONITORING-PG-STAT-ALL-TABLES-VIEW).

Inside a transaction, locks are held until its end and the counters belong to it, so the difference
between two snapshots is what the statement between them did, also in the middle of a migration of
many statements. A statement run outside a transaction (in autocommit) has released its locks and
flushed its counters by the time the snapshot after it is read: its locks and scans are not traced
(None), its new data files are. The snapshot queries read only catalogs and views, so they add no
lock on a user relation. The comparison with the lock model is `policies.lock_trace`.
"""

from __future__ import annotations

from typing import NamedTuple, cast

import psycopg
from psycopg import pq

from policies.lock_trace import StatementTrace
from policies.schema.model import relation_key

Conn = psycopg.Connection[tuple[object, ...]]

MODE_NAMES = {
    "AccessShareLock": "ACCESS SHARE",
    "RowShareLock": "ROW SHARE",
    "RowExclusiveLock": "ROW EXCLUSIVE",
    "ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE",
    "ShareLock": "SHARE",
    "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE",
    "ExclusiveLock": "EXCLUSIVE",
    "AccessExclusiveLock": "ACCESS EXCLUSIVE",
}
"""`pg_locks.mode` as the lock model names the mode (docs: explicit-locking.html#LOCKING-TABLES)."""

# Schemas whose relations are never the migration's: the catalogs, TOAST and temporary schemas, and
# schemawarden's own (a scratch database's helper for extension statements lives there).
_RELATIONS = """
SELECT c.oid, n.nspname, c.relname, c.relkind::text, c.relfilenode, i.indrelid,
       CASE WHEN c.relispartition AND c.relkind IN ('r', 'p', 'f') THEN inh.inhparent END, s.seq_scan
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index AS i ON i.indexrelid = c.oid
LEFT JOIN pg_catalog.pg_inherits AS inh ON inh.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_catalog.pg_stat_xact_user_tables AS s ON s.relid = c.oid
WHERE n.nspname <> ALL (ARRAY['pg_catalog', 'information_schema', 'schemawarden'])
  AND n.nspname !~ '^pg_(toast|temp_)'
"""
_LOCKS = """
SELECT relation, mode FROM pg_catalog.pg_locks
WHERE pid = pg_catalog.pg_backend_pid() AND locktype = 'relation'
  AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
"""
_WITH_DATA = frozenset({"r", "m"})  # relation kinds with a data file of their own that a rewrite replaces
_INDEXES = frozenset({"i", "I"})


class Relation(NamedTuple):
    """One relation in a snapshot (`relkind` as `pg_class` gives it)."""

    key: str
    kind: str
    filenode: int
    table: int | None
    """The table of an index (oid)."""
    parent: int | None
    """The partitioned table of a partition (oid)."""
    seq_scans: int | None


class Snapshot(NamedTuple):
    """The relations of the user's schemas and our backend's relation locks at one moment."""

    relations: dict[int, Relation]
    locks: dict[int, frozenset[str]]
    """Modes held per relation oid (the oid may be a relation dropped in this transaction)."""
    in_transaction: bool


def snapshot(conn: Conn) -> Snapshot:
    """Read a snapshot on `conn` (two catalog queries; inside its transaction when one is open)."""
    in_transaction = conn.info.transaction_status == pq.TransactionStatus.INTRANS
    relations: dict[int, Relation] = {}
    for oid, schema, name, kind, filenode, table, parent, scans in conn.execute(_RELATIONS):
        relations[cast(int, oid)] = Relation(
            relation_key(f"{schema}.{name}"),
            cast(str, kind),
            cast(int, filenode),
            cast("int | None", table),
            cast("int | None", parent),
            cast("int | None", scans),
        )
    locks: dict[int, set[str]] = {}
    for oid, mode in conn.execute(_LOCKS):
        name = MODE_NAMES.get(cast(str, mode))
        if name is not None and oid is not None:
            locks.setdefault(cast(int, oid), set()).add(name)
    return Snapshot(relations, {oid: frozenset(modes) for oid, modes in locks.items()}, in_transaction)


def compare(before: Snapshot, after: Snapshot) -> StatementTrace:
    """What the statement run between two snapshots of one connection did.

    Locks and scans are traced only when both snapshots were read inside one open transaction
    (`StatementTrace.modes_taken` and `scans` are None otherwise).
    """
    old, new = before.relations, after.relations
    names = {oid: relation.key for oid, relation in old.items()}
    traced = before.in_transaction and after.in_transaction
    modes_taken: dict[str, frozenset[str]] | None = None
    if traced:
        modes_taken = {}
        for oid, modes in after.locks.items():
            added = modes - before.locks.get(oid, frozenset())
            name = names.get(oid) or (new[oid].key if oid in new else None)
            if added and name is not None:
                modes_taken[name] = modes_taken.get(name, frozenset()) | added
    kept = old.keys() & new.keys()
    rewritten = {
        old[oid].key for oid in kept if old[oid].kind in _WITH_DATA and old[oid].filenode != new[oid].filenode
    }
    scanned: set[str] | None = None
    if traced:
        scanned = {old[oid].key for oid in kept if (new[oid].seq_scans or 0) > (old[oid].seq_scans or 0)}
    partitions: dict[str, set[str]] = {}
    for relation in old.values():
        if relation.parent is not None and relation.parent in old and old[relation.parent].kind == "p":
            partitions.setdefault(old[relation.parent].key, set()).add(relation.key)
    for parent, children in partitions.items():  # a partitioned table has no data file of its own
        if children & rewritten:
            rewritten.add(parent)
        if scanned is not None and children & (scanned | rewritten):
            scanned.add(parent)
    indexes = {  # under the names before and after the statement (ADD ... USING INDEX renames one)
        relation.key: snap[relation.table].key
        for snap in (new, old)
        for relation in snap.values()
        if relation.kind in _INDEXES and relation.table in snap
    }
    return StatementTrace(
        modes_taken=modes_taken,
        modes_before={names[oid]: modes for oid, modes in before.locks.items() if oid in names},
        rewrites=frozenset(rewritten),
        scans=frozenset(scanned) if scanned is not None else None,
        existed=frozenset(relation.key for relation in old.values()),
        created=frozenset(new[oid].key for oid in new.keys() - old.keys()),
        dropped=frozenset(old[oid].key for oid in old.keys() - new.keys()),
        indexes=indexes,
        partitions={parent: frozenset(children) for parent, children in partitions.items()},
    )


class Tracer:
    """Traces the statements run one after another on one connection.

    The snapshot after a statement is the one before the next, so a statement costs one snapshot;
    call `restart()` when a transaction begins (a step of a migration) so that the first statement
    of the step is compared with what the new transaction holds (nothing).
    """

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self._last: Snapshot | None = None

    def restart(self) -> None:
        """Take the snapshot the next statement is compared with (after BEGIN, or before an autocommit statement)."""
        self._last = snapshot(self.conn)

    def execute(self, sql: str) -> StatementTrace:
        """Run `sql` (sent as written, no parameters) and trace it; errors propagate as psycopg raises them."""
        before = self._last if self._last is not None else snapshot(self.conn)
        self._last = None
        self.conn.execute(sql)
        after = snapshot(self.conn)
        self._last = after
        return compare(before, after)
