"""Renames applied to schema `a`: the schema as it reads after the renames, and the rename changes.

The differ then compares that schema with `b` as if nothing had been renamed. Every reference is
followed: keys, a table's columns (in their order), constraints and the indexes behind them,
foreign keys of other tables, sequences owned by a column, column types, comments, and names
inside definitions (`pg_get_indexdef`, `pg_get_viewdef`, defaults), read with PostgreSQL's scanner.
A definition that the renames do not bring to `b`'s text exactly (a view prints `title AS name`
after a column rename) is rebuilt by the differ, which is correct and only less brief.

A rename is applied only when its object is in `a`, its new name in `b` and not already in `a`;
others are ignored (a migration's rename of a table it created itself, say).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from policies.operations import quote_ident
from policies.schema.changes import (
    Change,
    RenameColumn,
    RenameConstraint,
    RenameEnumValue,
    RenameIndex,
    RenameSchema,
    RenameSequence,
    RenameTable,
    RenameType,
)
from policies.schema.model import (
    Column,
    Constraint,
    Domain,
    Function,
    Index,
    ObjectKey,
    RlsPolicy,
    Schema,
    Sequence,
    Table,
    Trigger,
    relation_key,
)
from policies.schema.names import not_null_name
from policies.schema.renames import Renames, join_key, split_key
from policies.schema.sqltext import replace_literals, replace_names

KeyMap = Callable[[str], str]


def type_key(type_text: str) -> str:
    """The model key of the type a column or attribute has (`"Status"[]` -> `Status`)."""
    text = type_text.strip()
    while text.endswith("[]"):
        text = text[:-2].rstrip()
    return relation_key(text)


def type_text(key: str, like: str) -> str:
    """Type `key` spelled as `format_type` prints a user type, with the array brackets of `like`."""
    schema, name = split_key(key)
    spelled = quote_ident(name) if schema == "public" else f"{quote_ident(schema)}.{quote_ident(name)}"
    text, arrays = like.strip(), ""
    while text.endswith("[]"):
        text, arrays = text[:-2].rstrip(), arrays + "[]"
    return spelled + arrays


def apply_renames(a: Schema, b: Schema, renames: Renames) -> tuple[Schema, tuple[Change, ...]]:
    """`a` with the renames applied, and the rename changes in the order they run."""
    if not renames:
        return a, ()
    changes: list[Change] = []
    a = _schemas(a, b, renames, changes)
    a = _relations_and_types(a, b, renames, changes)
    a = _columns(a, b, renames, changes)
    a = _constraints(a, b, renames, changes)
    a = _enum_values(a, b, renames, changes)
    return a, tuple(changes)


def _valid(old: str, new: str, in_a: Mapping[str, object] | frozenset[str], in_b: Mapping[str, object] | frozenset[str]) -> bool:
    return old != new and old in in_a and new in in_b and new not in in_a


# -- whole-schema rewriting ------------------------------------------------------------------------


def _rewrite(a: Schema, relation: KeyMap, typ: KeyMap, text: Callable[[str], str]) -> Schema:
    """Every key and reference of `a` through `relation` (tables, views, indexes, sequences) and
    `typ` (enums, domains, composites), and every definition through `text`."""

    def opt(value: str | None) -> str | None:
        return text(value) if value else value

    def retype(spelled: str) -> str:
        key = type_key(spelled)
        new = typ(key)
        return spelled if new == key else type_text(new, spelled)

    def column(c: Column) -> Column:
        identity = c.identity._replace(sequence=relation(relation_key(c.identity.sequence))) if c.identity else None
        return c._replace(
            type=retype(c.type), default=opt(c.default), identity=identity,
            sequence=relation(relation_key(c.sequence)) if c.sequence else None,
        )

    def constraint(c: Constraint) -> Constraint:
        return c._replace(
            referenced_table=relation(c.referenced_table) if c.referenced_table else None,
            definition=opt(c.definition),
        )

    def table(key: str, t: Table) -> Table:
        new = relation(key)
        return t._replace(
            name=relation(relation_key(t.name)),
            columns={
                n: kept_not_null(column(c), key, new) if a.not_null_names else column(c) for n, c in t.columns.items()
            },
            constraints={n: constraint(c) for n, c in t.constraints.items()},
            parent=relation(relation_key(t.parent)) if t.parent else None,
            depends_on=tuple(relation(d) for d in t.depends_on),
            definition=opt(t.definition), partition_by=opt(t.partition_by),
        )

    def index(i: Index) -> Index:
        return i._replace(
            name=relation(relation_key(i.name)), table=relation(i.table), definition=opt(i.definition),
            parent=relation(relation_key(i.parent)) if i.parent else None,
        )

    def sequence(s: Sequence) -> Sequence:
        owner = (relation(s.owned_by[0]), s.owned_by[1]) if s.owned_by else None
        return s._replace(name=relation(relation_key(s.name)), owned_by=owner)

    def domain(d: Domain) -> Domain:
        return d._replace(
            name=typ(relation_key(d.name)), base_type=retype(d.base_type), default=opt(d.default),
            constraints=tuple(c._replace(definition=text(c.definition)) for c in d.constraints),
        )

    def function(f: Function) -> tuple[str, Function]:
        name, paren, arguments = f.signature.partition("(")
        signature = relation(relation_key(name)) + paren + text(arguments) if paren else f.signature
        return signature, f._replace(signature=signature, arguments=text(f.arguments), definition=opt(f.definition))

    def owned(key: str) -> str:
        """`table.name` keys of triggers, policies, columns and constraints."""
        owner, _, name = key.rpartition(".")
        return f"{relation(owner)}.{name}" if owner else key

    def trigger(t: Trigger) -> Trigger:
        return t._replace(table=relation(t.table), definition=text(t.definition))

    def policy(p: RlsPolicy) -> RlsPolicy:
        return p._replace(table=relation(p.table), using=opt(p.using), with_check=opt(p.with_check))

    def object_key(target: ObjectKey) -> ObjectKey:
        kind, key = target
        if kind in ("column", "constraint", "trigger", "policy"):
            return kind, owned(key)
        if kind in ("type", "domain"):
            return kind, typ(key)
        if kind in ("function", "procedure"):
            name, paren, arguments = key.partition("(")
            return kind, relation(relation_key(name)) + paren + text(arguments) if paren else key
        if kind == "schema":
            return target
        return kind, relation(key)

    functions = dict(function(f) for f in a.functions.values())
    return a._replace(
        tables={relation(k): table(k, t) for k, t in a.tables.items()},
        indexes={relation(k): index(i) for k, i in a.indexes.items()},
        sequences={relation(k): sequence(s) for k, s in a.sequences.items()},
        enums={typ(k): v for k, v in a.enums.items()},
        types=frozenset(typ(k) for k in a.types),
        domains={typ(k): domain(d) for k, d in a.domains.items()},
        composites={
            typ(k): c._replace(name=typ(relation_key(c.name)), attributes=tuple((n, retype(t), co) for n, t, co in c.attributes))
            for k, c in a.composites.items()
        },
        functions=functions,
        triggers={owned(k): trigger(t) for k, t in a.triggers.items()},
        policies={owned(k): policy(p) for k, p in a.policies.items()},
        comments={object_key(k): v for k, v in a.comments.items()},
        privileges={object_key(k): v for k, v in a.privileges.items()},
    )


def _schemas(a: Schema, b: Schema, renames: Renames, changes: list[Change]) -> Schema:
    mapping = {old: new for old, new in renames.schemas.items() if _valid(old, new, a.schemas, b.schemas)}
    if not mapping:
        return a
    changes.extend(RenameSchema(old, new) for old, new in sorted(mapping.items()))

    def moved(key: str) -> str:
        schema, name = split_key(key)
        return join_key(mapping.get(schema, schema), name)

    renamed = _rewrite(a, moved, moved, lambda text: replace_names(text, mapping, qualifiers_only=True))
    extensions = {
        k: e._replace(schema=mapping.get(e.schema, e.schema)) if e.schema else e for k, e in a.extensions.items()
    }
    comments = {(("schema", mapping.get(key, key)) if kind == "schema" else (kind, key)): v for (kind, key), v in renamed.comments.items()}
    return renamed._replace(
        schemas=frozenset(mapping.get(s, s) for s in a.schemas), extensions=extensions, comments=comments
    )


def _relations_and_types(a: Schema, b: Schema, renames: Renames, changes: list[Change]) -> Schema:
    relations: dict[str, str] = {}
    types: dict[str, str] = {}
    constraint_indexes = set()
    # ALTER TABLE renames any relation and ALTER INDEX or ALTER SEQUENCE a table too: each rename
    # applies where its object is
    relation_renames = {**renames.indexes, **renames.sequences, **renames.tables}
    for old, new in sorted(relation_renames.items()):
        old = renames.moved(old)
        if _valid(old, new, a.tables, b.tables):
            relations[old] = new
            changes.append(RenameTable(old, new, a.tables[old].kind))
        elif _valid(old, new, a.sequences, b.sequences):
            relations[old] = new
            changes.append(RenameSequence(old, new))
        elif _valid(old, new, a.indexes, b.indexes):
            relations[old] = new
            index = a.indexes[old]
            if index.constraint is not None:
                constraint_indexes.add((index.table, index.constraint, split_key(new)[1]))
            changes.append(RenameIndex(old, new))
    known_types = {**a.enums, **a.domains, **a.composites}
    wanted_types = {**b.enums, **b.domains, **b.composites}
    for old, new in sorted(renames.types.items()):
        old = renames.moved(old)
        if _valid(old, new, known_types, wanted_types):
            types[old] = new
            kind = "enum" if old in a.enums else "domain" if old in a.domains else "composite"
            changes.append(RenameType(old, new, kind))
    if not relations and not types:
        return a
    words = {
        split_key(old)[1]: split_key(new)[1]
        for old, new in (*relations.items(), *types.items())
        if split_key(old)[1] != split_key(new)[1]
    }
    renamed = _rewrite(
        a, lambda key: relations.get(key, key), lambda key: types.get(key, key),
        lambda text: replace_names(text, words),
    )
    # ALTER INDEX ... RENAME of the index behind a constraint renames the constraint too
    for table_key, constraint_name, new_name in constraint_indexes:
        table = renamed.tables.get(relations.get(table_key, table_key))
        if table is not None and constraint_name in table.constraints:
            renamed = _rename_constraint(renamed, table, constraint_name, new_name)
    return renamed


def _columns(a: Schema, b: Schema, renames: Renames, changes: list[Change]) -> Schema:
    for original, mapping in sorted(renames.columns.items()):
        key = renames.table(original)
        table, wanted = a.tables.get(key), b.tables.get(key)
        if table is None or wanted is None:
            continue
        valid = {
            old: new for old, new in mapping.items()
            if old != new and old in table.columns and new in wanted.columns and new not in table.columns
        }
        if not valid:
            continue
        changes.extend(RenameColumn(key, old, new) for old, new in valid.items())
        a = _rename_columns(a, key, valid)
    return a


def _rename_columns(a: Schema, key: str, mapping: dict[str, str]) -> Schema:
    """Columns of table `key` renamed, with every reference to them."""
    table = a.tables[key]

    def text(value: str | None) -> str | None:
        return replace_names(value, mapping) if value else value

    def cols(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(mapping.get(n, n) for n in names)

    columns = {
        mapping.get(n, n): _kept(c._replace(name=mapping.get(n, n), default=text(c.default)), key, n, a.not_null_names)
        for n, c in table.columns.items()
    }
    constraints = {}
    for n, c in table.constraints.items():
        c = c._replace(columns=cols(c.columns), not_null_column=mapping.get(c.not_null_column or "", c.not_null_column))
        if c.referenced_table == key:
            c = c._replace(referenced_columns=cols(c.referenced_columns))
        constraints[n] = c._replace(definition=_constraint_text(c, mapping, mapping if c.referenced_table == key else {}))
    tables = dict(a.tables)
    tables[key] = table._replace(
        columns=columns, constraints=constraints,
        partition_key=cols(table.partition_key) if table.partition_key else table.partition_key,
        partition_by=text(table.partition_by),
    )
    for other_key, other in a.tables.items():
        if other_key == key:
            continue
        fks = {
            n: c._replace(referenced_columns=cols(c.referenced_columns), definition=_constraint_text(c, {}, mapping))
            for n, c in other.constraints.items() if c.referenced_table == key
        }
        changed = other._replace(constraints={**other.constraints, **fks}) if fks else other
        if key in other.depends_on:
            changed = changed._replace(definition=text(changed.definition))
        tables[other_key] = changed
    indexes = {
        k: i._replace(columns=cols(i.columns), definition=text(i.definition)) if i.table == key else i
        for k, i in a.indexes.items()
    }
    sequences = {
        k: s._replace(owned_by=(key, mapping.get(s.owned_by[1], s.owned_by[1])))
        if s.owned_by and s.owned_by[0] == key else s
        for k, s in a.sequences.items()
    }
    triggers = {k: t._replace(definition=text(t.definition) or "") if t.table == key else t for k, t in a.triggers.items()}
    policies = {
        k: p._replace(using=text(p.using), with_check=text(p.with_check)) if p.table == key else p
        for k, p in a.policies.items()
    }

    def object_key(target: ObjectKey) -> ObjectKey:
        kind, name = target
        owner, _, column = name.rpartition(".")
        if kind == "column" and owner == key and column in mapping:
            return kind, f"{owner}.{mapping[column]}"
        return target

    return a._replace(
        tables=tables, indexes=indexes, sequences=sequences, triggers=triggers, policies=policies,
        comments={object_key(k): v for k, v in a.comments.items()},
    )


def _kept(c: Column, table: str, old_column: str, named: bool) -> Column:
    return kept_not_null(c, table, table, old_column) if named else c


def kept_not_null(c: Column, old_table: str, new_table: str, old_column: str | None = None) -> Column:
    """`c` after a rename of its table (`old_table` -> `new_table`, model keys) or of itself (from
    `old_column`): PostgreSQL 18 keeps the name of its NOT NULL constraint, which is then no longer
    the default one (`Column.not_null_name`). Only for a schema introspected from 18 or later
    (`Schema.not_null_names`)."""
    if not c.not_null or (old_table == new_table and old_column in (None, c.name)):
        return c
    kept = c.not_null_name or not_null_name(old_table, old_column or c.name)
    return c._replace(not_null_name=None if kept == not_null_name(new_table, c.name) else kept)


def _constraint_text(c: Constraint, own: Mapping[str, str], referenced: Mapping[str, str]) -> str | None:
    """A constraint's definition with its own columns and, after REFERENCES, the referenced
    table's columns renamed."""
    if not c.definition:
        return c.definition
    head, sep, tail = c.definition.partition(" REFERENCES ")
    return replace_names(head, own) + sep + (replace_names(tail, referenced) if sep else "")


def _constraints(a: Schema, b: Schema, renames: Renames, changes: list[Change]) -> Schema:
    for original, mapping in sorted(renames.constraints.items()):
        key = renames.table(original)
        table, wanted = a.tables.get(key), b.tables.get(key)
        if table is None or wanted is None:
            continue
        for old, new in mapping.items():
            table = a.tables[key]
            if old != new and old in table.constraints and new in wanted.constraints and new not in table.constraints:
                changes.append(RenameConstraint(key, old, new))
                a = _rename_constraint(a, table, old, new)
    return a


def _rename_constraint(a: Schema, table: Table, old: str, new: str) -> Schema:
    """Constraint `old` of `table` renamed to `new`, with the index behind it (PostgreSQL renames
    both whichever is renamed)."""
    key = relation_key(table.name)
    constraint = table.constraints[old]
    constraints = {(new if n == old else n): (c._replace(name=new) if n == old else c) for n, c in table.constraints.items()}
    indexes = dict(a.indexes)
    index_key = constraint.index_name or join_key(split_key(key)[0], old)
    index = indexes.pop(index_key, None)
    if index is not None and index.constraint in (old, new):
        new_key = join_key(split_key(key)[0], new)
        indexes[new_key] = index._replace(
            name=new_key, constraint=new, definition=replace_names(index.definition or "", {split_key(index_key)[1]: new}) or None
        )
        constraints[new] = constraints[new]._replace(index_name=new)
    elif index is not None:
        indexes[index_key] = index
    comments = {
        (("constraint", f"{key}.{new}") if target == ("constraint", f"{key}.{old}") else target): v
        for target, v in a.comments.items()
    }
    return a._replace(
        tables={**a.tables, key: table._replace(constraints=constraints)}, indexes=indexes, comments=comments
    )


def _enum_values(a: Schema, b: Schema, renames: Renames, changes: list[Change]) -> Schema:
    for original, mapping in sorted(renames.enum_values.items()):
        key = renames.type(original)
        values, wanted = a.enums.get(key), b.enums.get(key)
        if values is None or wanted is None:
            continue
        valid = {old: new for old, new in mapping.items() if old in values and new in wanted and new not in values}
        if not valid:
            continue
        changes.extend(RenameEnumValue(key, old, new) for old, new in valid.items())
        names = frozenset({key, split_key(key)[1]})

        def text(value: str | None, names: frozenset[str] = names, valid: dict[str, str] = valid) -> str | None:
            return replace_literals(value, names, valid) if value else value

        tables = {
            k: t._replace(
                columns={n: c._replace(default=text(c.default)) for n, c in t.columns.items()},
                constraints={n: c._replace(definition=text(c.definition)) for n, c in t.constraints.items()},
                definition=text(t.definition), partition_bound=text(t.partition_bound),
            )
            for k, t in a.tables.items()
        }
        a = a._replace(
            enums={**a.enums, key: tuple(valid.get(v, v) for v in values)}, tables=tables,
            indexes={k: i._replace(definition=text(i.definition)) for k, i in a.indexes.items()},
            policies={k: p._replace(using=text(p.using), with_check=text(p.with_check)) for k, p in a.policies.items()},
        )
    return a
