"""Typed operations: what a statement does, in the terms rules and the lock model reason with.

A statement becomes one or more operations (an `ALTER TABLE` with three subcommands is three).
Rules look at operations, never at parser nodes, so that `ALTER TABLE t ADD x int DEFAULT 0` and
the same column added inside a drizzle `DO $$` block are judged alike. Classification itself lives
in `policies.classify`.
"""

from __future__ import annotations

import re
from enum import Enum, StrEnum
from itertools import compress
from typing import Any, NamedTuple, get_args, get_origin, get_type_hints

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from policies.expressions import Volatility


class OperationKind(StrEnum):
    """What one operation does; the lock model and the rules are keyed on it."""

    ADD_COLUMN = "add_column"
    DROP_COLUMN = "drop_column"
    RENAME_COLUMN = "rename_column"
    SET_NOT_NULL = "set_not_null"
    DROP_NOT_NULL = "drop_not_null"
    SET_DEFAULT = "set_default"
    DROP_DEFAULT = "drop_default"
    ALTER_COLUMN_TYPE = "alter_column_type"
    ALTER_COLUMN_OTHER = "alter_column_other"
    ADD_IDENTITY = "add_identity"
    DROP_IDENTITY = "drop_identity"
    ADD_PRIMARY_KEY = "add_primary_key"
    ADD_UNIQUE = "add_unique"
    ADD_FOREIGN_KEY = "add_foreign_key"
    ADD_CHECK = "add_check"
    ADD_EXCLUSION = "add_exclusion"
    VALIDATE_CONSTRAINT = "validate_constraint"
    DROP_CONSTRAINT = "drop_constraint"
    RENAME_CONSTRAINT = "rename_constraint"
    ALTER_CONSTRAINT = "alter_constraint"
    CREATE_INDEX = "create_index"
    DROP_INDEX = "drop_index"
    RENAME_INDEX = "rename_index"
    CREATE_TABLE = "create_table"
    CREATE_TABLE_AS = "create_table_as"
    DROP_TABLE = "drop_table"
    RENAME_TABLE = "rename_table"
    SET_SCHEMA = "set_schema"
    SET_LOGGED = "set_logged"
    SET_TABLESPACE = "set_tablespace"
    SET_STORAGE_PARAMETERS = "set_storage_parameters"
    ENABLE_ROW_SECURITY = "enable_row_security"
    DISABLE_ROW_SECURITY = "disable_row_security"
    ENABLE_TRIGGER = "enable_trigger"
    DISABLE_TRIGGER = "disable_trigger"
    ATTACH_PARTITION = "attach_partition"
    DETACH_PARTITION = "detach_partition"
    ALTER_TABLE_OTHER = "alter_table_other"
    CREATE_ENUM = "create_enum"
    ADD_ENUM_VALUE = "add_enum_value"
    RENAME_ENUM_VALUE = "rename_enum_value"
    TRUNCATE = "truncate"
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    MERGE = "merge"
    SELECT = "select"
    VACUUM = "vacuum"
    ANALYZE = "analyze"
    CLUSTER = "cluster"
    REINDEX = "reindex"
    REFRESH_MATERIALIZED_VIEW = "refresh_materialized_view"
    LOCK_TABLE = "lock_table"
    CREATE_SCHEMA = "create_schema"
    DROP_SCHEMA = "drop_schema"
    CREATE_TYPE = "create_type"
    DROP_TYPE = "drop_type"
    ALTER_TYPE = "alter_type"
    CREATE_DOMAIN = "create_domain"
    ALTER_DOMAIN = "alter_domain"
    DROP_DOMAIN = "drop_domain"
    CREATE_EXTENSION = "create_extension"
    DROP_EXTENSION = "drop_extension"
    ALTER_EXTENSION = "alter_extension"
    CREATE_VIEW = "create_view"
    DROP_VIEW = "drop_view"
    CREATE_MATERIALIZED_VIEW = "create_materialized_view"
    DROP_MATERIALIZED_VIEW = "drop_materialized_view"
    CREATE_FUNCTION = "create_function"
    DROP_FUNCTION = "drop_function"
    CREATE_SEQUENCE = "create_sequence"
    ALTER_SEQUENCE = "alter_sequence"
    DROP_SEQUENCE = "drop_sequence"
    CREATE_TRIGGER = "create_trigger"
    DROP_TRIGGER = "drop_trigger"
    CREATE_POLICY = "create_policy"
    ALTER_POLICY = "alter_policy"
    DROP_POLICY = "drop_policy"
    CREATE_STATISTICS = "create_statistics"
    CREATE_ROLE = "create_role"
    ALTER_ROLE = "alter_role"
    DROP_ROLE = "drop_role"
    RENAME_OBJECT = "rename_object"
    ALTER_OWNER = "alter_owner"
    DROP_OTHER = "drop_other"
    CREATE_OTHER = "create_other"
    ALTER_OTHER = "alter_other"
    COMMENT = "comment"
    GRANT = "grant"
    REVOKE = "revoke"
    SET = "set"
    TRANSACTION = "transaction"
    DO_BLOCK = "do_block"
    CALL = "call"
    ALTER_SYSTEM = "alter_system"
    CREATE_DATABASE = "create_database"
    DROP_DATABASE = "drop_database"
    NOTIFY = "notify"
    UNKNOWN = "unknown"


class ConstraintKind(StrEnum):
    """The kinds of table constraint, as PostgreSQL names them."""

    PRIMARY_KEY = "primary_key"
    UNIQUE = "unique"
    FOREIGN_KEY = "foreign_key"
    CHECK = "check"
    EXCLUSION = "exclusion"
    NOT_NULL = "not_null"


class ColumnSpec(NamedTuple):
    """One column as a `CREATE TABLE` or `ADD COLUMN` defines it.

    A named tuple (immutable) rather than a frozen dataclass, like `Operation`: see there why.
    """

    name: str
    type: str
    not_null: bool = False
    primary_key: bool = False
    unique: bool = False
    default: str | None = None
    default_volatility: Volatility | None = None
    generated_stored: bool = False
    identity: bool = False
    options: tuple[tuple[str, str], ...] = ()
    """The identity's sequence options as written (`sequence_name`, `start`, ...), name -> value."""

    @property
    def serial(self) -> bool:
        """`serial` and friends: an integer with an implied `nextval()` default."""
        return self.type in ("serial", "serial4", "bigserial", "serial8", "smallserial", "serial2")

    def to_json(self) -> dict[str, Any]:
        return _compact(self)


class Operation(NamedTuple):
    """One classified change. Unset fields are their defaults and are left out of `to_json()`.

    `relation` is schema-qualified when the SQL qualified it; `shape` is the parser node type the
    operation came from (for `unknown` it is all we know). `old_type`, `proven_not_null` and
    `rechecked` are filled in by the analysis from what earlier statements established.

    A named tuple: immutable like a frozen dataclass, but built about five times faster (a frozen
    dataclass sets each of these thirty-odd fields through `object.__setattr__`), and a corpus
    run builds tens of thousands.
    """

    kind: OperationKind
    shape: str
    relation: str | None = None
    columns: tuple[str, ...] = ()
    name: str | None = None
    new_name: str | None = None
    column_specs: tuple[ColumnSpec, ...] = ()
    column_type: str | None = None
    old_type: str | None = None
    using: str | None = None
    not_null: bool = False
    default: str | None = None
    default_volatility: Volatility | None = None
    generated_stored: bool = False
    identity: bool = False
    constraint: ConstraintKind | None = None
    not_valid: bool = False
    using_index: str | None = None
    inline: bool = False
    referenced_relation: str | None = None
    referenced_columns: tuple[str, ...] = ()
    check_not_null_column: str | None = None
    concurrently: bool = False
    if_not_exists: bool = False
    if_exists: bool = False
    cascade: bool = False
    unique: bool = False
    has_where: bool = False
    full: bool = False
    lock_mode: str | None = None
    value: str | None = None
    values: tuple[str, ...] = ()
    proven_not_null: bool = False
    rechecked: bool = False
    """ALTER COLUMN ... TYPE of a column a validated CHECK constraint reads: PostgreSQL re-verifies
    the constraint with a full scan even when it rewrites nothing."""
    detail: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    """Options as written, name -> value: a sequence's or identity's (`sequence_name`, `start`,
    `restart`, `owned_by`), a partitioned table's key (`partition_by`)."""
    parent: str | None = None
    """The partitioned table a `CREATE TABLE ... PARTITION OF` creates a partition of."""
    other_relations: tuple[str, ...] = ()
    """Relations the statement locks without naming them, filled in from the schema before it: the
    table a dropped foreign key references, the partitions of a partitioned table, an index's table."""
    partitions: tuple[str, ...] = ()
    """The partitions of a partitioned table the operation recurses to (locked, scanned and
    rewritten like the parent), filled in from the schema."""
    reindexed: bool = False
    """ALTER COLUMN ... TYPE that rewrites no row but rebuilds the column's indexes (another
    operator class), filled in from the schema."""
    nullable_key_columns: tuple[str, ...] = ()
    """Columns of a PRIMARY KEY ... USING INDEX that the schema before it has nullable: PostgreSQL
    sets them NOT NULL, scanning the table (filled in from the schema)."""
    reads: tuple[str, ...] = ()
    """The relations the query of a CREATE VIEW, CREATE MATERIALIZED VIEW or CREATE TABLE AS reads,
    as written (a CTE's name is not one): what the view depends on, dropped with them by CASCADE."""
    read_columns: tuple[str, ...] = ()
    """The column names that query mentions (`*` for a star): a view depends on the columns it reads,
    and is dropped with one (DROP COLUMN ... CASCADE, DROP TYPE ... CASCADE)."""

    def option(self, name: str) -> str | None:
        """The value of option `name` as written, or None when the statement does not give it."""
        return next((value for key, value in self.options if key == name), None)

    def to_json(self) -> dict[str, Any]:
        """The operation as it appears in `StatementReport.operations`: only fields that are set."""
        return _compact(self)

    @property
    def relations(self) -> tuple[str, ...]:
        """Every relation the operation touches, the altered one first."""
        found = [r for r in (self.relation, self.referenced_relation, *self.other_relations, *self.partitions) if r]
        return tuple(dict.fromkeys(found))


def _compact(item: Operation | ColumnSpec) -> dict[str, Any]:
    # No field is a number, so "unset" is exactly "falsy" (None, False, (), ""): keep the set ones
    # (`compress` picks them in C; most of the thirty-odd fields of an operation are unset), then
    # make the few kinds of value that are not plain JSON plain: enums, tuples, column specs.
    result: dict[str, Any] = dict(compress(zip(item._fields, item, strict=True), item))
    enums, lists, specs = _CONVERTED[type(item)]
    for name in enums:
        if name in result:
            result[name] = result[name].value
    for name in lists:
        if name in result:
            result[name] = list(result[name])
    for name in specs:
        if name in result:
            result[name] = [spec.to_json() for spec in result[name]]
    if "options" in result:
        result["options"] = dict(result["options"])
    return result


def _converted_fields(cls: type[Operation] | type[ColumnSpec]) -> tuple[tuple[str, ...], ...]:
    """The fields whose values `_compact` converts, read once from the type hints: (enums, tuples
    of plain values, tuples of column specs)."""
    enums: list[str] = []
    lists: list[str] = []
    specs: list[str] = []
    for name, hint in get_type_hints(cls).items():
        args = get_args(hint)
        if get_origin(hint) is tuple:
            (specs if ColumnSpec in args else lists).append(name)
        elif any(isinstance(t, type) and issubclass(t, Enum) for t in (hint, *args)):
            enums.append(name)
    return tuple(enums), tuple(lists), tuple(specs)


_CONVERTED = {cls: _converted_fields(cls) for cls in (Operation, ColumnSpec)}


def quote_identifier(name: str) -> str:
    """One identifier as SQL writes it: in double quotes, a double quote inside doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_name(dotted: str) -> str:
    """A relation or object name as operations hold it (`public.users`) in SQL: `"public"."users"`."""
    return ".".join(quote_identifier(part) for part in dotted.split("."))


def quote_ident(identifier: str) -> str:
    """One identifier as PostgreSQL's `quote_ident` (quote_identifier in ruleutils.c) prints it: bare
    when it is lower case letters, digits and underscores, not starting with a digit, and no keyword
    other than an unreserved one; else in double quotes, a double quote inside doubled. This is how
    `pg_get_*def`, `format_type` and the server's messages write names."""
    if _PLAIN_IDENTIFIER.fullmatch(identifier) and identifier not in _QUOTED_KEYWORDS:
        return identifier
    return '"' + identifier.replace('"', '""') + '"'


_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_QUOTED_KEYWORDS = frozenset(RESERVED_KEYWORDS | COL_NAME_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS)


_OUTSIDE_TRANSACTION = {
    OperationKind.CREATE_DATABASE,
    OperationKind.DROP_DATABASE,
    OperationKind.ALTER_SYSTEM,
    OperationKind.VACUUM,
}
_OUTSIDE_WHEN_CONCURRENT = {
    OperationKind.CREATE_INDEX,
    OperationKind.DROP_INDEX,
    OperationKind.REINDEX,
    OperationKind.DETACH_PARTITION,
}

MAY_RUN_OUTSIDE_TRANSACTION = frozenset(
    _OUTSIDE_TRANSACTION | _OUTSIDE_WHEN_CONCURRENT | {OperationKind.ADD_ENUM_VALUE, OperationKind.REINDEX}
)
"""The kinds for which `runs_outside_transaction` can be true (on some version, with some flags)."""


def runs_outside_transaction(operation: Operation, pg_version: int | None = None) -> bool:
    """True when PostgreSQL refuses to run the operation inside a transaction block.

    Such statements fail under drizzle-orm's migrator, which wraps every migration in one
    transaction; an apply that knows this must run them on their own, in autocommit. With a
    `pg_version` before 12, `ALTER TYPE ... ADD VALUE` is one of them too.
    """
    if operation.kind in _OUTSIDE_TRANSACTION:
        return True
    if operation.kind is OperationKind.ADD_ENUM_VALUE and pg_version is not None and pg_version < 12:
        return True
    if operation.kind is OperationKind.REINDEX and operation.detail in ("schema", "system", "database"):
        return True
    return operation.concurrently and operation.kind in _OUTSIDE_WHEN_CONCURRENT
