"""The schema model: what a database holds, as the judgement of a migration needs it.

One immutable value, `Schema`, holds tables (columns in order, with types, nullability, defaults,
identities; constraints; partitioning), indexes, sequences, enums with their value order, other
types, schemas and extensions. It is filled by replaying migrations (`policies.schema.replay`), by
drizzle's snapshots where the replay could not read a statement (`policies.schema.snapshot`), and
later by introspecting a live database: whatever fills it, rules read the same model.

Values are never changed in place: every change returns a new `Schema` that shares what it did not
touch (the mappings are plain dicts that nobody mutates after construction), so the schema before
each statement of a whole history can be kept at the cost of the tables that statement changed.
The parts are named tuples (immutable, and `_replace` is several times cheaper than a frozen
dataclass's `dataclasses.replace`, which a history's replay calls tens of thousands of times).

Names: a relation, type or sequence is keyed as `relation_key` gives it (`public.users` and `users`
are the same for PostgreSQL's default search path); columns and constraints by their own name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import NamedTuple

from policies.operations import ConstraintKind

_NOTHING: Mapping[str, object] = MappingProxyType({})


def relation_key(name: str) -> str:
    """`public.users`, `"public"."users"` and `users` are one relation for the default search path."""
    key = _KEYS.get(name)
    if key is None:
        key = name.replace('"', "") if '"' in name else name
        key = key.removeprefix("public.")
        if len(_KEYS) < 100_000:  # a project names a few thousand relations; never grow without bound
            _KEYS[name] = key
    return key


_KEYS: dict[str, str] = {}


class Identity(NamedTuple):
    """`GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY` and the sequence that feeds it."""

    always: bool
    sequence: str


class Column(NamedTuple):
    """One column: `type` as written (normalised by the parser: `int4`, `varchar(255)`).

    `sequence` is the sequence its default draws from (serial columns, `DEFAULT nextval(...)`).
    """

    name: str
    type: str
    not_null: bool = False
    default: str | None = None
    identity: Identity | None = None
    generated: bool = False
    sequence: str | None = None


class Constraint(NamedTuple):
    """A table constraint (primary key, unique, foreign key, check, exclusion).

    `validated` is false for one added NOT VALID and not validated since; `not_null_column` is the
    column a `CHECK (col IS NOT NULL)` proves; `index_name` the index behind a key or exclusion.
    """

    name: str
    kind: ConstraintKind
    columns: tuple[str, ...] = ()
    validated: bool = True
    referenced_table: str | None = None
    referenced_columns: tuple[str, ...] = ()
    not_null_column: str | None = None
    index_name: str | None = None


class Index(NamedTuple):
    """An index: its table, key columns (`(expression)` for an expression), and whether it is
    unique, partial, valid (a failed CONCURRENTLY build leaves it invalid) or ON ONLY a parent."""

    name: str
    table: str
    columns: tuple[str, ...] = ()
    unique: bool = False
    partial: bool = False
    valid: bool = True
    only: bool = False


class Sequence(NamedTuple):
    """A sequence; `owned_by` is the (table, column) it belongs to (serial and identity columns)."""

    name: str
    owned_by: tuple[str, str] | None = None
    start: int | None = None


class Table(NamedTuple):
    """A table, view or materialized view (`kind`), with its columns in order.

    `partition_key` is set for a partitioned table (its key columns), `parent` for a partition.
    `unnamed_constraints` counts constraints PostgreSQL named itself, whose names the model can only
    guess; `complete` is false once a statement the replay could not read touched the table, and
    `has_rows` records that the replay saw rows written into it.
    """

    name: str
    columns: Mapping[str, Column] = _NOTHING  # type: ignore[assignment]
    constraints: Mapping[str, Constraint] = _NOTHING  # type: ignore[assignment]
    kind: str = "table"
    partition_key: tuple[str, ...] | None = None
    parent: str | None = None
    unnamed_constraints: int = 0
    complete: bool = True
    has_rows: bool = False

    @property
    def partitioned(self) -> bool:
        return self.partition_key is not None

    def column(self, name: str) -> Column | None:
        return self.columns.get(name)

    def with_column(self, column: Column) -> Table:
        """The table with `column` added at the end, or replaced in its place."""
        return self._replace(columns={**self.columns, column.name: column})

    def without_column(self, name: str) -> Table:
        """The table without the column, and without the constraints that read it (PostgreSQL drops
        them with the column)."""
        columns = {k: v for k, v in self.columns.items() if k != name}
        constraints = {k: c for k, c in self.constraints.items() if name not in c.columns}
        return self._replace(columns=columns, constraints=constraints)

    def with_constraint(self, constraint: Constraint) -> Table:
        return self._replace(constraints={**self.constraints, constraint.name: constraint})

    def without_constraint(self, name: str) -> Table:
        return self._replace(constraints={k: v for k, v in self.constraints.items() if k != name})

    def primary_key(self) -> Constraint | None:
        return next((c for c in self.constraints.values() if c.kind is ConstraintKind.PRIMARY_KEY), None)

    def foreign_keys(self) -> Iterator[Constraint]:
        return (c for c in self.constraints.values() if c.kind is ConstraintKind.FOREIGN_KEY)

    def validated_checks(self) -> Iterator[Constraint]:
        return (c for c in self.constraints.values() if c.kind is ConstraintKind.CHECK and c.validated)


class Schema(NamedTuple):
    """A database's schema as the judgement knows it.

    `complete` says that every object is known: the schema was built by replaying a migration set
    from an empty database with every statement read (or introspected). Only then may the absence
    of an object be taken as a fact ("column does not exist"); the presence of one always is.
    """

    tables: Mapping[str, Table] = _NOTHING  # type: ignore[assignment]
    indexes: Mapping[str, Index] = _NOTHING  # type: ignore[assignment]
    sequences: Mapping[str, Sequence] = _NOTHING  # type: ignore[assignment]
    enums: Mapping[str, tuple[str, ...]] = _NOTHING  # type: ignore[assignment]
    types: frozenset[str] = frozenset()
    schemas: frozenset[str] = frozenset()
    extensions: frozenset[str] = frozenset()
    complete: bool = False

    # -- reading -------------------------------------------------------------------------------

    @property
    def knows_anything(self) -> bool:
        """Some object is known, or the schema is complete (then absence is known too)."""
        return self.complete or bool(self.tables or self.sequences or self.enums or self.indexes or self.types)

    def table(self, name: str | None) -> Table | None:
        return self.tables.get(relation_key(name)) if name else None

    def column(self, relation: str | None, column: str | None) -> Column | None:
        table = self.table(relation)
        return table.columns.get(column) if table is not None and column else None

    def relation_exists(self, name: str) -> bool:
        """A table, view, index or sequence of that name (they share one namespace per schema)."""
        key = relation_key(name)
        return key in self.tables or key in self.indexes or key in self.sequences

    def knows_absent(self, name: str | None) -> bool:
        """The relation certainly does not exist: the schema is complete and the name is in `public`
        or in a schema the migrations created (others may hold objects made outside them)."""
        if not self.complete or not name:
            return False
        key = relation_key(name)
        schema = key.rpartition(".")[0]
        return (not schema or schema in self.schemas) and not self.relation_exists(key)

    def enum_values(self, type_name: str) -> tuple[str, ...] | None:
        """The labels of enum type `type_name` in their order, or None when it is not a known enum."""
        return self.enums.get(relation_key(type_name.removesuffix("[]")))

    def partitions(self, relation: str | None) -> tuple[str, ...]:
        """The partitions of a partitioned table, in the order they were created (with partitions of
        partitions after their parent)."""
        table = self.table(relation)
        if table is None or not table.partitioned:
            return ()
        found: list[str] = []
        for key, candidate in self.tables.items():
            if candidate.parent == table.name:
                found.append(key)
                found.extend(self.partitions(key))
        return tuple(found)

    def referencing(self, relation: str) -> Iterator[tuple[Table, Constraint]]:
        """The foreign keys of other tables (and of the table itself) that reference `relation`."""
        key = relation_key(relation)
        for table in self.tables.values():
            for constraint in table.foreign_keys():
                if constraint.referenced_table == key:
                    yield table, constraint

    def indexes_on(self, relation: str) -> Iterator[Index]:
        key = relation_key(relation)
        return (index for index in self.indexes.values() if index.table == key)

    def has_index_for(self, relation: str, columns: tuple[str, ...]) -> bool:
        """An index (of its own, or behind a key) whose leading columns are exactly `columns`, in
        any order: what a foreign key's referencing side needs."""
        wanted = set(columns)
        return any(set(index.columns[: len(columns)]) == wanted for index in self.indexes_on(relation))

    def unique_keys(self, relation: str) -> Iterator[tuple[str, ...]]:
        """Column sets a foreign key may reference: primary key, unique constraints, unique
        non-partial indexes on plain columns."""
        table = self.table(relation)
        if table is None:
            return
        for constraint in table.constraints.values():
            if constraint.kind in (ConstraintKind.PRIMARY_KEY, ConstraintKind.UNIQUE):
                yield constraint.columns
        for index in self.indexes_on(relation):
            if index.unique and not index.partial and "(expression)" not in index.columns:
                yield index.columns

    def sequence_of(self, relation: str, column: str) -> Sequence | None:
        """The sequence owned by a column (serial or identity), if known."""
        found = self.column(relation, column)
        if found is None:
            return None
        name = found.identity.sequence if found.identity else found.sequence
        return self.sequences.get(relation_key(name)) if name else None

    def uses_type(self, type_name: str) -> Iterator[tuple[Table, Column]]:
        """Columns whose type is `type_name` (or an array of it)."""
        key = relation_key(type_name)
        for table in self.tables.values():
            for column in table.columns.values():
                if relation_key(column.type.removesuffix("[]")) == key:
                    yield table, column

    # -- changing (each returns a new Schema) ---------------------------------------------------

    def with_table(self, table: Table) -> Schema:
        return self._replace(tables={**self.tables, relation_key(table.name): table})

    def without_table(self, name: str) -> Schema:
        key = relation_key(name)
        tables = {k: v for k, v in self.tables.items() if k != key}
        indexes = {k: v for k, v in self.indexes.items() if v.table != key}
        sequences = {
            k: v for k, v in self.sequences.items() if v.owned_by is None or v.owned_by[0] != key
        }
        return self._replace(tables=tables, indexes=indexes, sequences=sequences)

    def with_index(self, index: Index) -> Schema:
        return self._replace(indexes={**self.indexes, relation_key(index.name): index})

    def without_index(self, name: str) -> Schema:
        key = relation_key(name)
        return self._replace(indexes={k: v for k, v in self.indexes.items() if k != key})

    def with_sequence(self, sequence: Sequence) -> Schema:
        return self._replace(sequences={**self.sequences, relation_key(sequence.name): sequence})

    def without_sequence(self, name: str) -> Schema:
        key = relation_key(name)
        return self._replace(sequences={k: v for k, v in self.sequences.items() if k != key})

    def with_enum(self, name: str, values: tuple[str, ...]) -> Schema:
        return self._replace(enums={**self.enums, relation_key(name): values})

    def without_type(self, name: str) -> Schema:
        key = relation_key(name)
        return self._replace(enums={k: v for k, v in self.enums.items() if k != key}, types=self.types - {key})

    def incomplete(self) -> Schema:
        """The same schema, no longer known to hold every object (a statement was not read)."""
        return self if not self.complete else self._replace(complete=False)


EMPTY_SCHEMA = Schema()
"""A schema of which nothing is known (the default of a lone file's judgement)."""
