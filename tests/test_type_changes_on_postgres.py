"""The facts of policies.type_changes held against a real PostgreSQL, not only against themselves.

For each (old type, new type) pair of `MATRIX` a table gets a column of the old type holding a few
rows that convert cleanly to the new type (and a NULL; only NULLs when no value converts) and a
btree index on that column. Then, in a transaction that is rolled back, the server runs
`ALTER TABLE ... ALTER COLUMN c SET DATA TYPE new` without USING, and the test compares:

* refused with 42804 ("cannot be cast automatically") exactly when `cast_without_using` says
  NEEDS_USING;
* when accepted, the table got a new data file (`pg_class.relfilenode`) exactly when
  `classify_type_change` says REWRITE;
* the index got a new data file exactly when the model says a rewrite or `rebuilds_indexes` is True.

The session's TimeZone is Europe/Paris: in a UTC session timestamp <-> timestamptz needs no rewrite
(PostgreSQL 12 on), a fact the model cannot know from the SQL text and so does not claim.

The tables of the module are also held against the server's catalogs (pg_cast, the default btree
operator classes), and identity columns against what SET DATA TYPE accepts. Pairs with citext are
skipped, with the reason, only where the server cannot install the extension.
Run here on 15, and through tests/run_on_postgres.py on the other major versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from conftest import fresh_database
from psycopg import sql

from policies.type_changes import (
    BTREE_OPCLASSES,
    PG_CASTS,
    PG_CASTS_FROM_18,
    CastVerdict,
    TypeChange,
    cast_without_using,
    classify_type_change,
    normalise,
    rebuilds_indexes,
)

ROLE = '"public"."account_role"'
OTHER_ROLE = '"public"."team_role"'
ENUMS = {normalise(ROLE), normalise(OTHER_ROLE)}
ENUM_VALUES = ("admin", "member")

# Values of each old type (by base type, normalised); those that do not convert are left out.
SAMPLES: dict[str, tuple[str, ...]] = {
    "int2": ("1", "-2"), "int4": ("1", "42"), "int8": ("1", "-7"), "numeric": ("1", "2.5"),
    "float4": ("1", "2.5"), "float8": ("1", "2.5"), "bool": ("true", "false"),
    "text": ("1", "true", "a", "2024-01-01", "10.0.0.1", "{a}", '{"a": 1}', "admin",
             "00000000-0000-0000-0000-000000000001"),
    "varchar": ("1", "a", "admin", "00000000-0000-0000-0000-000000000001"), "bpchar": ("a", "bc"),
    "citext": ("1", "A", "b"), "uuid": ("00000000-0000-0000-0000-000000000001",),
    "json": ('{"a": 1}', "[1, 2]"), "jsonb": ('{"a": 1}', "2"), "date": ("2024-01-01",),
    "timestamp": ("2024-01-01 10:00:00.123456",), "timestamptz": ("2024-01-01 10:00:00.123+00",),
    "time": ("10:00:00.5",), "timetz": ("10:00:00.5+02",), "interval": ("1 day 02:00:00.25",), "bytea": ("\\x0102",),
    "inet": ("10.0.0.1", "10.0.0.0/8"), "cidr": ("10.0.0.0/8",), "bit": ("101",), "varbit": ("101", "1"),
    "admin": ENUM_VALUES,
}

MATRIX: list[tuple[str, str]] = [
    # numbers
    ("integer", "bigint"), ("bigint", "integer"), ("smallint", "integer"), ("integer", "numeric"),
    ("integer", "numeric(10, 2)"), ("numeric(10, 2)", "integer"), ("double precision", "integer"),
    ("integer", "double precision"), ("real", "double precision"), ("integer", "text"),
    ("integer", "varchar(20)"), ("integer", "boolean"), ("boolean", "integer"), ("boolean", "text"),
    ("numeric(10, 2)", "numeric(12, 2)"), ("numeric(10, 2)", "numeric(12, 4)"), ("numeric(10, 2)", "numeric"),
    ("numeric", "numeric(12, 2)"), ("numeric(10)", "numeric(12)"), ("integer", "integer"),
    # strings
    ("text", "integer"), ("text", "boolean"), ("varchar(10)", "varchar(20)"), ("varchar(20)", "varchar(10)"),
    ("varchar(255)", "text"), ("text", "varchar(255)"), ("text", "varchar"), ("varchar", "varchar(20)"),
    ("character varying(20)", "varchar"), ("char(10)", "text"), ("char(10)", "bpchar"),
    ("char(10)", "char(20)"), ("text", "char(10)"), ("text", "bpchar"), ("char", "char(10)"), ("text", "text"),
    # citext
    ("text", "citext"), ("citext", "text"), ("varchar(255)", "citext"), ("citext", "varchar"),
    ("citext", "varchar(255)"), ("citext", "bpchar"), ("char(10)", "citext"), ("integer", "citext"),
    ("citext", "integer"), ("uuid", "citext"), ("boolean", "citext"), ("text[]", "citext[]"),
    ("citext[]", "text[]"),
    # uuid, json, bytea, network
    ("uuid", "text"), ("text", "uuid"), ("varchar(36)", "uuid"), ("json", "jsonb"), ("jsonb", "json"),
    ("jsonb", "text"), ("text", "jsonb"), ("jsonb", "integer"), ("bytea", "text"), ("text", "bytea"),
    ("integer", "bytea"), ("cidr", "inet"), ("inet", "cidr"), ("inet", "text"), ("text", "inet"),
    # dates and times
    ("date", "timestamp"), ("timestamp", "timestamp with time zone"), ("timestamp with time zone", "timestamp"),
    ("timestamp with time zone", "date"), ("timestamp(3)", "timestamp"), ("timestamp", "timestamp(6)"),
    ("timestamp", "timestamp(3)"), ("timestamp (3) with time zone", "timestamp with time zone"),
    ("time", "time(6)"), ("time", "time(3)"), ("time (3) with time zone", "time with time zone"),
    ("time", "interval"), ("interval(3)", "interval"), ("interval", "interval(3)"),
    ("text", "timestamp with time zone"), ("integer", "date"), ("date", "integer"),
    # bit strings
    ("bit(3)", "varbit"), ("bit(3)", "varbit(10)"), ("varbit(10)", "varbit(20)"), ("varbit(10)", "bit(3)"),
    # arrays
    ("text[]", "varchar[]"), ("varchar[]", "text[]"), ("varchar(20)[]", "varchar[]"),
    ("varchar(10)[]", "varchar(20)[]"), ("integer[]", "bigint[]"), ("text[]", "integer[]"), ("integer[]", "text"),
    ("text", "text[]"), ("integer", "integer[]"),
    # enums
    (ROLE, "text"), (ROLE, "varchar(20)"), (ROLE, "citext"), ("text", ROLE), ("varchar(20)", ROLE),
    (ROLE, OTHER_ROLE), (ROLE, "integer"), (f"{ROLE}[]", "text[]"), (ROLE, ROLE),
]


@dataclass(frozen=True)
class Server:
    url: str
    version: int
    citext: bool


@pytest.fixture(scope="module")
def server(admin_url: str) -> Iterator[Server]:
    """A fresh database for this module, with the enums and (where it can be installed) citext."""
    with fresh_database(admin_url) as url, psycopg.connect(url, autocommit=True) as conn:
        citext = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'citext'").fetchone()
        has_citext = bool(citext and citext[0])
        if has_citext:
            conn.execute("CREATE EXTENSION IF NOT EXISTS citext")
        else:
            print(f"citext is not available on PostgreSQL {conn.info.server_version}: its pairs are skipped")
        for enum in (ROLE, OTHER_ROLE):
            conn.execute(f"CREATE TYPE {enum} AS ENUM ('admin', 'member')")
        yield Server(url, conn.info.server_version // 10000, has_citext)


def _is_enum(type_text: str) -> bool:
    return normalise(type_text).removesuffix("[]") in ENUMS


def _element(type_text: str) -> str:
    """The base type of a type or of its elements, normalised and without modifiers."""
    return normalise(type_text).removesuffix("[]").removesuffix("[]").split("(")[0]


def _samples(type_text: str) -> tuple[str, ...]:
    element = "admin" if _is_enum(type_text) else _element(type_text)
    values = SAMPLES[element]
    if normalise(type_text).endswith("[]"):
        return tuple("{" + v + "}" for v in values if all(c not in v for c in '{}",'))
    return values


def _indexable(type_text: str) -> bool:
    return _is_enum(type_text) or BTREE_OPCLASSES.get(_element(type_text)) is not None


def _needs_citext(*types: str) -> bool:
    return any(_element(t) == "citext" for t in types)


# The SQL below is built from the constant type names of MATRIX, never from outside input.


def _converting_values(conn: psycopg.Connection[tuple[object, ...]], old: str, new: str) -> list[str]:
    """The sample values of `old` that become a `new` without an error (assignment, else explicit)."""
    kept = []
    for value in _samples(old):
        for statement in (
            f"CREATE TEMP TABLE probe_old (c {old}); INSERT INTO probe_old VALUES (%(v)s); "
            f"CREATE TEMP TABLE probe_new (c {new}); INSERT INTO probe_new SELECT c FROM probe_old",
            f"CREATE TEMP TABLE probe_old (c {old}); INSERT INTO probe_old VALUES (%(v)s); "
            f"SELECT CAST(c AS {new}) FROM probe_old",
        ):
            try:
                with conn.transaction(force_rollback=True):
                    for part in statement.split("; "):
                        conn.execute(part, {"v": value} if "%(v)s" in part else None)
                kept.append(value)
                break
            except psycopg.errors.DatatypeMismatch:
                continue  # no assignment cast: try the explicit one
            except psycopg.Error:
                break
    return kept


def _filenodes(conn: psycopg.Connection[tuple[object, ...]], table: str) -> tuple[object, object]:
    row = conn.execute(
        "SELECT pg_relation_filenode(to_regclass(%s)), pg_relation_filenode(to_regclass(%s))",
        (table, f"{table}_c_idx"),
    ).fetchone()
    assert row is not None
    return row[0], row[1]


@pytest.mark.parametrize(("old", "new"), MATRIX, ids=[f"{o} -> {n}" for o, n in MATRIX])
def test_alter_column_type_on_postgres(server: Server, old: str, new: str) -> None:
    verdict = cast_without_using(old, new, old_is_enum=_is_enum(old), new_is_enum=_is_enum(new))
    change = classify_type_change(old, new)
    assert verdict is not CastVerdict.UNKNOWN and change is not TypeChange.UNKNOWN, "no unknown pair in MATRIX"
    if _needs_citext(old, new) and not server.citext:
        pytest.skip(f"citext cannot be installed on PostgreSQL {server.version} (pg_available_extensions)")
    table = f"t_{MATRIX.index((old, new))}"
    index = _indexable(old) and _indexable(new)
    with psycopg.connect(server.url, autocommit=True, options="-c TimeZone=Europe/Paris") as conn:
        conn.execute(f"CREATE TABLE {table} (c {old})")
        for value in [*_converting_values(conn, old, new), None]:
            conn.execute(sql.SQL("INSERT INTO {} VALUES (%s)").format(sql.Identifier(table)), (value,))
        if index:
            conn.execute(f"CREATE INDEX {table}_c_idx ON {table} (c)")
        before = _filenodes(conn, table)
        refused: psycopg.Error | None = None
        with conn.transaction(force_rollback=True):
            try:
                with conn.transaction():
                    conn.execute(f"ALTER TABLE {table} ALTER COLUMN c SET DATA TYPE {new}")
            except psycopg.Error as error:
                refused = error
            after = _filenodes(conn, table)
    if verdict is CastVerdict.NEEDS_USING:
        assert isinstance(refused, psycopg.errors.DatatypeMismatch), f"expected 42804, got {refused!r}"
        return
    assert refused is None, f"the model says accepted, PostgreSQL said {refused.sqlstate}: {refused}"
    assert (after[0] != before[0]) == (change is TypeChange.REWRITE), "table rewritten?"
    if index:
        rebuilt = rebuilds_indexes(old, new)
        assert rebuilt is not None
        assert (after[1] != before[1]) == rebuilt, "index rebuilt?"


def test_the_pg_cast_table_is_the_catalog(server: Server) -> None:
    """`PG_CASTS` holds every pg_cast entry between the types the module knows, and nothing else."""
    known = [t for t in BTREE_OPCLASSES if server.citext or t != "citext"]
    with psycopg.connect(server.url) as conn:
        rows = conn.execute(
            """SELECT s.typname, t.typname, c.castcontext, c.castmethod FROM pg_cast c
               JOIN pg_type s ON s.oid = c.castsource JOIN pg_type t ON t.oid = c.casttarget
               WHERE s.typname = ANY(%(known)s) AND t.typname = ANY(%(known)s) AND s.oid <> t.oid""",
            {"known": known},
        ).fetchall()
    catalog = {(str(s), str(t)): (str(c), str(m)) for s, t, c, m in rows}
    expected = {
        pair: entry
        for pair, entry in PG_CASTS.items()
        if set(pair) <= set(known) and (server.version >= 18 or pair not in PG_CASTS_FROM_18)
    }
    assert catalog == expected


def test_default_btree_operator_classes_are_the_catalog(server: Server) -> None:
    """CREATE INDEX picks `BTREE_OPCLASSES[type]`; json and xml have no btree operator class."""
    with psycopg.connect(server.url, autocommit=True) as conn:
        for type_name, opclass in BTREE_OPCLASSES.items():
            if type_name == "citext" and not server.citext:
                continue
            conn.execute(f"CREATE TABLE opclass_{type_name} (c {type_name})")
            if opclass is None:
                with pytest.raises(psycopg.errors.UndefinedObject):
                    conn.execute(f"CREATE INDEX ON opclass_{type_name} (c)")
                continue
            conn.execute(f"CREATE INDEX opclass_{type_name}_idx ON opclass_{type_name} (c)")
            row = conn.execute(
                "SELECT opcname FROM pg_index i JOIN pg_opclass o ON o.oid = i.indclass[0] WHERE indexrelid = %s::regclass",
                (f"opclass_{type_name}_idx",),
            ).fetchone()
            assert row is not None and row[0] == opclass, type_name


@pytest.mark.parametrize(
    ("new", "accepted"),
    [("bigint", True), ("smallint", True), ("integer", True), ("uuid", False), ("text", False), ("numeric", False)],
)
def test_identity_column_types(server: Server, new: str, accepted: bool) -> None:
    """SET DATA TYPE on an identity column: smallint, integer, bigint only, else 22023."""
    from policies.type_changes import is_identity_type

    assert is_identity_type(new) is accepted
    with psycopg.connect(server.url, autocommit=True) as conn:
        table = f"identity_{new}"
        conn.execute(f"CREATE TABLE {table} (id integer GENERATED ALWAYS AS IDENTITY, n text)")
        conn.execute(f"INSERT INTO {table} (n) VALUES ('a'), ('b')")
        with conn.transaction(force_rollback=True):
            if accepted:
                conn.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DATA TYPE {new}")
            else:
                with pytest.raises(psycopg.errors.InvalidParameterValue, match="identity column type"):
                    conn.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DATA TYPE {new}")
