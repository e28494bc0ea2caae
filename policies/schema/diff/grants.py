"""Comments and privileges: set where they differ, and again on every object this diff makes (a new
object starts without a comment and with its owner's default privileges).

Privileges are `aclitem` texts, `grantee=privileges/grantor` with `*` after a privilege held with
grant option and an empty grantee for PUBLIC (ddl-priv.html, "aclitem"); the differ grants and
revokes per grantee. The grantor is the object's owner in what a migration does, and GRANT cannot
choose another: it is not compared.
"""

from __future__ import annotations

from policies.schema.changes import Grant, Revoke, SetComment
from policies.schema.diff.state import Differ
from policies.schema.model import ObjectKey, Schema

OWNER_DEFAULTS = {"sequence": "rwU"}
"""The privileges an owner holds on a new object of each kind (`acldefault`, ddl-priv.html table
5.2); tables, views and materialized views: `arwdDxt`, with `m` (MAINTAIN) from PostgreSQL 17."""
_TABLE_DEFAULTS = ("arwdDxt", "arwdDxtm")


def diff_comments(d: Differ) -> None:
    for target in sorted(d.a.comments.keys() | d.b.comments.keys()):
        wanted = d.b.comments.get(target)
        if target in d.created:
            if wanted is not None:
                d.add(SetComment(target, wanted))
        elif not _goes(d, target) and d.a.comments.get(target) != wanted and exists(d.b, target):
            d.add(SetComment(target, wanted))


def _goes(d: Differ, target: ObjectKey) -> bool:
    """The object (or its table) is dropped by this diff."""
    kind, key = target
    if kind in ("table", "view", "materialized view", "sequence", "index"):
        return key in d.dropped_relations or key in d.dropped_indexes
    if kind in ("column", "constraint", "trigger", "policy"):
        table, _, name = key.rpartition(".")
        if table in d.dropped_relations:
            return True
        return (
            (kind == "column" and (table, name) in d.dropped_columns)
            or (kind == "constraint" and (table, name) in d.dropped_constraints)
            or (kind == "trigger" and key in d.dropped_triggers)
            or (kind == "policy" and key in d.dropped_policies)
        )
    if kind in ("function", "procedure", "aggregate"):
        return key in d.dropped_functions
    return False


def exists(schema: Schema, target: ObjectKey) -> bool:
    """Whether the object a comment or privilege is attached to is in `schema`."""
    kind, key = target
    if kind in ("table", "view", "materialized view"):
        return key in schema.tables
    if kind == "column":
        table, _, column = key.rpartition(".")
        if table in schema.composites:
            return any(attribute[0] == column for attribute in schema.composites[table].attributes)
        return column in getattr(schema.tables.get(table), "columns", {})
    if kind == "constraint":
        table, _, name = key.rpartition(".")
        return name in getattr(schema.tables.get(table), "constraints", {})
    if kind == "index":
        return key in schema.indexes
    if kind == "sequence":
        return key in schema.sequences
    if kind == "type":
        return key in schema.enums or key in schema.composites
    if kind == "domain":
        return key in schema.domains
    if kind in ("function", "procedure", "aggregate"):
        return key in schema.functions
    if kind == "trigger":
        return key in schema.triggers
    if kind == "policy":
        return key in schema.policies
    if kind == "schema":
        return key in schema.schemas
    return True


def diff_privileges(d: Differ) -> None:
    for target in sorted(d.b.privileges.keys()):
        items = d.b.privileges[target]
        wanted = _parse(items)
        if target in d.created or _goes(d, target) or target not in d.a.privileges:
            held = _defaults(target, items, wanted)
        else:
            held = _parse(d.a.privileges[target])
        for grantee in sorted(held.keys() | wanted.keys()):
            _grantee(d, target, grantee, held.get(grantee, {}), wanted.get(grantee, {}))


def _grantee(d: Differ, target: ObjectKey, grantee: str, held: dict[str, bool], wanted: dict[str, bool]) -> None:
    """`held` and `wanted` map privilege letters to whether they carry the grant option."""
    revoke = "".join(p for p in held if p not in wanted)
    revoke_option = "".join(p for p in held if p in wanted and held[p] and not wanted[p])
    grant = "".join(p for p in wanted if p not in held and not wanted[p])
    grant_option = "".join(p for p in wanted if wanted[p] and not held.get(p, False))
    if revoke:
        d.add(Revoke(target, grantee, revoke))
    if revoke_option:
        d.add(Revoke(target, grantee, revoke_option, grant_option=True))
    if grant:
        d.add(Grant(target, grantee, grant))
    if grant_option:
        d.add(Grant(target, grantee, grant_option, grant_option=True))


def _parse(items: tuple[str, ...]) -> dict[str, dict[str, bool]]:
    """`aclitem` texts as grantee -> privilege letter -> with grant option."""
    found: dict[str, dict[str, bool]] = {}
    for item in items:
        grantee, _, rest = item.partition("=")
        letters = rest.split("/", 1)[0]
        held = found.setdefault(_unquote(grantee), {})
        for position, letter in enumerate(letters):
            if letter != "*":
                held[letter] = letters[position + 1 : position + 2] == "*"
    return found


def _unquote(role: str) -> str:
    return role[1:-1].replace('""', '"') if role.startswith('"') else role


def _owner(items: tuple[str, ...]) -> str | None:
    """The owner as grantor of the object's `aclitem`s."""
    for item in items:
        grantor = item.rpartition("/")[2]
        if grantor:
            return _unquote(grantor)
    return None


def _defaults(target: ObjectKey, items: tuple[str, ...], wanted: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
    """What a new object's owner (the grantor of its privileges) holds: `acldefault`. Whether the
    table defaults include MAINTAIN (PostgreSQL 17+) is read from the owner's wanted privileges."""
    owner = _owner(items)
    if owner is None:
        return {}
    if target[0] in OWNER_DEFAULTS:
        letters = OWNER_DEFAULTS[target[0]]
    else:
        held = _letters(wanted.get(owner, {}))
        letters = held if held in _TABLE_DEFAULTS else _TABLE_DEFAULTS[0] + ("m" if "m" in held else "")
    return {owner: dict.fromkeys(letters, False)}


def _letters(held: dict[str, bool]) -> str:
    order = "arwdDxtmU"
    return "".join(sorted(held, key=lambda p: order.index(p) if p in order else len(order)))
