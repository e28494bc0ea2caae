"""What one diff has found so far: the two schemas, the changes in the order found, and indexes of
them that later steps ask (is this table dropped? is this view created again?).

Both schemas are first given names equal to their keys (`named_by_keys`), so that a change's
`table.name`, `index.name` or `sequence.name` is the object's key in the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.schema.changes import (
    AddColumn,
    AddConstraint,
    AlterColumnType,
    Change,
    CreateComposite,
    CreateDomain,
    CreateEnum,
    CreateFunction,
    CreateIndex,
    CreatePolicy,
    CreateSchema,
    CreateSequence,
    CreateTable,
    CreateTrigger,
    CreateView,
    DropColumn,
    DropConstraint,
    DropFunction,
    DropIndex,
    DropPolicy,
    DropTable,
    DropTrigger,
    DropView,
    RebuildComposite,
    RebuildDomain,
    RebuildEnum,
    SetColumnCollation,
    SetGeneratedExpression,
)
from policies.schema.model import ObjectKey, Schema

MATERIALIZED_VIEW = "materialized_view"
"""`Table.kind` of a materialized view (its `ObjectKey` kind is COMMENT ON's `materialized view`)."""
VIEW_KINDS = frozenset({"view", MATERIALIZED_VIEW})


def object_kind(table_kind: str) -> str:
    """The `ObjectKey` kind of a relation of `Table.kind` `table_kind`."""
    return "materialized view" if table_kind == MATERIALIZED_VIEW else table_kind


@dataclass
class Differ:
    """The schemas being compared (`a` after the renames) and what has been found."""

    a: Schema
    b: Schema
    changes: list[Change] = field(default_factory=list)
    dropped_relations: set[str] = field(default_factory=set)
    created_relations: set[str] = field(default_factory=set)
    dropped_columns: set[tuple[str, str]] = field(default_factory=set)
    retyped_columns: set[tuple[str, str]] = field(default_factory=set)
    dropped_constraints: set[tuple[str, str]] = field(default_factory=set)
    dropped_indexes: set[str] = field(default_factory=set)
    dropped_triggers: set[str] = field(default_factory=set)
    dropped_policies: set[str] = field(default_factory=set)
    dropped_functions: set[str] = field(default_factory=set)
    created: set[ObjectKey] = field(default_factory=set)
    """Objects made in this diff (new, or dropped and made again): they start without a comment
    and with default privileges."""

    def add(self, change: Change) -> None:
        self.changes.append(change)
        self._note(change)

    def _note(self, change: Change) -> None:
        if isinstance(change, DropTable):
            self.dropped_relations.add(change.table.name)
        elif isinstance(change, DropView):
            self.dropped_relations.add(change.view.name)
        elif isinstance(change, CreateTable):
            key = change.table.name
            self.created_relations.add(key)
            self.created.add(("table", key))
            self.created.update(("column", f"{key}.{c}") for c in change.table.columns)
        elif isinstance(change, CreateView):
            key = change.view.name
            self.created_relations.add(key)
            self.created.add((object_kind(change.view.kind), key))
            self.created.update(("column", f"{key}.{c}") for c in change.view.columns)
        elif isinstance(change, DropColumn):
            self.dropped_columns.add((change.table, change.column.name))
        elif isinstance(change, AddColumn):
            self.created.add(("column", f"{change.table}.{change.column.name}"))
        elif isinstance(change, AlterColumnType | SetColumnCollation):
            self.retyped_columns.add((change.table, change.column))
        elif isinstance(change, SetGeneratedExpression):
            self.retyped_columns.add((change.table, change.column.name))
            self.created.add(("column", f"{change.table}.{change.column.name}"))  # made again before 17
        elif isinstance(change, DropConstraint):
            self.dropped_constraints.add((change.table, change.constraint.name))
        elif isinstance(change, AddConstraint):
            self.created.add(("constraint", f"{change.table}.{change.constraint.name}"))
        elif isinstance(change, DropIndex):
            self.dropped_indexes.add(change.index.name)
        elif isinstance(change, CreateIndex):
            self.created.add(("index", change.index.name))
        elif isinstance(change, DropTrigger):
            self.dropped_triggers.add(f"{change.trigger.table}.{change.trigger.name}")
        elif isinstance(change, CreateTrigger):
            self.created.add(("trigger", f"{change.trigger.table}.{change.trigger.name}"))
        elif isinstance(change, DropPolicy):
            self.dropped_policies.add(f"{change.policy.table}.{change.policy.name}")
        elif isinstance(change, CreatePolicy):
            self.created.add(("policy", f"{change.policy.table}.{change.policy.name}"))
        elif isinstance(change, DropFunction):
            self.dropped_functions.add(change.function.signature)
        elif isinstance(change, CreateFunction):
            kind = "procedure" if change.function.kind == "p" else "function"
            self.created.add((kind, change.function.signature))
        elif isinstance(change, CreateSequence):
            self.created.add(("sequence", change.sequence.name))
        elif isinstance(change, CreateEnum | RebuildEnum):
            self.created.add(("type", change.name))
        elif isinstance(change, CreateComposite | RebuildComposite):
            self.created.add(("type", change.composite.name))
            self.created.update(("column", f"{change.composite.name}.{a[0]}") for a in change.composite.attributes)
        elif isinstance(change, CreateDomain | RebuildDomain):
            self.created.add(("domain", change.domain.name))
        elif isinstance(change, CreateSchema):
            self.created.add(("schema", change.name))

    def table_dropped(self, key: str) -> bool:
        return key in self.dropped_relations

    def column_dropped(self, table: str, column: str) -> bool:
        return table in self.dropped_relations or (table, column) in self.dropped_columns




def named_by_keys(schema: Schema) -> Schema:
    """The schema with each table, index, sequence, domain and composite type named by its key."""
    return schema._replace(
        tables={k: t if t.name == k else t._replace(name=k) for k, t in schema.tables.items()},
        indexes={k: i if i.name == k else i._replace(name=k) for k, i in schema.indexes.items()},
        sequences={k: s if s.name == k else s._replace(name=k) for k, s in schema.sequences.items()},
        domains={k: d if d.name == k else d._replace(name=k) for k, d in schema.domains.items()},
        composites={k: c if c.name == k else c._replace(name=k) for k, c in schema.composites.items()},
        functions={k: f if f.signature == k else f._replace(signature=k) for k, f in schema.functions.items()},
    )
