"""The order PostgreSQL needs: drop dependents first, create dependencies first.

Changes run in phases (`PHASES`), and within a phase in the differ's order, except where objects of
one kind depend on each other: views (dropped readers first, created readers last, by
`Table.depends_on`), tables (a table referenced by a dropped table's foreign key is dropped after
it; tables referencing each other are dropped in one statement) and partitions (after their parent).

The phases, in order:

 0  renames (schemas, then relations and types, then columns, constraints and enum values);
 1  drops of what depends on other objects: policies, triggers, views, foreign keys, other
    constraints and indexes, sequence owners let go, partitions detached (then what they took
    from their parent), identities and defaults, columns, tables; functions, domains, composite
    types and sequences that are made again under the same name;
 2  creates of what others depend on: schemas, extensions, enums, domains, composite types,
    sequences, functions;
 3  tables, partitions attached, column changes, sequence owners, then the sequences made for
    columns that already hold values moved past them (`setval`);
 4  keys and indexes, then foreign keys and validations;
 5  views and the SQL functions that read new relations (each after what it names), then
    indexes of materialized views;
 6  triggers, policies;
 7  drops of what nothing needs any more: functions, sequences, composite types, domains, enums,
    extensions, schemas;
 8  comments, then privileges (revokes first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from policies.operations import ConstraintKind
from policies.schema.changes import (
    AddAttribute,
    AddColumn,
    AddConstraint,
    AddDomainConstraint,
    AddEnumValue,
    AddIdentity,
    AlterAttributeType,
    AlterColumnType,
    AlterIdentityOptions,
    AlterPolicy,
    AlterSequence,
    AttachPartition,
    Change,
    ColumnOrder,
    CreateComposite,
    CreateDomain,
    CreateEnum,
    CreateExtension,
    CreateFunction,
    CreateIndex,
    CreatePolicy,
    CreateSchema,
    CreateSequence,
    CreateTable,
    CreateTrigger,
    CreateView,
    DetachPartition,
    DropAttribute,
    DropColumn,
    DropColumnDefault,
    DropComposite,
    DropConstraint,
    DropDomain,
    DropDomainConstraint,
    DropEnum,
    DropExtension,
    DropFunction,
    DropIdentity,
    DropIndex,
    DropNotNull,
    DropPolicy,
    DropSchema,
    DropSequence,
    DropTable,
    DropTrigger,
    DropView,
    Grant,
    MoveSequencePast,
    RebuildComposite,
    RebuildDomain,
    RebuildEnum,
    RenameColumn,
    RenameConstraint,
    RenameEnumValue,
    RenameIndex,
    RenameNotNull,
    RenamePolicy,
    RenameSchema,
    RenameSequence,
    RenameTable,
    RenameTrigger,
    RenameType,
    ReplaceFunction,
    Revoke,
    SetColumnCollation,
    SetColumnDefault,
    SetComment,
    SetDomainDefault,
    SetDomainNotNull,
    SetExtensionSchema,
    SetForceRowSecurity,
    SetGeneratedExpression,
    SetIdentityGeneration,
    SetLogged,
    SetNotNull,
    SetRowSecurity,
    SetSequenceOwner,
    SetStorageOptions,
    SetTriggerEnabled,
    UpdateExtension,
    ValidateConstraint,
    ValidateDomainConstraint,
)
from policies.schema.model import Function, Table
from policies.schema.renames import split_key
from policies.schema.sqltext import mentions, words

PHASES: Mapping[type[Change], int] = {
    RenameSchema: 0, RenameTable: 1, RenameSequence: 1, RenameIndex: 1, RenameType: 1,
    RenameColumn: 2, RenameConstraint: 2, RenameNotNull: 2, RenameEnumValue: 2, RenameTrigger: 2, RenamePolicy: 2,
    DropPolicy: 10, DropTrigger: 11, DropView: 12,
    DropConstraint: 14, DropIndex: 14, DropDomainConstraint: 14,
    DetachPartition: 15,
    DropIdentity: 17, DropColumnDefault: 17, DropColumn: 18, DropTable: 19,
    CreateSchema: 30, CreateExtension: 31, SetExtensionSchema: 31, UpdateExtension: 31,
    CreateEnum: 32, AddEnumValue: 32, RebuildEnum: 32,
    CreateDomain: 33, RebuildDomain: 33, SetDomainDefault: 33, SetDomainNotNull: 33, AddDomainConstraint: 33,
    ValidateDomainConstraint: 33,
    CreateComposite: 34, RebuildComposite: 34, AddAttribute: 34, DropAttribute: 34, AlterAttributeType: 34,
    CreateSequence: 35, AlterSequence: 35,
    CreateFunction: 36, ReplaceFunction: 36,
    CreateTable: 40, AttachPartition: 41,
    AddColumn: 42, AlterColumnType: 42, SetColumnCollation: 42, SetNotNull: 42, DropNotNull: 42,
    SetColumnDefault: 42, AddIdentity: 42, SetIdentityGeneration: 42, AlterIdentityOptions: 42,
    SetGeneratedExpression: 42, SetLogged: 42, SetStorageOptions: 42, SetRowSecurity: 42, SetForceRowSecurity: 42,
    SetSequenceOwner: 43, MoveSequencePast: 44,
    AddConstraint: 50, CreateIndex: 50, ValidateConstraint: 51,
    CreateView: 60,
    CreateTrigger: 70, SetTriggerEnabled: 70, CreatePolicy: 71, AlterPolicy: 71,
    DropFunction: 80, DropSequence: 81, DropComposite: 82, DropDomain: 83, DropEnum: 84,
    DropExtension: 85, DropSchema: 86,
    SetComment: 90, Revoke: 91, Grant: 92,
    ColumnOrder: 99,
}
"""The phase of each kind of change (see the module's docstring); a few depend on the change."""

_FOREIGN_KEY_DROP = 13
_OWNER_LET_GO = 15
_AFTER_DETACH = 16
_EARLY_DROP = 20
_FOREIGN_KEY_ADD = 51
_VIEW_OPTIONS = 60
_VIEW_INDEX = 61
_LATE_FUNCTION = 60  # with the views, ordered among them by what each reads


@dataclass(frozen=True)
class _Facts:
    """What the whole set of changes makes, which places some changes."""

    views_made: frozenset[str]
    detached: frozenset[str]
    relation_names: frozenset[str]
    functions_made: frozenset[str]
    domains_made: frozenset[str]
    composites_made: frozenset[str]
    sequences_made: frozenset[str]


def _facts(changes: Sequence[Change]) -> _Facts:
    views = {c.view.name for c in changes if isinstance(c, CreateView)}
    tables = {c.table.name for c in changes if isinstance(c, CreateTable)}
    return _Facts(
        views_made=frozenset(views),
        detached=frozenset(c.partition for c in changes if isinstance(c, DetachPartition)),
        relation_names=frozenset(split_key(k)[1] for k in views | tables),
        functions_made=frozenset(c.function.signature for c in changes if isinstance(c, CreateFunction)),
        domains_made=frozenset(c.domain.name for c in changes if isinstance(c, CreateDomain)),
        composites_made=frozenset(c.composite.name for c in changes if isinstance(c, CreateComposite)),
        sequences_made=frozenset(_sequences_made(changes)),
    )


def _sequences_made(changes: Sequence[Change]) -> Iterable[str]:
    """Sequences the changes make: created, or behind an identity added or a table created."""
    for change in changes:
        if isinstance(change, CreateSequence):
            yield change.sequence.name
        elif isinstance(change, AddIdentity):
            yield change.identity.sequence
        elif isinstance(change, AddColumn) and change.column.identity:
            yield change.column.identity.sequence
        elif isinstance(change, CreateTable):
            yield from (c.identity.sequence for c in change.table.columns.values() if c.identity)


def phase(change: Change, facts: _Facts) -> int:
    """The phase a change runs in."""
    if isinstance(change, DropConstraint):
        if change.constraint.inherited and change.table in facts.detached:
            return _AFTER_DETACH  # a partition's copy of its parent's key is its own once detached
        if change.constraint.kind is ConstraintKind.FOREIGN_KEY:
            return _FOREIGN_KEY_DROP
    if isinstance(change, DropIndex) and change.index.parent and change.index.table in facts.detached:
        return _AFTER_DETACH
    if isinstance(change, AddConstraint) and change.constraint.kind is ConstraintKind.FOREIGN_KEY:
        return _FOREIGN_KEY_ADD
    if isinstance(change, SetSequenceOwner) and change.owned_by is None:
        return _OWNER_LET_GO  # before a column that would take the sequence with it is dropped
    if isinstance(change, CreateIndex) and change.index.table in facts.views_made:
        return _VIEW_INDEX
    if isinstance(change, SetStorageOptions) and change.kind != "table":
        return _VIEW_OPTIONS
    if isinstance(change, CreateFunction) and _reads_new_relations(change.function, facts):
        return _LATE_FUNCTION
    if (
        (isinstance(change, DropFunction) and change.function.signature in facts.functions_made)
        or (isinstance(change, DropDomain) and change.name in facts.domains_made)
        or (isinstance(change, DropComposite) and change.name in facts.composites_made)
        or (isinstance(change, DropSequence) and change.sequence.name in facts.sequences_made)
    ):
        return _EARLY_DROP  # the same name is made again
    return PHASES[type(change)]


def _reads_new_relations(function: Function, facts: _Facts) -> bool:
    """A SQL-language function whose body names a relation made here: PostgreSQL checks such a
    body when the function is created (check_function_bodies), so it comes after them."""
    definition = function.definition or ""
    return " LANGUAGE sql" in definition and mentions(definition, facts.relation_names, strings=True)


def order(changes: Iterable[Change]) -> list[Change | tuple[DropTable, ...]]:
    """The changes in the order they run; tables that reference each other come as one tuple."""
    listed = list(changes)
    facts = _facts(listed)
    phases: dict[int, list[Change]] = {}
    for change in listed:
        phases.setdefault(phase(change, facts), []).append(change)
    result: list[Change | tuple[DropTable, ...]] = []
    for number in sorted(phases):
        group = phases[number]
        if number == PHASES[DropView]:
            result += _by_depth([c for c in group if isinstance(c, DropView)], readers_first=True)
        elif number == PHASES[CreateView]:
            views = _by_depth([c for c in group if isinstance(c, CreateView)], readers_first=False)
            functions = [c for c in group if isinstance(c, CreateFunction)]
            result += _readers_last([*views, *functions])
            result += [c for c in group if not isinstance(c, CreateView | CreateFunction)]
        elif number == PHASES[DropTable]:
            result += _drop_order([c for c in group if isinstance(c, DropTable)])
        elif number == PHASES[CreateTable]:
            tables = [c for c in group if isinstance(c, CreateTable)]
            tables.sort(key=lambda table: _parent_depth(table, tables))
            result += tables
        else:
            result += group
    return result


def _by_depth(changes: Sequence[DropView | CreateView], *, readers_first: bool) -> list[Change]:
    """Views ordered by how deep they read each other (readers first when dropping)."""
    views: dict[str, Table] = {c.view.name: c.view for c in changes}
    depths: dict[str, int] = {}

    def depth(key: str, seen: frozenset[str] = frozenset()) -> int:
        if key in depths:
            return depths[key]
        reads = [d for d in views[key].depends_on if d in views and d not in seen and d != key]
        found = 1 + max((depth(d, seen | {key}) for d in reads), default=0)
        depths[key] = found
        return found

    sign = -1 if readers_first else 1
    keyed = sorted(enumerate(changes), key=lambda item: (sign * depth(item[1].view.name), item[0]))
    return [change for _, change in keyed]


def _readers_last(items: list[Change]) -> list[Change]:
    """Views and SQL functions, each after those it names (a view calling a function, a function
    reading a view), otherwise in the order given; a cycle keeps the order given."""
    names = {id(item): _made_name(item) for item in items}
    remaining = list(items)
    result: list[Change] = []
    while remaining:
        pending = {names[id(item)] for item in remaining}
        ready = next(
            (item for item in remaining if not (_named_in(item) & (pending - {names[id(item)]}))), remaining[0]
        )
        remaining.remove(ready)
        result.append(ready)
    return result


def _made_name(item: Change) -> str:
    if isinstance(item, CreateView):
        return split_key(item.view.name)[1]
    if isinstance(item, CreateFunction):
        return split_key(item.function.name)[1]
    return ""


def _named_in(item: Change) -> frozenset[str]:
    """The words of a view's query or a function's definition (its body included)."""
    if isinstance(item, CreateView):
        return frozenset(w.value for w in words(item.view.definition or ""))
    if isinstance(item, CreateFunction):
        return frozenset(w.value for w in words(item.function.definition or "", strings=True)) - {
            split_key(item.function.name)[1]
        }
    return frozenset()


def _drop_order(changes: list[DropTable]) -> list[Change | tuple[DropTable, ...]]:
    """Dropped tables, each after the dropped tables whose foreign keys reference it; tables that
    reference each other round a cycle go in one statement (PostgreSQL drops them together)."""
    remaining = {c.table.name: c for c in changes}
    result: list[Change | tuple[DropTable, ...]] = []
    while remaining:
        referenced = {
            fk.referenced_table
            for key, change in remaining.items()
            for fk in change.table.foreign_keys()
            if fk.referenced_table != key
        }
        free = [key for key in remaining if key not in referenced]
        if not free:
            result.append(tuple(remaining.values()))
            break
        for key in free:
            result.append(remaining.pop(key))
    return result


def _parent_depth(change: CreateTable, group: list[CreateTable]) -> int:
    parents = {c.table.name: c.table for c in group}
    depth, table = 0, change.table
    while table.parent in parents and depth < 32:
        table, depth = parents[table.parent], depth + 1
    return depth
