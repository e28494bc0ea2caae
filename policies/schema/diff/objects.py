"""Schemas, extensions, enums, domains, composite types, sequences and functions."""

from __future__ import annotations

from collections.abc import Iterator

from policies.operations import quote_ident
from policies.schema.changes import (
    AddAttribute,
    AddDomainConstraint,
    AddEnumValue,
    AlterAttributeType,
    AlterColumnType,
    AlterSequence,
    CreateComposite,
    CreateDomain,
    CreateEnum,
    CreateExtension,
    CreateFunction,
    CreateSchema,
    CreateSequence,
    DropAttribute,
    DropColumnDefault,
    DropComposite,
    DropDomain,
    DropDomainConstraint,
    DropEnum,
    DropExtension,
    DropFunction,
    DropSchema,
    DropSequence,
    MoveSequencePast,
    RebuildComposite,
    RebuildDomain,
    RebuildEnum,
    ReplaceFunction,
    SetColumnDefault,
    SetDomainDefault,
    SetDomainNotNull,
    SetExtensionSchema,
    SetSequenceOwner,
    UpdateExtension,
    ValidateDomainConstraint,
)
from policies.schema.diff.renaming import type_key
from policies.schema.diff.state import Differ
from policies.schema.model import Column, CompositeType, Domain, Function, Sequence
from policies.schema.names import NAME_LIMIT
from policies.schema.renames import join_key, split_key
from policies.type_changes import is_identity_type


def diff_schemas_and_extensions(d: Differ) -> None:
    for name in sorted(d.b.schemas - d.a.schemas):
        d.add(CreateSchema(name))
    for name in sorted(d.a.schemas - d.b.schemas):
        d.add(DropSchema(name))
    for name in sorted(d.b.extensions.keys() - d.a.extensions.keys()):
        d.add(CreateExtension(d.b.extensions[name]))
    for name in sorted(d.a.extensions.keys() - d.b.extensions.keys()):
        d.add(DropExtension(d.a.extensions[name]))
    for name in sorted(d.a.extensions.keys() & d.b.extensions.keys()):
        old, new = d.a.extensions[name], d.b.extensions[name]
        if new.schema and old.schema != new.schema:
            d.add(SetExtensionSchema(name, new.schema))
        if new.version and old.version != new.version:
            d.add(UpdateExtension(name, new.version))


# -- enums -----------------------------------------------------------------------------------------


def diff_enums(d: Differ) -> None:
    """Enums: created, dropped, values added at their place; a value removed or moved rebuilds the
    type and converts its columns (after the tables are known: a dropped table is not converted)."""
    for key in sorted(d.b.enums.keys() - d.a.enums.keys()):
        d.add(CreateEnum(key, d.b.enums[key]))
    for key in sorted(d.a.enums.keys() - d.b.enums.keys()):
        d.add(DropEnum(key, d.a.enums[key]))
    for key in sorted(d.a.enums.keys() & d.b.enums.keys()):
        old, new = d.a.enums[key], d.b.enums[key]
        if old == new:
            continue
        if _is_subsequence(old, new):
            _add_values(d, key, old, new)
        else:
            _rebuild(d, key, old, new)


def _is_subsequence(old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    remaining = iter(new)
    return all(value in remaining for value in old)


def _add_values(d: Differ, key: str, old: tuple[str, ...], new: tuple[str, ...]) -> None:
    existing = set(old)
    for position, value in enumerate(new):
        if value in existing:
            continue
        if position > 0:
            d.add(AddEnumValue(key, value, after=new[position - 1]))
        else:
            following = next((v for v in new if v in existing), None)
            d.add(AddEnumValue(key, value, before=following))
        existing.add(value)


def _rebuild(d: Differ, key: str, old: tuple[str, ...], new: tuple[str, ...]) -> None:
    old_name = _spare_name(d, key)
    d.add(RebuildEnum(key, new, old_name, tuple(v for v in old if v not in new)))
    for table, name, column, target in _users(d, key):
        dims = "[]" * column.type.count("[]")
        _convert(d, table, column, target, f"{quote_ident(name)}::text{dims}::{target.type}")
    d.add(DropEnum(old_name, old))


def _users(d: Differ, key: str) -> Iterator[tuple[str, str, Column, Column]]:
    """(table, column name, column in `a`, column in `b`) of the columns of type `key` (or an
    array of it) in both schemas, in tables this diff keeps: what a rebuilt type converts."""
    for table_key in sorted(d.b.tables.keys() & d.a.tables.keys()):
        if d.table_dropped(table_key):
            continue
        table, wanted = d.a.tables[table_key], d.b.tables[table_key]
        for name, column in table.columns.items():
            target = wanted.columns.get(name)
            if target is not None and not column.inherited and type_key(column.type) == key and column.type == target.type:
                yield table_key, name, column, target


def _convert(d: Differ, table: str, column: Column, target: Column, using: str) -> None:
    """A column converted to its rebuilt type: its default off first (it is of the old type)."""
    if column.default is not None:
        d.add(DropColumnDefault(table, column.name))
    d.add(AlterColumnType(table, column.name, column.type, target.type, using, target.collation))
    if target.default is not None:
        d.add(SetColumnDefault(table, column.name, target.default))


def _spare_name(d: Differ, key: str) -> str:
    """A free type name beside `key` for the old type while the new one is built (types share
    their names with tables, whose row types they would be)."""
    schema, name = split_key(key)
    taken = {
        *d.a.enums, *d.b.enums, *d.a.domains, *d.b.domains, *d.a.composites, *d.b.composites, *d.a.tables,
        *d.b.tables, *d.a.types, *d.b.types,
    }
    for number in range(100):
        suffix = "_old" if number == 0 else f"_old{number}"
        candidate = join_key(schema, name.encode()[: NAME_LIMIT - len(suffix)].decode(errors="ignore") + suffix)
        if candidate not in taken:
            return candidate
    return join_key(schema, f"{name[:40]}_schemawarden_old")


# -- domains and composite types ---------------------------------------------------------------------


def diff_domains(d: Differ) -> None:
    """Domains: created, dropped, altered; a new base type or collation rebuilds the domain and
    converts its columns (through the text form of their values)."""
    for key in sorted(d.b.domains.keys() - d.a.domains.keys()):
        d.add(CreateDomain(d.b.domains[key]))
    for key in sorted(d.a.domains.keys() - d.b.domains.keys()):
        d.add(DropDomain(key))
    for key in sorted(d.a.domains.keys() & d.b.domains.keys()):
        old, new = d.a.domains[key], d.b.domains[key]
        if old.base_type == new.base_type and old.collation == new.collation:
            if old != new:
                _domain(d, key, old, new)
            continue
        users = list(_users(d, key))
        if not users:
            d.add(DropDomain(key))
            d.add(CreateDomain(new))
            continue
        old_name = _spare_name(d, key)
        d.add(RebuildDomain(new, old_name, old.base_type))
        for table, name, column, target in users:
            dims = "[]" * column.type.count("[]")
            _convert(d, table, column, target, f"{quote_ident(name)}::text{dims}::{target.type}")
        d.add(DropDomain(old_name))


def _domain(d: Differ, key: str, old: Domain, new: Domain) -> None:
    if old.default != new.default:
        d.add(SetDomainDefault(key, new.default))
    named_not_null = any(c.definition == "NOT NULL" for c in (*old.constraints, *new.constraints))
    if old.not_null != new.not_null and not named_not_null:
        d.add(SetDomainNotNull(key, new.not_null))
    before = {c.name: c for c in old.constraints}
    after = {c.name: c for c in new.constraints}
    for name in sorted(before.keys() - after.keys()):
        d.add(DropDomainConstraint(key, name))
    for name in sorted(before.keys() & after.keys()):
        was, wanted = before[name], after[name]
        if _without_not_valid(was.definition) != _without_not_valid(wanted.definition) or (was.validated and not wanted.validated):
            d.add(DropDomainConstraint(key, name))
            d.add(AddDomainConstraint(key, wanted))
        elif wanted.validated and not was.validated:
            d.add(ValidateDomainConstraint(key, name))
    for name in sorted(after.keys() - before.keys()):
        d.add(AddDomainConstraint(key, after[name]))


def _without_not_valid(definition: str | None) -> str:
    return (definition or "").removesuffix(" NOT VALID")


def diff_composites(d: Differ) -> None:
    for key in sorted(d.b.composites.keys() - d.a.composites.keys()):
        d.add(CreateComposite(d.b.composites[key]))
    for key in sorted(d.a.composites.keys() - d.b.composites.keys()):
        d.add(DropComposite(key))
    for key in sorted(d.a.composites.keys() & d.b.composites.keys()):
        old, new = d.a.composites[key], d.b.composites[key]
        if old.attributes != new.attributes:
            _composite(d, key, old, new)


def _composite(d: Differ, key: str, old: CompositeType, new: CompositeType) -> None:
    """Attributes dropped, changed in place, added last; any other order rebuilds the type, and
    its columns are converted attribute by attribute (an attribute the old type lacks is NULL)."""
    before = {name: (type_, collation) for name, type_, collation in old.attributes}
    wanted = {name: (type_, collation) for name, type_, collation in new.attributes}
    kept = [name for name in before if name in wanted]
    added = [name for name in wanted if name not in before]
    if kept + added == list(wanted):
        for name, type_, collation in old.attributes:
            if name not in wanted:
                d.add(DropAttribute(key, name))
            elif (type_, collation) != wanted[name]:
                d.add(AlterAttributeType(key, name, wanted[name][0], wanted[name][1]))
        for name in added:
            d.add(AddAttribute(key, name, wanted[name][0], wanted[name][1]))
        return
    users = list(_users(d, key))
    if not users:
        d.add(DropComposite(key))
        d.add(CreateComposite(new))
        return
    old_name = _spare_name(d, key)
    d.add(RebuildComposite(new, old_name, tuple(name for name in before if name not in wanted)))
    for table, name, column, target in users:
        if column.type.endswith("[]"):
            using = f"{quote_ident(name)}::text::{target.type}"  # arrays of rows: by their text form
        else:
            column_sql = quote_ident(name)
            fields = ", ".join(
                f"({column_sql}).{quote_ident(a)}::{t}" if a in before else f"NULL::{t}" for a, t, _ in new.attributes
            )
            using = f"CASE WHEN {column_sql}::text IS NULL THEN NULL ELSE ROW({fields})::{target.type} END"
        _convert(d, table, column, target, using)
    d.add(DropComposite(old_name))


# -- sequences -------------------------------------------------------------------------------------


def diff_sequences(d: Differ) -> None:
    """Sequences other than identity ones (those follow their column). A sequence owned by a
    column that goes (its table or the column dropped) goes with it."""
    old = {k: s for k, s in d.a.sequences.items() if not s.identity and not _goes_with_owner(d, s)}
    new = {k: s for k, s in d.b.sequences.items() if not s.identity}
    for key in sorted(old.keys() - new.keys()):
        d.add(DropSequence(old[key]))
    for key in sorted(new.keys() - old.keys()):
        d.add(CreateSequence(new[key]))
        if new[key].owned_by:
            d.add(SetSequenceOwner(key, new[key].owned_by))
        fed = _columns_holding_values(d, key)
        if fed:
            sequence = new[key]
            options = sequence.options
            start = options.start if options is not None else sequence.start or 1
            d.add(MoveSequencePast(fed, key, start, options is None or options.increment > 0))
    for key in sorted(old.keys() & new.keys()):
        before, after = old[key], new[key]
        if after.options is not None and before.options != after.options:
            d.add(AlterSequence(key, after.options, before.options))
        if before.owned_by != after.owned_by:
            d.add(SetSequenceOwner(key, after.owned_by))


def _columns_holding_values(d: Differ, sequence: str) -> tuple[tuple[str, str], ...]:
    """The integer columns that draw their default from `sequence` (made in this diff) and already
    hold values: columns of a table in both schemas, neither made again nor added here (ADD COLUMN
    fills the rows from the sequence itself), a partition's inherited ones aside (its parent's
    column covers its rows)."""
    found = []
    for key, table in sorted(d.b.tables.items()):
        was = d.a.tables.get(key)
        if table.kind != "table" or was is None or key in d.dropped_relations or key in d.created_relations:
            continue
        for name, column in table.columns.items():
            if (
                column.sequence == sequence and not column.inherited and name in was.columns
                and not d.column_dropped(key, name) and is_identity_type(column.type)
            ):
                found.append((key, name))
    return tuple(found)


def _goes_with_owner(d: Differ, sequence: Sequence) -> bool:
    return sequence.owned_by is not None and d.column_dropped(*sequence.owned_by)


# -- functions -------------------------------------------------------------------------------------


def diff_functions(d: Differ) -> None:
    """Functions and procedures by signature: a new body is `CREATE OR REPLACE`; another return
    type or kind needs a drop first (PostgreSQL refuses to change them in place: sql-createfunction.html)."""
    for key in sorted(d.a.functions.keys() - d.b.functions.keys()):
        d.add(DropFunction(d.a.functions[key]))
    for key in sorted(d.a.functions.keys() & d.b.functions.keys()):
        old, new = d.a.functions[key], d.b.functions[key]
        if old == new:
            continue
        if old.kind != new.kind or _returns(old) != _returns(new):
            d.add(DropFunction(old))
            d.add(CreateFunction(new))
        else:
            d.add(ReplaceFunction(new, old))
    for key in sorted(d.b.functions.keys() - d.a.functions.keys()):
        d.add(CreateFunction(d.b.functions[key]))


def _returns(function: Function) -> str:
    """The ` RETURNS ...` line of `pg_get_functiondef` (empty for a procedure)."""
    for line in (function.definition or "").splitlines():
        if line.startswith(" RETURNS "):
            return line
    return ""
