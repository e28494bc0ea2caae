"""Reading type names and default expressions out of pglast's JSON tree.

Two judgements depend on them: whether a default is volatile (PostgreSQL 11+ stores a
non-volatile default in the catalog instead of rewriting the table) and whether a type change is
binary-coercible. Volatility comes from what PostgreSQL's catalog says about the functions that
migrations actually use; a function we do not know is reported as `unknown`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from policies.parsing import Node, unwrap


class Volatility(StrEnum):
    """PostgreSQL's volatility classes, plus `constant` for literals and `unknown` for user functions."""

    CONSTANT = "constant"
    IMMUTABLE = "immutable"
    STABLE = "stable"
    VOLATILE = "volatile"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def may_be_volatile(self) -> bool:
        """Volatile, or a function whose class we cannot know from the migration alone."""
        return self in (Volatility.VOLATILE, Volatility.UNKNOWN)


_RANK = {
    Volatility.CONSTANT: 0,
    Volatility.IMMUTABLE: 1,
    Volatility.STABLE: 2,
    Volatility.UNKNOWN: 3,
    Volatility.VOLATILE: 4,
}

# provolatile of built-in and common extension functions (pg_proc; uuid-ossp; pgcrypto).
_FUNCTION_VOLATILITY: dict[str, Volatility] = {
    **dict.fromkeys(
        (
            "random", "random_normal", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc",
            "uuid_generate_v4", "uuidv4", "uuidv7", "clock_timestamp", "timeofday", "nextval",
            "setval", "gen_random_bytes", "gen_salt", "txid_current", "pg_current_xact_id",
        ),
        Volatility.VOLATILE,
    ),
    **dict.fromkeys(
        (
            "now", "statement_timestamp", "transaction_timestamp", "current_setting", "to_char",
            "to_timestamp", "date_trunc", "current_date", "current_timestamp", "localtimestamp",
            "current_schema", "current_user", "session_user", "jsonb_build_object",
            "json_build_object", "jsonb_build_array", "json_build_array", "concat", "age",
        ),
        Volatility.STABLE,
    ),
    **dict.fromkeys(
        (
            "lower", "upper", "btrim", "trim", "length", "abs", "round", "md5", "encode", "decode",
            "make_interval", "array_fill", "to_tsvector", "coalesce", "timezone", "uuid_nil",
            "interval", "int4", "int8", "text", "jsonb", "json", "numeric",
        ),
        Volatility.IMMUTABLE,
    ),
}


def volatility(expression: Node | None) -> Volatility:
    """The volatility of a default expression: the most volatile of its parts."""
    if expression is None:
        return Volatility.CONSTANT
    name, node = unwrap(expression)
    if name == "A_Const":
        return Volatility.CONSTANT
    if name == "SQLValueFunction":
        return Volatility.STABLE
    if name == "FuncCall":
        function = _last_name(node.get("funcname", []))
        own = _FUNCTION_VOLATILITY.get(function, Volatility.UNKNOWN)
        return _most(own, *(volatility(arg) for arg in node.get("args", [])))
    if name == "TypeCast":
        return _most(Volatility.CONSTANT, volatility(node.get("arg")))
    if name in ("A_ArrayExpr", "RowExpr", "CoalesceExpr", "MinMaxExpr"):
        return _most(Volatility.CONSTANT, *(volatility(e) for e in node.get("elements", node.get("args", []))))
    if name in ("A_Expr", "BoolExpr"):
        parts = [node.get("lexpr"), node.get("rexpr"), *node.get("args", [])]
        return _most(Volatility.IMMUTABLE, *(volatility(p) for p in parts if isinstance(p, dict)))
    if name == "NullTest":
        return volatility(node.get("arg"))
    return Volatility.UNKNOWN


def _most(first: Volatility, *others: Volatility) -> Volatility:
    return max((first, *others), key=lambda v: v.rank)


def _last_name(names: list[Any]) -> str:
    """`pg_catalog.now` -> `now`: the unqualified name of a function or type."""
    if not names:
        return ""
    return str(unwrap(names[-1])[1].get("sval", "")).lower()


_SQL_VALUE_FUNCTIONS = {
    "SVFOP_CURRENT_DATE": "CURRENT_DATE",
    "SVFOP_CURRENT_TIME": "CURRENT_TIME",
    "SVFOP_CURRENT_TIME_N": "CURRENT_TIME",
    "SVFOP_CURRENT_TIMESTAMP": "CURRENT_TIMESTAMP",
    "SVFOP_CURRENT_TIMESTAMP_N": "CURRENT_TIMESTAMP",
    "SVFOP_LOCALTIME": "LOCALTIME",
    "SVFOP_LOCALTIME_N": "LOCALTIME",
    "SVFOP_LOCALTIMESTAMP": "LOCALTIMESTAMP",
    "SVFOP_LOCALTIMESTAMP_N": "LOCALTIMESTAMP",
    "SVFOP_CURRENT_ROLE": "CURRENT_ROLE",
    "SVFOP_CURRENT_USER": "CURRENT_USER",
    "SVFOP_USER": "USER",
    "SVFOP_SESSION_USER": "SESSION_USER",
    "SVFOP_CURRENT_CATALOG": "CURRENT_CATALOG",
    "SVFOP_CURRENT_SCHEMA": "CURRENT_SCHEMA",
}


def render(expression: Node | None) -> str:
    """A readable SQL rendering of the expressions defaults are made of (not a full deparser)."""
    if expression is None:
        return ""
    name, node = unwrap(expression)
    if name == "A_Const":
        return _render_constant(node)
    if name == "SQLValueFunction":
        return _SQL_VALUE_FUNCTIONS.get(str(node.get("op")), "CURRENT_TIMESTAMP")
    if name == "FuncCall":
        args = ", ".join(render(arg) for arg in node.get("args", []))
        return f"{_last_name(node.get('funcname', []))}({args})"
    if name == "TypeCast":
        return f"{render(node.get('arg'))}::{type_text(node.get('typeName', {}))}"
    if name == "A_ArrayExpr":
        return "ARRAY[" + ", ".join(render(e) for e in node.get("elements", [])) + "]"
    if name == "ColumnRef":
        return ".".join(str(unwrap(f)[1].get("sval", "*")) for f in node.get("fields", []))
    if name == "A_Expr" and node.get("kind") == "AEXPR_OP":
        operator = _last_name(node.get("name", []))
        left = render(node.get("lexpr")) + " " if node.get("lexpr") else ""
        return f"{left}{operator} {render(node.get('rexpr'))}"
    return "(expression)"


def _render_constant(node: Node) -> str:
    if node.get("isnull"):
        return "NULL"
    for key in ("ival", "fval", "boolval", "sval", "bsval"):
        if key in node:
            value = node[key].get(key) if isinstance(node[key], dict) else node[key]
            if key == "ival":
                return str(value or 0)
            if key == "boolval":
                return "true" if value else "false"
            if key == "sval":
                text = str(value or "").replace("'", "''")
                return f"'{text}'"
            return str(value)
    return "0"


def type_text(type_name: Node) -> str:
    """A type as written in SQL, normalised: `varchar(255)`, `numeric(10,2)`, `int4[]`, `timestamptz`."""
    names = [str(unwrap(n)[1].get("sval", "")) for n in type_name.get("names", [])]
    if len(names) == 2 and names[0] == "pg_catalog":
        names = names[1:]
    base = ".".join(names)
    mods = [_typmod(m) for m in type_name.get("typmods", [])]
    if mods and all(m is not None for m in mods) and base not in ("interval",):
        base += "(" + ",".join(str(m) for m in mods) + ")"
    if type_name.get("pct_type"):
        base += "%TYPE"
    return base + "[]" * len(type_name.get("arrayBounds", []))


def _typmod(modifier: Node) -> int | str | None:
    name, node = unwrap(modifier)
    if name != "A_Const":
        return None
    if "ival" in node:
        return int(node["ival"].get("ival", 0))
    if "sval" in node:
        return str(node["sval"].get("sval", ""))
    return None


def base_type(type_text_value: str) -> str:
    """`varchar(255)` -> `varchar`; arrays keep their brackets so `int4[]` is not `int4`."""
    head, _, rest = type_text_value.partition("(")
    array = "[]" if type_text_value.endswith("[]") else ""
    return head + (array if rest else "")


def type_modifiers(type_text_value: str) -> tuple[int, ...]:
    """`numeric(10,2)` -> (10, 2); no modifiers -> ()."""
    if "(" not in type_text_value:
        return ()
    inside = type_text_value.split("(", 1)[1].split(")", 1)[0]
    try:
        return tuple(int(part) for part in inside.split(","))
    except ValueError:
        return ()


def name_list(items: list[Any]) -> tuple[str, ...]:
    """A list of `String` nodes as plain names (column lists of constraints, enum values)."""
    return tuple(str(unwrap(item)[1].get("sval", "")) for item in items)


def qualified(names: list[Any]) -> str:
    """A dotted name from a list of `String` nodes (`public.mood`)."""
    return ".".join(name_list(names))


_DISPLAY_NAMES = {
    "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
    "float8": "double precision", "bpchar": "char", "bool": "boolean",
}


def display_type(type_text_value: str) -> str:
    """PostgreSQL's internal type names as people write them: `int8` -> `bigint`, `bpchar(2)` -> `char(2)`."""
    head, paren, rest = type_text_value.partition("(")
    if not paren:
        head, bracket, tail = type_text_value.partition("[")
        return _DISPLAY_NAMES.get(head, head) + bracket + tail
    return _DISPLAY_NAMES.get(head, head) + paren + rest


def option_list(items: list[Any]) -> tuple[tuple[str, str], ...]:
    """`DefElem` nodes (sequence and identity options) as (name, value as written) pairs.

    A value that is a name (`sequence name "s"`, `OWNED BY t.id`) is dotted, a number is its
    digits, an option without a value (`RESTART`, `NO CYCLE`) is the empty string.
    """
    found: list[tuple[str, str]] = []
    for item in items:
        kind, node = unwrap(item)
        if kind != "DefElem":
            continue
        arg = node.get("arg")
        value = ""
        if isinstance(arg, dict) and arg:
            arg_kind, arg_node = unwrap(arg)
            if arg_kind == "List":
                value = qualified(arg_node.get("items", []))
            elif arg_kind == "Integer":
                value = str(arg_node.get("ival", 0))
            elif arg_kind in ("Float", "String"):
                value = str(arg_node.get("fval", arg_node.get("sval", "")))
            elif arg_kind == "Boolean":
                value = "true" if arg_node.get("boolval") else "false"
            elif arg_kind == "TypeName":
                value = type_text(arg_node)
        found.append((str(node.get("defname", "")), value))
    return tuple(found)
