"""Tables, views, partitions and columns: the relations' fate (kept, dropped, created, rebuilt) and
the changes of the columns of the tables that stay."""

from __future__ import annotations

from collections.abc import Mapping

from policies.operations import quote_ident
from policies.schema.changes import (
    AddColumn,
    AddIdentity,
    AlterColumnType,
    AlterIdentityOptions,
    AttachPartition,
    ColumnOrder,
    CreateTable,
    CreateView,
    DetachPartition,
    DropColumn,
    DropColumnDefault,
    DropIdentity,
    DropNotNull,
    DropTable,
    DropView,
    MoveSequencePast,
    RenameNotNull,
    RenameSequence,
    SetColumnCollation,
    SetColumnDefault,
    SetForceRowSecurity,
    SetGeneratedExpression,
    SetIdentityGeneration,
    SetLogged,
    SetNotNull,
    SetRowSecurity,
    SetStorageOptions,
)
from policies.schema.diff.renaming import type_key
from policies.schema.diff.state import VIEW_KINDS, Differ
from policies.schema.model import Column, Constraint, Index, SequenceOptions, Table
from policies.schema.names import not_null_name
from policies.schema.sqltext import mentions
from policies.type_changes import CastVerdict, cast_path, cast_without_using, ends_in_cast_to


def diff_relations(d: Differ) -> None:
    """Relations only in `a` are dropped, only in `b` created; a relation whose kind or partition
    key changes is dropped and created again; the columns and flags of the others are compared."""
    a, b = d.a, d.b
    for key in sorted(a.tables.keys() - b.tables.keys()):
        table = a.tables[key]
        if table.kind in VIEW_KINDS:
            d.add(DropView(table))
        elif not (table.parent and table.parent in a.tables and table.parent not in b.tables):
            d.add(DropTable(table))  # a partition goes with its dropped parent
    for key in sorted(a.tables.keys() & b.tables.keys()):
        old, new = a.tables[key], b.tables[key]
        if old.kind != new.kind or (new.kind == "table" and old.partition_by != new.partition_by):
            d.add(DropView(old) if old.kind in VIEW_KINDS else DropTable(old))
            _create(d, new)
        elif new.kind in VIEW_KINDS:
            if old.definition != new.definition:
                d.add(DropView(old))
                d.add(CreateView(new))
            elif old.options != new.options:
                _options(d, old, new)
        else:
            _table(d, old, new)
    for key in sorted(b.tables.keys() - a.tables.keys(), key=lambda k: _depth(b.tables, k)):
        _create(d, b.tables[key])


def _depth(tables: Mapping[str, Table], key: str) -> tuple[int, str]:
    """Parents before their partitions (a deterministic order that also reads well)."""
    depth, seen = 0, key
    while (table := tables.get(seen)) is not None and table.parent and depth < 32:
        seen, depth = table.parent, depth + 1
    return depth, key


def _create(d: Differ, table: Table) -> None:
    if table.kind in VIEW_KINDS:
        d.add(CreateView(table))
        return
    d.add(CreateTable(table))
    if table.row_security:
        d.add(SetRowSecurity(table.name, True))
    if table.force_row_security:
        d.add(SetForceRowSecurity(table.name, True))


def _options(d: Differ, old: Table, new: Table) -> None:
    names = {option.split("=", 1)[0] for option in new.options}
    reset = tuple(o.split("=", 1)[0] for o in old.options if o.split("=", 1)[0] not in names)
    changed = tuple(o for o in new.options if o not in old.options)
    if reset or changed:
        d.add(SetStorageOptions(new.name, changed, reset, new.kind))


def _table(d: Differ, old: Table, new: Table) -> None:
    key = new.name
    if old.parent and (old.parent != new.parent or old.partition_bound != new.partition_bound):
        d.add(DetachPartition(old.parent, key))
    if new.parent and (old.parent != new.parent or old.partition_bound != new.partition_bound):
        d.add(AttachPartition(new.parent, key, new.partition_bound or "DEFAULT"))
    if old.unlogged != new.unlogged:
        d.add(SetLogged(key, not new.unlogged))
    _options(d, old, new)
    if old.row_security != new.row_security:
        d.add(SetRowSecurity(key, new.row_security))
    if old.force_row_security != new.force_row_security:
        d.add(SetForceRowSecurity(key, new.force_row_security))
    diff_columns(d, old, new)


def diff_columns(d: Differ, old: Table, new: Table) -> None:
    """The columns of a table in both schemas: dropped, added, changed; then the order they end in.

    A column that turns generated or plain is dropped and added again, and so is a generated
    column that reads a column whose type changes (PostgreSQL refuses that type change: "cannot
    alter type of a column used by a generated column")."""
    key = new.name
    both = [n for n, c in new.columns.items() if n in old.columns and not c.inherited]
    retyped = {
        n for n in both
        if not new.columns[n].generated
        and (old.columns[n].type, old.columns[n].collation) != (new.columns[n].type, new.columns[n].collation)
    }
    readded = [
        n for n in both
        if old.columns[n].generated != new.columns[n].generated
        or (new.columns[n].generated and mentions(old.columns[n].default, retyped - {n}))
    ]
    for name, column in old.columns.items():
        if (name not in new.columns and not column.inherited) or name in readded:
            d.add(DropColumn(key, column))
    for name in both:
        if name not in readded:
            _column(d, key, old.columns[name], new.columns[name])
    added = [n for n, c in new.columns.items() if (n not in old.columns and not c.inherited) or n in readded]
    for name in sorted(added, key=lambda n: new.columns[n].generated):  # generated ones read the others
        d.add(AddColumn(key, new.columns[name]))
    result = [n for n in old.columns if n in new.columns and n not in readded] + added
    wanted = list(new.columns)
    if result != wanted:
        d.add(ColumnOrder(key, tuple(wanted), tuple(result)))


def _column(d: Differ, table: str, old: Column, new: Column) -> None:
    """One column in both schemas, in the order PostgreSQL accepts: identity off, default off,
    type, nullability, default on, identity on."""
    name = new.name
    if old.identity and not new.identity:
        d.add(DropIdentity(table, name, old.identity))
    type_changed = old.type != new.type
    if new.generated:
        if old.default != new.default:
            d.add(SetGeneratedExpression(table, new, old.default, *_on_column(d, table, name)))
        if type_changed or old.collation != new.collation:
            d.add(AlterColumnType(table, name, old.type, new.type, None, new.collation))
    else:
        default_dropped = False
        if old.default is not None and (
            new.default is None or (new.identity and not old.identity) or _default_blocks(d, old, new)
        ):
            d.add(DropColumnDefault(table, name))
            default_dropped = True
        if type_changed:
            d.add(AlterColumnType(table, name, old.type, new.type, _using(d, old, new), new.collation))
        elif old.collation != new.collation:
            d.add(SetColumnCollation(table, name, new.type, new.collation))
        if new.default is not None and (default_dropped or type_changed or old.default != new.default):
            d.add(SetColumnDefault(table, name, new.default))
    if old.not_null != new.not_null:
        d.add(SetNotNull(table, name, new.not_null_name) if new.not_null else DropNotNull(table, name))
    elif new.not_null and old.not_null_name != new.not_null_name and d.a.not_null_names and d.b.not_null_names:
        # both from PostgreSQL 18 or later, which names them (a model of another kind does not know)
        default = not_null_name(table, name)
        d.add(RenameNotNull(table, name, old.not_null_name or default, new.not_null_name or default))
    if new.identity and not old.identity:
        d.add(AddIdentity(table, name, new.identity, new.type))
        # the rows already hold values, and the new identity's sequence starts at its START
        d.add(MoveSequencePast(((table, name),), None, *_first(new.identity.options)))
    elif new.identity and old.identity:
        if old.identity.always != new.identity.always:
            d.add(SetIdentityGeneration(table, name, new.identity.always))
        before, after = _identity_options(old.identity.options), _identity_options(new.identity.options)
        if before != after and new.identity.options is not None:
            d.add(AlterIdentityOptions(table, name, new.identity.options, old.identity.options or SequenceOptions()))
        if old.identity.sequence != new.identity.sequence:
            d.add(RenameSequence(old.identity.sequence, new.identity.sequence))


def _first(options: SequenceOptions | None) -> tuple[int, bool]:
    """A sequence's START and direction (CREATE SEQUENCE's defaults without options)."""
    return (options.start, options.increment > 0) if options is not None else (1, True)


def _on_column(d: Differ, table: str, column: str) -> tuple[tuple[Index, ...], tuple[Constraint, ...]]:
    """The indexes and constraints of `b` on a column, which go when it is dropped."""
    indexes = tuple(
        i for _, i in sorted(d.b.indexes.items())
        if i.table == table and i.constraint is None and (column in i.columns or mentions(i.definition, {column}))
    )
    wanted = d.b.tables[table]
    constraints = tuple(
        c for _, c in sorted(wanted.constraints.items())
        if not c.inherited and (column in c.columns or mentions(c.definition, {column}))
    )
    return indexes, constraints


def _identity_options(options: SequenceOptions | None) -> SequenceOptions | None:
    """The options an identity's `SET` can change: its data type follows the column's."""
    return options._replace(data_type="") if options is not None else None


def _is_enum(d: Differ, type_text: str) -> bool:
    key = type_key(type_text)
    return key in d.a.enums or key in d.b.enums


def _verdict(d: Differ, old: str, new: str) -> CastVerdict:
    return cast_without_using(old, new, old_is_enum=_is_enum(d, old), new_is_enum=_is_enum(d, new))


def _default_blocks(d: Differ, old: Column, new: Column) -> bool:
    """The old default would stop the type change: PostgreSQL converts a default with the
    assignment cast alone, and refuses (42804) when there is none, unless the default already ends
    in a cast to the new type (tablecmds.c strips the old column's implicit cast)."""
    if old.type == new.type or old.default is None:
        return False
    if _verdict(d, old.type, new.type) is CastVerdict.ACCEPTED:
        return False
    return not ends_in_cast_to(old.default, new.type)


def using_clause(d: Differ, column: str, old_type: str, new_type: str) -> str | None:
    """The USING expression a type change needs, or None when the assignment cast converts the
    values: `c::new`, through `text` between enums and where no direct cast exists (the casts of
    every supported version: PostgreSQL 11's)."""
    verdict = _verdict(d, old_type, new_type)
    if verdict is CastVerdict.ACCEPTED:
        return None
    via = cast_path(old_type, new_type, _is_enum(d, old_type), _is_enum(d, new_type), 11)
    if via is None:
        via = "::text"  # no cast between them: through the text form, which works for compatible values
    return f"{quote_ident(column)}{via}::{new_type}"


def _using(d: Differ, old: Column, new: Column) -> str | None:
    return using_clause(d, new.name, old.type, new.type)
