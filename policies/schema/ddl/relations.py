"""SQL of the changes to tables, views, partitions, columns, constraints and indexes.

Each function returns the statements of one change (no trailing semicolon). Definitions come from
the catalog fields of the model: `pg_get_constraintdef` after `ADD CONSTRAINT name`, a whole
`pg_get_indexdef`, `pg_get_viewdef` after `CREATE VIEW name AS`.
"""

from __future__ import annotations

from policies.operations import ConstraintKind
from policies.schema.changes import (
    AddColumn,
    AddConstraint,
    AddIdentity,
    AlterColumnType,
    AlterIdentityOptions,
    AttachPartition,
    CreateIndex,
    CreateTable,
    CreateView,
    DetachPartition,
    DropColumn,
    DropColumnDefault,
    DropConstraint,
    DropIdentity,
    DropIndex,
    DropNotNull,
    DropTable,
    DropView,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameNotNull,
    RenameTable,
    SetColumnCollation,
    SetColumnDefault,
    SetForceRowSecurity,
    SetGeneratedExpression,
    SetIdentityGeneration,
    SetLogged,
    SetNotNull,
    SetRowSecurity,
    SetStorageOptions,
    ValidateConstraint,
)
from policies.schema.ddl.names import bare, collation, qualified, quote_ident
from policies.schema.model import Column, Constraint, Identity, Index, SequenceOptions, Table
from policies.schema.renames import split_key

_TYPE_RANGES = {
    "smallint": (-32768, 32767),
    "integer": (-2147483648, 2147483647),
    "bigint": (-9223372036854775808, 9223372036854775807),
}
"""The range of each sequence type: the defaults of MINVALUE and MAXVALUE (sql-createsequence.html)."""


def sequence_options(options: SequenceOptions, data_type: str | None = None, *, always: bool = False) -> list[str]:
    """CREATE SEQUENCE's options as words, only those that differ from their defaults for the type
    and direction (sql-createsequence.html), all of them with `always`."""
    low, high = _TYPE_RANGES.get(data_type or options.data_type, _TYPE_RANGES["bigint"])
    ascending = options.increment > 0
    minimum, maximum = (1, high) if ascending else (low, -1)
    start = options.minimum if ascending else options.maximum
    words = []
    if always or options.start != start:
        words.append(f"START WITH {options.start}")
    if always or options.increment != 1:
        words.append(f"INCREMENT BY {options.increment}")
    if always or options.minimum != minimum:
        words.append(f"MINVALUE {options.minimum}")
    if always or options.maximum != maximum:
        words.append(f"MAXVALUE {options.maximum}")
    if always or options.cache != 1:
        words.append(f"CACHE {options.cache}")
    if options.cycle:
        words.append("CYCLE")
    elif always:
        words.append("NO CYCLE")
    return words


def changed_sequence_options(new: SequenceOptions, old: SequenceOptions, *, limits: bool = False) -> list[str]:
    """ALTER SEQUENCE's words for the options of `new` that differ from `old` (both limits with
    `limits`: a new data type checks them)."""
    words = []
    if new.start != old.start:
        words.append(f"START WITH {new.start}")
    if new.increment != old.increment:
        words.append(f"INCREMENT BY {new.increment}")
    if limits or new.minimum != old.minimum:
        words.append(f"MINVALUE {new.minimum}")
    if limits or new.maximum != old.maximum:
        words.append(f"MAXVALUE {new.maximum}")
    if new.cache != old.cache:
        words.append(f"CACHE {new.cache}")
    if new.cycle != old.cycle:
        words.append("CYCLE" if new.cycle else "NO CYCLE")
    return words


def identity_clause(identity: Identity, column_type: str) -> str:
    """`GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY (SEQUENCE NAME s ...)`."""
    words = [f"SEQUENCE NAME {qualified(identity.sequence)}"]
    if identity.options is not None:
        words += sequence_options(identity.options, _sequence_type(column_type))
    generation = "ALWAYS" if identity.always else "BY DEFAULT"
    return f"GENERATED {generation} AS IDENTITY ({' '.join(words)})"


def _sequence_type(column_type: str) -> str:
    return {"smallint": "smallint", "int2": "smallint", "bigint": "bigint", "int8": "bigint"}.get(
        column_type.strip().lower(), "integer"
    )


def column_definition(column: Column) -> str:
    """A column as CREATE TABLE and ADD COLUMN write it."""
    parts = [quote_ident(column.name), column.type]
    if column.collation:
        parts.append(f"COLLATE {collation(column.collation)}")
    if column.identity is not None:
        parts.append(identity_clause(column.identity, column.type))
    elif column.generated and column.default is not None:
        parts.append(f"GENERATED ALWAYS AS ({column.default}) STORED")
    elif column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if column.not_null:
        # a name kept from a rename (PostgreSQL 18); before 18 the name is accepted and ignored
        named = f"CONSTRAINT {quote_ident(column.not_null_name)} " if column.not_null_name else ""
        parts.append(f"{named}NOT NULL")
    return " ".join(parts)


def _alter(table: str) -> str:
    return f"ALTER TABLE {qualified(table)}"


def _alter_column(table: str, column: str) -> str:
    return f"ALTER TABLE {qualified(table)} ALTER COLUMN {quote_ident(column)}"


def _kind_word(kind: str) -> str:
    return {"view": "VIEW", "materialized_view": "MATERIALIZED VIEW"}.get(kind, "TABLE")


# -- tables ----------------------------------------------------------------------------------------


def create_table(change: CreateTable) -> list[str]:
    table = change.table
    head = f"CREATE {'UNLOGGED ' if table.unlogged else ''}TABLE {qualified(table.name)}"
    if table.parent and table.partition_bound:
        sql = f"{head} PARTITION OF {qualified(table.parent)} {table.partition_bound}"
    else:
        columns = [column_definition(c) for c in table.columns.values() if not c.inherited]
        body = ",\n    ".join(columns)
        sql = f"{head} (\n    {body}\n)" if columns else f"{head} ()"
    if table.partition_by:
        sql += f" PARTITION BY {table.partition_by}"
    if table.options:
        sql += f" WITH ({', '.join(table.options)})"
    return [sql]


def drop_table(change: DropTable) -> list[str]:
    return [f"DROP TABLE {qualified(change.table.name)}"]


def drop_tables(changes: list[DropTable]) -> list[str]:
    """Tables whose foreign keys reference each other, dropped in one statement."""
    return [f"DROP TABLE {', '.join(qualified(c.table.name) for c in changes)}"]


def rename_table(change: RenameTable) -> list[str]:
    return rename_statements(_kind_word(change.kind), change.old, change.new)


def rename_statements(word: str, old: str, new: str) -> list[str]:
    """RENAME in the old schema, then SET SCHEMA when the schema changes."""
    (old_schema, old_name), (new_schema, new_name) = split_key(old), split_key(new)
    statements = []
    if old_name != new_name:
        statements.append(f"ALTER {word} {qualified(old)} RENAME TO {quote_ident(new_name)}")
    if old_schema != new_schema:
        statements.append(f"ALTER {word} {quote_ident(old_schema)}.{quote_ident(new_name)} SET SCHEMA {quote_ident(new_schema)}")
    return statements


def attach_partition(change: AttachPartition) -> list[str]:
    return [f"{_alter(change.parent)} ATTACH PARTITION {qualified(change.partition)} {change.bound}"]


def detach_partition(change: DetachPartition) -> list[str]:
    return [f"{_alter(change.parent)} DETACH PARTITION {qualified(change.partition)}"]


def set_logged(change: SetLogged) -> list[str]:
    return [f"{_alter(change.table)} SET {'LOGGED' if change.logged else 'UNLOGGED'}"]


def set_storage_options(change: SetStorageOptions) -> list[str]:
    head = f"ALTER {_kind_word(change.kind)} {qualified(change.table)}"
    statements = []
    if change.reset:
        statements.append(f"{head} RESET ({', '.join(change.reset)})")
    if change.set:
        statements.append(f"{head} SET ({', '.join(change.set)})")
    return statements


def set_row_security(change: SetRowSecurity) -> list[str]:
    return [f"{_alter(change.table)} {'ENABLE' if change.enabled else 'DISABLE'} ROW LEVEL SECURITY"]


def set_force_row_security(change: SetForceRowSecurity) -> list[str]:
    return [f"{_alter(change.table)} {'FORCE' if change.forced else 'NO FORCE'} ROW LEVEL SECURITY"]


def create_view(change: CreateView) -> list[str]:
    view = change.view
    query = (view.definition or "").strip().removesuffix(";").rstrip()
    options = f" WITH ({', '.join(view.options)})" if view.options else ""
    if view.kind == "materialized_view":
        return [f"CREATE MATERIALIZED VIEW {qualified(view.name)}{options} AS\n{query}\nWITH DATA"]
    return [f"CREATE VIEW {qualified(view.name)}{options} AS\n{query}"]


def drop_view(change: DropView) -> list[str]:
    return [f"DROP {_kind_word(change.view.kind)} {qualified(change.view.name)}"]


# -- columns ---------------------------------------------------------------------------------------


def add_column(change: AddColumn) -> list[str]:
    return [f"{_alter(change.table)} ADD COLUMN {column_definition(change.column)}"]


def drop_column(change: DropColumn) -> list[str]:
    return [f"{_alter(change.table)} DROP COLUMN {quote_ident(change.column.name)}"]


def rename_column(change: RenameColumn) -> list[str]:
    return [f"{_alter(change.table)} RENAME COLUMN {quote_ident(change.old)} TO {quote_ident(change.new)}"]


def alter_column_type(change: AlterColumnType) -> list[str]:
    sql = f"{_alter_column(change.table, change.column)} TYPE {change.new_type}"
    if change.collation:
        sql += f" COLLATE {collation(change.collation)}"
    if change.using:
        sql += f" USING {change.using}"
    return [sql]


def set_column_collation(change: SetColumnCollation) -> list[str]:
    chosen = collation(change.collation) if change.collation else '"default"'
    return [f"{_alter_column(change.table, change.column)} TYPE {change.type} COLLATE {chosen}"]


def set_column_default(change: SetColumnDefault) -> list[str]:
    return [f"{_alter_column(change.table, change.column)} SET DEFAULT {change.default}"]


def drop_column_default(change: DropColumnDefault) -> list[str]:
    return [f"{_alter_column(change.table, change.column)} DROP DEFAULT"]


def set_not_null(change: SetNotNull, pg_version: int = 18) -> list[str]:
    if change.name is not None and pg_version >= 18:
        name, column = quote_ident(change.name), quote_ident(change.column)
        return [f"{_alter(change.table)} ADD CONSTRAINT {name} NOT NULL {column}"]
    return [f"{_alter_column(change.table, change.column)} SET NOT NULL"]


def rename_not_null(change: RenameNotNull, pg_version: int = 18) -> list[str]:
    if pg_version < 18:  # no name to rename
        return []
    return [f"{_alter(change.table)} RENAME CONSTRAINT {quote_ident(change.old)} TO {quote_ident(change.new)}"]


def drop_not_null(change: DropNotNull) -> list[str]:
    return [f"{_alter_column(change.table, change.column)} DROP NOT NULL"]


def add_identity(change: AddIdentity) -> list[str]:
    clause = identity_clause(change.identity, change.column_type)
    return [f"{_alter_column(change.table, change.column)} ADD {clause}"]


def drop_identity(change: DropIdentity) -> list[str]:
    return [f"{_alter_column(change.table, change.column)} DROP IDENTITY"]


def set_identity_generation(change: SetIdentityGeneration) -> list[str]:
    generation = "ALWAYS" if change.always else "BY DEFAULT"
    return [f"{_alter_column(change.table, change.column)} SET GENERATED {generation}"]


def alter_identity_options(change: AlterIdentityOptions) -> list[str]:
    words = [f"SET {word}" for word in changed_sequence_options(change.options, change.old)]
    return [f"{_alter_column(change.table, change.column)} {' '.join(words)}"] if words else []


def set_generated_expression(change: SetGeneratedExpression, pg_version: int) -> list[str]:
    """SET EXPRESSION from PostgreSQL 17 (sql-altertable.html); before, the column is dropped and
    added again, with the indexes and constraints that go with it."""
    column = change.column
    if pg_version >= 17:
        return [f"{_alter_column(change.table, column.name)} SET EXPRESSION AS ({column.default})"]
    statements = [
        f"{_alter(change.table)} DROP COLUMN {quote_ident(column.name)}",
        f"{_alter(change.table)} ADD COLUMN {column_definition(column)}",
    ]
    for constraint in change.constraints:
        statements += add_constraint(AddConstraint(change.table, constraint))
    for index in change.indexes:
        statements += create_index(CreateIndex(index))
    return statements


# -- constraints and indexes -----------------------------------------------------------------------


def constraint_definition(constraint: Constraint) -> str:
    """`pg_get_constraintdef`, or, for a schema without catalog fields, the definition its columns give."""
    if constraint.definition is not None:
        return constraint.definition
    columns = ", ".join(quote_ident(c) for c in constraint.columns)
    if constraint.kind is ConstraintKind.PRIMARY_KEY:
        return f"PRIMARY KEY ({columns})"
    if constraint.kind is ConstraintKind.UNIQUE:
        return f"UNIQUE ({columns})"
    if constraint.kind is ConstraintKind.FOREIGN_KEY and constraint.referenced_table:
        referenced = ", ".join(quote_ident(c) for c in constraint.referenced_columns)
        return f"FOREIGN KEY ({columns}) REFERENCES {qualified(constraint.referenced_table)}({referenced})"
    raise ValueError(f"constraint {constraint.name} has no definition to write")


def add_constraint(change: AddConstraint) -> list[str]:
    definition = constraint_definition(change.constraint)
    return [f"{_alter(change.table)} ADD CONSTRAINT {quote_ident(change.constraint.name)} {definition}"]


def drop_constraint(change: DropConstraint) -> list[str]:
    return [f"{_alter(change.table)} DROP CONSTRAINT {quote_ident(change.constraint.name)}"]


def rename_constraint(change: RenameConstraint) -> list[str]:
    return [f"{_alter(change.table)} RENAME CONSTRAINT {quote_ident(change.old)} TO {quote_ident(change.new)}"]


def validate_constraint(change: ValidateConstraint) -> list[str]:
    return [f"{_alter(change.table)} VALIDATE CONSTRAINT {quote_ident(change.name)}"]


def index_definition(index: Index) -> str:
    """`pg_get_indexdef`, or, without it, the index its columns give."""
    if index.definition is not None:
        return index.definition
    columns = ", ".join(quote_ident(c) for c in index.columns)
    unique = "UNIQUE " if index.unique else ""
    return f"CREATE {unique}INDEX {bare(index.name)} ON {qualified(index.table)} ({columns})"


def create_index(change: CreateIndex) -> list[str]:
    return [index_definition(change.index)]


def drop_index(change: DropIndex) -> list[str]:
    return [f"DROP INDEX {qualified(change.index.name)}"]


def rename_index(change: RenameIndex) -> list[str]:
    return rename_statements("INDEX", change.old, change.new)


def table_of(change: object) -> Table | None:
    """The table a change carries, if any (for ordering)."""
    value = getattr(change, "table", None) or getattr(change, "view", None)
    return value if isinstance(value, Table) else None
