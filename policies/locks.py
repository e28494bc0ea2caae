"""The lock model: which lock each operation takes on which relation, and whether it rewrites or
scans the table, per PostgreSQL major version.

The facts are one table of `LockEntry` rows, each citing the PostgreSQL documentation page it comes
from (https://www.postgresql.org/docs/current/<cite>). An operation is looked up by its kind and
its variant (with or without CONCURRENTLY, NOT VALID, a volatile default, ...); the first row whose
variant and version range match wins. Rules read the result; none of them re-derive lock facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from policies.operations import Operation, OperationKind
from policies.report import LockRef
from policies.type_changes import TypeChange, classify_type_change
from policies.versions import NEWEST_VERSION, OLDEST_VERSION

K = OperationKind

ACCESS_SHARE = "ACCESS SHARE"
ROW_SHARE = "ROW SHARE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
SHARE = "SHARE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"


# Lock modes that block ordinary reads (SELECT) or writes (INSERT/UPDATE/DELETE).
BLOCKS_READS = frozenset({ACCESS_EXCLUSIVE})
BLOCKS_WRITES = frozenset({SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE})

TABLE = "relation"  # the relation the operation alters
REFERENCED = "referenced"  # the table a foreign key points at
NAMED = "name"  # the object in Operation.name (the partition of ATTACH/DETACH)
GIVEN = "given"  # LOCK TABLE: the mode written in the statement
OTHERS = "others"  # relations the statement locks without naming them (Operation.other_relations)
PARTITIONS = "partitions"  # the partitions it recurses to, when their mode is not the altered table's


@dataclass(frozen=True)
class LockEntry:
    """One fact of the lock model: for `kind` in `variant`, from `since` to `until` inclusive."""

    kind: OperationKind
    variant: str
    locks: tuple[tuple[str, str], ...]
    rewrites: bool = False
    scans: bool = False
    scanned: str = TABLE
    """Whose rows `scans` reads: the altered table, or the `NAMED` one (the partition of ATTACH)."""
    since: int = OLDEST_VERSION
    until: int = NEWEST_VERSION
    cite: str = "sql-altertable.html#SQL-ALTERTABLE-NOTES"
    note: str = ""


@dataclass(frozen=True)
class Effect:
    """What one operation does to the relations it touches on one PostgreSQL version."""

    locks: tuple[LockRef, ...] = ()
    rewrites: tuple[str, ...] = ()
    scans: tuple[str, ...] = ()
    cite: str = ""
    note: str = ""

    def mode_on(self, relation: str) -> str | None:
        return next((lock.mode for lock in self.locks if lock.relation == relation), None)


def _e(
    kind: OperationKind,
    variant: str,
    *locks: tuple[str, str],
    rewrites: bool = False,
    scans: bool = False,
    scanned: str = TABLE,
    since: int = OLDEST_VERSION,
    until: int = NEWEST_VERSION,
    cite: str = "sql-altertable.html#SQL-ALTERTABLE-NOTES",
    note: str = "",
) -> LockEntry:
    return LockEntry(kind, variant, tuple(locks), rewrites, scans, scanned, since, until, cite, note)


AE = (TABLE, ACCESS_EXCLUSIVE)
CREATE_INDEX_CITE = "sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY"
LOCKING_CITE = "explicit-locking.html#LOCKING-TABLES"

ENTRIES: tuple[LockEntry, ...] = (
    # ADD COLUMN: a non-volatile default is stored in the catalog (PostgreSQL 11 on, all we support)
    _e(K.ADD_COLUMN, "plain", AE),
    _e(K.ADD_COLUMN, "default", AE),
    _e(K.ADD_COLUMN, "volatile_default", AE, rewrites=True),
    _e(K.ADD_COLUMN, "generated_stored", AE, rewrites=True),
    _e(K.ADD_COLUMN, "not_null_no_default", AE, scans=True, note="fails if the table has rows"),
    _e(K.DROP_COLUMN, "*", AE),
    _e(K.RENAME_COLUMN, "*", AE, cite="sql-altertable.html#SQL-ALTERTABLE-DESC-RENAME"),
    _e(K.SET_DEFAULT, "*", AE),
    _e(K.DROP_DEFAULT, "*", AE),
    # SET NOT NULL scans unless a valid CHECK (col IS NOT NULL) proves it (PostgreSQL 12+)
    _e(K.SET_NOT_NULL, "proven", AE, since=12, cite="sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL"),
    _e(K.SET_NOT_NULL, "not_valid", AE, since=18, cite="sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT",
       note="ADD CONSTRAINT ... NOT NULL ... NOT VALID: no scan; VALIDATE CONSTRAINT scans later"),
    _e(K.SET_NOT_NULL, "*", AE, scans=True, cite="sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL"),
    _e(K.DROP_NOT_NULL, "*", AE),
    _e(K.ALTER_COLUMN_TYPE, "binary_coercible_reindexed", AE, scans=True,
       note="binary-coercible: no rewrite, but the column's indexes are rebuilt (another operator class), "
       "reading the whole table"),
    _e(K.ALTER_COLUMN_TYPE, "binary_coercible", AE, note="binary-coercible: no rewrite"),
    _e(K.ALTER_COLUMN_TYPE, "binary_coercible_rechecked", AE, scans=True,
       note="binary-coercible: no rewrite, but the validated CHECK constraints that read the column are "
       "verified again, with a full scan"),
    _e(K.ALTER_COLUMN_TYPE, "*", AE, rewrites=True, note="rewrites the table and rebuilds its indexes"),
    _e(K.ALTER_COLUMN_OTHER, "SetStatistics", (TABLE, SHARE_UPDATE_EXCLUSIVE)),
    _e(K.ALTER_COLUMN_OTHER, "SetOptions", (TABLE, SHARE_UPDATE_EXCLUSIVE)),
    _e(K.ALTER_COLUMN_OTHER, "ResetOptions", (TABLE, SHARE_UPDATE_EXCLUSIVE)),
    _e(K.ALTER_COLUMN_OTHER, "DropExpression", AE, cite="sql-altertable.html#SQL-ALTERTABLE-DESC-DROP-EXPRESSION",
       note="the stored values are kept as they are"),
    _e(K.ALTER_COLUMN_OTHER, "SetExpression", AE, rewrites=True, since=17,
       cite="sql-altertable.html#SQL-ALTERTABLE-DESC-SET-EXPRESSION",
       note="recomputes a stored generated column (a virtual one, from 18, is not rewritten)"),
    _e(K.ALTER_COLUMN_OTHER, "*", AE),
    _e(K.ADD_IDENTITY, "*", AE),
    _e(K.DROP_IDENTITY, "*", AE),
    # constraints: declared inside CREATE TABLE they only lock the referenced table
    _e(K.ADD_FOREIGN_KEY, "inline", (REFERENCED, SHARE_ROW_EXCLUSIVE), cite="sql-createtable.html"),
    _e(K.ADD_FOREIGN_KEY, "not_valid", (TABLE, SHARE_ROW_EXCLUSIVE), (REFERENCED, SHARE_ROW_EXCLUSIVE)),
    _e(K.ADD_FOREIGN_KEY, "*", (TABLE, SHARE_ROW_EXCLUSIVE), (REFERENCED, SHARE_ROW_EXCLUSIVE), scans=True),
    _e(K.ADD_CHECK, "inline"),
    _e(K.ADD_CHECK, "not_valid", AE),
    _e(K.ADD_CHECK, "*", AE, scans=True),
    _e(K.ADD_PRIMARY_KEY, "inline"),
    _e(K.ADD_PRIMARY_KEY, "using_index_nullable", AE, scans=True,
       note="sets the key's nullable columns NOT NULL: reads the whole table to prove it, and fails on a NULL"),
    _e(K.ADD_PRIMARY_KEY, "using_index", AE, note="the key's columns are already NOT NULL: no scan"),
    # On a partitioned table the index is built on each partition under SHARE, the parent alone
    # taking ACCESS EXCLUSIVE, up to PostgreSQL 17; from 18 the partitions take ACCESS EXCLUSIVE
    # too, and on every version they do when a key column is nullable (SET NOT NULL recurses).
    # Measured on 11 to 18: tests/test_lock_model_on_postgres.py.
    _e(K.ADD_PRIMARY_KEY, "only_partitioned", AE,
       note="ALTER TABLE ONLY a partitioned table: an invalid index on the parent alone, no rows read"),
    _e(K.ADD_PRIMARY_KEY, "nullable", AE, scans=True,
       note="builds a unique index under the lock and sets the key's nullable columns NOT NULL"),
    _e(K.ADD_PRIMARY_KEY, "*", AE, (PARTITIONS, SHARE), scans=True, until=17,
       note="builds a unique index under the lock"),
    _e(K.ADD_PRIMARY_KEY, "*", AE, scans=True, note="builds a unique index under the lock"),
    _e(K.ADD_UNIQUE, "inline"),
    _e(K.ADD_UNIQUE, "using_index", AE, note="the columns keep their nullability: no scan"),
    _e(K.ADD_UNIQUE, "only_partitioned", AE,
       note="ALTER TABLE ONLY a partitioned table: an invalid index on the parent alone, no rows read"),
    _e(K.ADD_UNIQUE, "*", AE, (PARTITIONS, SHARE), scans=True, until=17,
       note="builds a unique index under the lock"),
    _e(K.ADD_UNIQUE, "*", AE, scans=True, note="builds a unique index under the lock"),
    _e(K.ADD_EXCLUSION, "inline"),
    _e(K.ADD_EXCLUSION, "*", AE, scans=True, note="builds an index under the lock"),
    _e(K.VALIDATE_CONSTRAINT, "*", (TABLE, SHARE_UPDATE_EXCLUSIVE), (REFERENCED, ROW_SHARE), scans=True,
       cite="sql-altertable.html#SQL-ALTERTABLE-DESC-VALIDATE-CONSTRAINT",
       note="a foreign key's referenced table also takes ROW SHARE; it is named when the analysis saw "
       "the constraint added"),
    _e(K.DROP_CONSTRAINT, "*", AE),
    _e(K.RENAME_CONSTRAINT, "*", AE),
    _e(K.ALTER_CONSTRAINT, "*", AE),
    # indexes
    _e(K.CREATE_INDEX, "concurrently", (TABLE, SHARE_UPDATE_EXCLUSIVE), scans=True, cite=CREATE_INDEX_CITE,
       note="two table scans; waits for transactions that could use the index"),
    _e(K.CREATE_INDEX, "only_partitioned", (TABLE, SHARE), cite="sql-createindex.html",
       note="ON ONLY a partitioned table: an invalid index on the parent alone, no rows read; each "
       "partition's index is built apart (CONCURRENTLY) and attached with ALTER INDEX ... ATTACH PARTITION"),
    _e(K.CREATE_INDEX, "*", (TABLE, SHARE), scans=True, cite="sql-createindex.html"),
    _e(K.DROP_INDEX, "concurrently", (TABLE, SHARE_UPDATE_EXCLUSIVE), cite="sql-dropindex.html"),
    _e(K.DROP_INDEX, "*", AE, cite="sql-dropindex.html", note="also locks the index's table"),
    _e(K.RENAME_INDEX, "*", (TABLE, SHARE_UPDATE_EXCLUSIVE), since=12, cite="sql-alterindex.html"),
    _e(K.RENAME_INDEX, "*", AE, cite="sql-alterindex.html"),
    _e(K.REINDEX, "concurrently", (TABLE, SHARE_UPDATE_EXCLUSIVE), scans=True, since=12,
       cite="sql-reindex.html#SQL-REINDEX-CONCURRENTLY"),
    _e(K.REINDEX, "index", AE, scans=True, cite="sql-reindex.html",
       note="blocks reads that use the index and all writes"),
    _e(K.REINDEX, "*", (TABLE, SHARE), scans=True, cite="sql-reindex.html",
       note="ACCESS EXCLUSIVE on each index: blocks reads that use them"),
    # whole tables
    _e(K.CREATE_TABLE, "*", cite="sql-createtable.html"),
    _e(K.DROP_TABLE, "*", AE, cite=LOCKING_CITE),
    _e(K.RENAME_TABLE, "*", AE, cite="sql-altertable.html#SQL-ALTERTABLE-DESC-RENAME"),
    _e(K.SET_SCHEMA, "*", AE),
    _e(K.SET_LOGGED, "*", AE, rewrites=True),
    _e(K.SET_TABLESPACE, "*", AE, rewrites=True),
    _e(K.SET_STORAGE_PARAMETERS, "*", (TABLE, SHARE_UPDATE_EXCLUSIVE), note="most parameters; some need more"),
    _e(K.ENABLE_ROW_SECURITY, "*", AE),
    _e(K.DISABLE_ROW_SECURITY, "*", AE),
    _e(K.ENABLE_TRIGGER, "*", (TABLE, SHARE_ROW_EXCLUSIVE)),
    _e(K.DISABLE_TRIGGER, "*", (TABLE, SHARE_ROW_EXCLUSIVE)),
    _e(K.CREATE_TRIGGER, "*", (TABLE, SHARE_ROW_EXCLUSIVE), cite="sql-createtrigger.html"),
    _e(K.DROP_TRIGGER, "*", AE, cite="sql-droptrigger.html"),
    _e(K.CREATE_POLICY, "*", AE, cite="sql-createpolicy.html"),
    _e(K.ALTER_POLICY, "*", AE, cite="sql-alterpolicy.html"),
    _e(K.DROP_POLICY, "*", AE, cite="sql-droppolicy.html"),
    _e(K.ALTER_OWNER, "*", AE),
    _e(K.ATTACH_PARTITION, "*", (TABLE, SHARE_UPDATE_EXCLUSIVE), (NAMED, ACCESS_EXCLUSIVE), scans=True,
       scanned=NAMED, since=12, cite="sql-altertable.html#SQL-ALTERTABLE-ATTACH-PARTITION",
       note="scans the partition unless a CHECK constraint proves the bound"),
    _e(K.ATTACH_PARTITION, "*", AE, (NAMED, ACCESS_EXCLUSIVE), scans=True, scanned=NAMED,
       cite="sql-altertable.html#SQL-ALTERTABLE-ATTACH-PARTITION",
       note="scans the partition unless a CHECK constraint proves the bound"),
    _e(K.DETACH_PARTITION, "concurrently", (TABLE, SHARE_UPDATE_EXCLUSIVE), since=14,
       cite="sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION"),
    _e(K.DETACH_PARTITION, "*", AE, (NAMED, SHARE_UPDATE_EXCLUSIVE), until=13,
       cite="sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION",
       note="before PostgreSQL 14 the partition itself is only locked SHARE UPDATE EXCLUSIVE (measured on 11 to 13)"),
    _e(K.DETACH_PARTITION, "*", AE, (NAMED, ACCESS_EXCLUSIVE),
       cite="sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION"),
    _e(K.ALTER_TABLE_OTHER, "*", AE),
    _e(K.TRUNCATE, "*", AE, cite="sql-truncate.html"),
    _e(K.LOCK_TABLE, "*", (TABLE, GIVEN), cite="sql-lock.html"),
    # data
    _e(K.INSERT, "*", (TABLE, ROW_EXCLUSIVE), cite=LOCKING_CITE),
    _e(K.UPDATE, "all", (TABLE, ROW_EXCLUSIVE), scans=True, cite=LOCKING_CITE, note="writes every row"),
    _e(K.UPDATE, "*", (TABLE, ROW_EXCLUSIVE), cite=LOCKING_CITE),
    _e(K.DELETE, "all", (TABLE, ROW_EXCLUSIVE), scans=True, cite=LOCKING_CITE, note="deletes every row"),
    _e(K.DELETE, "*", (TABLE, ROW_EXCLUSIVE), cite=LOCKING_CITE),
    _e(K.MERGE, "*", (TABLE, ROW_EXCLUSIVE), cite=LOCKING_CITE),
    _e(K.COMMENT, "*", (TABLE, SHARE_UPDATE_EXCLUSIVE), cite=LOCKING_CITE),
    # maintenance
    _e(K.VACUUM, "full", AE, rewrites=True, cite="sql-vacuum.html"),
    _e(K.VACUUM, "*", (TABLE, SHARE_UPDATE_EXCLUSIVE), scans=True, cite="sql-vacuum.html"),
    _e(K.ANALYZE, "*", (TABLE, SHARE_UPDATE_EXCLUSIVE), cite="sql-analyze.html",
       note="reads a random sample of 300 x default_statistics_target rows, not the whole table"),
    _e(K.CREATE_STATISTICS, "*", (TABLE, SHARE_UPDATE_EXCLUSIVE), cite=LOCKING_CITE),
    _e(K.CLUSTER, "*", AE, rewrites=True, cite="sql-cluster.html"),
    _e(K.REFRESH_MATERIALIZED_VIEW, "concurrently", (TABLE, EXCLUSIVE), scans=True,
       cite="sql-refreshmaterializedview.html"),
    _e(K.REFRESH_MATERIALIZED_VIEW, "*", AE, rewrites=True, cite="sql-refreshmaterializedview.html"),
    _e(K.DROP_VIEW, "*", AE, cite=LOCKING_CITE),
    _e(K.DROP_MATERIALIZED_VIEW, "*", AE, cite=LOCKING_CITE),
    _e(K.DROP_SEQUENCE, "*", AE, cite=LOCKING_CITE),
    # what goes with a dropped type, domain or schema (CASCADE): the tables of its columns, the
    # relations in the schema, and what depends on them (`policies.schema.replay.enrich`)
    _e(K.DROP_TYPE, "*", (OTHERS, ACCESS_EXCLUSIVE), cite="sql-droptype.html",
       note="with CASCADE, drops every column of the type (and the views that read one)"),
    _e(K.DROP_DOMAIN, "*", (OTHERS, ACCESS_EXCLUSIVE), cite="sql-dropdomain.html",
       note="with CASCADE, drops every column of the domain (and the views that read one)"),
    _e(K.DROP_SCHEMA, "*", (OTHERS, ACCESS_EXCLUSIVE), cite="sql-dropschema.html",
       note="with CASCADE, drops every relation in the schema and what depends on them elsewhere"),
    _e(K.ALTER_SEQUENCE, "*", (TABLE, SHARE_ROW_EXCLUSIVE), cite="sql-altersequence.html"),
    # a domain constraint (or NOT NULL) is checked on every column of the domain: each table that has
    # one is read under SHARE (typecmds.c, validateDomainConstraint)
    _e(K.ALTER_DOMAIN, "validating", (OTHERS, SHARE), scans=True, scanned=OTHERS, cite="sql-alterdomain.html",
       note="checks every value of every column of the domain, each table under SHARE"),
)


def unnamed_lock_mode(op: Operation, pg_version: int) -> str | None:
    """The mode the model gives the relations an operation locks without naming them, even when
    the schema does not know which they are (a domain's tables in a lone file)."""
    entry = lookup(op, pg_version)
    return next((mode for target, mode in entry.locks if target == OTHERS), None) if entry else None


def _add_column_variant(op: Operation) -> str:
    if op.generated_stored:
        return "generated_stored"
    if op.default_volatility is not None and op.default_volatility.may_be_volatile:
        return "volatile_default"
    if op.default is not None:
        return "default"
    return "not_null_no_default" if op.not_null else "plain"


def _constraint_variant(op: Operation) -> str:
    if op.inline:
        return "inline"
    if op.using_index:
        return "using_index_nullable" if op.nullable_key_columns else "using_index"
    if op.option("partitioned"):
        return "only_partitioned"
    if op.nullable_key_columns:
        return "nullable"
    return "not_valid" if op.not_valid else "validate"


def _type_variant(op: Operation) -> str:
    change = classify_type_change(op.old_type, op.column_type or "", op.using)
    if change is not TypeChange.BINARY_COERCIBLE:
        return "rewrite"
    if op.reindexed:
        return "binary_coercible_reindexed"
    return "binary_coercible_rechecked" if op.rechecked else "binary_coercible"


_VARIANTS: dict[OperationKind, Callable[[Operation], str]] = {
    K.ADD_COLUMN: _add_column_variant,
    K.ALTER_COLUMN_TYPE: _type_variant,
    K.SET_NOT_NULL: lambda op: "proven" if op.proven_not_null else "not_valid" if op.not_valid else "scan",
    K.ADD_FOREIGN_KEY: _constraint_variant,
    K.ADD_CHECK: _constraint_variant,
    K.ADD_PRIMARY_KEY: _constraint_variant,
    K.ADD_UNIQUE: _constraint_variant,
    K.ADD_EXCLUSION: _constraint_variant,
    K.ALTER_COLUMN_OTHER: lambda op: op.detail or "*",
    K.ALTER_DOMAIN: lambda op: (
        "validating"
        if (op.detail == "add_constraint" and not op.not_valid) or op.detail in ("set_not_null", "validate_constraint")
        else "other"
    ),
    K.VACUUM: lambda op: "full" if op.full else "plain",
    K.UPDATE: lambda op: "where" if op.has_where else "all",
    K.DELETE: lambda op: "where" if op.has_where else "all",
    K.REINDEX: lambda op: "concurrently" if op.concurrently else (op.detail or "table"),
    K.CREATE_INDEX: lambda op: (
        "concurrently" if op.concurrently else "only_partitioned" if op.option("partitioned") else "plain"
    ),
}

_BY_KIND: dict[OperationKind, tuple[LockEntry, ...]] = {}
for _entry in ENTRIES:
    _BY_KIND[_entry.kind] = (*_BY_KIND.get(_entry.kind, ()), _entry)


def variant(op: Operation) -> str:
    """The variant of an operation the lock table distinguishes (`concurrently`, `not_valid`, ...)."""
    chooser = _VARIANTS.get(op.kind)
    if chooser is not None:
        return chooser(op)
    return "concurrently" if op.concurrently else "plain"


def lookup(op: Operation, pg_version: int) -> LockEntry | None:
    """The lock-table row for an operation on a PostgreSQL major version, if the model knows it."""
    wanted = variant(op)
    for entry in _BY_KIND.get(op.kind, ()):
        if entry.variant in (wanted, "*") and entry.since <= pg_version <= entry.until:
            return entry
    return None


_NO_EFFECT = Effect()


def effect(op: Operation, pg_version: int) -> Effect:
    """Locks, rewrites and scans of one operation on one PostgreSQL major version."""
    entry = lookup(op, pg_version)
    if entry is None or op.option("absent"):  # DROP ... IF EXISTS of what the schema knows is absent
        return _NO_EFFECT
    locks = []
    table_mode: str | None = None
    partition_mode: str | None = None
    others_mode: str | None = None
    for target, mode in entry.locks:
        if target == PARTITIONS:
            partition_mode = mode
            continue
        if target == OTHERS:
            others_mode = mode
            continue
        relation = op.relation if target == TABLE else op.referenced_relation if target == REFERENCED else op.name
        if relation:
            given = (op.lock_mode or ACCESS_EXCLUSIVE) if mode == GIVEN else mode
            locks.append(LockRef(relation, given))
            if target == TABLE:
                table_mode = given
    # Relations locked without being named take the altered table's mode (unless the entry gives
    # them one of their own): the table a dropped foreign key references, an index's table, the
    # partitions a statement recurses to, the tables whose columns use an altered domain.
    seen = {lock.relation for lock in locks}
    unnamed: list[tuple[str, str | None]] = [(r, others_mode or table_mode) for r in op.other_relations]
    unnamed += [(r, partition_mode or table_mode) for r in op.partitions]
    for relation, held in unnamed:
        if relation not in seen and held is not None:
            locks.append(LockRef(relation, held))
            seen.add(relation)
    altered = (op.relation, *op.partitions) if op.relation else ()
    if entry.scanned == OTHERS:
        scanned: tuple[str, ...] = op.other_relations if entry.scans else ()
    else:
        read = op.name if entry.scanned == NAMED else op.relation
        scanned = ((read, *op.partitions) if read == op.relation else (read,)) if entry.scans and read else ()
    return Effect(
        locks=tuple(locks),
        rewrites=altered if entry.rewrites else (),
        scans=scanned,
        cite=entry.cite,
        note=entry.note,
    )
