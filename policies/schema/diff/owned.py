"""What belongs to a table: constraints, indexes, triggers and row-level security policies.

Objects of a relation that is dropped go with it (no change of their own); those of a relation
that is created (or created again) are all made; of the others, a changed definition is a drop and
a create. A foreign key whose referenced key or table is made again is made again too (PostgreSQL
refuses to drop a key a foreign key needs), and a trigger or policy that reads a column whose type
changes, or calls a function that is dropped, likewise (PostgreSQL refuses those changes under it).
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.operations import ConstraintKind
from policies.schema.changes import (
    AddConstraint,
    AlterPolicy,
    AttachPartition,
    CreateIndex,
    CreatePolicy,
    CreateTrigger,
    DetachPartition,
    DropConstraint,
    DropIndex,
    DropPolicy,
    DropTrigger,
    SetTriggerEnabled,
    ValidateConstraint,
)
from policies.schema.diff.state import Differ
from policies.schema.model import Constraint, Index, RlsPolicy, Table, Trigger
from policies.schema.renames import split_key
from policies.schema.sqltext import mentions

_KEYS = (ConstraintKind.PRIMARY_KEY, ConstraintKind.UNIQUE, ConstraintKind.EXCLUSION)


def diff_owned(d: Differ) -> None:
    dropped_keys: set[tuple[str, frozenset[str]]] = set()
    _constraints(d, dropped_keys, foreign=False)
    _indexes(d, dropped_keys)
    _constraints(d, dropped_keys, foreign=True)
    _triggers(d)
    _policies(d)


def _kept(d: Differ, key: str) -> bool:
    """The relation is in both schemas and neither dropped nor made again by this diff."""
    return key in d.a.tables and key in d.b.tables and key not in d.dropped_relations


def _own(table: Table, foreign: bool, detached: bool = False) -> dict[str, Constraint]:
    """The table's constraints of one family (foreign keys or the others) that are its own: a
    partition's copies of its parent's go with the parent, until the partition is detached."""
    return {
        name: c for name, c in table.constraints.items()
        if (detached or not c.inherited) and (c.kind is ConstraintKind.FOREIGN_KEY) == foreign
    }


def _constraints(d: Differ, dropped_keys: set[tuple[str, frozenset[str]]], *, foreign: bool) -> None:
    detached = {c.partition for c in d.changes if isinstance(c, DetachPartition)}
    for key in sorted(d.a.tables.keys() | d.b.tables.keys()):
        old = _own(d.a.tables[key], foreign, key in detached) if _kept(d, key) else {}
        new = _own(d.b.tables[key], foreign) if key in d.b.tables else {}
        for name in sorted(old.keys() - new.keys()):
            _drop_constraint(d, key, old[name], dropped_keys)
        for name in sorted(old.keys() & new.keys()):
            was, wanted = old[name], new[name]
            if _rebuilt(d, was, wanted, dropped_keys):
                _drop_constraint(d, key, was, dropped_keys)
                d.add(AddConstraint(key, wanted))
            elif wanted.validated and not was.validated:
                d.add(ValidateConstraint(key, name))
        for name in sorted(new.keys() - old.keys()):
            d.add(AddConstraint(key, new[name]))


def _drop_constraint(d: Differ, key: str, constraint: Constraint, dropped_keys: set[tuple[str, frozenset[str]]]) -> None:
    d.add(DropConstraint(key, constraint))
    if constraint.kind in _KEYS:
        dropped_keys.add((key, frozenset(constraint.columns)))


def _rebuilt(d: Differ, was: Constraint, wanted: Constraint, dropped_keys: set[tuple[str, frozenset[str]]]) -> bool:
    if (was.kind, _definition(was)) != (wanted.kind, _definition(wanted)) or (was.validated and not wanted.validated):
        return True
    if wanted.kind is ConstraintKind.FOREIGN_KEY and wanted.referenced_table:
        referenced = wanted.referenced_table
        return referenced in d.dropped_relations or (referenced, frozenset(wanted.referenced_columns)) in dropped_keys
    return False


def _definition(constraint: Constraint) -> tuple[object, ...]:
    """What makes two constraints the same: the definition without its NOT VALID mark, or, without
    a catalog definition, the columns and the referenced key."""
    if constraint.definition is not None:
        return (constraint.definition.removesuffix(" NOT VALID"),)
    return (constraint.columns, constraint.referenced_table, constraint.referenced_columns)


# -- indexes ---------------------------------------------------------------------------------------


def _indexes(d: Differ, dropped_keys: set[tuple[str, frozenset[str]]]) -> None:
    """Indexes of their own (those behind a constraint go with it). A partition's index attached
    to its parent's is made by PostgreSQL with the parent's index, or when the partition is made
    or attached, and goes with the parent's index."""
    attached = {c.partition for c in d.changes if isinstance(c, AttachPartition)}
    old = {k: i for k, i in d.a.indexes.items() if i.constraint is None and _kept(d, i.table)}
    new = {k: i for k, i in d.b.indexes.items() if i.constraint is None}
    changed = {k for k, i in old.items() if k not in new or _differs(i, new[k])}
    for key in sorted(changed):
        index = old[key]
        if index.parent and index.parent in changed:
            continue
        d.add(DropIndex(index))
        if index.unique:
            dropped_keys.add((index.table, frozenset(index.columns)))
    created: set[str] = set()
    for key, index in sorted(new.items(), key=lambda item: (item[1].parent is not None, item[0])):
        if key in old and key not in changed:
            continue
        if index.parent and (
            index.parent in created or index.table in d.created_relations or index.table in attached
        ):
            continue
        d.add(CreateIndex(index))
        created.add(key)


def _differs(was: Index, wanted: Index) -> bool:
    if was.definition is None or wanted.definition is None:
        return (was.table, was.columns, was.unique) != (wanted.table, wanted.columns, wanted.unique)
    return (was.definition, was.table, was.valid) != (wanted.definition, wanted.table, wanted.valid)


# -- triggers and policies -------------------------------------------------------------------------


def _disturbing(d: Differ, table: str) -> frozenset[str]:
    """Names whose mention makes a trigger or policy of `table` be made again: its columns whose
    type changes and the functions dropped."""
    columns = {c for t, c in d.retyped_columns if t == table}
    functions = {split_key(signature.split("(", 1)[0])[1] for signature in d.dropped_functions}
    return frozenset(columns | functions)


def _triggers(d: Differ) -> None:
    old = {k: t for k, t in d.a.triggers.items() if _kept(d, t.table)}
    new = dict(d.b.triggers)
    for key in sorted(old.keys() - new.keys()):
        d.add(DropTrigger(old[key]))
    for key in sorted(old.keys() & new.keys()):
        was, wanted = old[key], new[key]
        if was.definition != wanted.definition or mentions(was.definition, _disturbing(d, wanted.table)):
            d.add(DropTrigger(was))
            _create_trigger(d, wanted)
        elif was.enabled != wanted.enabled:
            d.add(SetTriggerEnabled(wanted, wanted.enabled))
    for key in sorted(new.keys() - old.keys()):
        _create_trigger(d, new[key])


def _create_trigger(d: Differ, trigger: Trigger) -> None:
    d.add(CreateTrigger(trigger))


def _policies(d: Differ) -> None:
    old = {k: p for k, p in d.a.policies.items() if _kept(d, p.table)}
    new = dict(d.b.policies)
    for key in sorted(old.keys() - new.keys()):
        d.add(DropPolicy(old[key]))
    for key in sorted(old.keys() & new.keys()):
        was, wanted = old[key], new[key]
        if was == wanted and not _reads(was, _disturbing(d, wanted.table)):
            continue
        if (
            (was.command, was.permissive) != (wanted.command, wanted.permissive)
            or (was.using is not None and wanted.using is None)
            or (was.with_check is not None and wanted.with_check is None)
            or _reads(was, _disturbing(d, wanted.table))
        ):
            d.add(DropPolicy(was))
            d.add(CreatePolicy(wanted))
        else:
            d.add(AlterPolicy(wanted, was))
    for key in sorted(new.keys() - old.keys()):
        d.add(CreatePolicy(new[key]))


def _reads(policy: RlsPolicy, names: Iterable[str]) -> bool:
    wanted = frozenset(names)
    return bool(wanted) and (mentions(policy.using, wanted) or mentions(policy.with_check, wanted))
