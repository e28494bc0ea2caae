"""Rows of the catalog queries into the schema model: one function per family, each building its
mappings whole (nothing is changed once handed to the model)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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
    relation_key,
)
from policies.schema.model import OWNER

Row = Any
"""A row of `psycopg.rows.namedtuple_row`: fields named as the query's columns."""


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


def key(schema: str, name: str) -> str:
    """The model's key of an object named `name` in `schema` (`relation_key`: `public.` dropped)."""
    return relation_key(f"{schema}.{name}")


def collation(schema: str | None, name: str | None) -> str | None:
    """A collation's name as the model keeps it: bare for PostgreSQL's own (`C`, `und-x-icu`),
    keyed otherwise (`myschema.mine`)."""
    if name is None:
        return None
    return name if schema == "pg_catalog" else key(str(schema), name)


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


def _comment(comments: dict[ObjectKey, str], kind: str, name: str, text: str | None) -> None:
    if text is not None:
        comments[(kind, name)] = text


def sequences(
    rows: Iterable[Row], comments: dict[ObjectKey, str], grants: dict[ObjectKey, tuple[str, ...]]
) -> tuple[dict[str, Sequence], dict[tuple[str, str], Identity]]:
    """The sequences, and the identity of each identity column ((table, column) -> `Identity`
    without `always`, which the column's own row gives)."""
    found: dict[str, Sequence] = {}
    identities: dict[tuple[str, str], Identity] = {}
    for row in rows:
        name = key(row.nspname, row.relname)
        options = SequenceOptions(
            row.data_type, row.seqstart, row.seqincrement, row.seqmin, row.seqmax, row.seqcache, row.seqcycle
        )
        owned_by = (key(row.owner_schema, row.owner_table), row.owner_column) if row.owner_table else None
        found[name] = Sequence(name, owned_by, row.seqstart, bool(row.identity), options)
        if row.identity and owned_by is not None:
            identities[owned_by] = Identity(True, name, options)
        _comment(comments, "sequence", name, row.comment)
        grants[("sequence", name)] = privileges(row.acl, row.owner_item)
    return found, identities


class Attributes:
    """The column names of each relation by `attnum` (relation OID -> attnum -> name), to name the
    columns of keys, indexes and partition keys without a catalog lookup per row."""

    def __init__(self) -> None:
        self.names: dict[int, dict[int, str]] = {}

    def named(self, relation: int, attnums: Iterable[int]) -> tuple[str, ...]:
        """The columns `attnums` name, `(expression)` for 0 (an expression of an index or key)."""
        names = self.names.get(relation, {})
        return tuple(names.get(attnum, "(expression)") for attnum in attnums)


def columns(
    rows: Iterable[Row],
    identities: Mapping[tuple[str, str], Identity],
    comments: dict[ObjectKey, str],
    attributes: Attributes,
) -> dict[str, dict[str, Column]]:
    """Each relation's columns in `attnum` order (relation key -> column name -> `Column`)."""
    found: dict[str, dict[str, Column]] = {}
    relation_oid, relation, relation_columns, names = None, "", {}, {}
    for row in rows:
        if row.oid != relation_oid:  # rows come relation by relation
            relation_oid, relation = row.oid, key(row.nspname, row.relname)
            relation_columns = found[relation] = {}
            names = attributes.names[row.oid] = {}
        names[row.attnum] = row.attname
        identity = None
        if row.identity:
            known = identities.get((relation, row.attname))
            if known is not None:
                identity = known._replace(always=row.identity == "a")
        relation_columns[row.attname] = Column(
            row.attname,
            row.type,
            row.not_null,
            row.default,
            identity,
            row.generated,
            key(row.sequence_schema, row.sequence_name) if row.sequence_name else None,
            collation(row.collation_schema, row.collation_name) if row.collation_name else None,
            row.inherited,
        )
        if row.comment is not None:
            comments[("column", f"{relation}.{row.attname}")] = row.comment
    return found


def constraints(
    rows: Iterable[Row], comments: dict[ObjectKey, str], attributes: Attributes
) -> dict[str, dict[str, Constraint]]:
    """Each table's constraints (table key -> constraint name -> `Constraint`)."""
    found: dict[str, dict[str, Constraint]] = {}
    for row in rows:
        table = key(row.nspname, row.relname)
        kind = _CONSTRAINT_KINDS[row.contype]
        columns = attributes.named(row.oid, row.columns or ())
        found.setdefault(table, {})[row.conname] = Constraint(
            row.conname,
            kind,
            columns,
            validated=row.validated,
            referenced_table=key(row.referenced_schema, row.referenced_name) if row.referenced_name else None,
            referenced_columns=tuple(row.referenced_columns or ()),
            not_null_column=_not_null_column(kind, columns, row.quoted_column, row.definition),
            index_name=key(row.nspname, row.index_name) if row.index_name else None,
            definition=row.definition,
            inherited=row.inherited,
        )
        _comment(comments, "constraint", f"{table}.{row.conname}", row.comment)
    return found


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
    table_columns: Mapping[str, dict[str, Column]],
    table_constraints: Mapping[str, dict[str, Constraint]],
    attributes: Attributes,
    comments: dict[ObjectKey, str],
    grants: dict[ObjectKey, tuple[str, ...]],
) -> dict[str, Table]:
    """Tables, partitions, views and materialized views, in the order they were created."""
    found: dict[str, Table] = {}
    for row in rows:
        name = key(row.nspname, row.relname)
        options = sorted([*(row.options or ()), *(f"toast.{o}" for o in row.toast_options or ())])
        found[name] = Table(
            name,
            columns=table_columns.get(name, {}),
            constraints=table_constraints.get(name, {}),
            kind=_RELATION_KINDS[row.relkind],
            partition_key=attributes.named(row.oid, row.partition_key) if row.partition_key is not None else None,
            parent=key(row.parent_schema, row.parent_name) if row.parent_name else None,
            partition_by=row.partition_by,
            partition_bound=row.partition_bound,
            definition=row.definition,
            unlogged=row.unlogged,
            row_security=row.row_security,
            force_row_security=row.force_row_security,
            options=tuple(options),
            depends_on=tuple(sorted({key(schema, relation) for schema, relation in row.depends_on or ()})),
        )
        _comment(comments, _OBJECT_KINDS[row.relkind], name, row.comment)
        grants[(_OBJECT_KINDS[row.relkind], name)] = privileges(row.acl, row.owner_item)
    return found


def indexes(rows: Iterable[Row], comments: dict[ObjectKey, str], attributes: Attributes) -> dict[str, Index]:
    found: dict[str, Index] = {}
    for row in rows:
        name = key(row.nspname, row.index_name)
        found[name] = Index(
            name,
            key(row.nspname, row.table_name),
            attributes.named(row.oid, row.columns[: row.key_columns]),
            unique=row.unique,
            partial=row.partial,
            valid=row.valid,
            definition=row.definition,
            constraint=row.constraint_name,
            parent=key(row.parent_schema, row.parent_name) if row.parent_name else None,
        )
        _comment(comments, "index", name, row.comment)
    return found


class Types:
    """Enums, domains, composite types and the keys of every other type (`Schema.types`)."""

    def __init__(self, rows: Iterable[Row], comments: dict[ObjectKey, str]) -> None:
        self.enums: dict[str, tuple[str, ...]] = {}
        self.domains: dict[str, Domain] = {}
        self.composites: dict[str, CompositeType] = {}
        others: set[str] = set()
        for row in rows:
            name = key(row.nspname, row.typname)
            if row.typtype == "e":
                self.enums[name] = tuple(row.labels)
            else:
                others.add(name)
            if row.typtype == "d":
                self.domains[name] = Domain(
                    name,
                    row.base_type,
                    not_null=row.not_null,
                    default=row.default,
                    collation=collation(row.collation_schema, row.collation_name),
                    constraints=tuple(
                        DomainConstraint(con_name, definition, validated == "true")
                        for con_name, definition, validated in row.constraints
                    ),
                )
            elif row.typtype == "c":
                attributes = []
                for attribute, type_name, coll_schema, coll_name, comment in row.attributes:
                    attributes.append((attribute, type_name, collation(coll_schema, coll_name)))
                    _comment(comments, "column", f"{name}.{attribute}", comment)
                self.composites[name] = CompositeType(name, tuple(attributes))
            _comment(comments, "domain" if row.typtype == "d" else "type", name, row.comment)
        self.others = frozenset(others)


def functions(rows: Iterable[Row], comments: dict[ObjectKey, str]) -> dict[str, Function]:
    found: dict[str, Function] = {}
    for row in rows:
        name = key(row.nspname, row.proname)
        signature = f"{name}({row.arguments})"
        found[signature] = Function(name, signature, row.arguments, row.kind, row.definition)
        _comment(comments, _FUNCTION_KINDS[row.kind], signature, row.comment)
    return found


def triggers(rows: Iterable[Row], comments: dict[ObjectKey, str]) -> dict[str, Trigger]:
    found: dict[str, Trigger] = {}
    for row in rows:
        table = key(row.nspname, row.relname)
        found[f"{table}.{row.tgname}"] = Trigger(row.tgname, table, row.definition, row.enabled)
        _comment(comments, "trigger", f"{table}.{row.tgname}", row.comment)
    return found


def policies(rows: Iterable[Row], comments: dict[ObjectKey, str]) -> dict[str, RlsPolicy]:
    found: dict[str, RlsPolicy] = {}
    for row in rows:
        table = key(row.nspname, row.relname)
        found[f"{table}.{row.polname}"] = RlsPolicy(
            row.polname,
            table,
            command=_POLICY_COMMANDS[row.polcmd],
            permissive=row.polpermissive,
            roles=tuple(sorted(row.roles)),
            using=row.using_expression,
            with_check=row.with_check,
        )
        _comment(comments, "policy", f"{table}.{row.polname}", row.comment)
    return found


def schemas(rows: Iterable[Row], comments: dict[ObjectKey, str]) -> frozenset[str]:
    names = set()
    for row in rows:
        names.add(row.nspname)
        _comment(comments, "schema", row.nspname, row.comment)
    return frozenset(names)


def extensions(rows: Iterable[Row]) -> dict[str, Extension]:
    return {row.extname: Extension(row.extname, row.nspname, row.extversion) for row in rows}
