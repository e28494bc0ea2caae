"""Typed changes: what `diff(a, b)` finds between two schemas, one small immutable class per kind.

Each change names its objects by their keys in the schema model (`relation_key`: `users`,
`app.users`; columns, constraints, triggers and policies by their own name within their table) and
carries the model's parts it needs to be rendered (`policies.schema.ddl`), judged for data loss
(`policies.schema.losses`) or reported. After the renames of a diff, every name is the one in `b`.

The kinds follow Atlas's `sql/schema` changes (`AddColumn`, `DropTable`, `RenameIndex`, ...),
extended to every object of the model. The module is long because it is a catalogue: one class per
kind, each a few lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.schema.model import (
    Column,
    CompositeType,
    Constraint,
    Domain,
    DomainConstraint,
    Extension,
    Function,
    Identity,
    Index,
    ObjectKey,
    RlsPolicy,
    Sequence,
    SequenceOptions,
    Table,
    Trigger,
)


@dataclass(frozen=True, slots=True)
class Change:
    """The base of every typed change."""


# -- schemas and extensions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateSchema(Change):
    """`CREATE SCHEMA name`."""

    name: str


@dataclass(frozen=True, slots=True)
class DropSchema(Change):
    """`DROP SCHEMA name` (its objects are dropped by their own changes first)."""

    name: str


@dataclass(frozen=True, slots=True)
class RenameSchema(Change):
    """`ALTER SCHEMA old RENAME TO new`."""

    old: str
    new: str


@dataclass(frozen=True, slots=True)
class CreateExtension(Change):
    """`CREATE EXTENSION name WITH SCHEMA s VERSION 'v'`."""

    extension: Extension


@dataclass(frozen=True, slots=True)
class DropExtension(Change):
    """`DROP EXTENSION name`."""

    extension: Extension


@dataclass(frozen=True, slots=True)
class UpdateExtension(Change):
    """`ALTER EXTENSION name UPDATE TO 'version'` (PostgreSQL needs an update script for the path)."""

    name: str
    version: str


@dataclass(frozen=True, slots=True)
class SetExtensionSchema(Change):
    """`ALTER EXTENSION name SET SCHEMA schema`."""

    name: str
    schema: str


# -- enums, domains and composite types ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateEnum(Change):
    """`CREATE TYPE name AS ENUM (values...)`."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DropEnum(Change):
    """`DROP TYPE name` of an enum."""

    name: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AddEnumValue(Change):
    """`ALTER TYPE name ADD VALUE 'value' [BEFORE 'x' | AFTER 'y']`: at its place in the order."""

    type: str
    value: str
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True, slots=True)
class RenameEnumValue(Change):
    """`ALTER TYPE name RENAME VALUE 'old' TO 'new'` (PostgreSQL 10+)."""

    type: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class RebuildEnum(Change):
    """An enum whose values cannot be reached by adding and renaming (a value removed, the order
    changed): `ALTER TYPE name RENAME TO old_name; CREATE TYPE name AS ENUM (values...)`. The
    columns of the type are converted by `AlterColumnType` changes and `DropEnum(old_name)` ends it.

    `removed` are the values of the old type that the new one lacks: rows holding one cannot be
    converted.
    """

    name: str
    values: tuple[str, ...]
    old_name: str
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RebuildDomain(Change):
    """A domain whose base type or collation changes while columns use it: `ALTER DOMAIN name
    RENAME TO old_name; CREATE DOMAIN name ...`; the columns are converted by `AlterColumnType`
    changes and `DropDomain(old_name)` ends it."""

    domain: Domain
    old_name: str
    old_base_type: str = ""


@dataclass(frozen=True, slots=True)
class RebuildComposite(Change):
    """A composite type whose attributes cannot be reached by adding, dropping and altering them
    in place while columns use it: `ALTER TYPE name RENAME TO old_name; CREATE TYPE name AS (...)`;
    the columns are converted attribute by attribute (`AlterColumnType` with a `ROW(...)` USING)
    and `DropComposite(old_name)` ends it. `removed` are the attributes the new type lacks."""

    composite: CompositeType
    old_name: str
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RenameType(Change):
    """`ALTER TYPE old RENAME TO new` (`ALTER DOMAIN` for a domain; `SET SCHEMA` across schemas).

    `kind` is `enum`, `composite` or `domain`."""

    old: str
    new: str
    kind: str = "enum"


@dataclass(frozen=True, slots=True)
class CreateDomain(Change):
    """`CREATE DOMAIN name AS base [COLLATE] [DEFAULT] [NOT NULL] [CONSTRAINT c CHECK ...]`."""

    domain: Domain


@dataclass(frozen=True, slots=True)
class DropDomain(Change):
    """`DROP DOMAIN name`."""

    name: str


@dataclass(frozen=True, slots=True)
class SetDomainDefault(Change):
    """`ALTER DOMAIN name SET DEFAULT expr`, or `DROP DEFAULT` when `default` is None."""

    name: str
    default: str | None


@dataclass(frozen=True, slots=True)
class SetDomainNotNull(Change):
    """`ALTER DOMAIN name SET NOT NULL` or `DROP NOT NULL`."""

    name: str
    not_null: bool


@dataclass(frozen=True, slots=True)
class AddDomainConstraint(Change):
    """`ALTER DOMAIN name ADD CONSTRAINT c <definition>` (`NOT VALID` kept from the definition)."""

    domain: str
    constraint: DomainConstraint


@dataclass(frozen=True, slots=True)
class DropDomainConstraint(Change):
    """`ALTER DOMAIN name DROP CONSTRAINT c`."""

    domain: str
    name: str


@dataclass(frozen=True, slots=True)
class ValidateDomainConstraint(Change):
    """`ALTER DOMAIN name VALIDATE CONSTRAINT c`."""

    domain: str
    name: str


@dataclass(frozen=True, slots=True)
class CreateComposite(Change):
    """`CREATE TYPE name AS (attribute type [COLLATE c], ...)`."""

    composite: CompositeType


@dataclass(frozen=True, slots=True)
class DropComposite(Change):
    """`DROP TYPE name` of a composite type."""

    name: str


@dataclass(frozen=True, slots=True)
class AddAttribute(Change):
    """`ALTER TYPE name ADD ATTRIBUTE attribute type [COLLATE c]` (lands last)."""

    type: str
    attribute: str
    data_type: str
    collation: str | None = None


@dataclass(frozen=True, slots=True)
class DropAttribute(Change):
    """`ALTER TYPE name DROP ATTRIBUTE attribute`."""

    type: str
    attribute: str


@dataclass(frozen=True, slots=True)
class AlterAttributeType(Change):
    """`ALTER TYPE name ALTER ATTRIBUTE attribute SET DATA TYPE type [COLLATE c]`."""

    type: str
    attribute: str
    data_type: str
    collation: str | None = None


# -- sequences -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateSequence(Change):
    """`CREATE SEQUENCE name AS type INCREMENT BY ... START WITH ...` (its owner is a
    `SetSequenceOwner` once the column exists)."""

    sequence: Sequence


@dataclass(frozen=True, slots=True)
class DropSequence(Change):
    """`DROP SEQUENCE name`: its current value is lost."""

    sequence: Sequence


@dataclass(frozen=True, slots=True)
class AlterSequence(Change):
    """`ALTER SEQUENCE name AS type INCREMENT BY ...`: the options that differ from `old` (all of
    them when `old` is not known)."""

    name: str
    options: SequenceOptions
    old: SequenceOptions | None = None


@dataclass(frozen=True, slots=True)
class SetSequenceOwner(Change):
    """`ALTER SEQUENCE name OWNED BY table.column`, or `OWNED BY NONE`."""

    name: str
    owned_by: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class RenameSequence(Change):
    """`ALTER SEQUENCE old RENAME TO new` (`SET SCHEMA` across schemas)."""

    old: str
    new: str


@dataclass(frozen=True, slots=True)
class MoveSequencePast(Change):
    """`SELECT setval(sequence, greatest(max(column), start), ...) FROM table`: a sequence made (or
    made again) to feed a column of a table that existed before, a serial's or an identity's, starts
    at its START while the rows already hold values from it; this moves it past the column's
    highest value (lowest for a descending one), computed from the rows when it runs, and leaves it
    at START, not yet called, for an empty table. The sequence's position is data, not schema.

    `columns` are the (table, column) pairs it feeds, usually one (a sequence shared by several
    columns is moved past all of them at once); `sequence` is the sequence's key, or None for the
    one column's identity sequence (which `pg_get_serial_sequence` names)."""

    columns: tuple[tuple[str, str], ...]
    sequence: str | None = None
    start: int = 1
    ascending: bool = True


# -- tables, views and partitions ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateTable(Change):
    """`CREATE TABLE name (columns...) [PARTITION BY ...]`, or `CREATE TABLE name PARTITION OF
    parent FOR VALUES ...` for a partition. Constraints and indexes are changes of their own."""

    table: Table


@dataclass(frozen=True, slots=True)
class DropTable(Change):
    """`DROP TABLE name` (its indexes, constraints, triggers, policies, owned sequences and
    partitions go with it)."""

    table: Table


@dataclass(frozen=True, slots=True)
class RenameTable(Change):
    """`ALTER TABLE old RENAME TO new` for a table, view or materialized view (`kind`), with `SET
    SCHEMA` when the schema changes."""

    old: str
    new: str
    kind: str = "table"


@dataclass(frozen=True, slots=True)
class AttachPartition(Change):
    """`ALTER TABLE parent ATTACH PARTITION partition FOR VALUES ...`."""

    parent: str
    partition: str
    bound: str


@dataclass(frozen=True, slots=True)
class DetachPartition(Change):
    """`ALTER TABLE parent DETACH PARTITION partition`."""

    parent: str
    partition: str


@dataclass(frozen=True, slots=True)
class SetLogged(Change):
    """`ALTER TABLE name SET LOGGED` or `SET UNLOGGED` (rewrites the table)."""

    table: str
    logged: bool


@dataclass(frozen=True, slots=True)
class SetStorageOptions(Change):
    """`ALTER TABLE name SET (option=value, ...)` and `RESET (option, ...)`; `kind` as in
    `Table.kind` (views have options too: `security_barrier`, `check_option`)."""

    table: str
    set: tuple[str, ...] = ()
    reset: tuple[str, ...] = ()
    kind: str = "table"


@dataclass(frozen=True, slots=True)
class SetRowSecurity(Change):
    """`ALTER TABLE name ENABLE ROW LEVEL SECURITY` or `DISABLE`."""

    table: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class SetForceRowSecurity(Change):
    """`ALTER TABLE name FORCE ROW LEVEL SECURITY` or `NO FORCE`."""

    table: str
    forced: bool


@dataclass(frozen=True, slots=True)
class CreateView(Change):
    """`CREATE VIEW name [WITH (options)] AS query`, or `CREATE MATERIALIZED VIEW name AS query`
    (the view's `Table`, `kind` `view` or `materialized_view`)."""

    view: Table


@dataclass(frozen=True, slots=True)
class DropView(Change):
    """`DROP VIEW name` or `DROP MATERIALIZED VIEW name`."""

    view: Table


# -- columns ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddColumn(Change):
    """`ALTER TABLE t ADD COLUMN name type [COLLATE] [GENERATED ...] [DEFAULT] [NOT NULL]` (lands
    last)."""

    table: str
    column: Column


@dataclass(frozen=True, slots=True)
class DropColumn(Change):
    """`ALTER TABLE t DROP COLUMN name`: its values are lost (the column of `a`)."""

    table: str
    column: Column


@dataclass(frozen=True, slots=True)
class RenameColumn(Change):
    """`ALTER TABLE t RENAME COLUMN old TO new`: the values stay."""

    table: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class AlterColumnType(Change):
    """`ALTER TABLE t ALTER COLUMN c TYPE new [COLLATE x] [USING expr]`.

    `using` is the whole USING expression when PostgreSQL needs one (`c::integer`,
    `c::text::status`); None when the assignment cast converts the values.
    """

    table: str
    column: str
    old_type: str
    new_type: str
    using: str | None = None
    collation: str | None = None


@dataclass(frozen=True, slots=True)
class SetColumnCollation(Change):
    """`ALTER TABLE t ALTER COLUMN c TYPE type COLLATE x`: the type stays, the collation changes
    (None: the type's default collation)."""

    table: str
    column: str
    type: str
    collation: str | None


@dataclass(frozen=True, slots=True)
class SetColumnDefault(Change):
    """`ALTER TABLE t ALTER COLUMN c SET DEFAULT expr`."""

    table: str
    column: str
    default: str


@dataclass(frozen=True, slots=True)
class DropColumnDefault(Change):
    """`ALTER TABLE t ALTER COLUMN c DROP DEFAULT`."""

    table: str
    column: str


@dataclass(frozen=True, slots=True)
class SetNotNull(Change):
    """`ALTER TABLE t ALTER COLUMN c SET NOT NULL` (scans the table); with `name` (PostgreSQL 18:
    a NOT NULL constraint whose name is not the default, `Column.not_null_name`),
    `ALTER TABLE t ADD CONSTRAINT name NOT NULL c`."""

    table: str
    column: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class DropNotNull(Change):
    """`ALTER TABLE t ALTER COLUMN c DROP NOT NULL`."""

    table: str
    column: str


@dataclass(frozen=True, slots=True)
class AddIdentity(Change):
    """`ALTER TABLE t ALTER COLUMN c ADD GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY (SEQUENCE
    NAME s ...)`."""

    table: str
    column: str
    identity: Identity
    column_type: str = "integer"
    """The column's type: the range of the identity's sequence, so its default limits."""


@dataclass(frozen=True, slots=True)
class DropIdentity(Change):
    """`ALTER TABLE t ALTER COLUMN c DROP IDENTITY`: its sequence and current value go."""

    table: str
    column: str
    identity: Identity


@dataclass(frozen=True, slots=True)
class SetIdentityGeneration(Change):
    """`ALTER TABLE t ALTER COLUMN c SET GENERATED { ALWAYS | BY DEFAULT }`."""

    table: str
    column: str
    always: bool


@dataclass(frozen=True, slots=True)
class AlterIdentityOptions(Change):
    """`ALTER TABLE t ALTER COLUMN c SET INCREMENT BY ... SET START WITH ...`: the identity
    sequence's options that differ from `old`."""

    table: str
    column: str
    options: SequenceOptions
    old: SequenceOptions


@dataclass(frozen=True, slots=True)
class SetGeneratedExpression(Change):
    """A generated column's expression changes: `ALTER TABLE t ALTER COLUMN c SET EXPRESSION AS
    (expr)` from PostgreSQL 17; before, the column is dropped and added again (it then lands last).

    `column` is the column of `b` (its `default` is the expression); `indexes` and `constraints`
    those of `b` on the column, made again when it is."""

    table: str
    column: Column
    old_expression: str | None = None
    indexes: tuple[Index, ...] = ()
    constraints: tuple[Constraint, ...] = ()


@dataclass(frozen=True, slots=True)
class ColumnOrder(Change):
    """No ALTER can give the table its columns in `wanted` order: `result` is the order the changes
    leave (a column added again lands last). It renders no SQL but a note."""

    table: str
    wanted: tuple[str, ...]
    result: tuple[str, ...]


# -- constraints and indexes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddConstraint(Change):
    """`ALTER TABLE t ADD CONSTRAINT name <pg_get_constraintdef>` (NOT VALID kept)."""

    table: str
    constraint: Constraint


@dataclass(frozen=True, slots=True)
class DropConstraint(Change):
    """`ALTER TABLE t DROP CONSTRAINT name` (the constraint of `a`; its index goes with it)."""

    table: str
    constraint: Constraint


@dataclass(frozen=True, slots=True)
class RenameNotNull(Change):
    """`ALTER TABLE t RENAME CONSTRAINT old TO new` of a column's NOT NULL constraint: PostgreSQL 18
    names them (`Column.not_null_name`); nothing before 18, where they have no name."""

    table: str
    column: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class RenameConstraint(Change):
    """`ALTER TABLE t RENAME CONSTRAINT old TO new` (an index behind it is renamed with it)."""

    table: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class ValidateConstraint(Change):
    """`ALTER TABLE t VALIDATE CONSTRAINT name`."""

    table: str
    name: str


@dataclass(frozen=True, slots=True)
class CreateIndex(Change):
    """`pg_get_indexdef` of the index: a whole `CREATE [UNIQUE] INDEX ...`."""

    index: Index


@dataclass(frozen=True, slots=True)
class DropIndex(Change):
    """`DROP INDEX name`."""

    index: Index


@dataclass(frozen=True, slots=True)
class RenameIndex(Change):
    """`ALTER INDEX old RENAME TO new`."""

    old: str
    new: str


# -- functions, triggers and row-level security ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateFunction(Change):
    """`pg_get_functiondef`: a whole `CREATE OR REPLACE FUNCTION` (or PROCEDURE)."""

    function: Function


@dataclass(frozen=True, slots=True)
class ReplaceFunction(Change):
    """The same signature, another body or attribute: `CREATE OR REPLACE` with the new definition."""

    function: Function
    old: Function


@dataclass(frozen=True, slots=True)
class DropFunction(Change):
    """`DROP FUNCTION name(arguments)` (PROCEDURE, AGGREGATE by `kind`)."""

    function: Function


@dataclass(frozen=True, slots=True)
class CreateTrigger(Change):
    """`pg_get_triggerdef`: a whole `CREATE TRIGGER`, then its enabled state when not the default."""

    trigger: Trigger


@dataclass(frozen=True, slots=True)
class DropTrigger(Change):
    """`DROP TRIGGER name ON table`."""

    trigger: Trigger


@dataclass(frozen=True, slots=True)
class RenameTrigger(Change):
    """`ALTER TRIGGER old ON table RENAME TO new`."""

    table: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class SetTriggerEnabled(Change):
    """`ALTER TABLE t { ENABLE | DISABLE | ENABLE REPLICA | ENABLE ALWAYS } TRIGGER name`
    (`enabled` is `tgenabled`: O, D, R, A)."""

    trigger: Trigger
    enabled: str


@dataclass(frozen=True, slots=True)
class CreatePolicy(Change):
    """`CREATE POLICY name ON t AS {PERMISSIVE|RESTRICTIVE} FOR cmd TO roles USING (...) WITH CHECK (...)`."""

    policy: RlsPolicy


@dataclass(frozen=True, slots=True)
class DropPolicy(Change):
    """`DROP POLICY name ON t`."""

    policy: RlsPolicy


@dataclass(frozen=True, slots=True)
class AlterPolicy(Change):
    """`ALTER POLICY name ON t TO roles USING (...) WITH CHECK (...)`: roles or expressions change."""

    policy: RlsPolicy
    old: RlsPolicy


@dataclass(frozen=True, slots=True)
class RenamePolicy(Change):
    """`ALTER POLICY old ON t RENAME TO new`."""

    table: str
    old: str
    new: str


# -- comments and privileges -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetComment(Change):
    """`COMMENT ON <kind> <name> IS 'text'`, or `IS NULL` when `comment` is None."""

    target: ObjectKey
    comment: str | None


@dataclass(frozen=True, slots=True)
class Grant(Change):
    """`GRANT privileges ON target TO grantee [WITH GRANT OPTION]` (`grantee` empty: PUBLIC).

    `privileges` are `aclitem` letters (`r` SELECT, `a` INSERT, `w` UPDATE, `d` DELETE,
    `D` TRUNCATE, `x` REFERENCES, `t` TRIGGER, `m` MAINTAIN, `U` USAGE; ddl-priv.html)."""

    target: ObjectKey
    grantee: str
    privileges: str
    grant_option: bool = False


@dataclass(frozen=True, slots=True)
class Revoke(Change):
    """`REVOKE privileges ON target FROM grantee` (`grant_option` only: `REVOKE GRANT OPTION FOR`)."""

    target: ObjectKey
    grantee: str
    privileges: str
    grant_option: bool = False
