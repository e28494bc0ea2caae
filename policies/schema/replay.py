"""Replaying operations on the schema model, and what the schema before an operation tells about it.

`apply_operation(schema, op)` is the schema after one classified operation, as PostgreSQL would
leave it when the operation succeeds (the names it gives unnamed objects, the sequence of a serial
column, the constraints a dropped column takes with it, ...). An operation the model cannot read
(an unknown statement, a DO block whose body is opaque) leaves the schema marked incomplete, so that
nothing is concluded from the absence of an object afterwards.

`enrich(schema, op)` fills in the facts of an operation that only the schema before it knows: the
old type of a column whose type changes, the CHECK that proves a column NOT NULL, the table a
dropped foreign key references (PostgreSQL locks it too), the partitions a statement recurses to.
The lock model and the rules then read the operation alone.
"""

from __future__ import annotations

import re

from policies.classify_table import IDENTITY_DEFAULT
from policies.operations import ColumnSpec, ConstraintKind, Operation, OperationKind
from policies.schema.model import (
    Column,
    Constraint,
    Extension,
    Identity,
    Index,
    Schema,
    Sequence,
    Table,
    relation_key,
)
from policies.schema.names import bare_name, in_schema_of, object_name
from policies.type_changes import TypeChange, classify_type_change, rebuilds_indexes

K = OperationKind

_RELATION_CREATORS = frozenset({K.CREATE_TABLE_AS, K.CREATE_VIEW, K.CREATE_MATERIALIZED_VIEW})
_RECURSING = frozenset({
    K.ADD_COLUMN, K.DROP_COLUMN, K.ALTER_COLUMN_TYPE, K.SET_NOT_NULL, K.DROP_NOT_NULL, K.ADD_CHECK,
    K.ADD_FOREIGN_KEY, K.ADD_PRIMARY_KEY, K.ADD_UNIQUE, K.DROP_CONSTRAINT, K.VALIDATE_CONSTRAINT,
    K.CREATE_INDEX, K.TRUNCATE,
})
"""Operations on a partitioned table that PostgreSQL repeats on every partition (ALTER TABLE without
ONLY, CREATE INDEX without ON ONLY), taking the same lock there unless the lock entry gives the
partitions a mode of their own (an index built for a key: SHARE up to 17); measured on 11 to 18:
tests/test_lock_model_on_postgres.py. ALTER TABLE ONLY reaches the operation as if ONLY were not
written (the classification drops it), which is right for every form PostgreSQL accepts on a
partitioned table with partitions but ADD PRIMARY KEY / UNIQUE."""

_ONLY_STILL_RECURSES = frozenset({K.DROP_CONSTRAINT, K.DROP_NOT_NULL})
"""With ALTER TABLE ONLY, these still lock every partition ACCESS EXCLUSIVE: a foreign key's
constraint is dropped from the partitions too, and on 18 the partitions keep a dropped NOT NULL or
CHECK as their own (measured: tests/test_lock_model_on_postgres.py)."""

_SUFFIX = {
    ConstraintKind.PRIMARY_KEY: "pkey",
    ConstraintKind.UNIQUE: "key",
    ConstraintKind.FOREIGN_KEY: "fkey",
    ConstraintKind.CHECK: "check",
    ConstraintKind.EXCLUSION: "excl",
}


def enrich(schema: Schema, op: Operation) -> Operation:
    """`op` with the facts the schema before it knows (see the module docstring); unchanged when the
    schema knows nothing that matters to it."""
    kind = op.kind
    if kind is K.DROP_INDEX:  # it names only the index: its table is locked too (ACCESS EXCLUSIVE)
        index = schema.indexes.get(relation_key(op.name or ""))
        return op._replace(other_relations=(index.table,)) if index is not None else op
    if kind is K.ALTER_DOMAIN and op.name:
        users = tuple(dict.fromkeys(relation_key(t.name) for t, _ in schema.uses_type(op.name)))
        return op._replace(other_relations=users) if users else op
    if kind in (K.DROP_TYPE, K.DROP_DOMAIN) and op.cascade and op.name:
        return _drop_type_cascade(schema, op)
    if kind is K.DROP_SCHEMA and op.cascade and op.name:
        return _drop_schema_cascade(schema, op)
    if kind is K.DROP_SEQUENCE and op.cascade and op.relation and relation_key(op.relation) in schema.sequences:
        return _drop_sequence_cascade(schema, op)
    table = schema.table(op.relation)
    if table is None:
        if kind in _DROPS and op.if_exists and schema.knows_absent(op.relation):
            return op._replace(options=(*op.options, ("absent", "true")))  # IF EXISTS: nothing to lock
        return op
    if kind in _RECURSING and table.partitioned and (op.option("only") is None or kind in _ONLY_STILL_RECURSES):
        partitions = schema.partitions(op.relation)
        if partitions:
            op = op._replace(partitions=partitions)
    elif kind in (K.CREATE_INDEX, K.ADD_PRIMARY_KEY, K.ADD_UNIQUE) and table.partitioned:
        # ON ONLY (ALTER TABLE ONLY) a partitioned table: an invalid index on the parent alone,
        # which has no rows to read
        return op._replace(options=(*op.options, ("partitioned", "true")))
    column = table.column(op.columns[0]) if op.columns else None
    if kind is K.ALTER_COLUMN_TYPE and column is not None:
        rechecked = any(column.name in check.columns for check in table.validated_checks())
        change = classify_type_change(column.type, op.column_type or "", op.using)
        indexed = any(column.name in index.columns for index in schema.indexes_on(op.relation or ""))
        reindexed = (
            change is TypeChange.BINARY_COERCIBLE
            and indexed
            and rebuilds_indexes(column.type, op.column_type or "") is True
        )
        return op._replace(
            old_type=column.type, rechecked=rechecked, reindexed=reindexed, identity=column.identity is not None
        )
    if kind is K.SET_NOT_NULL and op.columns:
        if any(check.not_null_column == op.columns[0] for check in table.validated_checks()):
            return op._replace(proven_not_null=True)
        return op
    if kind is K.VALIDATE_CONSTRAINT and op.name:
        constraint = table.constraints.get(op.name)
        if constraint is not None and constraint.referenced_table:
            return op._replace(referenced_relation=constraint.referenced_table)
        return op
    if kind is K.DROP_CONSTRAINT and op.name:
        constraint = table.constraints.get(op.name)
        if constraint is not None and constraint.referenced_table and constraint.referenced_table != relation_key(table.name):
            return op._replace(other_relations=(constraint.referenced_table,))
        return op
    if kind in (K.DROP_TABLE, K.DROP_VIEW, K.DROP_MATERIALIZED_VIEW):
        return _drop_relation(schema, op, table)
    if kind is K.DROP_COLUMN and op.columns:
        # the sequences the column owns (serial, identity) go with it; with CASCADE the views reading it
        key = relation_key(table.name)
        others = [*_owned_sequences(schema, {key}, set(op.columns))]
        if op.cascade:
            others += schema.dependent_views({key}, {key: set(op.columns)})
        return op._replace(other_relations=tuple(others)) if others else op
    if kind is K.ADD_PRIMARY_KEY and op.using_index:
        index = schema.indexes.get(relation_key(in_schema_of(op.relation or "", op.using_index)))
        if index is not None:
            nullable = tuple(c for c in index.columns if (col := table.column(c)) is not None and not col.not_null)
            return op._replace(columns=op.columns or index.columns, nullable_key_columns=nullable)
    if kind is K.ADD_PRIMARY_KEY and not op.inline:
        # SET NOT NULL of these columns recurses to the partitions, under ACCESS EXCLUSIVE there
        nullable = tuple(c for c in op.columns if (col := table.column(c)) is not None and not col.not_null)
        return op._replace(nullable_key_columns=nullable) if nullable else op
    return op


_DROPS = frozenset({K.DROP_TABLE, K.DROP_VIEW, K.DROP_MATERIALIZED_VIEW, K.DROP_INDEX, K.DROP_SEQUENCE})


def _drop_relation(schema: Schema, op: Operation, table: Table) -> Operation:
    """DROP TABLE / VIEW / MATERIALIZED VIEW: the relations it locks without naming them, each
    ACCESS EXCLUSIVE (measured on 11 to 18: tests/test_prove_locks.py): the tables its foreign keys
    reference, the partitioned table of a partition, and with CASCADE what goes with it: the views
    that read it (and the views that read those), the tables whose foreign keys reference it (with
    their partitions)."""
    key = relation_key(table.name)
    partitions = schema.partitions(op.relation) if op.kind is K.DROP_TABLE else ()
    dropped = {key, *partitions}
    others = sorted({c.referenced_table for c in table.foreign_keys() if c.referenced_table} - dropped)
    if table.parent:
        others.append(relation_key(table.parent))
    others += _owned_sequences(schema, dropped)
    if op.cascade:
        views = schema.dependent_views(dropped)
        others += [*views, *schema.referencing_tables(dropped)]
    return op._replace(other_relations=tuple(dict.fromkeys(o for o in others if o not in dropped)), partitions=partitions)


def _owned_sequences(schema: Schema, tables: set[str], columns: set[str] | None = None) -> list[str]:
    """The sequences owned by a column (serial, identity) of `tables` (keys), of `columns` only when given:
    PostgreSQL drops them with the column, ACCESS EXCLUSIVE."""
    return [
        key
        for key, sequence in schema.sequences.items()
        if sequence.owned_by is not None
        and relation_key(sequence.owned_by[0]) in tables
        and (columns is None or sequence.owned_by[1] in columns)
    ]


def _drop_sequence_cascade(schema: Schema, op: Operation) -> Operation:
    """DROP SEQUENCE ... CASCADE: the views that read it and the tables whose column defaults call it
    (their defaults are dropped, ACCESS EXCLUSIVE on the table)."""
    key = relation_key(op.relation or "")
    users = [
        name for name, table in schema.tables.items()
        if any(column.sequence and relation_key(column.sequence) == key for column in table.columns.values())
    ]
    others = [*schema.dependent_views({key}), *users]
    return op._replace(other_relations=tuple(dict.fromkeys(others))) if others else op


def _drop_type_cascade(schema: Schema, op: Operation) -> Operation:
    """DROP TYPE / DOMAIN ... CASCADE drops every column of the type (ALTER TABLE ... DROP COLUMN,
    ACCESS EXCLUSIVE on its table and the table's partitions) and the views that read such a column."""
    columns: dict[str, set[str]] = {}
    for table, column in schema.uses_type(op.name or ""):
        columns.setdefault(relation_key(table.name), set()).add(column.name)
    tables = [*columns]
    tables += [p for key in columns for p in schema.partitions(key) if p not in columns]
    others = [*tables, *schema.dependent_views(set(tables), columns)]
    return op._replace(other_relations=tuple(dict.fromkeys(others))) if others else op


def _drop_schema_cascade(schema: Schema, op: Operation) -> Operation:
    """DROP SCHEMA ... CASCADE drops every relation in it (ACCESS EXCLUSIVE each; an index goes with
    its table) and what depends on them elsewhere: the tables their foreign keys reference, the views
    that read them, the tables whose foreign keys reference them (with their partitions)."""
    inside = [key for key in schema.tables if _in_schema(key, op.name or "")]
    sequences = [key for key in schema.sequences if _in_schema(key, op.name or "")]
    sequences += [key for key in _owned_sequences(schema, set(inside)) if key not in sequences]
    dropped = set(inside)
    referenced = sorted(
        {c.referenced_table for key in inside for c in schema.tables[key].foreign_keys() if c.referenced_table} - dropped
    )
    views = [v for v in schema.dependent_views(dropped) if v not in dropped]
    others = [*inside, *sequences, *referenced, *views, *schema.referencing_tables(dropped)]
    return op._replace(other_relations=tuple(dict.fromkeys(others))) if others else op


def _in_schema(key: str, name: str) -> bool:
    """Whether relation `key` is in schema `name` (`public` relations have unqualified keys)."""
    wanted = name.replace('"', "")
    return key.rpartition(".")[0] == ("" if wanted == "public" else wanted)


def apply_operation(schema: Schema, op: Operation) -> Schema:
    """The schema after `op` succeeded (see the module docstring).

    An operation on a table the schema does not know (a lone file's, or one made outside the
    migrations) first adds it as an incomplete table, so that what the statements establish about
    it (a CHECK validated, a column's new type) is known to the statements after them.
    """
    if op.relation and op.kind in _ALTERING and schema.table(op.relation) is None and not schema.knows_absent(op.relation):
        schema = schema.with_table(Table(relation_key(op.relation), columns={}, complete=False))
    handler = _APPLY.get(op.kind)
    if handler is not None:
        return handler(schema, op)
    if op.kind in _RELATION_CREATORS and op.relation:
        created = Table(op.relation, kind=_KIND_NAMES[op.kind], complete=False)
        if op.kind is not K.CREATE_TABLE_AS:  # a view depends on what its query reads
            reads = tuple(dict.fromkeys(relation_key(r) for r in op.reads))
            created = created._replace(depends_on=reads, depends_on_columns=op.read_columns)
        return schema.with_table(created)
    if op.kind in _OPAQUE:
        table = schema.table(op.relation)
        if table is not None and table.complete:
            schema = schema.with_table(table._replace(complete=False))
        return schema.incomplete() if op.kind in (K.UNKNOWN, K.ALTER_TABLE_OTHER, K.CALL) else schema
    return schema


_ALTERING = frozenset({
    K.ADD_COLUMN, K.DROP_COLUMN, K.RENAME_COLUMN, K.SET_NOT_NULL, K.DROP_NOT_NULL, K.SET_DEFAULT, K.DROP_DEFAULT,
    K.ALTER_COLUMN_TYPE, K.ADD_IDENTITY, K.DROP_IDENTITY, K.ADD_PRIMARY_KEY, K.ADD_UNIQUE, K.ADD_FOREIGN_KEY,
    K.ADD_CHECK, K.ADD_EXCLUSION, K.VALIDATE_CONSTRAINT, K.DROP_CONSTRAINT, K.RENAME_CONSTRAINT, K.CREATE_INDEX,
})

_KIND_NAMES = {
    K.CREATE_TABLE_AS: "table",
    K.CREATE_VIEW: "view",
    K.CREATE_MATERIALIZED_VIEW: "materialized_view",
}
_OPAQUE = frozenset({K.UNKNOWN, K.ALTER_TABLE_OTHER, K.ALTER_COLUMN_OTHER, K.CALL, K.ALTER_OTHER, K.CREATE_OTHER})


# -- tables and columns -------------------------------------------------------------------------


def _create_table(schema: Schema, op: Operation) -> Schema:
    if not op.relation or (op.if_not_exists and schema.table(op.relation) is not None):
        return schema
    key = relation_key(op.relation)
    parent = schema.table(op.parent) if op.parent else None
    columns: dict[str, Column] = dict(parent.columns) if parent is not None else {}
    for spec in op.column_specs:  # one table built whole: not one copy of it per column
        schema, column = _column(schema, key, spec)
        columns[column.name] = column
    partition_by = op.option("partition_by")
    table = Table(
        key,
        columns=columns,
        partition_key=tuple(partition_by.split(",")) if partition_by else None,
        parent=relation_key(op.parent) if op.parent else None,
        complete=parent.complete if parent is not None else True,
    )
    return schema.with_table(table)


def _add_column(schema: Schema, relation: str, spec: ColumnSpec) -> Schema:
    """The table with the column a definition writes, and the sequence it owns (serial, identity)."""
    table = schema.table(relation)
    if table is None:
        return schema
    schema, column = _column(schema, relation, spec)
    return schema.with_table(table.with_column(column))


def _column(schema: Schema, relation: str, spec: ColumnSpec) -> tuple[Schema, Column]:
    """A column as a definition writes it, and the schema with the sequence a serial or identity
    column owns (named as PostgreSQL names it)."""
    column = Column(
        spec.name, spec.type, not_null=spec.not_null, default=spec.default, generated=spec.generated_stored,
        sequence=_nextval_sequence(spec.default),
    )
    if spec.serial:
        sequence = _free_sequence_name(schema, relation, spec.name)
        schema = schema.with_sequence(Sequence(sequence, (relation, spec.name), 1))
        column = column._replace(type=_SERIAL_TYPES[spec.type], sequence=sequence, not_null=True)
    elif spec.identity:
        options = dict(spec.options)
        sequence = options.get("sequence_name") or _free_sequence_name(schema, relation, spec.name)
        sequence = in_schema_of(relation, sequence) if "." not in sequence else sequence
        schema = schema.with_sequence(Sequence(sequence, (relation, spec.name), _int(options.get("start"))))
        column = column._replace(identity=Identity(options.get("generated", "a") == "a", relation_key(sequence)))
    return schema, column


_SERIAL_TYPES = {
    "serial": "int4", "serial4": "int4", "bigserial": "int8", "serial8": "int8", "smallserial": "int2", "serial2": "int2",
}


def _free_sequence_name(schema: Schema, relation: str, column: str) -> str:
    """`<table>_<column>_seq`, or with a number appended when taken, as PostgreSQL chooses it."""
    base = object_name(bare_name(relation), (column,), "seq")
    name, number = base, 0
    while schema.relation_exists(in_schema_of(relation, name)):
        number += 1
        name = object_name(bare_name(relation), (column,), f"seq{number}")
    return relation_key(in_schema_of(relation, name))


_NEXTVAL = re.compile(r"nextval\('((?:[^']|'')+)'(?:::regclass)?\)", re.IGNORECASE)


def _nextval_sequence(default: str | None) -> str | None:
    """The sequence a `DEFAULT nextval('name')` draws from (the column's `sequence`), keyed."""
    if not default or "nextval" not in default.lower():
        return None  # most defaults: no regular expression run for them
    found = _NEXTVAL.fullmatch(default.strip())
    if found is None:
        return None
    parts = re.findall(r'"((?:[^"]|"")*)"|([^."]+)', found.group(1).replace("''", "'"))
    return relation_key(".".join(quoted.replace('""', '"') if quoted else bare.lower() for quoted, bare in parts))


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _drop_table(schema: Schema, op: Operation) -> Schema:
    if not op.relation:
        return schema
    partitions = schema.partitions(op.relation)
    views = schema.dependent_views({relation_key(op.relation), *partitions}) if op.cascade else ()
    for partition in reversed(partitions):
        schema = schema.without_table(partition)
    for view in views:  # the views that read it go with it
        schema = schema.without_table(view)
    schema = schema.without_table(op.relation)
    if op.cascade:  # foreign keys of other tables that referenced it go with it
        key = relation_key(op.relation)
        for table in list(schema.tables.values()):
            for constraint in list(table.foreign_keys()):
                if constraint.referenced_table == key:
                    table = table.without_constraint(constraint.name)
            schema = schema.with_table(table)
    return schema


def _rename_table(schema: Schema, op: Operation) -> Schema:
    table = schema.table(op.relation)
    if table is None or not op.new_name:
        return schema
    target = op.new_name if op.kind is K.RENAME_TABLE else op.new_name + "." + bare_name(table.name)
    new_key = relation_key(in_schema_of(table.name, op.new_name) if op.kind is K.RENAME_TABLE else target)
    return _rekey_table(schema, table, new_key)


def _rekey_table(schema: Schema, table: Table, new_key: str) -> Schema:
    old_key = relation_key(table.name)
    schema = schema._replace(tables={k: v for k, v in schema.tables.items() if k != old_key})
    schema = schema.with_table(table._replace(name=new_key))
    indexes = {k: (i._replace(table=new_key) if i.table == old_key else i) for k, i in schema.indexes.items()}
    sequences = {
        k: (s._replace(owned_by=(new_key, s.owned_by[1])) if s.owned_by and s.owned_by[0] == old_key else s)
        for k, s in schema.sequences.items()
    }
    tables = {}
    for key, other in schema.tables.items():
        constraints = {
            n: (c._replace(referenced_table=new_key) if c.referenced_table == old_key else c)
            for n, c in other.constraints.items()
        }
        tables[key] = other._replace(constraints=constraints, parent=new_key if other.parent == old_key else other.parent)
    return schema._replace(tables=tables, indexes=indexes, sequences=sequences)


def _set_schema(schema: Schema, op: Operation) -> Schema:
    table = schema.table(op.relation)
    if table is not None and op.new_name:
        return _rekey_table(schema, table, relation_key(f"{op.new_name}.{bare_name(table.name)}"))
    if op.name and op.new_name:
        values = schema.enum_values(op.name)
        if values is not None:
            return schema.without_type(op.name).with_enum(f"{op.new_name}.{bare_name(op.name)}", values)
    return schema


def _on_table(schema: Schema, op: Operation) -> tuple[Table | None, Column | None]:
    table = schema.table(op.relation)
    column = table.column(op.columns[0]) if table is not None and op.columns else None
    return table, column


def _add_column_op(schema: Schema, op: Operation) -> Schema:
    table, column = _on_table(schema, op)
    if table is None or not op.column_specs or (column is not None and op.if_not_exists):
        return schema
    return _add_column(schema, table.name, op.column_specs[0])


def _drop_column(schema: Schema, op: Operation) -> Schema:
    table, column = _on_table(schema, op)
    if table is None or column is None:
        return schema
    schema = schema.with_table(table.without_column(column.name))
    for index in list(schema.indexes_on(table.name)):
        if column.name in index.columns:
            schema = schema.without_index(index.name)
    sequence = schema.sequences.get(column.identity.sequence if column.identity else column.sequence or "")
    if sequence is not None and sequence.owned_by == (relation_key(table.name), column.name):
        schema = schema.without_sequence(sequence.name)
    return schema


def _rename_column(schema: Schema, op: Operation) -> Schema:
    table, column = _on_table(schema, op)
    if table is None or column is None or not op.new_name:
        return schema
    old, new = column.name, op.new_name

    def renamed(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(new if n == old else n for n in names)

    columns = {(new if k == old else k): (c._replace(name=new) if k == old else c) for k, c in table.columns.items()}
    constraints = {
        n: c._replace(columns=renamed(c.columns), not_null_column=new if c.not_null_column == old else c.not_null_column)
        for n, c in table.constraints.items()
    }
    schema = schema.with_table(table._replace(columns=columns, constraints=constraints))
    key = relation_key(table.name)
    indexes = {k: (i._replace(columns=renamed(i.columns)) if i.table == key else i) for k, i in schema.indexes.items()}
    sequences = {
        k: (s._replace(owned_by=(key, new)) if s.owned_by == (key, old) else s) for k, s in schema.sequences.items()
    }
    tables = {}
    for name, other in schema.tables.items():
        tables[name] = other._replace(constraints={
            n: (c._replace(referenced_columns=renamed(c.referenced_columns)) if c.referenced_table == key else c)
            for n, c in other.constraints.items()
        })
    return schema._replace(indexes=indexes, sequences=sequences, tables=tables)


def _column_change(schema: Schema, op: Operation) -> Schema:
    table, column = _on_table(schema, op)
    if table is not None and column is None and not table.complete and op.kind is K.ALTER_COLUMN_TYPE and op.column_type:
        return schema.with_table(table.with_column(Column(op.columns[0], op.column_type)))
    if table is None or column is None:
        return schema
    if op.kind is K.SET_NOT_NULL:
        changed = column._replace(not_null=True)
    elif op.kind is K.DROP_NOT_NULL:
        changed = column._replace(not_null=False)
    elif op.kind is K.SET_DEFAULT:
        changed = column._replace(default=op.default, sequence=_nextval_sequence(op.default) or column.sequence)
    elif op.kind is K.DROP_DEFAULT:
        changed = column._replace(default=None, sequence=None)
    elif op.kind is K.ALTER_COLUMN_TYPE:
        changed = column._replace(type=op.column_type or column.type)
    elif op.kind is K.DROP_IDENTITY:
        if column.identity is not None:
            schema = schema.without_sequence(column.identity.sequence)
        # a column defined with its identity has the identity's default in the model: it goes too
        default = None if column.default == IDENTITY_DEFAULT else column.default
        changed = column._replace(identity=None, default=default)
    else:
        return schema
    return schema.with_table(table.with_column(changed))


def _identity(schema: Schema, op: Operation) -> Schema:
    table, column = _on_table(schema, op)
    if table is None or column is None:
        return schema
    if op.detail == "SetIdentity":
        generated = op.option("generated")
        if column.identity is None or generated is None:
            return schema
        changed = column._replace(identity=column.identity._replace(always=generated == "a"))
        return schema.with_table(table.with_column(changed))
    name = op.option("sequence_name")
    sequence = in_schema_of(table.name, name) if name and "." not in name else name
    sequence = relation_key(sequence) if sequence else _free_sequence_name(schema, table.name, column.name)
    schema = schema.with_sequence(Sequence(sequence, (relation_key(table.name), column.name), _int(op.option("start"))))
    changed = column._replace(identity=Identity(op.option("generated") != "d", sequence), not_null=True)
    return schema.with_table(table.with_column(changed))


# -- constraints and indexes ----------------------------------------------------------------------


def _add_constraint(schema: Schema, op: Operation) -> Schema:
    table = schema.table(op.relation)
    if table is None or op.constraint is None:
        return schema
    key = relation_key(table.name)
    columns = op.columns
    index_name: str | None = None
    if op.using_index:
        index = schema.indexes.get(relation_key(in_schema_of(table.name, op.using_index)))
        columns = columns or (index.columns if index is not None else ())
    name = op.name or _constraint_name(table, op.constraint, columns)
    unnamed = 0 if op.name else 1
    if op.constraint in (ConstraintKind.PRIMARY_KEY, ConstraintKind.UNIQUE, ConstraintKind.EXCLUSION):
        index_name = relation_key(in_schema_of(table.name, name))
        if op.using_index:  # PostgreSQL renames the index to the constraint's name
            schema = schema.without_index(in_schema_of(table.name, op.using_index))
        schema = schema.with_index(Index(index_name, key, columns, unique=op.constraint is not ConstraintKind.EXCLUSION))
    if op.constraint is ConstraintKind.PRIMARY_KEY:  # the key's columns become NOT NULL
        for column_name in columns:
            column = table.column(column_name)
            if column is not None and not column.not_null:
                table = table.with_column(column._replace(not_null=True))
    constraint = Constraint(
        name,
        op.constraint,
        columns,
        validated=not op.not_valid,
        referenced_table=relation_key(op.referenced_relation) if op.referenced_relation else None,
        referenced_columns=op.referenced_columns or _primary_key_columns(schema, op.referenced_relation),
        not_null_column=op.check_not_null_column,
        index_name=index_name,
    )
    table = table.with_constraint(constraint)._replace(unnamed_constraints=table.unnamed_constraints + unnamed)
    return schema.with_table(table)


def _constraint_name(table: Table, kind: ConstraintKind, columns: tuple[str, ...]) -> str:
    """The name PostgreSQL gives an unnamed constraint (before it adds a number to avoid a clash)."""
    own = bare_name(table.name)
    if kind is ConstraintKind.PRIMARY_KEY:
        return object_name(own, (), "pkey")
    return object_name(own, columns[:1] if kind is ConstraintKind.CHECK else columns, _SUFFIX[kind])


def _primary_key_columns(schema: Schema, relation: str | None) -> tuple[str, ...]:
    table = schema.table(relation)
    key = table.primary_key() if table is not None else None
    return key.columns if key is not None else ()


def _validate(schema: Schema, op: Operation) -> Schema:
    table = schema.table(op.relation)
    constraint = table.constraints.get(op.name or "") if table is not None else None
    if table is None or constraint is None:
        return schema
    return schema.with_table(table.with_constraint(constraint._replace(validated=True)))


def _drop_constraint(schema: Schema, op: Operation) -> Schema:
    table = schema.table(op.relation)
    constraint = table.constraints.get(op.name or "") if table is not None else None
    if table is None or constraint is None:
        return schema
    if constraint.index_name:
        schema = schema.without_index(constraint.index_name)
    return schema.with_table(table.without_constraint(constraint.name))


def _rename_constraint(schema: Schema, op: Operation) -> Schema:
    table = schema.table(op.relation)
    constraint = table.constraints.get(op.name or "") if table is not None else None
    if table is None or constraint is None or not op.new_name:
        return schema
    index = schema.indexes.get(constraint.index_name or "")
    renamed = constraint._replace(name=op.new_name)
    if index is not None:
        new_index = relation_key(in_schema_of(table.name, op.new_name))
        schema = schema.without_index(index.name).with_index(index._replace(name=new_index))
        renamed = renamed._replace(index_name=new_index)
    return schema.with_table(table.without_constraint(constraint.name).with_constraint(renamed))


def _create_index(schema: Schema, op: Operation) -> Schema:
    table = schema.table(op.relation)
    if table is None:
        return schema
    name = op.name or object_name(bare_name(table.name), op.columns, "idx")
    key = relation_key(in_schema_of(table.name, name) if "." not in name else name)
    if op.if_not_exists and key in schema.indexes:
        return schema
    index = Index(key, relation_key(table.name), op.columns, op.unique, op.has_where, only=op.option("only") is not None)
    return schema.with_index(index)


def _drop_index(schema: Schema, op: Operation) -> Schema:
    return schema.without_index(op.name) if op.name else schema


def _rename_index(schema: Schema, op: Operation) -> Schema:
    index = schema.indexes.get(relation_key(op.name or op.relation or ""))
    if index is None or not op.new_name:
        return schema
    return schema.without_index(index.name).with_index(index._replace(name=relation_key(in_schema_of(index.name, op.new_name))))


def _partition(schema: Schema, op: Operation) -> Schema:
    partition = schema.table(op.name)
    if partition is None or schema.table(op.relation) is None:
        return schema
    parent = relation_key(op.relation or "") if op.kind is K.ATTACH_PARTITION else None
    return schema.with_table(partition._replace(parent=parent))


# -- types, sequences, schemas ------------------------------------------------------------------


def _create_enum(schema: Schema, op: Operation) -> Schema:
    return schema.with_enum(op.name, op.values) if op.name and schema.enum_values(op.name) is None else schema


def _add_enum_value(schema: Schema, op: Operation) -> Schema:
    values = schema.enum_values(op.name or "")
    if values is None or not op.value or op.value in values:
        return schema
    before, after = op.option("before"), op.option("after")
    if before in values:
        position = values.index(before)
    elif after in values:
        position = values.index(after) + 1
    else:
        position = len(values)
    return schema.with_enum(op.name or "", (*values[:position], op.value, *values[position:]))


def _rename_enum_value(schema: Schema, op: Operation) -> Schema:
    values = schema.enum_values(op.name or "")
    if values is None or not op.new_name:
        return schema
    return schema.with_enum(op.name or "", tuple(op.new_name if v == op.value else v for v in values))


def _drop_type(schema: Schema, op: Operation) -> Schema:
    if not op.name:
        return schema
    if op.cascade:  # the columns of the type go with it, and the views that read them
        for relation in op.other_relations or _drop_type_cascade(schema, op).other_relations:
            table = schema.table(relation)
            if table is not None and table.kind in ("view", "materialized_view"):
                schema = schema.without_table(relation)
        for table, column in list(schema.uses_type(op.name)):
            current = schema.table(table.name)
            if current is not None:
                schema = schema.with_table(current.without_column(column.name))
    return schema.without_type(op.name)


def _drop_schema(schema: Schema, op: Operation) -> Schema:
    """DROP SCHEMA: with CASCADE its relations go (as DROP ... CASCADE of each); the name is forgotten."""
    if not op.name:
        return schema
    if op.cascade:
        for key in [k for k in schema.tables if _in_schema(k, op.name)]:
            if schema.table(key) is not None:
                schema = _drop_table(schema, Operation(K.DROP_TABLE, op.shape, relation=key, cascade=True))
        for key in [k for k in schema.sequences if _in_schema(k, op.name)]:
            schema = schema.without_sequence(key)
    return schema._replace(schemas=schema.schemas - {op.name.replace('"', "")})


def _create_type(schema: Schema, op: Operation) -> Schema:
    name = op.name or op.relation
    return schema._replace(types=schema.types | {relation_key(name)}) if name else schema


def _rename_object(schema: Schema, op: Operation) -> Schema:
    if op.detail in ("type", "domain") and op.name and op.new_name:
        values = schema.enum_values(op.name)
        if values is not None:
            return schema.without_type(op.name).with_enum(in_schema_of(relation_key(op.name), op.new_name), values)
    if op.detail == "sequence" and op.name and op.new_name:
        sequence = schema.sequences.get(relation_key(op.name))
        if sequence is not None:
            renamed = relation_key(in_schema_of(relation_key(op.name), op.new_name))
            return schema.without_sequence(op.name).with_sequence(sequence._replace(name=renamed))
    return schema


def _create_sequence(schema: Schema, op: Operation) -> Schema:
    if not op.relation or (op.if_not_exists and relation_key(op.relation) in schema.sequences):
        return schema
    owner = op.option("owned_by")
    owned = tuple(relation_key(owner).rsplit(".", 1)) if owner and owner.lower() != "none" and "." in owner else None
    return schema.with_sequence(Sequence(relation_key(op.relation), owned, _int(op.option("start"))))  # type: ignore[arg-type]


def _alter_sequence(schema: Schema, op: Operation) -> Schema:
    sequence = schema.sequences.get(relation_key(op.relation or ""))
    if sequence is None:
        return schema
    start = _int(op.option("start"))
    return schema.with_sequence(sequence._replace(start=start if start is not None else sequence.start))


def _drop_sequence(schema: Schema, op: Operation) -> Schema:
    return schema.without_sequence(op.relation) if op.relation else schema


def _create_schema(schema: Schema, op: Operation) -> Schema:
    return schema._replace(schemas=schema.schemas | {op.name}) if op.name else schema


def _create_extension(schema: Schema, op: Operation) -> Schema:
    return schema._replace(extensions={**schema.extensions, op.name: Extension(op.name)}) if op.name else schema


def _rows(schema: Schema, op: Operation) -> Schema:
    table = schema.table(op.relation)
    if table is None:
        return schema
    has_rows = op.kind is not K.TRUNCATE and (op.kind is K.INSERT or table.has_rows)
    return schema if has_rows == table.has_rows else schema.with_table(table._replace(has_rows=has_rows))


def _do_block(schema: Schema, op: Operation) -> Schema:
    return schema  # its body's statements are replayed on their own (policies.parsing reads them)


_APPLY = {
    K.CREATE_TABLE: _create_table,
    K.DROP_TABLE: _drop_table,
    K.DROP_VIEW: _drop_table,
    K.DROP_MATERIALIZED_VIEW: _drop_table,
    K.RENAME_TABLE: _rename_table,
    K.SET_SCHEMA: _set_schema,
    K.ADD_COLUMN: _add_column_op,
    K.DROP_COLUMN: _drop_column,
    K.RENAME_COLUMN: _rename_column,
    K.SET_NOT_NULL: _column_change,
    K.DROP_NOT_NULL: _column_change,
    K.SET_DEFAULT: _column_change,
    K.DROP_DEFAULT: _column_change,
    K.ALTER_COLUMN_TYPE: _column_change,
    K.DROP_IDENTITY: _column_change,
    K.ADD_IDENTITY: _identity,
    K.ADD_PRIMARY_KEY: _add_constraint,
    K.ADD_UNIQUE: _add_constraint,
    K.ADD_FOREIGN_KEY: _add_constraint,
    K.ADD_CHECK: _add_constraint,
    K.ADD_EXCLUSION: _add_constraint,
    K.VALIDATE_CONSTRAINT: _validate,
    K.DROP_CONSTRAINT: _drop_constraint,
    K.RENAME_CONSTRAINT: _rename_constraint,
    K.CREATE_INDEX: _create_index,
    K.DROP_INDEX: _drop_index,
    K.RENAME_INDEX: _rename_index,
    K.ATTACH_PARTITION: _partition,
    K.DETACH_PARTITION: _partition,
    K.CREATE_ENUM: _create_enum,
    K.ADD_ENUM_VALUE: _add_enum_value,
    K.RENAME_ENUM_VALUE: _rename_enum_value,
    K.DROP_TYPE: _drop_type,
    K.DROP_DOMAIN: _drop_type,
    K.DROP_SCHEMA: _drop_schema,
    K.CREATE_TYPE: _create_type,
    K.CREATE_DOMAIN: _create_type,
    K.RENAME_OBJECT: _rename_object,
    K.CREATE_SEQUENCE: _create_sequence,
    K.ALTER_SEQUENCE: _alter_sequence,
    K.DROP_SEQUENCE: _drop_sequence,
    K.CREATE_SCHEMA: _create_schema,
    K.CREATE_EXTENSION: _create_extension,
    K.INSERT: _rows,
    K.TRUNCATE: _rows,
    K.DO_BLOCK: _do_block,
}
