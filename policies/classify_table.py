"""Classification of `CREATE TABLE` and `ALTER TABLE`: columns, constraints and subcommands.

These two statements make up most migrations and carry most of the risk, so they get their own
module: each `ALTER TABLE` subcommand and each constraint becomes its own operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policies.expressions import Volatility, name_list, option_list, render, type_text, volatility
from policies.operations import ColumnSpec, ConstraintKind, Operation, OperationKind
from policies.parsing import Node, unwrap

K = OperationKind

_CONSTRAINT_KINDS = {
    "CONSTR_PRIMARY": (K.ADD_PRIMARY_KEY, ConstraintKind.PRIMARY_KEY),
    "CONSTR_UNIQUE": (K.ADD_UNIQUE, ConstraintKind.UNIQUE),
    "CONSTR_FOREIGN": (K.ADD_FOREIGN_KEY, ConstraintKind.FOREIGN_KEY),
    "CONSTR_CHECK": (K.ADD_CHECK, ConstraintKind.CHECK),
    "CONSTR_EXCLUSION": (K.ADD_EXCLUSION, ConstraintKind.EXCLUSION),
}

_SERIAL_TYPES = ("serial", "serial4", "bigserial", "serial8", "smallserial", "serial2")


IDENTITY_DEFAULT = "nextval() (identity)"
"""The default a column defined with an identity carries in the model of a replay (its values come
from a sequence); it goes with the identity (DROP IDENTITY)."""


def relation_name(range_var: Node | None) -> str | None:
    """`schema.table` when the SQL qualified it, else `table`."""
    if not range_var:
        return None
    name = range_var.get("relname")
    if name is None:
        return None
    schema = range_var.get("schemaname")
    return f"{schema}.{name}" if schema else str(name)


def column_spec(column: Node) -> ColumnSpec:
    """A column definition with the facts rules need: type, nullability, default and its volatility."""
    type_value = type_text(column.get("typeName", {}))
    values: dict[str, Any] = {"not_null": bool(column.get("is_not_null"))}
    if type_value in _SERIAL_TYPES:
        values.update(default=f"nextval() (implied by {type_value})", default_volatility=Volatility.VOLATILE)
    for wrapped in column.get("constraints", []):
        constraint = unwrap(wrapped)[1]
        contype = constraint.get("contype")
        if contype == "CONSTR_NOTNULL":
            values["not_null"] = True
        elif contype == "CONSTR_DEFAULT":
            expression = constraint.get("raw_expr")
            values.update(default=render(expression), default_volatility=volatility(expression))
        elif contype == "CONSTR_PRIMARY":
            values.update(primary_key=True, not_null=True)
        elif contype == "CONSTR_UNIQUE":
            values["unique"] = True
        elif contype == "CONSTR_GENERATED" and constraint.get("generated_kind", "s") == "s":
            values.update(generated_stored=True, default=render(constraint.get("raw_expr")))
        elif contype == "CONSTR_IDENTITY":
            values.update(
                identity=True, not_null=True, default=IDENTITY_DEFAULT,
                default_volatility=Volatility.VOLATILE,
                options=(("generated", str(constraint.get("generated_when", "a"))),
                         *option_list(constraint.get("options", []))),
            )
    return ColumnSpec(name=str(column.get("colname", "")), type=type_value, **values)


def table_constraint(
    shape: str, relation: str | None, constraint: Node, column: str | None = None, inline: bool = False
) -> Operation | None:
    """One table or column constraint as an `add_*` operation; None for NOT NULL/DEFAULT and the like."""
    kinds = _CONSTRAINT_KINDS.get(str(constraint.get("contype")))
    if kinds is None:
        return None
    kind, constraint_kind = kinds
    if kind is K.ADD_FOREIGN_KEY:
        columns = name_list(constraint.get("fk_attrs", []))
    elif kind is K.ADD_EXCLUSION:
        columns = tuple(
            str(unwrap(unwrap(pair)[1]["items"][0])[1].get("name") or "(expression)")
            for pair in constraint.get("exclusions", [])
        )
    elif kind is K.ADD_CHECK:
        columns = (column,) if column else referenced_columns(constraint.get("raw_expr"))
    else:
        columns = name_list(constraint.get("keys", []))
    if not columns and column:
        columns = (column,)
    return Operation(
        kind,
        shape,
        relation=relation,
        columns=columns,
        name=constraint.get("conname"),
        constraint=constraint_kind,
        not_valid=bool(constraint.get("skip_validation")),
        using_index=constraint.get("indexname"),
        inline=inline,
        referenced_relation=relation_name(constraint.get("pktable")),
        referenced_columns=name_list(constraint.get("pk_attrs", [])),
        check_not_null_column=_not_null_test(constraint.get("raw_expr")) if kind is K.ADD_CHECK else None,
    )


def referenced_columns(expression: Node | None) -> tuple[str, ...]:
    """The columns an expression reads (a CHECK's), in order of appearance, each once.

    Walked with a stack, not recursion: a generated expression can nest hundreds of levels.
    """
    found: dict[str, None] = {}
    pending: list[Any] = [expression] if expression else []
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            column = item.get("ColumnRef")
            if isinstance(column, dict):
                fields = [unwrap(f)[1].get("sval") for f in column.get("fields", [])]
                if fields and isinstance(fields[-1], str):
                    found[fields[-1]] = None
                continue
            pending.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            pending.extend(reversed(item))
    return tuple(found)


def _not_null_test(expression: Node | None) -> str | None:
    """The column of a `CHECK (col IS NOT NULL)`, which lets SET NOT NULL skip its scan (PG 12+)."""
    if expression is None:
        return None
    name, node = unwrap(expression)
    if name != "NullTest" or node.get("nulltesttype") != "IS_NOT_NULL":
        return None
    arg_name, arg = unwrap(node.get("arg", {"A_Const": {}}))
    if arg_name != "ColumnRef":
        return None
    fields = [unwrap(f)[1].get("sval") for f in arg.get("fields", [])]
    return str(fields[-1]) if fields and fields[-1] else None


def create_table(shape: str, node: Node) -> Iterator[Operation]:
    """`CREATE TABLE`: the table with its columns, then each constraint it declares (inline)."""
    relation = relation_name(node.get("relation"))
    specs: list[ColumnSpec] = []
    constraints: list[Operation] = []
    for element in node.get("tableElts", []):
        name, fields = unwrap(element)
        if name == "ColumnDef":
            spec = column_spec(fields)
            specs.append(spec)
            for wrapped in fields.get("constraints", []):
                op = table_constraint(shape, relation, unwrap(wrapped)[1], spec.name, inline=True)
                if op is not None:
                    constraints.append(op)
        elif name == "Constraint":
            op = table_constraint(shape, relation, fields, inline=True)
            if op is not None:
                constraints.append(op)
    detail = "partition" if node.get("partbound") else "partitioned" if node.get("partspec") else None
    parent = None
    if node.get("partbound"):
        inherited = [relation_name(unwrap(r)[1]) for r in node.get("inhRelations", [])]
        parent = inherited[0] if inherited else None
    options: tuple[tuple[str, str], ...] = ()
    if node.get("partspec"):
        key = [str(unwrap(e)[1].get("name") or "(expression)") for e in node["partspec"].get("partParams", [])]
        options = (("partition_by", ",".join(key)),)
    yield Operation(
        K.CREATE_TABLE,
        shape,
        relation=relation,
        columns=tuple(s.name for s in specs),
        column_specs=tuple(specs),
        if_not_exists=bool(node.get("if_not_exists")),
        detail=detail,
        parent=parent,
        options=options,
    )
    yield from constraints


def alter_table(shape: str, node: Node) -> Iterator[Operation]:
    """`ALTER TABLE`: one operation per subcommand (and per constraint an added column declares)."""
    relation = relation_name(node.get("relation"))
    if_exists = bool(node.get("missing_ok"))
    only = node.get("relation") is not None and not node["relation"].get("inh")  # ALTER TABLE ONLY
    for wrapped in node.get("cmds", []):
        for op in _subcommand(shape, relation, unwrap(wrapped)[1], if_exists):
            yield op._replace(options=(*op.options, ("only", "true"))) if only else op


_SIMPLE_SUBCOMMANDS = {
    "AT_SetNotNull": K.SET_NOT_NULL,
    "AT_DropNotNull": K.DROP_NOT_NULL,
    "AT_AddIdentity": K.ADD_IDENTITY,
    "AT_SetIdentity": K.ADD_IDENTITY,
    "AT_DropIdentity": K.DROP_IDENTITY,
    "AT_ValidateConstraint": K.VALIDATE_CONSTRAINT,
    "AT_DropConstraint": K.DROP_CONSTRAINT,
    "AT_SetStatistics": K.ALTER_COLUMN_OTHER,
    "AT_SetStorage": K.ALTER_COLUMN_OTHER,
    "AT_SetCompression": K.ALTER_COLUMN_OTHER,
    "AT_SetOptions": K.ALTER_COLUMN_OTHER,
    "AT_ResetOptions": K.ALTER_COLUMN_OTHER,
    "AT_DropExpression": K.ALTER_COLUMN_OTHER,
    "AT_SetExpression": K.ALTER_COLUMN_OTHER,
    "AT_SetLogged": K.SET_LOGGED,
    "AT_SetUnLogged": K.SET_LOGGED,
    "AT_SetTableSpace": K.SET_TABLESPACE,
    "AT_SetRelOptions": K.SET_STORAGE_PARAMETERS,
    "AT_ResetRelOptions": K.SET_STORAGE_PARAMETERS,
    "AT_ReplaceRelOptions": K.SET_STORAGE_PARAMETERS,
    "AT_EnableRowSecurity": K.ENABLE_ROW_SECURITY,
    "AT_ForceRowSecurity": K.ENABLE_ROW_SECURITY,
    "AT_DisableRowSecurity": K.DISABLE_ROW_SECURITY,
    "AT_NoForceRowSecurity": K.DISABLE_ROW_SECURITY,
    "AT_ChangeOwner": K.ALTER_OWNER,
}
_COLUMN_SUBCOMMANDS = {
    "AT_SetNotNull", "AT_DropNotNull", "AT_AddIdentity", "AT_SetIdentity", "AT_DropIdentity",
    "AT_SetStatistics", "AT_SetStorage", "AT_SetCompression", "AT_SetOptions", "AT_ResetOptions",
    "AT_DropExpression", "AT_SetExpression",
}


def _subcommand(shape: str, relation: str | None, cmd: Node, if_exists: bool) -> Iterator[Operation]:
    subtype = str(cmd.get("subtype", ""))
    name = cmd.get("name")
    cascade = cmd.get("behavior") == "DROP_CASCADE"
    detail = subtype.removeprefix("AT_")
    if subtype == "AT_AddColumn":
        column = unwrap(cmd["def"])[1]
        spec = column_spec(column)
        yield Operation(
            K.ADD_COLUMN, shape, relation=relation, columns=(spec.name,), column_specs=(spec,),
            column_type=spec.type, not_null=spec.not_null, default=spec.default,
            default_volatility=spec.default_volatility, generated_stored=spec.generated_stored,
            identity=spec.identity, if_not_exists=bool(cmd.get("missing_ok")), if_exists=if_exists,
        )
        for wrapped in column.get("constraints", []):
            op = table_constraint(shape, relation, unwrap(wrapped)[1], spec.name)
            if op is not None:
                yield op
    elif subtype == "AT_DropColumn":
        yield Operation(
            K.DROP_COLUMN, shape, relation=relation, columns=(str(name),),
            if_exists=bool(cmd.get("missing_ok")), cascade=cascade,
        )
    elif subtype == "AT_ColumnDefault":
        expression = cmd.get("def")
        if expression is None:
            yield Operation(K.DROP_DEFAULT, shape, relation=relation, columns=(str(name),))
        else:
            yield Operation(
                K.SET_DEFAULT, shape, relation=relation, columns=(str(name),), default=render(expression),
                default_volatility=volatility(expression),
            )
    elif subtype == "AT_AlterColumnType":
        column = unwrap(cmd["def"])[1]
        using = column.get("raw_default")
        yield Operation(
            K.ALTER_COLUMN_TYPE, shape, relation=relation, columns=(str(name),),
            column_type=type_text(column.get("typeName", {})), using=render(using) if using else None,
        )
    elif subtype == "AT_AddConstraint":
        constraint = unwrap(cmd["def"])[1]
        op = table_constraint(shape, relation, constraint)
        if constraint.get("contype") == "CONSTR_NOTNULL":
            # `ADD CONSTRAINT name NOT NULL col` (PostgreSQL 18 syntax) is a SET NOT NULL
            for column_name in name_list(constraint.get("keys", [])):
                yield Operation(
                    K.SET_NOT_NULL, shape, relation=relation, columns=(column_name,),
                    name=constraint.get("conname"), not_valid=bool(constraint.get("skip_validation")),
                )
        elif op is not None:
            yield op
        else:
            yield Operation(K.ALTER_TABLE_OTHER, shape, relation=relation, detail=detail)
    elif subtype == "AT_AlterConstraint":
        constraint = unwrap(cmd["def"])[1] if cmd.get("def") else {}
        yield Operation(K.ALTER_CONSTRAINT, shape, relation=relation, name=constraint.get("conname"))
    elif subtype in ("AT_AttachPartition", "AT_DetachPartition", "AT_DetachPartitionFinalize"):
        partition = unwrap(cmd["def"])[1] if cmd.get("def") else {}
        kind = K.ATTACH_PARTITION if subtype == "AT_AttachPartition" else K.DETACH_PARTITION
        yield Operation(
            kind, shape, relation=relation, name=relation_name(partition.get("name")),
            concurrently=bool(partition.get("concurrent")),
            detail="finalize" if subtype == "AT_DetachPartitionFinalize" else None,
        )
    elif subtype.startswith(("AT_EnableTrig", "AT_DisableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig")):
        kind = K.DISABLE_TRIGGER if subtype.startswith("AT_Disable") else K.ENABLE_TRIGGER
        yield Operation(kind, shape, relation=relation, name=name, detail=detail)
    elif subtype in _SIMPLE_SUBCOMMANDS:
        kind = _SIMPLE_SUBCOMMANDS[subtype]
        yield Operation(
            kind, shape, relation=relation,
            columns=(str(name),) if subtype in _COLUMN_SUBCOMMANDS and name else (),
            name=name if subtype not in _COLUMN_SUBCOMMANDS else None,
            if_exists=bool(cmd.get("missing_ok")), cascade=cascade, detail=detail,
            options=_identity_options(subtype, cmd),
        )
    else:
        yield Operation(K.ALTER_TABLE_OTHER, shape, relation=relation, name=name, detail=detail)


def _identity_options(subtype: str, cmd: Node) -> tuple[tuple[str, str], ...]:
    """The options of ADD GENERATED ... AS IDENTITY (with `generated`: `a` always, `d` by default)
    and of SET GENERATED / RESTART / SET sequence option."""
    definition = cmd.get("def")
    if subtype not in ("AT_AddIdentity", "AT_SetIdentity") or not isinstance(definition, dict):
        return ()
    kind, node = unwrap(definition)
    if kind == "Constraint":
        return (("generated", str(node.get("generated_when", "a"))), *option_list(node.get("options", [])))
    if kind == "List":
        return option_list(node.get("items", []))
    return ()
