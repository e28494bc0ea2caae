"""The schema model: what a database holds, as the judgement and the proof of a migration need it.

One immutable value, `Schema`, holds tables (columns in order, with types, collations, nullability,
defaults, identities, generated expressions; constraints; partitioning and partitions; row-level
security), views and materialized views, indexes, sequences with their options, enums with their
value order, domains, composite types, functions and procedures, triggers, row-level security
policies, schemas, extensions, comments and privileges. It is filled in three ways, and whatever
fills it, rules and the differ read the same model:

* by replaying migrations (`policies.schema.replay`): the facts the SQL text states, names
  normalised as the parser gives them (`int4`, `varchar(255)`); catalog-exact fields stay empty;
* by drizzle's snapshots where the replay could not read a statement (`policies.schema.snapshot`);
* by introspecting a live database (`reconciler.database.introspect`): every field, each as
  PostgreSQL's own functions print it (`format_type`, `pg_get_expr`, `pg_get_constraintdef`,
  `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_functiondef`, `pg_get_triggerdef`), so that two
  introspections compare field by field (`policies.schema.diff`).

Fields marked *catalog* below are filled only by introspection (None or empty otherwise). A
generated column's expression is its `default` (with `generated` true), as PostgreSQL keeps both in
`pg_attrdef`.

Values are never changed in place: every change returns a new `Schema` that shares what it did not
touch (the mappings are plain dicts that nobody mutates after construction), so the schema before
each statement of a whole history can be kept at the cost of the tables that statement changed.
The parts are named tuples (immutable, and `_replace` is several times cheaper than a frozen
dataclass's `dataclasses.replace`, which a history's replay calls tens of thousands of times).

Names: a relation, type or sequence is keyed as `relation_key` gives it (`public.users` and `users`
are the same for PostgreSQL's default search path); columns and constraints by their own name.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
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


class SequenceOptions(NamedTuple):
    """A sequence's parameters as `pg_sequence` holds them (catalog; CREATE SEQUENCE's options).

    `data_type` is `smallint`, `integer` or `bigint` (`format_type` of `seqtypid`; PostgreSQL 10+).
    """

    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    minimum: int = 1
    maximum: int = 9223372036854775807
    cache: int = 1
    cycle: bool = False


class Identity(NamedTuple):
    """`GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY` and the sequence that feeds it.

    `options` are the identity sequence's parameters (catalog).
    """

    always: bool
    sequence: str
    options: SequenceOptions | None = None


class Column(NamedTuple):
    """One column: `type` as written (normalised by the parser: `int4`, `varchar(255)`), or as
    `format_type` prints it when introspected (`integer`, `character varying(255)`).

    `sequence` is the sequence its default draws from (serial columns, `DEFAULT nextval(...)`).
    `collation` is set when it differs from the type's default (catalog, `"C"`, `"und-x-icu"`).
    `inherited` is true for a column a partition or child table takes from its parent and does not
    define itself (`attislocal` false; catalog).
    """

    name: str
    type: str
    not_null: bool = False
    default: str | None = None
    identity: Identity | None = None
    generated: bool = False
    sequence: str | None = None
    collation: str | None = None
    inherited: bool = False
    not_null_name: str | None = None
    """PostgreSQL 18 and later: the name of the column's NOT NULL constraint when it is not the one
    PostgreSQL gives it now (`names.not_null_name`), as after a rename of the table or the column,
    which keeps the old name (catalog); None otherwise, and before 18 (a NOT NULL has no name)."""


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
    definition: str | None = None
    """`pg_get_constraintdef`: `FOREIGN KEY (a) REFERENCES b(id) ON DELETE CASCADE DEFERRABLE`,
    `CHECK ((n > 0)) NOT VALID` (catalog)."""
    inherited: bool = False
    """A partition's (or child's) copy of its parent's constraint, which PostgreSQL creates and drops
    with the parent's (`conislocal` false; catalog)."""


class Index(NamedTuple):
    """An index: its table, key columns (`(expression)` for an expression), and whether it is
    unique, partial, valid (a failed CONCURRENTLY build leaves it invalid) or ON ONLY a parent.

    `definition` is `pg_get_indexdef` (`CREATE UNIQUE INDEX a ON public.t USING btree (x)`),
    `constraint` the constraint the index was made for (a primary key, unique or exclusion
    constraint creates and drops it), `parent` the partitioned index this partition's index is
    attached to (catalog). `only` is what a statement says: the catalog keeps no trace of ON ONLY
    once every partition's index is attached, so introspection leaves it false (an index on a
    partitioned table still missing some partition's index is `valid=False`).
    """

    name: str
    table: str
    columns: tuple[str, ...] = ()
    unique: bool = False
    partial: bool = False
    valid: bool = True
    only: bool = False
    definition: str | None = None
    constraint: str | None = None
    parent: str | None = None


class Sequence(NamedTuple):
    """A sequence; `owned_by` is the (table, column) it belongs to (serial and identity columns).

    `identity` marks the sequence behind an identity column (created and dropped with the column);
    `options` its parameters (catalog).
    """

    name: str
    owned_by: tuple[str, str] | None = None
    start: int | None = None
    identity: bool = False
    options: SequenceOptions | None = None


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
    partition_by: str | None = None
    """`pg_get_partkeydef`: `RANGE (at)`, `LIST (region)`, `HASH (id)` (catalog)."""
    partition_bound: str | None = None
    """A partition's bound, `pg_get_expr(relpartbound)`: `FOR VALUES FROM ('2024-01-01') TO (...)`,
    `DEFAULT` (catalog)."""
    definition: str | None = None
    """A view's or materialized view's query, `pg_get_viewdef` (catalog)."""
    unlogged: bool = False
    row_security: bool = False
    """`ALTER TABLE ... ENABLE ROW LEVEL SECURITY` (`relrowsecurity`; catalog)."""
    force_row_security: bool = False
    """`ALTER TABLE ... FORCE ROW LEVEL SECURITY` (`relforcerowsecurity`; catalog)."""
    options: tuple[str, ...] = ()
    """Storage parameters, `reloptions` (`fillfactor=70`; catalog)."""
    depends_on: tuple[str, ...] = ()
    """Relations a view or materialized view reads (keyed; catalog, from `pg_depend`; the replay
    from the relations its query names)."""
    depends_on_columns: tuple[str, ...] | None = None
    """The column names a view's query mentions (`*` for a star), from the replay; None when not
    known (the catalog's views): which views a dropped column takes with it."""

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


class DomainConstraint(NamedTuple):
    """A domain's CHECK constraint: `definition` is `pg_get_constraintdef`. A NOT NULL is
    `Domain.not_null` on every version (from 17 PostgreSQL also keeps it as a named constraint)."""

    name: str
    definition: str
    validated: bool = True


class Domain(NamedTuple):
    """`CREATE DOMAIN name AS base_type [COLLATE] [DEFAULT] [NOT NULL] [CHECK ...]` (catalog)."""

    name: str
    base_type: str
    not_null: bool = False
    default: str | None = None
    collation: str | None = None
    constraints: tuple[DomainConstraint, ...] = ()


class CompositeType(NamedTuple):
    """`CREATE TYPE name AS (attribute type [COLLATE c], ...)`: `attributes` are (name, type,
    collation or None) in order (catalog)."""

    name: str
    attributes: tuple[tuple[str, str, str | None], ...] = ()


class Function(NamedTuple):
    """A function or procedure; keyed by `signature`, `name(identity arguments)` as
    `pg_get_function_identity_arguments` prints them (`public.f(a integer)` keyed `f(a integer)`).

    `kind` is `f` (function), `p` (procedure), `a` (aggregate) or `w` (window): `prokind`.
    `definition` is `pg_get_functiondef` (a whole `CREATE OR REPLACE FUNCTION` statement; aggregates
    have none). `arguments` are the identity arguments alone (for DROP and COMMENT).
    """

    name: str
    signature: str
    arguments: str = ""
    kind: str = "f"
    definition: str | None = None


class Trigger(NamedTuple):
    """A trigger on `table`: `definition` is `pg_get_triggerdef` (a whole `CREATE TRIGGER`), `enabled`
    is `tgenabled` (`O` origin and local, `D` disabled, `R` replica, `A` always). Internal triggers
    (a foreign key's) and a partition's clones of its parent's triggers are not kept (catalog)."""

    name: str
    table: str
    definition: str
    enabled: str = "O"


class RlsPolicy(NamedTuple):
    """A row-level security policy (`CREATE POLICY name ON table`), from `pg_policy` (catalog).

    `command` is `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`; `roles` are role names
    (`public` for PUBLIC), sorted; `using` and `with_check` are `pg_get_expr` of the expressions.
    """

    name: str
    table: str
    command: str = "ALL"
    permissive: bool = True
    roles: tuple[str, ...] = ("public",)
    using: str | None = None
    with_check: str | None = None


class Extension(NamedTuple):
    """An installed extension: the schema its objects went to and its version (catalog)."""

    name: str
    schema: str | None = None
    version: str | None = None


OWNER = "$owner"
"""How `Schema.privileges` name an object's owner, whoever it is, as grantee and grantor (aclitem text
quotes a role name with any character other than letters, digits and underscores, so no role prints
as `$owner`)."""

ObjectKey = tuple[str, str]
"""An object named for comments and privileges: (kind, key). Kinds are COMMENT ON's words in lower
case: `table`, `view`, `materialized view`, `column` (key `table.column`, or `type.attribute` for a
composite type's attribute), `index`, `sequence`, `constraint` (key `table.constraint`), `type`
(enums, composites, ranges and other types that are not domains), `domain`, `function`, `procedure`,
`aggregate` (key the signature), `trigger` and `policy` (key `table.name`), `schema`."""


class Schema(NamedTuple):
    """A database's schema as the judgement knows it.

    `complete` says that every object is known: the schema was built by replaying a migration set
    from an empty database with every statement read (or introspected). Only then may the absence
    of an object be taken as a fact ("column does not exist"); the presence of one always is.

    `comments` maps an object (`ObjectKey`) to its comment. `privileges` maps a table, view or
    sequence (`ObjectKey` of kind `table`, `view`, `materialized view`, `sequence`) to its access
    privileges as sorted `aclitem` texts (`alice=arwdDxt/$owner`), the owner's default privileges
    written out (`acldefault`), so that an object whose privileges were never changed compares
    equal to one granted exactly its defaults; the object's owner, whoever it is, is written
    `$owner` (no role prints so: aclitem quotes a name with a `$`), so that the same schema owned by
    another role compares equal (catalog).
    """

    tables: Mapping[str, Table] = _NOTHING  # type: ignore[assignment]
    indexes: Mapping[str, Index] = _NOTHING  # type: ignore[assignment]
    sequences: Mapping[str, Sequence] = _NOTHING  # type: ignore[assignment]
    enums: Mapping[str, tuple[str, ...]] = _NOTHING  # type: ignore[assignment]
    types: frozenset[str] = frozenset()
    """Keys of the user-defined types other than enums: domains, composites, ranges, base types
    (domains and composites are detailed in `domains` and `composites` when introspected). Types
    PostgreSQL makes with another (arrays, multiranges, a table's row type) are not listed."""
    schemas: frozenset[str] = frozenset()
    """Schemas other than `public` (introspection: every schema but PostgreSQL's own, those left
    out on purpose and those an extension created)."""
    extensions: Mapping[str, Extension] = _NOTHING  # type: ignore[assignment]
    complete: bool = False
    domains: Mapping[str, Domain] = _NOTHING  # type: ignore[assignment]
    composites: Mapping[str, CompositeType] = _NOTHING  # type: ignore[assignment]
    functions: Mapping[str, Function] = _NOTHING  # type: ignore[assignment]
    triggers: Mapping[str, Trigger] = _NOTHING  # type: ignore[assignment]
    """Keyed `table.trigger` (table keyed as `relation_key` gives it)."""
    policies: Mapping[str, RlsPolicy] = _NOTHING  # type: ignore[assignment]
    """Keyed `table.policy`."""
    comments: Mapping[ObjectKey, str] = _NOTHING  # type: ignore[assignment]
    privileges: Mapping[ObjectKey, tuple[str, ...]] = _NOTHING  # type: ignore[assignment]
    not_null_names: bool = False
    """Introspected from PostgreSQL 18 or later, where NOT NULL constraints have names: a column's
    `not_null_name` None means the default name, and a rename keeps the old one (the differ follows
    it). False for every other model (a replay, a snapshot), which says nothing of those names."""

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

    def dependent_views(
        self, relations: Collection[str], columns: Mapping[str, Collection[str]] | None = None
    ) -> tuple[str, ...]:
        """The views and materialized views that read one of `relations` (keys), then those that read
        them, and so on: what DROP ... CASCADE drops with them. With `columns` (key -> column
        names), a view reading one of those relations counts only when its query mentions one of
        the columns (or `*`), as far as the replay knows (a name matched on any relation it reads)."""
        found: dict[str, None] = {}
        frontier = {relation_key(r) for r in relations}
        start = set(frontier)
        while frontier:
            reached: set[str] = set()
            for key, view in self.tables.items():
                if view.kind not in ("view", "materialized_view") or key in found or key in start:
                    continue
                if any(_view_reads(view, read, columns) for read in view.depends_on if read in frontier):
                    found[key] = None
                    reached.add(key)
            frontier, columns = reached, None  # a view dropped takes every view that reads it
        return tuple(found)

    def referencing_tables(self, relations: Collection[str]) -> tuple[str, ...]:
        """The tables other than `relations` (keys) whose foreign keys reference one of them, with
        their partitions (each has the foreign key too): CASCADE drops those foreign keys."""
        keys = {relation_key(r) for r in relations}
        found: dict[str, None] = {}
        for key, table in self.tables.items():
            if key in keys or not any(c.referenced_table in keys for c in table.foreign_keys()):
                continue
            found[key] = None
            found.update(dict.fromkeys(p for p in self.partitions(key) if p not in keys))
        return tuple(found)

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
        changed = self._replace(tables=tables, indexes=indexes, sequences=sequences)
        if self.triggers or self.policies:  # only an introspected schema has them
            changed = changed._replace(
                triggers={k: v for k, v in self.triggers.items() if v.table != key},
                policies={k: v for k, v in self.policies.items() if v.table != key},
            )
        return changed

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


def _view_reads(view: Table, read: str, columns: Mapping[str, Collection[str]] | None) -> bool:
    """Whether `view` depends on relation `read` as far as `columns` (what is dropped of it) goes."""
    if columns is None or read not in columns or view.depends_on_columns is None:
        return True
    return "*" in view.depends_on_columns or bool(set(columns[read]) & set(view.depends_on_columns))
