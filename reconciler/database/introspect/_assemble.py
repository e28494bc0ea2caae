"""Rows of the catalog queries into the schema model: one function per family, each building its
mappings whole (nothing is changed once handed to the model). The queries name other objects by
OID; `_references.Names` turns OIDs into the model's keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from policies.operations import ConstraintKind
from policies.schema import (
    Column,
    CompositeType,
    Constraint,
    Domain,
    DomainConstraint,
    Extension,
    Function,
    Identity,
    Index,
    ObjectKey,
    RlsPolicy,
    Sequence,
    SequenceOptions,
    Table,
    Trigger,
)
from policies.schema.model import OWNER
from policies.schema.names import not_null_name
from reconciler.database.introspect._references import Attributes, Comments, Names, Row, collation, key

_CONSTRAINT_KINDS = {
    "p": ConstraintKind.PRIMARY_KEY,
    "u": ConstraintKind.UNIQUE,
    "f": ConstraintKind.FOREIGN_KEY,
    "c": ConstraintKind.CHECK,
    "x": ConstraintKind.EXCLUSION,
    "n": ConstraintKind.NOT_NULL,
}
_RELATION_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized_view"}
_OBJECT_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "S": "sequence"}
"""`ObjectKey` kinds (COMMENT ON's words) by `relkind`."""
_FUNCTION_KINDS = {"f": "function", "w": "function", "p": "procedure", "a": "aggregate"}
_POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}


def privileges(acl: list[str], owner_item: str) -> tuple[str, ...]:
    """Sorted aclitem texts with the owner's role name written `OWNER` (`$owner`) as grantee and grantor.

    `owner_item` is `makeaclitem(owner, owner, 'SELECT', false)` printed (`<owner>=r/<owner>`): the
    owner's name exactly as aclitem prints it, quoted or not. Most relations of a schema share their
    privileges: each distinct list is worked out once.
    """
    cache_key = (*acl, owner_item)
    found = _PRIVILEGES.get(cache_key)
    if found is None:
        found = _privileges(acl, owner_item)
        if len(_PRIVILEGES) < 10_000:
            _PRIVILEGES[cache_key] = found
    return found


_PRIVILEGES: dict[tuple[str, ...], tuple[str, ...]] = {}


def _privileges(acl: Iterable[str], owner_item: str) -> tuple[str, ...]:
    owner = owner_item[: (len(owner_item) - 3) // 2]
    items = []
    for item in acl:
        if item.startswith(owner + "="):
            item = OWNER + item[len(owner) :]
        if item.endswith("/" + owner):
            item = item[: -len(owner)] + OWNER
        items.append(item)
    return tuple(sorted(items))


def sequences(
    rows: Iterable[Row], names: Names
) -> tuple[dict[str, Sequence], dict[tuple[str, str], Identity]]:
    """The sequences, and the identity of each identity column ((table, column) -> `Identity`
    without `always`, which the column's own row gives)."""
    found: dict[str, Sequence] = {}
    identities: dict[tuple[str, str], Identity] = {}
    for oid, data_type, start, increment, minimum, maximum, cache, cycle, identity, owner, owner_column in rows:
        name = names[oid]
        options = SequenceOptions(data_type, start, increment, minimum, maximum, cache, cycle)
        owned_by = (names[owner], owner_column) if owner else None
        found[name] = Sequence(name, owned_by, start, bool(identity), options)
        if identity and owned_by is not None:
            identities[owned_by] = Identity(True, name, options)
    return found, identities


def columns(
    rows: Iterable[Row],
    names: Names,
    identities: Mapping[tuple[str, str], Identity],
    comments: Comments,
    attributes: Attributes,
) -> dict[str, dict[str, Column]]:
    """Each relation's columns in `attnum` order (relation key -> column name -> `Column`)."""
    found: dict[str, dict[str, Column]] = {}
    relation_oid, relation, relation_columns, attnames = None, "", {}, {}
    for (
        oid, attnum, column, type_name, not_null, default, kind, generated, coll_schema, coll_name, inherited, sequence,
        constraint_name,
    ) in rows:
        if oid != relation_oid:  # rows come relation by relation
            relation_oid, relation = oid, names[oid]
            relation_columns = found[relation] = {}
            attnames = attributes.names[oid] = {}
        attnames[attnum] = column
        identity = None
        if kind:  # attidentity: `a` always, `d` by default
            known = identities.get((relation, column))
            if known is not None:
                identity = known._replace(always=kind == "a")
        relation_columns[column] = Column(
            column,
            type_name,
            not_null,
            default,
            identity,
            generated,
            names.get(sequence),
            collation(coll_schema, coll_name) if coll_name else None,
            inherited,
            # PostgreSQL 18 names NOT NULL constraints; the model keeps a name only when it is not the default
            constraint_name if not_null and constraint_name and constraint_name != not_null_name(relation, column) else None,
        )
        comments.note("column", f"{relation}.{column}", "pg_class", oid, attnum)
    return found


def constraints(
    rows: Iterable[Row], names: Names, comments: Comments, attributes: Attributes
) -> tuple[dict[str, dict[str, Constraint]], dict[int, str]]:
    """Each table's constraints (table key -> constraint name -> `Constraint`), and the constraint
    each index was made for (index OID -> constraint name)."""
    found: dict[str, dict[str, Constraint]] = {}
    made_for: dict[int, str] = {}
    for (
        constraint_oid, oid, name, contype, attnums, quoted_column, validated, referenced_table,
        referenced_columns, index, definition, inherited,
    ) in rows:  # fmt: skip
        table = names[oid]
        kind = _CONSTRAINT_KINDS[contype]
        columns = attributes.named(oid, attnums or ())
        found.setdefault(table, {})[name] = Constraint(
            name,
            kind,
            columns,
            validated,
            names.get(referenced_table),
            tuple(referenced_columns or ()),
            _not_null_column(kind, columns, quoted_column, definition),
            names.get(index),
            definition,
            inherited,
        )
        if index:
            made_for[index] = name
        comments.note("constraint", f"{table}.{name}", "pg_constraint", constraint_oid)
    return found, made_for


def _not_null_column(
    kind: ConstraintKind, columns: tuple[str, ...], quoted: str | None, definition: str
) -> str | None:
    """The column a `CHECK (col IS NOT NULL)` (or, on 18, a NOT VALID NOT NULL constraint) proves
    never null; an enforced check only, with nothing else in its expression."""
    if kind is ConstraintKind.NOT_NULL:
        return columns[0] if columns else None
    if kind is not ConstraintKind.CHECK or quoted is None:
        return None
    rest = definition.removeprefix(f"CHECK (({quoted} IS NOT NULL))")
    if rest == definition or any(word not in ("NOT", "VALID", "NO", "INHERIT") for word in rest.split()):
        return None
    return columns[0]


def tables(
    rows: Iterable[Row],
    names: Names,
    table_columns: Mapping[str, dict[str, Column]],
    table_constraints: Mapping[str, dict[str, Constraint]],
    attributes: Attributes,
    comments: Comments,
) -> tuple[dict[str, Table], dict[ObjectKey, tuple[str, ...]]]:
    """Tables, partitions, views and materialized views, in the order they were created, and the
    privileges of each (and of each sequence)."""
    found: dict[str, Table] = {}
    grants: dict[ObjectKey, tuple[str, ...]] = {}
    for (
        oid, _schema, _name, relkind, unlogged, row_security, force_row_security, options, toast_options, parent,
        partition_bound, partition_by, partition_key, definition, depends_on, acl, owner_item,
    ) in rows:  # fmt: skip
        name = names[oid]
        kind = _OBJECT_KINDS[relkind]
        grants[(kind, name)] = privileges(acl, owner_item)
        comments.note(kind, name, "pg_class", oid)
        if relkind == "S":
            continue
        found[name] = Table(
            name,
            columns=table_columns.get(name, {}),
            constraints=table_constraints.get(name, {}),
            kind=_RELATION_KINDS[relkind],
            partition_key=attributes.named(oid, partition_key) if partition_key is not None else None,
            parent=names.get(parent),
            partition_by=partition_by,
            partition_bound=partition_bound,
            definition=definition,
            unlogged=unlogged,
            row_security=row_security,
            force_row_security=force_row_security,
            options=tuple(sorted([*(options or ()), *(f"toast.{o}" for o in toast_options or ())])),
            depends_on=tuple(sorted({names[depended] for depended in depends_on or ()})),
        )
    return found, grants


def indexes(
    rows: Iterable[Row], names: Names, made_for: Mapping[int, str], comments: Comments, attributes: Attributes
) -> dict[str, Index]:
    found: dict[str, Index] = {}
    for index_oid, oid, _schema, _name, attnums, key_columns, unique, partial, valid, definition, parent in rows:
        name = names[index_oid]
        found[name] = Index(
            name,
            names[oid],
            attributes.named(oid, attnums[:key_columns]),
            unique,
            partial,
            valid,
            False,  # only: see `Index`
            definition,
            made_for.get(index_oid),
            names.get(parent),
        )
        comments.note("index", name, "pg_class", index_oid)
    return found


class Types:
    """Enums, domains, composite types and the keys of every other type (`Schema.types`)."""

    def __init__(self, rows: Iterable[Row], comments: Comments) -> None:
        self.enums: dict[str, tuple[str, ...]] = {}
        self.domains: dict[str, Domain] = {}
        self.composites: dict[str, CompositeType] = {}
        others: set[str] = set()
        for (
            oid, schema, type_name, typtype, typrelid, base_type, not_null, default, coll_schema, coll_name,
            labels, attributes, constraints,
        ) in rows:  # fmt: skip
            name = key(schema, type_name)
            if typtype == "e":
                self.enums[name] = tuple(labels)
            else:
                others.add(name)
            if typtype == "d":
                self.domains[name] = Domain(
                    name,
                    base_type,
                    not_null=not_null,
                    default=default,
                    collation=collation(coll_schema, coll_name),
                    constraints=tuple(
                        DomainConstraint(con_name, definition, validated == "true")
                        for con_name, definition, validated in constraints
                    ),
                )
            elif typtype == "c":
                found = []
                for attnum, attribute, attribute_type, attribute_coll_schema, attribute_coll_name in attributes:
                    found.append((attribute, attribute_type, collation(attribute_coll_schema, attribute_coll_name)))
                    comments.note("column", f"{name}.{attribute}", "pg_class", typrelid, int(attnum))
                self.composites[name] = CompositeType(name, tuple(found))
            comments.note("domain" if typtype == "d" else "type", name, "pg_type", oid)
        self.others = frozenset(others)


def functions(rows: Iterable[Row], comments: Comments) -> dict[str, Function]:
    found: dict[str, Function] = {}
    for oid, schema, function, arguments, kind, definition in rows:
        name = key(schema, function)
        signature = f"{name}({arguments})"
        found[signature] = Function(name, signature, arguments, kind, definition)
        comments.note(_FUNCTION_KINDS[kind], signature, "pg_proc", oid)
    return found


def triggers(rows: Iterable[Row], names: Names, comments: Comments) -> dict[str, Trigger]:
    found: dict[str, Trigger] = {}
    for trigger_oid, oid, name, definition, enabled in rows:
        table = names[oid]
        found[f"{table}.{name}"] = Trigger(name, table, definition, enabled)
        comments.note("trigger", f"{table}.{name}", "pg_trigger", trigger_oid)
    return found


def policies(rows: Iterable[Row], names: Names, comments: Comments) -> dict[str, RlsPolicy]:
    found: dict[str, RlsPolicy] = {}
    for policy_oid, oid, name, command, permissive, roles, using, with_check in rows:
        table = names[oid]
        found[f"{table}.{name}"] = RlsPolicy(
            name, table, _POLICY_COMMANDS[command], permissive, tuple(sorted(roles)), using, with_check
        )
        comments.note("policy", f"{table}.{name}", "pg_policy", policy_oid)
    return found


def schemas(rows: Iterable[Row], comments: Comments) -> frozenset[str]:
    found = set()
    for oid, name in rows:
        found.add(name)
        comments.note("schema", name, "pg_namespace", oid)
    return frozenset(found)


def extensions(rows: Iterable[Row]) -> dict[str, Extension]:
    return {name: Extension(name, schema, version) for name, schema, version in rows}
