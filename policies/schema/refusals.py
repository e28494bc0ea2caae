"""Statements PostgreSQL refuses for the schema at hand: certain failures, found before they run.

`refusals(schema, op, pg_version)` gives, for one classified operation and the schema just before
it, the errors PostgreSQL would raise, in PostgreSQL's own words and SQLSTATE (Appendix A,
errcodes-appendix.html), with the fix where there is one. Each claim is held against a real server
in tests/test_refusals_on_postgres.py.

A refusal is only stated when it is certain: the presence of an object is always a fact, its
absence only when the schema is complete (`Schema.knows_absent`). For a statement inside a DO
block the caller leaves out what the block's EXCEPTION handlers catch (`caught`: drizzle's `WHEN
duplicate_object` catches 42710, not the 42804 of a foreign key of mismatched types) and every
refusal of a statement that runs only under IF, CASE or a loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from policies.operations import (
    ConstraintKind,
    Operation,
    OperationKind,
    quote_ident,
    quote_identifier,
    quote_name,
)
from policies.schema.model import Schema, Table, relation_key
from policies.schema.names import bare_name, in_schema_of, object_name
from policies.type_changes import (
    CastVerdict,
    cast_path,
    cast_without_using,
    ends_in_cast_to,
    is_identity_type,
    normalise,
)

K = OperationKind


@dataclass(frozen=True, slots=True)
class Refusal:
    """One error PostgreSQL raises for the statement: SQLSTATE, message and hint as it words them,
    and `fix`, SQL that does what the statement meant where one exists."""

    sqlstate: str
    message: str
    hint: str | None = None
    fix: str | None = None


Check = Callable[[Schema, Operation, int], Iterator[Refusal]]


_CONDITIONS = {
    "duplicate_object": "42710", "duplicate_table": "42P07", "duplicate_column": "42701",
    "duplicate_schema": "42P06", "duplicate_function": "42723", "undefined_object": "42704",
    "undefined_table": "42P01", "undefined_column": "42703", "invalid_table_definition": "42P16",
    "dependent_objects_still_exist": "2BP01", "feature_not_supported": "0A000", "datatype_mismatch": "42804",
    "object_not_in_prerequisite_state": "55000", "syntax_error": "42601", "invalid_parameter_value": "22023",
    "invalid_text_representation": "22P02", "wrong_object_type": "42809", "invalid_foreign_key": "42830",
    "invalid_object_definition": "42P17",
}
"""PL/pgSQL condition names and the SQLSTATE each stands for (errcodes-appendix.html)."""


def caught(refusal: Refusal, conditions: frozenset[str] | None) -> bool:
    """Whether EXCEPTION handlers catching `conditions` catch the refusal's error (a condition the
    table does not know, such as a class or `others`, is taken to catch everything)."""
    if not conditions:
        return False
    return any(_CONDITIONS.get(condition) in (refusal.sqlstate, None) for condition in conditions)


def refusals(schema: Schema, op: Operation, pg_version: int) -> tuple[Refusal, ...]:
    """The errors PostgreSQL raises for `op` on `schema` (empty when none is certain)."""
    check = _CHECKS.get(op.kind)
    return tuple(check(schema, op, pg_version)) if check is not None else ()


def _name(relation: str) -> str:
    """A relation as PostgreSQL's messages name an existing one (RelationGetRelationName): without
    its schema, unquoted."""
    return bare_name(relation)


def _written(relation: str) -> str:
    """A relation as PostgreSQL's messages name a missing one: as the statement wrote it, with its
    schema when it gave one (`relation "app.users" does not exist`), unquoted."""
    return relation.replace('"', "")


def _table_or_missing(schema: Schema, op: Operation) -> Iterator[Refusal | Table]:
    """The table an ALTER TABLE names, or the refusal when it certainly does not exist."""
    table = schema.table(op.relation)
    if table is not None:
        yield table
    elif op.relation and not op.if_exists and schema.knows_absent(op.relation):
        yield Refusal("42P01", f'relation "{_written(op.relation)}" does not exist')


def _existing_table(schema: Schema, op: Operation) -> tuple[Table | None, list[Refusal]]:
    found = list(_table_or_missing(schema, op))
    table = next((t for t in found if isinstance(t, Table)), None)
    return table, [r for r in found if isinstance(r, Refusal)]


def _column_missing(table: Table, column: str, schema: Schema, renaming: bool = False) -> Refusal | None:
    """42703 when the column certainly does not exist; RENAME COLUMN words it without the relation
    (renameatt, tablecmds.c)."""
    if table.column(column) is None and table.complete and schema.complete:
        where = "" if renaming else f' of relation "{_name(table.name)}"'
        return Refusal("42703", f'column "{column}"{where} does not exist')
    return None


# -- columns ------------------------------------------------------------------------------------


def _alter_column_type(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    table, missing = _existing_table(schema, op)
    yield from missing
    if table is None or not op.columns or not op.column_type:
        return
    column = table.column(op.columns[0])
    if column is None:
        found = _column_missing(table, op.columns[0], schema)
        if found:
            yield found
        return
    new = op.column_type
    if column.identity is not None and not is_identity_type(new):
        yield Refusal(
            "22023",
            "identity column type must be smallint, integer, or bigint",
            fix=(
                f"ALTER TABLE {quote_name(table.name)} ALTER COLUMN {quote_identifier(column.name)} DROP IDENTITY;\n"
                f"-- then the type change (with USING where the old values do not cast), and a new default"
            ),
        )
        return
    old_enum, new_enum = schema.enum_values(column.type) is not None, schema.enum_values(new) is not None
    verdict = cast_without_using(column.type, new, old_is_enum=old_enum, new_is_enum=new_enum)
    if verdict is not CastVerdict.NEEDS_USING:
        return
    table_sql, column_sql = quote_name(table.name), quote_identifier(column.name)
    statement = f"ALTER TABLE {table_sql} ALTER COLUMN {column_sql} SET DATA TYPE {_type_sql(new)}"
    via = cast_path(column.type, new, old_enum, new_enum, pg_version)
    using = f" USING {op.using}" if op.using else f" USING {column_sql}{via}::{_type_sql(new)}" if via is not None else None
    # The column's default is converted too, with the casts allowed without USING (ATPrepAlterColumnType):
    # a default of the old type has to be dropped first and set again in the new type.
    default = column.default if column.default and column.sequence is None and column.identity is None else None
    if default is not None and ends_in_cast_to(default, new):
        default = None  # already of the new type (drizzle-kit sets `'x'::new_enum` first): the text cast is stripped
    if using is None:
        fix = (
            f"-- PostgreSQL has no cast from {_format_type(column.type)} to {_format_type(new)}: "
            f"write the conversion of each value in USING, or add a new column and fill it\n-- {statement} USING ...;"
        )
    elif default is not None:
        fix = (
            f"ALTER TABLE {table_sql} ALTER COLUMN {column_sql} DROP DEFAULT;\n{statement}{using};\n"
            f"ALTER TABLE {table_sql} ALTER COLUMN {column_sql} SET DEFAULT ({default})::{_type_sql(new)};"
        )
    else:
        fix = f"{statement}{using};"
    if op.using is None:
        yield Refusal(
            "42804",
            f'column "{column.name}" cannot be cast automatically to type {_format_type(new)}',
            hint=f'You might need to specify "USING {quote_ident(column.name)}::{_format_type(new, typmod=True)}".',
            fix=fix,
        )
    elif default is not None:
        yield Refusal(
            "42804", f'default for column "{column.name}" cannot be cast automatically to type {_format_type(new)}', fix=fix
        )


_FORMAT_NAMES = {
    "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real", "float8": "double precision",
    "bool": "boolean", "varchar": "character varying", "bpchar": "character", "varbit": "bit varying",
    "timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
    "time": "time without time zone", "timetz": "time with time zone",
}
"""The built-in types whose names format_type (format_type.c) prints in SQL's words."""


def _format_type(type_text: str, typmod: bool = False) -> str:
    """A type as PostgreSQL's messages print it: format_type_be (`numeric`, `character varying`,
    `app.level`) or, with `typmod`, format_type_with_typemod (`numeric(10,2)`), the form of its hints."""
    dims = 0
    text = type_text.strip()
    while text.endswith("[]"):
        text, dims = text[:-2].rstrip(), dims + 1
    normalised = normalise(text)
    base, paren, rest = normalised.partition("(")
    if base in _KNOWN_TYPES and "." not in base:
        modifiers = "(" + rest if paren and typmod else ""
        name = _FORMAT_NAMES.get(base, base)
        if base == "bpchar" and typmod and not modifiers:
            name = "bpchar"  # bpchar without a length is not character(1)
        elif modifiers and name.endswith(" time zone"):
            head, _, zone = name.partition(" with")
            name = f"{head}{modifiers} with{zone}"
            modifiers = ""
        return name + modifiers + "[]" * dims
    parts = [part.strip().strip('"') for part in text.split("(")[0].split(".")]
    if len(parts) == 2 and parts[0] == "public":
        parts = parts[1:]  # visible on the default search path: printed without its schema
    return ".".join(quote_ident(part) for part in parts) + "[]" * dims


_KNOWN_TYPES = frozenset({
    *_FORMAT_NAMES, "text", "uuid", "json", "jsonb", "date", "bytea", "inet", "cidr", "numeric", "interval", "bit",
    "money", "xml", "tsvector", "macaddr", "point", "citext",
})


def _type_sql(type_text: str) -> str:
    """A type as SQL: a user type's name quoted (`"public"."account_role"`), a built-in as it is."""
    from policies.expressions import display_type

    base = type_text.removesuffix("[]")
    array = "[]" if type_text.endswith("[]") else ""
    if normalise(base) != base.lower() or "(" in base or base.lower() in _BUILT_IN_WORDS:
        return display_type(type_text)
    return quote_name(base) + array


_BUILT_IN_WORDS = frozenset({
    "text", "uuid", "jsonb", "json", "date", "time", "timestamp", "timestamptz", "bytea", "inet", "cidr",
    "int2", "int4", "int8", "numeric", "varchar", "bpchar", "bool", "float4", "float8", "interval", "citext",
    "money", "xml", "tsvector", "macaddr", "point",
})


def _add_column(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    table, missing = _existing_table(schema, op)
    yield from missing
    if table is None or not op.columns or op.if_not_exists:
        return
    if table.column(op.columns[0]) is not None:
        yield Refusal("42701", f'column "{op.columns[0]}" of relation "{_name(table.name)}" already exists')


def _column_must_exist(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    table, missing = _existing_table(schema, op)
    yield from missing
    if table is None or not op.columns or (op.kind is K.DROP_COLUMN and op.if_exists):
        return
    found = _column_missing(table, op.columns[0], schema, renaming=op.kind is K.RENAME_COLUMN)
    if found:
        yield found
        return
    column = table.column(op.columns[0])
    if column is None:
        return
    if op.kind is K.RENAME_COLUMN and op.new_name and table.column(op.new_name) is not None:
        yield Refusal("42701", f'column "{op.new_name}" of relation "{_name(table.name)}" already exists')
    if op.kind in (K.SET_DEFAULT, K.DROP_DEFAULT) and column.identity is not None:
        yield Refusal(
            "42601", f'column "{column.name}" of relation "{_name(table.name)}" is an identity column',
            hint="Use ALTER TABLE ... ALTER COLUMN ... DROP IDENTITY instead." if op.kind is K.DROP_DEFAULT else None,
        )
    if op.kind is K.SET_DEFAULT and op.default and column.identity is None:
        labels = schema.enum_values(column.type)
        literal = re.fullmatch(r"'((?:[^']|'')*)'(?:::[\w.\"]+)?", op.default.strip())
        if labels is not None and literal is not None and literal.group(1).replace("''", "'") not in labels:
            yield Refusal(
                "22P02", f'invalid input value for enum {_format_type(column.type)}: "{literal.group(1)}"'
            )
    if op.kind is K.DROP_IDENTITY and column.identity is None and not op.if_exists:
        yield Refusal("55000", f'column "{column.name}" of relation "{_name(table.name)}" is not an identity column')
    if op.kind is K.DROP_NOT_NULL:
        primary = table.primary_key()
        if column.identity is not None:
            yield Refusal("42601", f'column "{column.name}" of relation "{_name(table.name)}" is an identity column')
        elif primary is not None and column.name in primary.columns:
            yield Refusal("42P16", f'column "{column.name}" is in a primary key')
    if op.kind is K.DROP_COLUMN and not op.cascade:
        key = relation_key(table.name)
        for other, constraint in schema.referencing(table.name):
            if column.name in constraint.referenced_columns and relation_key(other.name) != key:
                yield _depended_on(
                    f"column {column.name} of table {_name(table.name)}",
                    f"-- drop the foreign key {quote_identifier(constraint.name)} of {quote_name(other.name)} first",
                )
                return


def _add_identity(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    table, missing = _existing_table(schema, op)
    yield from missing
    if table is None or not op.columns:
        return
    column = table.column(op.columns[0])
    if op.detail != "AddIdentity":  # SET GENERATED, RESTART, SET <sequence option>
        if column is not None and column.identity is None:
            yield Refusal("55000", f'column "{column.name}" of relation "{_name(table.name)}" is not an identity column')
        return
    if column is None:
        found = _column_missing(table, op.columns[0], schema)
        if found:
            yield found
        return
    where = f'column "{column.name}" of relation "{_name(table.name)}"'
    if not is_identity_type(column.type):
        yield Refusal("22023", "identity column type must be smallint, integer, or bigint")
        return
    # The identity's sequence is created before the column is looked at (transformAlterTableStmt
    # runs CREATE SEQUENCE first): a taken name fails before the column's own state is checked.
    sequence = op.option("sequence_name")
    qualified = (in_schema_of(table.name, sequence) if "." not in sequence else sequence) if sequence else None
    if qualified is not None and schema.relation_exists(qualified):
        owner = schema.sequences.get(relation_key(qualified))
        serial = owner is not None and owner.owned_by == (relation_key(table.name), column.name) and column.identity is None
        drop = (
            f"ALTER TABLE {quote_name(table.name)} ALTER COLUMN {quote_identifier(column.name)} DROP DEFAULT;\n"
            f"DROP SEQUENCE {quote_name(relation_key(qualified))};\n"
        )
        yield Refusal(
            "42P07",
            f'relation "{bare_name(qualified)}" already exists',
            fix=(
                f"{drop}-- then ADD GENERATED ... AS IDENTITY, and move the new sequence past the values "
                "the column holds (see SW408)"
                if serial
                else "-- name another sequence, or leave `sequence name` out and PostgreSQL picks a free one"
            ),
        )
        return
    # ATExecAddIdentity (tablecmds.c): all three are 55000, object_not_in_prerequisite_state
    if not column.not_null:
        yield Refusal("55000", f"{where} must be declared NOT NULL before identity can be added")
    elif column.identity is not None:
        yield Refusal("55000", f"{where} is already an identity column")
    elif column.default is not None or column.sequence is not None:
        yield Refusal("55000", f"{where} already has a default value")


# -- constraints and indexes ----------------------------------------------------------------------


def _add_key(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    table, missing = _existing_table(schema, op)
    yield from missing
    if table is None:
        return
    absent = _missing_columns(schema, table, () if op.using_index else op.columns)
    if absent:
        yield Refusal("42703", f'column "{absent[0]}" named in key does not exist')
        return
    if op.kind is K.ADD_PRIMARY_KEY and table.primary_key() is not None and not op.inline:
        yield Refusal("42P16", f'multiple primary keys for table "{_name(table.name)}" are not allowed')
    if op.name and not op.inline and not op.using_index:
        # the key's index takes the constraint's name: index_create checks the relation name first
        if schema.relation_exists(in_schema_of(table.name, op.name)):
            yield Refusal("42P07", f'relation "{op.name}" already exists')
        elif op.name in table.constraints:
            yield Refusal("42710", f'constraint "{op.name}" for relation "{_name(table.name)}" already exists')
    if table.partitioned:
        if op.using_index:
            yield Refusal("0A000", "ALTER TABLE / ADD CONSTRAINT USING INDEX is not supported on partitioned tables")
        elif table.partition_key and op.kind in (K.ADD_PRIMARY_KEY, K.ADD_UNIQUE):
            lacking = [c for c in table.partition_key if c not in op.columns and c != "(expression)"]
            if lacking:
                yield Refusal("0A000", "unique constraint on partitioned table must include all partitioning columns")
    if op.using_index:
        index = schema.indexes.get(relation_key(in_schema_of(table.name, op.using_index)))
        if index is not None and not index.unique:
            yield Refusal("42809", f'"{op.using_index}" is not a unique index')


def _add_foreign_key(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    table, missing = _existing_table(schema, op)
    yield from missing
    if table is None or not op.referenced_relation:
        return
    if op.name and op.name in table.constraints and not op.inline:
        yield Refusal("42710", f'constraint "{op.name}" for relation "{_name(table.name)}" already exists')
    if op.not_valid and table.partitioned and pg_version < 18:
        yield Refusal(
            "42809",
            f'cannot add NOT VALID foreign key on partitioned table "{_name(table.name)}" referencing relation '
            f'"{_name(op.referenced_relation)}"',
        )
    referenced = schema.table(op.referenced_relation)
    if referenced is None:
        if schema.knows_absent(op.referenced_relation):
            yield Refusal("42P01", f'relation "{_written(op.referenced_relation)}" does not exist')
        return
    primary = referenced.primary_key()
    columns = op.referenced_columns or (primary.columns if primary is not None else ())
    absent = _missing_columns(schema, table, op.columns) or _missing_columns(schema, referenced, op.referenced_columns)
    if absent:
        yield Refusal("42703", f'column "{absent[0]}" referenced in foreign key constraint does not exist')
        return
    if not referenced.complete:
        return
    if not columns:  # transformFkeyGetPrimaryKey: undefined_object
        yield Refusal("42704", f'there is no primary key for referenced table "{_name(referenced.name)}"')
        return
    if not any(set(key) == set(columns) for key in schema.unique_keys(referenced.name)):
        yield Refusal(
            "42830", f'there is no unique constraint matching given keys for referenced table "{_name(referenced.name)}"'
        )
        return
    for own, other in zip(op.columns, columns, strict=False):
        mine, theirs = table.column(own), referenced.column(other)
        if mine is None or theirs is None:
            continue
        if _incompatible(mine.type, theirs.type, schema):
            yield Refusal(
                "42804",
                f'foreign key constraint "{op.name or _foreign_key_name(schema, table, op.columns)}" cannot be implemented',
                hint=None,
                fix=f'-- key columns "{own}" and "{other}" are of incompatible types: give them one type',
            )
            return


def _foreign_key_name(schema: Schema, table: Table, columns: tuple[str, ...]) -> str:
    """The name PostgreSQL gives an unnamed foreign key (ChooseConstraintName): `<table>_<columns>_fkey`,
    with a number after `fkey` when a constraint of the schema has that name."""
    namespace = table.name.rpartition(".")[0]
    taken = {
        name
        for other in schema.tables.values()
        if other.name.rpartition(".")[0] == namespace
        for name in other.constraints
    }
    own, number = bare_name(table.name), 0
    name = object_name(own, columns, "fkey")
    while name in taken:
        number += 1
        name = object_name(own, columns, f"fkey{number}")
    return name


_FAMILIES = {
    "int2": "integer", "int4": "integer", "int8": "integer", "numeric": "integer", "float4": "integer",
    "float8": "integer", "text": "string", "varchar": "string", "bpchar": "string", "citext": "string",
    "uuid": "uuid", "date": "datetime", "timestamp": "datetime", "timestamptz": "datetime", "bool": "bool",
    "jsonb": "jsonb", "bytea": "bytea",
}
"""Families of types between which PostgreSQL has equality operators a foreign key can use (int4 and
int8 compare, text and varchar compare; uuid and text do not)."""


def _incompatible(a: str, b: str, schema: Schema) -> bool:
    """Both types are known and no equality operator joins them (foreign key 42804)."""
    first, second = normalise(a).split("(")[0], normalise(b).split("(")[0]
    if first == second:
        return False
    families = _FAMILIES.get(first), _FAMILIES.get(second)
    if None in families:
        return False  # an enum, a domain, an extension type: not judged
    return families[0] != families[1]


def _missing_columns(schema: Schema, table: Table, columns: tuple[str, ...]) -> list[str]:
    """The plain columns among `columns` that the table certainly does not have."""
    if not (table.complete and schema.complete):
        return []
    return [c for c in columns if c != "(expression)" and table.column(c) is None]


def _create_index(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    table, missing = _existing_table(schema, op)
    yield from missing
    if table is None:
        return
    absent = _missing_columns(schema, table, op.columns)
    if absent:
        yield Refusal("42703", f'column "{absent[0]}" does not exist')
        return
    if op.name and not op.if_not_exists and schema.relation_exists(in_schema_of(table.name, op.name)):
        yield Refusal("42P07", f'relation "{op.name}" already exists')
    if table.partitioned and op.concurrently:
        yield Refusal("0A000", f'cannot create index on partitioned table "{_name(table.name)}" concurrently')
    if table.partitioned and op.unique and table.partition_key:
        lacking = [c for c in table.partition_key if c not in op.columns and c != "(expression)"]
        if lacking:
            yield Refusal("0A000", "unique constraint on partitioned table must include all partitioning columns")


def _drop_constraint(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    table, missing = _existing_table(schema, op)
    yield from missing
    if table is None or not op.name or op.if_exists or op.name in table.constraints:
        return
    if not (table.complete and schema.complete):
        return
    if table.parent is not None:
        # a partition holds its parent's foreign keys and checks under their names (cloned, inherited),
        # and keys under names the model does not hold
        if op.kind is K.DROP_CONSTRAINT and _inherited(schema, table, op.name):
            yield Refusal(
                "42P16", f'cannot drop inherited constraint "{op.name}" of relation "{_name(table.name)}"',
                fix=f"-- drop it on the partitioned table: ALTER TABLE {quote_name(table.parent)} DROP CONSTRAINT "
                f"{quote_identifier(op.name)};",
            )
        return
    if table.unnamed_constraints and _chosen_name(op.name):
        return  # perhaps the name PostgreSQL gave an unnamed constraint (with a number the model did not guess)
    if pg_version >= 18 and re.search(r"_not_null\d*$", op.name):
        return  # NOT NULL is a named constraint from 18 on (`<table>_<column>_not_null`): not in the model
    yield Refusal("42704", f'constraint "{op.name}" of relation "{_name(table.name)}" does not exist')


def _inherited(schema: Schema, table: Table, name: str) -> bool:
    """Whether an ancestor of partition `table` has a foreign key or CHECK named `name`."""
    parent = schema.table(table.parent)
    while parent is not None:
        found = parent.constraints.get(name)
        if found is not None and found.kind in (ConstraintKind.FOREIGN_KEY, ConstraintKind.CHECK):
            return True
        parent = schema.table(parent.parent) if parent.parent else None
    return False


def _chosen_name(name: str) -> bool:
    """Whether PostgreSQL could have chosen `name` for an unnamed constraint: it ends in the label of
    its kind (`pkey`, `key`, `fkey`, `check`, `excl`), perhaps with a number (ChooseConstraintName)."""
    return re.search(r"_(pkey|key|fkey|check|excl)\d*$", name) is not None


def _validate(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    yield from _drop_constraint(schema, op._replace(if_exists=False), pg_version)


# -- whole objects -------------------------------------------------------------------------------


def _create_table(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    if op.relation and not op.if_not_exists and schema.relation_exists(op.relation):
        yield Refusal("42P07", f'relation "{_name(op.relation)}" already exists')
        return
    if op.parent:
        parent = schema.table(op.parent)
        if parent is not None and not parent.partitioned and parent.complete:
            yield Refusal("42P17", f'"{_name(op.parent)}" is not partitioned')


def _drop_table(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    table = schema.table(op.relation)
    if table is None:
        if op.relation and not op.if_exists and schema.knows_absent(op.relation):
            yield Refusal("42P01", f'table "{_name(op.relation)}" does not exist')
        return
    if op.cascade:
        return
    key = relation_key(table.name)
    for other, constraint in schema.referencing(table.name):
        if relation_key(other.name) != key:
            yield _depended_on(
                f"table {_name(table.name)}",
                f"-- drop the foreign key {quote_identifier(constraint.name)} of {quote_name(other.name)} first",
            )
            return


def _depended_on(what: str, fix: str) -> Refusal:
    """2BP01: dropping an object that others depend on, without CASCADE."""
    return Refusal(
        "2BP01",
        f"cannot drop {what} because other objects depend on it",
        hint="Use DROP ... CASCADE to drop the dependent objects too.",
        fix=fix,
    )


def _drop_type(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    if not op.name or op.cascade:
        return
    for table, column in schema.uses_type(op.name):
        yield _depended_on(
            f"type {bare_name(relation_key(op.name))}",
            f"-- change the type of {quote_name(table.name)}.{quote_identifier(column.name)} first",
        )
        return


def _drop_sequence(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    if not op.relation or op.cascade:
        return
    key = relation_key(op.relation)
    for table in schema.tables.values():
        for column in table.columns.values():
            if column.sequence == key:
                yield _depended_on(
                    f"sequence {bare_name(key)}",
                    f"ALTER TABLE {quote_name(table.name)} ALTER COLUMN {quote_identifier(column.name)} DROP DEFAULT;",
                )
                return


def _create_enum(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    if op.name and (schema.enum_values(op.name) is not None or relation_key(op.name) in schema.types):
        yield Refusal("42710", f'type "{bare_name(relation_key(op.name))}" already exists')


def _add_enum_value(schema: Schema, op: Operation, pg_version: int) -> Iterator[Refusal]:
    values = schema.enum_values(op.name or "")
    if values is None or not op.value:
        return
    if op.value in values and not op.if_not_exists:
        yield Refusal("42710", f'enum label "{op.value}" already exists')
    neighbour = op.option("before") or op.option("after")
    if neighbour is not None and neighbour not in values:
        yield Refusal("22023", f'"{neighbour}" is not an existing enum label')


_CHECKS: dict[OperationKind, Check] = {
    K.ALTER_COLUMN_TYPE: _alter_column_type,
    K.ADD_COLUMN: _add_column,
    K.DROP_COLUMN: _column_must_exist,
    K.RENAME_COLUMN: _column_must_exist,
    K.SET_NOT_NULL: _column_must_exist,
    K.DROP_NOT_NULL: _column_must_exist,
    K.SET_DEFAULT: _column_must_exist,
    K.DROP_DEFAULT: _column_must_exist,
    K.DROP_IDENTITY: _column_must_exist,
    K.ADD_IDENTITY: _add_identity,
    K.ADD_PRIMARY_KEY: _add_key,
    K.ADD_UNIQUE: _add_key,
    K.ADD_FOREIGN_KEY: _add_foreign_key,
    K.CREATE_INDEX: _create_index,
    K.DROP_CONSTRAINT: _drop_constraint,
    K.VALIDATE_CONSTRAINT: _validate,
    K.CREATE_TABLE: _create_table,
    K.DROP_TABLE: _drop_table,
    K.DROP_TYPE: _drop_type,
    K.DROP_SEQUENCE: _drop_sequence,
    K.CREATE_ENUM: _create_enum,
    K.ADD_ENUM_VALUE: _add_enum_value,
}

__all__ = ["ConstraintKind", "Refusal", "caught", "refusals"]
