"""Classification: a parsed statement becomes typed operations.

Dispatch is by parser node type; each handler reads the few fields that matter. A node type with
no handler becomes one `unknown` operation carrying its shape, so nothing is silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from policies.classify_table import alter_table, create_table, relation_name
from policies.expressions import name_list, option_list, qualified, render
from policies.operations import Operation, OperationKind
from policies.parsing import TOO_DEEP, Node, ParsedStatement, unwrap

K = OperationKind
Handler = Callable[[str, Node], Iterator[Operation]]

LOCK_MODES = {
    1: "ACCESS SHARE",
    2: "ROW SHARE",
    3: "ROW EXCLUSIVE",
    4: "SHARE UPDATE EXCLUSIVE",
    5: "SHARE",
    6: "SHARE ROW EXCLUSIVE",
    7: "EXCLUSIVE",
    8: "ACCESS EXCLUSIVE",
}


def classify(parsed: ParsedStatement) -> tuple[Operation, ...]:
    """The operations of one parsed statement (empty for a statement that did not parse)."""
    if parsed.error is not None:
        return ()
    handler = _HANDLERS.get(parsed.shape)
    if parsed.too_deep:
        return (Operation(K.UNKNOWN, parsed.shape, detail=TOO_DEEP),)
    if handler is None:
        return (Operation(K.UNKNOWN, parsed.shape),)
    try:
        return tuple(handler(parsed.shape, parsed.node)) or (Operation(K.UNKNOWN, parsed.shape),)
    except RecursionError:  # an expression deeper than the recursive readers (defaults, checks) go
        return (Operation(K.UNKNOWN, parsed.shape, detail=TOO_DEEP),)


def _index(shape: str, node: Node) -> Iterator[Operation]:
    columns = tuple(
        unwrap(p)[1].get("name") or "(expression)" for p in node.get("indexParams", [])
    )
    yield Operation(
        K.CREATE_INDEX,
        shape,
        relation=relation_name(node.get("relation")),
        columns=columns,
        name=node.get("idxname"),
        unique=bool(node.get("unique")),
        concurrently=bool(node.get("concurrent")),
        if_not_exists=bool(node.get("if_not_exists")),
        has_where="whereClause" in node,
        detail=node.get("accessMethod"),
        # ON ONLY a partitioned table: the parse tree leaves the relation's `inh` out
        options=(("only", "true"),) if not node.get("relation", {}).get("inh") else (),
    )


_DROP_KINDS = {
    "OBJECT_TABLE": K.DROP_TABLE,
    "OBJECT_FOREIGN_TABLE": K.DROP_TABLE,
    "OBJECT_INDEX": K.DROP_INDEX,
    "OBJECT_SCHEMA": K.DROP_SCHEMA,
    "OBJECT_TYPE": K.DROP_TYPE,
    "OBJECT_DOMAIN": K.DROP_DOMAIN,
    "OBJECT_VIEW": K.DROP_VIEW,
    "OBJECT_MATVIEW": K.DROP_MATERIALIZED_VIEW,
    "OBJECT_FUNCTION": K.DROP_FUNCTION,
    "OBJECT_PROCEDURE": K.DROP_FUNCTION,
    "OBJECT_ROUTINE": K.DROP_FUNCTION,
    "OBJECT_AGGREGATE": K.DROP_FUNCTION,
    "OBJECT_SEQUENCE": K.DROP_SEQUENCE,
    "OBJECT_TRIGGER": K.DROP_TRIGGER,
    "OBJECT_POLICY": K.DROP_POLICY,
    "OBJECT_EXTENSION": K.DROP_EXTENSION,
}


def _drop(shape: str, node: Node) -> Iterator[Operation]:
    remove_type = str(node.get("removeType", ""))
    kind = _DROP_KINDS.get(remove_type, K.DROP_OTHER)
    flags: dict[str, Any] = {
        "if_exists": bool(node.get("missing_ok")),
        "cascade": node.get("behavior") == "DROP_CASCADE",
        "concurrently": bool(node.get("concurrent")),
    }
    for obj in node.get("objects", []):
        name, fields = unwrap(obj)
        if name == "List":
            parts = name_list(fields.get("items", []))
        elif name == "TypeName":
            parts = name_list(fields.get("names", []))
        elif name == "ObjectWithArgs":
            parts = name_list(fields.get("objname", []))
        elif name == "String":
            parts = (str(fields.get("sval", "")),)
        else:
            parts = ()
        full = ".".join(parts)
        if kind in (K.DROP_TRIGGER, K.DROP_POLICY):
            # `DROP TRIGGER name ON table` is stored as (schema.)table.name
            yield Operation(kind, shape, relation=".".join(parts[:-1]) or None, name=parts[-1] if parts else None, **flags)
        elif kind in (K.DROP_TABLE, K.DROP_INDEX, K.DROP_VIEW, K.DROP_MATERIALIZED_VIEW, K.DROP_SEQUENCE):
            yield Operation(kind, shape, relation=full or None, name=full or None, **flags)
        else:
            detail = remove_type.removeprefix("OBJECT_").lower() if kind is K.DROP_OTHER else None
            yield Operation(kind, shape, name=full or None, detail=detail, **flags)


_RENAME_KINDS = {
    "OBJECT_TABLE": K.RENAME_TABLE,
    "OBJECT_FOREIGN_TABLE": K.RENAME_TABLE,
    "OBJECT_VIEW": K.RENAME_TABLE,
    "OBJECT_MATVIEW": K.RENAME_TABLE,
    "OBJECT_COLUMN": K.RENAME_COLUMN,
    "OBJECT_TABCONSTRAINT": K.RENAME_CONSTRAINT,
    "OBJECT_INDEX": K.RENAME_INDEX,
}


def _rename(shape: str, node: Node) -> Iterator[Operation]:
    rename_type = str(node.get("renameType", ""))
    kind = _RENAME_KINDS.get(rename_type, K.RENAME_OBJECT)
    relation = relation_name(node.get("relation"))
    old = node.get("subname")
    if kind is K.RENAME_OBJECT:
        obj = node.get("object")
        if obj is not None:
            old = _object_name(obj)
        old = old or relation
        yield Operation(
            kind, shape, name=old, new_name=node.get("newname"),
            detail=rename_type.removeprefix("OBJECT_").lower(), if_exists=bool(node.get("missing_ok")),
        )
        return
    yield Operation(
        kind,
        shape,
        relation=relation,
        columns=(old,) if kind is K.RENAME_COLUMN and old else (),
        name=old if kind is not K.RENAME_COLUMN else None,
        new_name=node.get("newname"),
        if_exists=bool(node.get("missing_ok")),
    )


def _enum(shape: str, node: Node) -> Iterator[Operation]:
    name = qualified(node.get("typeName", []))
    if node.get("oldVal"):
        yield Operation(K.RENAME_ENUM_VALUE, shape, name=name, value=node.get("oldVal"), new_name=node.get("newVal"))
    else:
        neighbour = node.get("newValNeighbor")
        place = (("after" if node.get("newValIsAfter") else "before", str(neighbour)),) if neighbour else ()
        yield Operation(
            K.ADD_ENUM_VALUE, shape, name=name, value=node.get("newVal"),
            if_not_exists=bool(node.get("skipIfNewValExists")), options=place,
        )


def _create_enum(shape: str, node: Node) -> Iterator[Operation]:
    yield Operation(
        K.CREATE_ENUM, shape, name=qualified(node.get("typeName", [])), values=name_list(node.get("vals", []))
    )


def _dml(kind: OperationKind) -> Handler:
    def handler(shape: str, node: Node) -> Iterator[Operation]:
        yield Operation(
            kind,
            shape,
            relation=relation_name(node.get("relation")),
            has_where="whereClause" in node or "selectStmt" in node,
            columns=tuple(unwrap(t)[1].get("name", "") for t in node.get("targetList", []) if kind is K.UPDATE),
        )

    return handler


def _truncate(shape: str, node: Node) -> Iterator[Operation]:
    cascade = node.get("behavior") == "DROP_CASCADE"
    for wrapped in node.get("relations", []):
        yield Operation(K.TRUNCATE, shape, relation=relation_name(unwrap(wrapped)[1]), cascade=cascade)


def _vacuum(shape: str, node: Node) -> Iterator[Operation]:
    options = {unwrap(o)[1].get("defname") for o in node.get("options", [])}
    kind = K.VACUUM if node.get("is_vacuumcmd") else K.ANALYZE
    relations = [relation_name(unwrap(r)[1].get("relation")) for r in node.get("rels", [])]
    for relation in relations or [None]:
        yield Operation(kind, shape, relation=relation, full="full" in options)


def _cluster(shape: str, node: Node) -> Iterator[Operation]:
    yield Operation(K.CLUSTER, shape, relation=relation_name(node.get("relation")), name=node.get("indexname"))


def _create_statistics(shape: str, node: Node) -> Iterator[Operation]:
    tables = [relation_name(unwrap(r)[1]) for r in node.get("relations", []) if unwrap(r)[0] == "RangeVar"]
    yield Operation(
        K.CREATE_STATISTICS,
        shape,
        relation=tables[0] if len(tables) == 1 else None,
        name=qualified(node.get("defnames", [])) or None,
        if_not_exists=bool(node.get("if_not_exists")),
    )


def _reindex(shape: str, node: Node) -> Iterator[Operation]:
    params = {unwrap(p)[1].get("defname") for p in node.get("params", [])}
    target = str(node.get("kind", "")).removeprefix("REINDEX_OBJECT_").lower()
    relation = relation_name(node.get("relation")) or node.get("name")
    yield Operation(
        K.REINDEX, shape, relation=relation, concurrently="concurrently" in params, detail=target or None
    )


def _refresh(shape: str, node: Node) -> Iterator[Operation]:
    yield Operation(
        K.REFRESH_MATERIALIZED_VIEW, shape, relation=relation_name(node.get("relation")),
        concurrently=bool(node.get("concurrent")),
    )


def _lock(shape: str, node: Node) -> Iterator[Operation]:
    mode = LOCK_MODES.get(int(node.get("mode", 8)), "ACCESS EXCLUSIVE")
    for wrapped in node.get("relations", []):
        yield Operation(K.LOCK_TABLE, shape, relation=relation_name(unwrap(wrapped)[1]), lock_mode=mode)


def _create_table_as(shape: str, node: Node) -> Iterator[Operation]:
    into = node.get("into", {})
    kind = K.CREATE_MATERIALIZED_VIEW if node.get("objtype") == "OBJECT_MATVIEW" else K.CREATE_TABLE_AS
    reads, columns = _query_reads(node.get("query"))
    yield Operation(
        kind, shape, relation=relation_name(into.get("rel")), if_not_exists=bool(node.get("if_not_exists")),
        reads=reads, read_columns=columns,
    )


def _view(shape: str, node: Node) -> Iterator[Operation]:
    reads, columns = _query_reads(node.get("query"))
    yield Operation(K.CREATE_VIEW, shape, relation=relation_name(node.get("view")), reads=reads, read_columns=columns)


def _query_reads(query: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The relations a view's query reads (every RangeVar that is not a CTE's name) and the column
    names it mentions (the last name of each ColumnRef, `*` for a star), each sorted."""
    relations: dict[str, None] = {}
    columns: dict[str, None] = {}
    ctes: set[str] = set()
    stack: list[Any] = [query]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key == "RangeVar" and isinstance(value, dict):
                name = relation_name(value)
                if name:
                    relations[name] = None
            elif key == "CommonTableExpr" and isinstance(value, dict) and value.get("ctename"):
                ctes.add(str(value["ctename"]))
            elif key == "ColumnRef" and isinstance(value, dict):
                *_, last = value.get("fields", [{}]) or [{}]
                if "A_Star" in last:
                    columns["*"] = None
                elif "String" in last:
                    columns[str(last["String"].get("sval", ""))] = None
            if isinstance(value, (dict, list)):
                stack.append(value)
    return tuple(sorted(r for r in relations if r not in ctes)), tuple(sorted(columns))


def _comment(shape: str, node: Node) -> Iterator[Operation]:
    objtype = str(node.get("objtype", "")).removeprefix("OBJECT_").lower()
    obj = node.get("object")
    parts: tuple[str, ...] = ()
    if obj is not None:
        name, fields = unwrap(obj)
        if name == "List":
            parts = name_list(fields.get("items", []))
        elif name == "String":
            parts = (str(fields.get("sval")),)
    relation = ".".join(parts[:-1]) if objtype == "column" else ".".join(parts)
    columns = parts[-1:] if objtype == "column" else ()
    on_relation = objtype in ("column", "table", "view", "materialized_view", "index")
    yield Operation(
        K.COMMENT, shape, relation=relation if on_relation and relation else None, columns=columns,
        name=None if on_relation else ".".join(parts) or None, detail=objtype,
    )


def _grant(shape: str, node: Node) -> Iterator[Operation]:
    kind = K.GRANT if node.get("is_grant") else K.REVOKE
    objtype = str(node.get("objtype", "")).removeprefix("OBJECT_").lower()
    yield Operation(kind, shape, detail=objtype)


def _trigger(shape: str, node: Node) -> Iterator[Operation]:
    yield Operation(
        K.CREATE_TRIGGER, shape, relation=relation_name(node.get("relation")), name=node.get("trigname")
    )


def _policy(kind: OperationKind) -> Handler:
    def handler(shape: str, node: Node) -> Iterator[Operation]:
        yield Operation(kind, shape, relation=relation_name(node.get("table")), name=node.get("policy_name"))

    return handler


def _transaction(shape: str, node: Node) -> Iterator[Operation]:
    yield Operation(K.TRANSACTION, shape, detail=str(node.get("kind", "")).removeprefix("TRANS_STMT_").lower())


def _alter_object_schema(shape: str, node: Node) -> Iterator[Operation]:
    """`ALTER ... SET SCHEMA`: a relation (table, view, sequence) or another object (type, function)."""
    detail = str(node.get("objectType", "")).removeprefix("OBJECT_").lower() or None
    relation = relation_name(node.get("relation"))
    name = _object_name(node["object"]) if not relation and node.get("object") is not None else None
    yield Operation(
        K.SET_SCHEMA, shape, relation=relation, name=name, new_name=node.get("newschema"), detail=detail,
        if_exists=bool(node.get("missing_ok")),
    )


def _object_name(obj: Node) -> str | None:
    """The qualified name of a non-relation object node (a type, domain or function)."""
    name, fields = unwrap(obj)
    if name in ("List", "TypeName", "ObjectWithArgs"):
        return qualified(fields.get("items", fields.get("names", fields.get("objname", [])))) or None
    sval = fields.get("sval")
    return str(sval) if sval else None


_DOMAIN_CHANGES = {
    "T": "set_default",
    "N": "drop_not_null",
    "O": "set_not_null",
    "C": "add_constraint",
    "X": "drop_constraint",
    "V": "validate_constraint",
}


def _alter_domain(shape: str, node: Node) -> Iterator[Operation]:
    """`ALTER DOMAIN`: `detail` says which change; adding a constraint records NOT VALID."""
    definition = node.get("def", {})
    constraint = definition.get("Constraint", {}) if isinstance(definition, dict) else {}
    yield Operation(
        K.ALTER_DOMAIN,
        shape,
        name=qualified(node.get("typeName", [])) or None,
        detail=_DOMAIN_CHANGES.get(str(node.get("subtype", "")), "other"),
        value=constraint.get("conname") or node.get("name"),
        not_valid=bool(constraint.get("skip_validation")),
    )


def _simple(kind: OperationKind, name_key: str | None = None) -> Handler:
    def handler(shape: str, node: Node) -> Iterator[Operation]:
        name = node.get(name_key) if name_key else None
        if isinstance(name, list):
            name = qualified(name)
        elif isinstance(name, dict):
            name = relation_name(name)
        yield Operation(
            kind, shape, name=str(name) if name else None, if_not_exists=bool(node.get("if_not_exists"))
        )

    return handler


def _sequence(kind: OperationKind) -> Handler:
    def handler(shape: str, node: Node) -> Iterator[Operation]:
        yield Operation(
            kind, shape, relation=relation_name(node.get("sequence")), options=option_list(node.get("options", [])),
            if_not_exists=bool(node.get("if_not_exists")), if_exists=bool(node.get("missing_ok")),
        )

    return handler


def _set(shape: str, node: Node) -> Iterator[Operation]:
    """`SET [LOCAL] name = value` (value as written; `RESET name` and `SET name TO DEFAULT` have none)."""
    args = node.get("args", [])
    value = ", ".join(render(arg) for arg in args) if str(node.get("kind")) == "VAR_SET_VALUE" else None
    yield Operation(
        K.SET, shape, name=node.get("name"), value=value.strip("'") if value is not None else None,
        detail="local" if node.get("is_local") else None,
    )


def _select(shape: str, node: Node) -> Iterator[Operation]:
    """A SELECT; `detail` is `setval` when it calls setval() (moving a sequence), as migrations do,
    with `name` the sequence when written as a literal and `value` the new value as written."""
    for target in node.get("targetList", []):
        kind, call = unwrap(unwrap(target)[1].get("val", {"A_Const": {}}))
        names = [str(unwrap(part)[1].get("sval", "")) for part in call.get("funcname", [])] if kind == "FuncCall" else []
        if names and names[-1] == "setval":
            args = call.get("args", [])
            first = unwrap(args[0]) if args else ("", {})
            sequence = str(first[1].get("sval", {}).get("sval", "")) if first[0] == "A_Const" else ""
            value = render(args[1]) if len(args) > 1 else None
            yield Operation(K.SELECT, shape, detail="setval", name=sequence or None, value=value)
            return
    yield Operation(K.SELECT, shape)


_HANDLERS: dict[str, Handler] = {
    "AlterTableStmt": alter_table,
    "CreateStmt": create_table,
    "CreateForeignTableStmt": lambda shape, node: create_table(shape, node.get("base", {})),
    "IndexStmt": _index,
    "DropStmt": _drop,
    "RenameStmt": _rename,
    "AlterEnumStmt": _enum,
    "CreateEnumStmt": _create_enum,
    "InsertStmt": _dml(K.INSERT),
    "UpdateStmt": _dml(K.UPDATE),
    "DeleteStmt": _dml(K.DELETE),
    "MergeStmt": _dml(K.MERGE),
    "SelectStmt": _select,
    "TruncateStmt": _truncate,
    "VacuumStmt": _vacuum,
    "ClusterStmt": _cluster,
    "ReindexStmt": _reindex,
    "RefreshMatViewStmt": _refresh,
    "LockStmt": _lock,
    "CreateTableAsStmt": _create_table_as,
    "ViewStmt": _view,
    "CommentStmt": _comment,
    "GrantStmt": _grant,
    "GrantRoleStmt": _grant,
    "CreateTrigStmt": _trigger,
    "CreatePolicyStmt": _policy(K.CREATE_POLICY),
    "AlterPolicyStmt": _policy(K.ALTER_POLICY),
    "TransactionStmt": _transaction,
    "AlterObjectSchemaStmt": _alter_object_schema,
    "CreateSchemaStmt": _simple(K.CREATE_SCHEMA, "schemaname"),
    "CreateExtensionStmt": _simple(K.CREATE_EXTENSION, "extname"),
    "AlterExtensionStmt": _simple(K.ALTER_EXTENSION, "extname"),
    "CreateFunctionStmt": _simple(K.CREATE_FUNCTION, "funcname"),
    "AlterFunctionStmt": _simple(K.ALTER_OTHER),
    "CreateSeqStmt": _sequence(K.CREATE_SEQUENCE),
    "AlterSeqStmt": _sequence(K.ALTER_SEQUENCE),
    "CompositeTypeStmt": _simple(K.CREATE_TYPE, "typevar"),
    "CreateRangeStmt": _simple(K.CREATE_TYPE, "typeName"),
    "DefineStmt": _simple(K.CREATE_OTHER),
    "AlterTypeStmt": _simple(K.ALTER_TYPE, "typeName"),
    "CreateDomainStmt": _simple(K.CREATE_DOMAIN, "domainname"),
    "AlterDomainStmt": _alter_domain,
    "CreateStatsStmt": _create_statistics,
    "CreateRoleStmt": _simple(K.CREATE_ROLE, "role"),
    "AlterRoleStmt": _simple(K.ALTER_ROLE),
    "DropRoleStmt": _simple(K.DROP_ROLE),
    "AlterOwnerStmt": _simple(K.ALTER_OWNER),
    "AlterDefaultPrivilegesStmt": _simple(K.GRANT),
    "VariableSetStmt": _set,
    "VariableShowStmt": _simple(K.SELECT),
    "DoStmt": _simple(K.DO_BLOCK),
    "CallStmt": _simple(K.CALL),
    "AlterSystemStmt": _simple(K.ALTER_SYSTEM),
    "CreatedbStmt": _simple(K.CREATE_DATABASE, "dbname"),
    "DropdbStmt": _simple(K.DROP_DATABASE, "dbname"),
    "NotifyStmt": _simple(K.NOTIFY),
    "CreatePublicationStmt": _simple(K.CREATE_OTHER, "pubname"),
    "AlterPublicationStmt": _simple(K.ALTER_OTHER, "pubname"),
    "CreateCastStmt": _simple(K.CREATE_OTHER),
    "CreateEventTrigStmt": _simple(K.CREATE_OTHER, "trigname"),
    "CreateOpClassStmt": _simple(K.CREATE_OTHER),
    "CreateConversionStmt": _simple(K.CREATE_OTHER),
    "RuleStmt": _simple(K.CREATE_OTHER, "rulename"),
    "AlterDatabaseSetStmt": _simple(K.ALTER_OTHER, "dbname"),
    "AlterDatabaseStmt": _simple(K.ALTER_OTHER, "dbname"),
    "AlterEventTrigStmt": _simple(K.ALTER_OTHER, "trigname"),
    "AlterStatsStmt": _simple(K.ALTER_OTHER),
    "ExplainStmt": _simple(K.SELECT),
    "ListenStmt": _simple(K.NOTIFY),
    "CheckPointStmt": _simple(K.ALTER_OTHER),
    "DiscardStmt": _simple(K.SET),
    "ConstraintsSetStmt": _simple(K.SET),
}

