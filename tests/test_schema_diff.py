"""The differ and its DDL on schemas built by hand: each change kind, the exact SQL, the order.

The live round trips (tests/test_schema_roundtrip.py) prove the SQL does what it says on real
servers; these pin what it says, and the order rules, without a database.
"""

from __future__ import annotations

from policies.operations import ConstraintKind, quote_ident
from policies.schema import changes as c
from policies.schema.ddl import notes, render
from policies.schema.ddl.order import PHASES
from policies.schema.diff import diff
from policies.schema.losses import losses
from policies.schema.model import (
    OWNER,
    Column,
    CompositeType,
    Constraint,
    Domain,
    DomainConstraint,
    Extension,
    Function,
    Identity,
    Index,
    RlsPolicy,
    Schema,
    Sequence,
    SequenceOptions,
    Table,
    Trigger,
)
from policies.schema.renames import NO_RENAMES, Renames, renames_in_sql
from policies.schema.sqltext import quote_literal

PK = ConstraintKind.PRIMARY_KEY
FK = ConstraintKind.FOREIGN_KEY
INT4 = SequenceOptions("integer", maximum=2147483647)


def table(name: str, *columns: Column, constraints: tuple[Constraint, ...] = (), **fields: object) -> Table:
    return Table(name, {col.name: col for col in columns}, {k.name: k for k in constraints}, **fields)  # type: ignore[arg-type]


def schema(*tables: Table, **fields: object) -> Schema:
    return Schema(tables={t.name: t for t in tables}, complete=True, **fields)  # type: ignore[arg-type]


def sql(a: Schema, b: Schema, renames: Renames = NO_RENAMES, pg_version: int = 18) -> list[str]:
    return render(diff(a, b, renames), pg_version=pg_version)


ID = Column("id", "integer", True)
NAME = Column("name", "text")
USERS = table("users", ID, NAME, constraints=(Constraint("users_pkey", PK, ("id",), definition="PRIMARY KEY (id)"),))


# -- the catalogue is complete ---------------------------------------------------------------------


def test_every_change_kind_has_a_phase_and_renders() -> None:
    from policies.schema.ddl import _RENDER

    kinds = {k for k in vars(c).values() if isinstance(k, type) and issubclass(k, c.Change) and k is not c.Change}
    assert kinds == set(PHASES) == {*_RENDER, c.SetGeneratedExpression}  # that one renders by version


def test_nothing_changes_between_equal_schemas() -> None:
    assert diff(schema(USERS), schema(USERS)) == ()


# -- columns ---------------------------------------------------------------------------------------


def test_column_added_with_everything_it_has_and_dropped() -> None:
    full = Column("Code", "character varying(20)", True, "'x'::character varying", collation="C")
    with_code = schema(table("users", ID, NAME, full))
    assert sql(schema(table("users", ID, NAME)), with_code) == [
        """ALTER TABLE public.users ADD COLUMN "Code" character varying(20) COLLATE "C" DEFAULT 'x'::character varying NOT NULL"""
    ]
    assert sql(with_code, schema(table("users", ID, NAME))) == ['ALTER TABLE public.users DROP COLUMN "Code"']


def test_a_column_dropped_in_the_middle_and_added_again_says_where_it_ends() -> None:
    a = schema(table("t", ID, NAME, Column("note", "text")))
    b = schema(table("t", ID, Column("note", "text")))
    back = diff(b, a)
    assert render(back) == ["ALTER TABLE public.t ADD COLUMN name text"]
    assert back[-1] == c.ColumnOrder("t", ("id", "name", "note"), ("id", "note", "name"))
    assert notes(back) == (
        "columns of t end in the order id, note, name instead of id, name, note: PostgreSQL adds a column last "
        "and no ALTER moves one",
    )


def test_type_change_with_using_drops_and_sets_the_default_around_it() -> None:
    a = schema(table("t", Column("n", "text", default="'1'::text")))
    b = schema(table("t", Column("n", "integer", default="5")))
    assert sql(a, b) == [
        "ALTER TABLE public.t ALTER COLUMN n DROP DEFAULT",
        "ALTER TABLE public.t ALTER COLUMN n TYPE integer USING n::integer",
        "ALTER TABLE public.t ALTER COLUMN n SET DEFAULT 5",
    ]


def test_type_change_without_using_keeps_a_default_that_casts() -> None:
    a = schema(table("t", Column("n", "integer", default="0")))
    b = schema(table("t", Column("n", "bigint", default="0")))
    assert sql(a, b) == [
        "ALTER TABLE public.t ALTER COLUMN n TYPE bigint",
        "ALTER TABLE public.t ALTER COLUMN n SET DEFAULT 0",
    ]


def test_enum_to_enum_goes_through_text_and_no_cast_at_all_too() -> None:
    a = schema(table("t", Column("m", "mood"), Column("u", "integer")), enums={"mood": ("a",), "feeling": ("a",)})
    b = schema(table("t", Column("m", "feeling"), Column("u", "uuid")), enums={"mood": ("a",), "feeling": ("a",)})
    assert sql(a, b) == [
        "ALTER TABLE public.t ALTER COLUMN m TYPE feeling USING m::text::feeling",
        "ALTER TABLE public.t ALTER COLUMN u TYPE uuid USING u::text::uuid",
    ]


def test_collation_nullability_and_defaults() -> None:
    a = schema(table("t", Column("a", "text", collation="C"), Column("b", "text", True, "'x'::text")))
    b = schema(table("t", Column("a", "text"), Column("b", "text", False, "'y'::text")))
    assert sql(a, b) == [
        'ALTER TABLE public.t ALTER COLUMN a TYPE text COLLATE "default"',
        "ALTER TABLE public.t ALTER COLUMN b SET DEFAULT 'y'::text",
        "ALTER TABLE public.t ALTER COLUMN b DROP NOT NULL",
    ]
    assert sql(b, a) == [
        'ALTER TABLE public.t ALTER COLUMN a TYPE text COLLATE "C"',
        "ALTER TABLE public.t ALTER COLUMN b SET DEFAULT 'x'::text",
        "ALTER TABLE public.t ALTER COLUMN b SET NOT NULL",
    ]


def test_identity_added_dropped_and_altered() -> None:
    plain = schema(table("t", Column("id", "bigint", True, "nextval('t_id_seq'::regclass)", sequence="t_id_seq")),
                   sequences={"t_id_seq": Sequence("t_id_seq", ("t", "id"), options=SequenceOptions("bigint"))})
    options = SequenceOptions("bigint", start=10, increment=2, minimum=10)
    identity = schema(table("t", Column("id", "bigint", True, identity=Identity(False, "t_id_seq", options))),
                      sequences={"t_id_seq": Sequence("t_id_seq", ("t", "id"), 10, True, options)})
    assert sql(plain, identity) == [
        "ALTER TABLE public.t ALTER COLUMN id DROP DEFAULT",
        "DROP SEQUENCE public.t_id_seq",
        "ALTER TABLE public.t ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
        "(SEQUENCE NAME public.t_id_seq INCREMENT BY 2 MINVALUE 10)",  # START WITH defaults to MINVALUE
        # the rows already hold values: the new identity moves past them
        "SELECT setval(pg_get_serial_sequence('public.t', 'id'), greatest(max(id), 10), "
        "coalesce(max(id) >= 10, false)) FROM public.t",
    ]
    assert sql(identity, plain) == [
        "ALTER TABLE public.t ALTER COLUMN id DROP IDENTITY",
        "CREATE SEQUENCE public.t_id_seq AS bigint",
        "ALTER TABLE public.t ALTER COLUMN id SET DEFAULT nextval('t_id_seq'::regclass)",
        "ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id",
        "SELECT setval('public.t_id_seq', greatest(max(id), 1), coalesce(max(id) >= 1, false)) FROM public.t",
    ]
    always = Column("id", "bigint", True, identity=Identity(True, "t_id_seq", options._replace(cache=5, cycle=True)))
    assert sql(identity, schema(table("t", always), sequences=identity.sequences)) == [
        "ALTER TABLE public.t ALTER COLUMN id SET GENERATED ALWAYS",
        "ALTER TABLE public.t ALTER COLUMN id SET CACHE 5 SET CYCLE",
    ]


def test_a_sequence_made_for_a_column_that_holds_values_is_moved_past_them() -> None:
    """A sequence or identity made (again) for a column of a table that existed before starts at
    its START, below the values the rows hold: a setval computed from the rows follows it. Not for
    a column added (ADD COLUMN fills the rows from the sequence) or a table created (no rows)."""
    seq = Sequence("t_id_seq", ("t", "id"), options=SequenceOptions("integer", maximum=2147483647))
    serial = Column("id", "integer", True, "nextval('t_id_seq'::regclass)", sequence="t_id_seq")
    with_serial = schema(table("t", serial, NAME), sequences={"t_id_seq": seq})
    # the serial's sequence dropped (the column kept): its rollback makes it again
    assert sql(schema(table("t", ID, NAME)), with_serial)[-2:] == [
        "ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id",
        "SELECT setval('public.t_id_seq', greatest(max(id), 1), coalesce(max(id) >= 1, false)) FROM public.t",
    ]
    # the column dropped: added again, it takes its values from the sequence
    assert not any("setval" in s for s in sql(schema(table("t", NAME)), with_serial))
    # the table dropped: made again, it holds no rows
    assert not any("setval" in s for s in sql(schema(), with_serial))
    # a default that is not an integer: nothing to compare with
    text_default = Column("code", "text", default="(nextval('t_id_seq'::regclass))::text", sequence="t_id_seq")
    assert not any(
        "setval" in s
        for s in sql(schema(table("t", ID, Column("code", "text"))), schema(table("t", ID, text_default), sequences={"t_id_seq": seq}))
    )
    # one sequence for two tables: past both at once
    other = Column("id", "bigint", True, "nextval('t_id_seq'::regclass)", sequence="t_id_seq")
    shared = schema(table("t", serial), table("u", other), sequences={"t_id_seq": seq._replace(owned_by=None)})
    assert sql(schema(table("t", ID), table("u", Column("id", "bigint", True))), shared)[-1] == (
        "SELECT setval('public.t_id_seq', greatest(found, 1), coalesce(found >= 1, false)) FROM "
        "(SELECT greatest((SELECT max(id) FROM public.t), (SELECT max(id) FROM public.u)) AS found) AS found"
    )
    # a descending identity added: below the lowest value
    down = SequenceOptions("integer", start=-1, increment=-1, minimum=-2147483648, maximum=-1)
    identity = Column("id", "integer", True, identity=Identity(True, "t_id_seq", down))
    assert sql(schema(table("t", ID)), schema(table("t", identity)))[-1] == (
        "SELECT setval(pg_get_serial_sequence('public.t', 'id'), least(min(id), -1), "
        "coalesce(min(id) <= -1, false)) FROM public.t"
    )


def test_generated_expression_set_from_17_and_dropped_and_added_before() -> None:
    index = Index("t_b", "t", ("b",), definition="CREATE INDEX t_b ON public.t USING btree (b)")
    a = schema(table("t", Column("a", "integer"), Column("b", "integer", default="(a * 2)", generated=True), NAME),
               indexes={"t_b": index})
    b = a._replace(tables={"t": table("t", Column("a", "integer"), Column("b", "integer", default="(a * 3)", generated=True), NAME)})
    assert sql(a, b) == ["ALTER TABLE public.t ALTER COLUMN b SET EXPRESSION AS ((a * 3))"]
    assert sql(a, b, pg_version=16) == [
        "ALTER TABLE public.t DROP COLUMN b",
        "ALTER TABLE public.t ADD COLUMN b integer GENERATED ALWAYS AS ((a * 3)) STORED",
        "CREATE INDEX t_b ON public.t USING btree (b)",
    ]
    assert notes(diff(a, b), pg_version=16) == (
        "generated column t.b is dropped and added again (SET EXPRESSION needs PostgreSQL 17): it moves to the end "
        "of the table",
    )
    assert notes(diff(a, b), pg_version=17) == ()


def test_a_renamed_column_is_renamed_with_its_references() -> None:
    index = Index("users_name", "users", ("name",), definition="CREATE INDEX users_name ON public.users USING btree (lower(name))")
    a = schema(USERS, indexes={"users_name": index}, comments={("column", "users.name"): "who"})
    title = USERS._replace(columns={"id": ID, "title": NAME._replace(name="title")})
    moved = index._replace(columns=("title",), definition="CREATE INDEX users_name ON public.users USING btree (lower(title))")
    b = schema(title, indexes={"users_name": moved}, comments={("column", "users.title"): "who"})
    renames = renames_in_sql('ALTER TABLE "users" RENAME COLUMN "name" TO "title";')
    assert diff(a, b, renames) == (c.RenameColumn("users", "name", "title"),)
    assert sql(b, a, renames.inverted()) == ["ALTER TABLE public.users RENAME COLUMN title TO name"]


# -- tables, partitions, views ---------------------------------------------------------------------


def test_table_created_with_its_keys_after_it_and_dropped() -> None:
    serial = Column("id", "integer", True, "nextval('orders_id_seq'::regclass)", sequence="orders_id_seq")
    orders = table(
        "shop.orders", serial, Column("user_id", "integer"),
        constraints=(
            Constraint("orders_pkey", PK, ("id",), definition="PRIMARY KEY (id)"),
            Constraint("orders_user_fk", FK, ("user_id",), referenced_table="users", referenced_columns=("id",),
                       definition="FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE"),
        ),
        options=("fillfactor=70",),
    )
    sequence = Sequence("shop.orders_id_seq", ("shop.orders", "id"), options=INT4)
    a = schema(USERS)
    b = schema(USERS, orders, sequences={"shop.orders_id_seq": sequence}, schemas=frozenset({"shop"}),
               comments={("table", "shop.orders"): "what was bought"})
    assert sql(a, b) == [
        "CREATE SCHEMA shop",
        "CREATE SEQUENCE shop.orders_id_seq AS integer",
        "CREATE TABLE shop.orders (\n    id integer DEFAULT nextval('orders_id_seq'::regclass) NOT NULL,\n"
        "    user_id integer\n) WITH (fillfactor=70)",
        "ALTER SEQUENCE shop.orders_id_seq OWNED BY shop.orders.id",
        "ALTER TABLE shop.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id)",
        "ALTER TABLE shop.orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
        "COMMENT ON TABLE shop.orders IS 'what was bought'",
    ]
    assert sql(b, a) == ["DROP TABLE shop.orders", "DROP SCHEMA shop"]


def test_tables_referencing_each_other_are_dropped_in_one_statement_after_those_referencing_them() -> None:
    def fk(name: str, target: str) -> Constraint:
        return Constraint(name, FK, ("x",), referenced_table=target, referenced_columns=("id",),
                          definition=f"FOREIGN KEY (x) REFERENCES {target}(id)")

    a_, b_ = table("a", ID, Column("x", "integer"), constraints=(fk("a_b", "b"),)), table("b", ID, Column("x", "integer"), constraints=(fk("b_a", "a"),))
    c_ = table("c", ID, Column("x", "integer"), constraints=(fk("c_a", "a"),))
    assert sql(schema(a_, b_, c_, USERS), schema(USERS)) == ["DROP TABLE public.c", "DROP TABLE public.a, public.b"]


def test_partitions_come_after_their_parent_and_go_with_it() -> None:
    parent = table("m", Column("at", "date", True), partition_key=("at",), partition_by="RANGE (at)")
    child = table("m_2024", Column("at", "date", True, inherited=True), parent="m",
                  partition_bound="FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')")
    both = Schema(tables={"m_2024": child, "m": parent})
    assert sql(Schema(), both) == [
        "CREATE TABLE public.m (\n    at date NOT NULL\n) PARTITION BY RANGE (at)",
        "CREATE TABLE public.m_2024 PARTITION OF public.m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    ]
    assert sql(both, Schema()) == ["DROP TABLE public.m"]
    loose = child._replace(parent=None, partition_bound=None, columns={"at": Column("at", "date", True)})
    assert sql(both, Schema(tables={"m": parent, "m_2024": loose})) == ["ALTER TABLE public.m DETACH PARTITION public.m_2024"]
    assert sql(Schema(tables={"m": parent, "m_2024": loose}), both) == [
        "ALTER TABLE public.m ATTACH PARTITION public.m_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
    ]


def test_table_flags() -> None:
    a = schema(table("t", ID, options=("fillfactor=70", "autovacuum_enabled=false")))
    b = schema(table("t", ID, unlogged=True, row_security=True, force_row_security=True, options=("fillfactor=80",)))
    assert sql(a, b) == [
        "ALTER TABLE public.t SET UNLOGGED",
        "ALTER TABLE public.t RESET (autovacuum_enabled)",
        "ALTER TABLE public.t SET (fillfactor=80)",
        "ALTER TABLE public.t ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE public.t FORCE ROW LEVEL SECURITY",
    ]


def test_renamed_and_moved_tables() -> None:
    a = schema(USERS, schemas=frozenset({"app"}))
    b = schema(USERS._replace(name="app.people"), schemas=frozenset({"app"}))
    assert sql(a, b, Renames(tables={"users": "app.people"})) == [
        "ALTER TABLE public.users RENAME TO people",
        "ALTER TABLE public.people SET SCHEMA app",
    ]


def test_views_dropped_readers_first_and_created_readers_last_around_a_type_change() -> None:
    t = table("t", ID, Column("a", "character varying(10)"))
    v = table("v", Column("a", "character varying(10)"), kind="view", definition=" SELECT t.a\n   FROM t;", depends_on=("t",))
    w = table("w", Column("a", "character varying(10)"), kind="view", definition=" SELECT v.a\n   FROM v;", depends_on=("v",))
    mv = table("mv", ID, kind="materialized_view", definition=" SELECT t.id\n   FROM t;", depends_on=("t",))
    a = schema(t, w, v, mv, privileges={("view", "w"): (f"{OWNER}=arwdDxt/{OWNER}", f"=r/{OWNER}")})
    b = a._replace(tables={**a.tables, "t": table("t", ID, Column("a", "text"))})
    assert sql(a, b) == [
        "DROP VIEW public.w",
        "DROP VIEW public.v",
        "ALTER TABLE public.t ALTER COLUMN a TYPE text",
        "CREATE VIEW public.v AS\nSELECT t.a\n   FROM t",
        "CREATE VIEW public.w AS\nSELECT v.a\n   FROM v",
        "GRANT SELECT ON TABLE public.w TO PUBLIC",
    ]


def test_materialized_view_with_options_and_its_index() -> None:
    mv = table("mv", ID, kind="materialized_view", definition=" SELECT 1 AS id;", options=("fillfactor=50",))
    index = Index("mv_id", "mv", ("id",), True, definition="CREATE UNIQUE INDEX mv_id ON public.mv USING btree (id)")
    assert sql(Schema(), Schema(tables={"mv": mv}, indexes={"mv_id": index})) == [
        "CREATE MATERIALIZED VIEW public.mv WITH (fillfactor=50) AS\nSELECT 1 AS id\nWITH DATA",
        "CREATE UNIQUE INDEX mv_id ON public.mv USING btree (id)",
    ]
    assert sql(Schema(tables={"mv": mv}, indexes={"mv_id": index}), Schema()) == ["DROP MATERIALIZED VIEW public.mv"]


# -- constraints and indexes -----------------------------------------------------------------------


def test_foreign_keys_go_before_the_key_they_need_and_come_back_after_it() -> None:
    parent = table("p", ID, constraints=(Constraint("p_pkey", PK, ("id",), definition="PRIMARY KEY (id)"),))
    fk = Constraint("t_p", FK, ("p_id",), referenced_table="p", referenced_columns=("id",), definition="FOREIGN KEY (p_id) REFERENCES p(id)")
    child = table("t", Column("p_id", "integer"), constraints=(fk,))
    a = schema(parent, child)
    wider = parent._replace(constraints={"p_pkey": Constraint("p_pkey", PK, ("id",), definition="PRIMARY KEY (id) INCLUDE (id)")})
    assert sql(a, schema(wider, child)) == [
        "ALTER TABLE public.t DROP CONSTRAINT t_p",
        "ALTER TABLE public.p DROP CONSTRAINT p_pkey",
        "ALTER TABLE public.p ADD CONSTRAINT p_pkey PRIMARY KEY (id) INCLUDE (id)",
        "ALTER TABLE public.t ADD CONSTRAINT t_p FOREIGN KEY (p_id) REFERENCES p(id)",
    ]


def test_not_valid_and_validation() -> None:
    check = Constraint("n_pos", ConstraintKind.CHECK, ("n",), validated=False, definition="CHECK ((n > 0)) NOT VALID")
    a = schema(table("t", Column("n", "integer"), constraints=(check,)))
    b = schema(table("t", Column("n", "integer"), constraints=(check._replace(validated=True, definition="CHECK ((n > 0))"),)))
    assert sql(a, b) == ["ALTER TABLE public.t VALIDATE CONSTRAINT n_pos"]
    assert sql(b, a) == [
        "ALTER TABLE public.t DROP CONSTRAINT n_pos",
        "ALTER TABLE public.t ADD CONSTRAINT n_pos CHECK ((n > 0)) NOT VALID",
    ]


def test_indexes_of_their_own_not_those_of_constraints() -> None:
    pkey = Index("users_pkey", "users", ("id",), True, definition="CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)", constraint="users_pkey")
    name = Index("users_name", "users", ("name",), definition="CREATE INDEX users_name ON public.users USING btree (name)")
    a = schema(USERS, indexes={"users_pkey": pkey})
    b = schema(USERS, indexes={"users_pkey": pkey, "users_name": name})
    assert sql(a, b) == ["CREATE INDEX users_name ON public.users USING btree (name)"]
    assert sql(b, a) == ["DROP INDEX public.users_name"]
    hashed = name._replace(definition="CREATE INDEX users_name ON public.users USING hash (name)")
    assert sql(b, schema(USERS, indexes={"users_pkey": pkey, "users_name": hashed})) == [
        "DROP INDEX public.users_name", "CREATE INDEX users_name ON public.users USING hash (name)",
    ]


def test_renamed_index_and_constraint() -> None:
    key = Constraint("t_key", ConstraintKind.UNIQUE, ("id",), index_name="t_key", definition="UNIQUE (id)")
    index = Index("t_key", "t", ("id",), True, definition="CREATE UNIQUE INDEX t_key ON public.t USING btree (id)", constraint="t_key")
    a = schema(table("t", ID, constraints=(key,)), indexes={"t_key": index})
    b = schema(
        table("t", ID, constraints=(key._replace(name="t_id_unique", index_name="t_id_unique"),)),
        indexes={"t_id_unique": index._replace(name="t_id_unique", constraint="t_id_unique",
                                               definition="CREATE UNIQUE INDEX t_id_unique ON public.t USING btree (id)")},
    )
    assert diff(a, b, Renames(constraints={"t": {"t_key": "t_id_unique"}})) == (c.RenameConstraint("t", "t_key", "t_id_unique"),)
    assert diff(a, b, Renames(indexes={"t_key": "t_id_unique"})) == (c.RenameIndex("t_key", "t_id_unique"),)
    assert sql(a, b) == ["ALTER TABLE public.t DROP CONSTRAINT t_key", "ALTER TABLE public.t ADD CONSTRAINT t_id_unique UNIQUE (id)"]


# -- types -----------------------------------------------------------------------------------------


def test_enum_values_added_in_their_places_renamed_or_rebuilt() -> None:
    def moods(*values: str, default: str = "'ok'::mood") -> Schema:
        return schema(table("t", Column("m", "mood", default=default), Column("ms", "mood[]")), enums={"mood": values})

    assert sql(moods("sad", "ok"), moods("meh", "sad", "ok", "happy")) == [
        "ALTER TYPE public.mood ADD VALUE 'meh' BEFORE 'sad'",
        "ALTER TYPE public.mood ADD VALUE 'happy' AFTER 'ok'",
    ]
    fine = moods("sad", "fine", default="'fine'::mood")
    assert sql(moods("sad", "ok"), fine, Renames(enum_values={"mood": {"ok": "fine"}})) == [
        "ALTER TYPE public.mood RENAME VALUE 'ok' TO 'fine'"
    ]
    rebuilt = diff(moods("sad", "ok", "happy"), moods("ok", "sad"))
    assert render(rebuilt) == [
        "ALTER TABLE public.t ALTER COLUMN m DROP DEFAULT",
        "ALTER TYPE public.mood RENAME TO mood_old",
        "CREATE TYPE public.mood AS ENUM ('ok', 'sad')",
        "ALTER TABLE public.t ALTER COLUMN m TYPE mood USING m::text::mood",
        "ALTER TABLE public.t ALTER COLUMN m SET DEFAULT 'ok'::mood",
        "ALTER TABLE public.t ALTER COLUMN ms TYPE mood[] USING ms::text[]::mood[]",
        "DROP TYPE public.mood_old",
    ]
    assert [loss.reason for loss in losses(rebuilt, moods("sad", "ok", "happy"), moods("ok", "sad"))] == [
        "enum mood loses 'happy': rows of t.m, t.ms holding it cannot be converted"
    ]


def test_enum_created_before_the_column_and_dropped_after_it() -> None:
    a = schema(table("t", ID))
    b = schema(table("t", ID, Column("m", "app.mood")), enums={"app.mood": ("it's",)}, schemas=frozenset({"app"}))
    assert sql(a, b) == [
        "CREATE SCHEMA app",
        "CREATE TYPE app.mood AS ENUM ('it''s')",
        "ALTER TABLE public.t ADD COLUMN m app.mood",
    ]
    assert sql(b, a) == ["ALTER TABLE public.t DROP COLUMN m", "DROP TYPE app.mood", "DROP SCHEMA app"]


def test_domains() -> None:
    check = DomainConstraint("pos", "CHECK ((VALUE >= (0)::numeric))")
    cap = DomainConstraint("cap", "CHECK ((VALUE < (100)::numeric)) NOT VALID", validated=False)
    price = Domain("price", "numeric(10,2)", default="0", constraints=(check,))
    assert sql(Schema(), Schema(domains={"price": price._replace(constraints=(check, cap), not_null=True)})) == [
        "CREATE DOMAIN public.price AS numeric(10,2) DEFAULT 0 NOT NULL CONSTRAINT pos CHECK ((VALUE >= (0)::numeric))",
        "ALTER DOMAIN public.price ADD CONSTRAINT cap CHECK ((VALUE < (100)::numeric)) NOT VALID",
    ]
    changed = price._replace(default=None, not_null=True, constraints=(cap._replace(validated=True, definition="CHECK ((VALUE < (100)::numeric))"),))
    assert sql(Schema(domains={"price": price._replace(constraints=(cap,))}), Schema(domains={"price": changed})) == [
        "ALTER DOMAIN public.price DROP DEFAULT",
        "ALTER DOMAIN public.price SET NOT NULL",
        "ALTER DOMAIN public.price VALIDATE CONSTRAINT cap",
    ]


def test_a_domain_on_another_base_type_is_rebuilt_under_its_columns() -> None:
    a = schema(table("t", Column("x", "d", default="1")), domains={"d": Domain("d", "bigint")})
    b = schema(table("t", Column("x", "d", default="1")), domains={"d": Domain("d", "integer")})
    assert sql(a, b) == [
        "ALTER TABLE public.t ALTER COLUMN x DROP DEFAULT",
        "ALTER DOMAIN public.d RENAME TO d_old",
        "CREATE DOMAIN public.d AS integer",
        "ALTER TABLE public.t ALTER COLUMN x TYPE d USING x::text::d",
        "ALTER TABLE public.t ALTER COLUMN x SET DEFAULT 1",
        "DROP DOMAIN public.d_old",
    ]


def test_composite_types() -> None:
    addr = CompositeType("addr", (("street", "text", None), ("city", "text", "C")))
    assert sql(Schema(), Schema(composites={"addr": addr})) == ['CREATE TYPE public.addr AS (street text, city text COLLATE "C")']
    changed = CompositeType("addr", (("city", "character varying(50)", None), ("zip", "text", None)))
    assert sql(Schema(composites={"addr": addr}), Schema(composites={"addr": changed})) == [
        "ALTER TYPE public.addr DROP ATTRIBUTE street",
        "ALTER TYPE public.addr ALTER ATTRIBUTE city SET DATA TYPE character varying(50)",
        "ALTER TYPE public.addr ADD ATTRIBUTE zip text",
    ]
    used = schema(table("t", Column("a", "addr")), composites={"addr": changed})
    back = diff(used, schema(table("t", Column("a", "addr")), composites={"addr": addr}))
    assert render(back) == [
        "ALTER TYPE public.addr RENAME TO addr_old",
        'CREATE TYPE public.addr AS (street text, city text COLLATE "C")',
        "ALTER TABLE public.t ALTER COLUMN a TYPE addr USING CASE WHEN a::text IS NULL THEN NULL ELSE "
        "ROW(NULL::text, (a).city::text)::addr END",
        "DROP TYPE public.addr_old",
    ]


# -- sequences -------------------------------------------------------------------------------------


def test_sequences_created_altered_owned_and_dropped() -> None:
    options = SequenceOptions("integer", 10, 5, 1, 2147483647, 1, False)
    a = schema(table("t", Column("n", "bigint")), sequences={"s": Sequence("s", None, 10, options=options)})
    changed = options._replace(increment=2, maximum=5000, cache=3, cycle=True)
    b = schema(table("t", Column("n", "bigint")), sequences={
        "s": Sequence("s", ("t", "n"), 10, options=changed),
        "s2": Sequence("s2", None, 1, options=SequenceOptions("smallint", maximum=32767)),
    })
    assert sql(a, b) == [
        "CREATE SEQUENCE public.s2 AS smallint",
        "ALTER SEQUENCE public.s INCREMENT BY 2 MAXVALUE 5000 CACHE 3 CYCLE",
        "ALTER SEQUENCE public.s OWNED BY public.t.n",
    ]
    assert sql(b, a) == [
        "ALTER SEQUENCE public.s OWNED BY NONE",
        "ALTER SEQUENCE public.s INCREMENT BY 5 MAXVALUE 2147483647 CACHE 1 NO CYCLE",
        "DROP SEQUENCE public.s2",
    ]
    descending = SequenceOptions("bigint", -1, -1, -9223372036854775808, -1)
    assert sql(Schema(), Schema(sequences={"d": Sequence("d", options=descending)})) == [
        "CREATE SEQUENCE public.d AS bigint INCREMENT BY -1"
    ]


# -- functions, triggers, policies -----------------------------------------------------------------


def _function(body: str, returns: str = "integer") -> Function:
    return Function("f", "f(a integer)", "a integer", "f", (
        f"CREATE OR REPLACE FUNCTION public.f(a integer)\n RETURNS {returns}\n LANGUAGE sql\nAS $function${body}$function$\n"
    ))


def test_functions_replaced_or_dropped_first_when_the_return_type_changes() -> None:
    a = Schema(functions={"f(a integer)": _function("SELECT a")})
    assert sql(a, Schema(functions={"f(a integer)": _function("SELECT a + 1")})) == [
        "CREATE OR REPLACE FUNCTION public.f(a integer)\n RETURNS integer\n LANGUAGE sql\nAS $function$SELECT a + 1$function$"
    ]
    assert sql(a, Schema(functions={"f(a integer)": _function("SELECT a::bigint", "bigint")}))[0] == "DROP FUNCTION public.f(a integer)"
    procedure = Function("p", "p(IN a integer)", "IN a integer", "p", "CREATE OR REPLACE PROCEDURE public.p(IN a integer)\n...")
    assert sql(Schema(functions={"p(IN a integer)": procedure}), Schema()) == ["DROP PROCEDURE public.p(IN a integer)"]


def test_a_sql_function_reading_a_new_table_comes_after_it() -> None:
    reader = Function("n", "n()", "", "f", "CREATE OR REPLACE FUNCTION public.n()\n RETURNS bigint\n LANGUAGE sql\nAS $function$SELECT count(*) FROM t$function$\n")
    assert sql(Schema(), Schema(tables={"t": table("t", ID)}, functions={"n()": reader}))[0].startswith("CREATE TABLE public.t")


def test_triggers_with_their_state_made_again_when_a_column_they_read_changes_type() -> None:
    trigger = Trigger("t_trg", "t", "CREATE TRIGGER t_trg BEFORE UPDATE OF n ON public.t FOR EACH ROW EXECUTE FUNCTION trg()", "D")
    a = schema(table("t", Column("n", "integer")), triggers={"t.t_trg": trigger})
    assert sql(schema(table("t", Column("n", "integer"))), a) == [
        trigger.definition, "ALTER TABLE public.t DISABLE TRIGGER t_trg"
    ]
    assert sql(a, a._replace(triggers={"t.t_trg": trigger._replace(enabled="A")})) == [
        "ALTER TABLE public.t ENABLE ALWAYS TRIGGER t_trg"
    ]
    b = a._replace(tables={"t": table("t", Column("n", "bigint"))})
    assert sql(a, b) == [
        "DROP TRIGGER t_trg ON public.t",
        "ALTER TABLE public.t ALTER COLUMN n TYPE bigint",
        trigger.definition,
        "ALTER TABLE public.t DISABLE TRIGGER t_trg",
    ]


def test_policies_created_altered_and_made_again() -> None:
    mine = RlsPolicy("mine", "t", "SELECT", False, ("alice", "public"), "(owner = CURRENT_USER)")
    base = schema(table("t", Column("owner", "text"), row_security=True))
    with_policy = base._replace(policies={"t.mine": mine})
    assert sql(base, with_policy) == [
        "CREATE POLICY mine ON public.t AS RESTRICTIVE FOR SELECT TO alice, PUBLIC USING ((owner = CURRENT_USER))"
    ]
    assert sql(with_policy, base._replace(policies={"t.mine": mine._replace(roles=("public",), with_check=None, using="true")})) == [
        "ALTER POLICY mine ON public.t TO PUBLIC USING (true)"
    ]
    assert sql(with_policy, base._replace(policies={"t.mine": mine._replace(command="ALL")})) == [
        "DROP POLICY mine ON public.t",
        "CREATE POLICY mine ON public.t AS RESTRICTIVE TO alice, PUBLIC USING ((owner = CURRENT_USER))",
    ]


# -- schemas, extensions, comments, privileges -----------------------------------------------------


def test_extensions_and_schemas() -> None:
    a = Schema(extensions={"plpgsql": Extension("plpgsql", "pg_catalog", "1.0")})
    b = Schema(
        extensions={**a.extensions, "uuid-ossp": Extension("uuid-ossp", "public", "1.1"), "citext": Extension("citext", "app", "1.6")},
        schemas=frozenset({"app"}),
    )
    assert sql(a, b) == [
        "CREATE SCHEMA app",
        'CREATE EXTENSION citext WITH SCHEMA app VERSION \'1.6\'',
        'CREATE EXTENSION "uuid-ossp" WITH SCHEMA public VERSION \'1.1\'',
    ]
    moved = b._replace(extensions={**b.extensions, "citext": Extension("citext", "public", "1.5")}, schemas=frozenset())
    assert sql(b, moved) == [
        "ALTER EXTENSION citext SET SCHEMA public",
        "ALTER EXTENSION citext UPDATE TO '1.5'",
        "DROP SCHEMA app",
    ]


def test_schema_renamed_with_everything_in_it() -> None:
    t = table("app.t", ID, constraints=(Constraint("t_pkey", PK, ("id",), index_name="app.t_pkey", definition="PRIMARY KEY (id)"),))
    index = Index("app.t_pkey", "app.t", ("id",), True, definition="CREATE UNIQUE INDEX t_pkey ON app.t USING btree (id)", constraint="t_pkey")
    a = Schema(tables={"app.t": t}, indexes={"app.t_pkey": index}, schemas=frozenset({"app"}), enums={"app.k": ("x",)})
    b = Schema(
        tables={"core.t": t._replace(name="core.t", constraints={"t_pkey": t.constraints["t_pkey"]._replace(index_name="core.t_pkey")})},
        indexes={"core.t_pkey": index._replace(name="core.t_pkey", table="core.t", definition="CREATE UNIQUE INDEX t_pkey ON core.t USING btree (id)")},
        schemas=frozenset({"core"}), enums={"core.k": ("x",)},
    )
    assert sql(a, b, renames_in_sql("ALTER SCHEMA app RENAME TO core;")) == ["ALTER SCHEMA app RENAME TO core"]


def test_comments_set_changed_removed_and_on_objects_made_here() -> None:
    a = schema(USERS, comments={("table", "users"): "old", ("column", "users.name"): "x"})
    b = schema(USERS, comments={
        ("table", "users"): "new", ("constraint", "users.users_pkey"): "key", ("column", "users.id"): "back\\slash",
    })
    assert sql(a, b) == [
        "COMMENT ON COLUMN public.users.id IS E'back\\\\slash'",
        "COMMENT ON COLUMN public.users.name IS NULL",
        "COMMENT ON CONSTRAINT users_pkey ON public.users IS 'key'",
        "COMMENT ON TABLE public.users IS 'new'",
    ]
    assert sql(a, Schema()) == ["DROP TABLE public.users"]


def test_privileges_granted_and_revoked_per_grantee() -> None:
    owner = f"{OWNER}=arwdDxt/{OWNER}"
    a = schema(table("t", ID), privileges={("table", "t"): (owner, f"=r/{OWNER}")})
    b = schema(table("t", ID), privileges={("table", "t"): (f"{OWNER}=arwdxt/{OWNER}", f"bob=a*w/{OWNER}")})
    assert sql(a, b) == [
        "REVOKE SELECT ON TABLE public.t FROM PUBLIC",
        "REVOKE TRUNCATE ON TABLE public.t FROM CURRENT_USER",
        "GRANT UPDATE ON TABLE public.t TO bob",
        "GRANT INSERT ON TABLE public.t TO bob WITH GRANT OPTION",
    ]
    assert sql(b, a)[-1] == "GRANT TRUNCATE ON TABLE public.t TO CURRENT_USER"
    new = schema(table("t", ID), privileges={("table", "t"): (f"{OWNER}=arwdDxtm/{OWNER}", f"\"Ann\"=r/{OWNER}")})
    assert sql(Schema(), new)[1:] == ['GRANT SELECT ON TABLE public.t TO "Ann"']


def test_names_are_quoted_as_quote_ident_does() -> None:
    assert [quote_ident(n) for n in ("users", "User", "user", "order_items", "2fa", "name", "a\"b")] == [
        "users", '"User"', '"user"', "order_items", '"2fa"', "name", '"a""b"'
    ]
    assert sql(Schema(), schema(table("Order", Column("select", "integer")))) == ['CREATE TABLE public."Order" (\n    "select" integer\n)']
    assert quote_literal("it's") == "'it''s'"


# -- data losses -----------------------------------------------------------------------------------


def test_losses_name_the_data_that_goes() -> None:
    a = schema(
        table("t", ID, Column("price", "numeric(10,2)"), Column("code", "text"), Column("g", "integer", default="(id * 2)", generated=True)),
        sequences={"s": Sequence("s", options=INT4)},
    )
    b = schema(table("t", ID, Column("price", "integer"), Column("code", "character varying(3)")))
    found = [loss.reason for loss in losses(diff(a, b), a, b)]
    assert found == [
        "column t.price changes type from numeric(10,2) to integer: values are rounded or cut",
        "column t.code changes type from text to character varying(3): values that do not fit are refused or cut",
        "sequence s is dropped: its current value is lost",
    ]
    assert [loss.reason for loss in losses(diff(a, Schema()), a, Schema())] == [
        "table t is dropped: its rows are lost", "sequence s is dropped: its current value is lost",
    ]


# -- renames from a migration ----------------------------------------------------------------------


def test_renames_follow_chains_and_invert() -> None:
    renames = renames_in_sql(
        'ALTER TABLE "a" RENAME TO "b"; ALTER TABLE b RENAME COLUMN x TO y; ALTER TABLE b RENAME COLUMN y TO z; '
        "ALTER TABLE b RENAME TO c; ALTER INDEX i RENAME TO j; ALTER TABLE c RENAME CONSTRAINT k TO l; "
        "ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'; ALTER TYPE mood RENAME TO feeling; ALTER SEQUENCE s RENAME TO s2; "
        "ALTER SCHEMA app RENAME TO core; ALTER TABLE t SET SCHEMA core; ALTER TABLE x RENAME TO tmp; ALTER TABLE tmp RENAME TO x;"
    )
    assert renames == Renames(
        schemas={"app": "core"}, tables={"a": "c", "t": "core.t"}, columns={"a": {"x": "z"}}, constraints={"a": {"k": "l"}},
        indexes={"i": "j"}, sequences={"s": "s2"}, types={"mood": "feeling"}, enum_values={"mood": {"ok": "fine"}},
    )
    assert renames.inverted() == Renames(
        schemas={"core": "app"}, tables={"c": "a", "core.t": "t"}, columns={"c": {"z": "x"}}, constraints={"c": {"l": "k"}},
        indexes={"j": "i"}, sequences={"s2": "s"}, types={"feeling": "mood"}, enum_values={"feeling": {"fine": "ok"}},
    )


def test_a_rename_whose_object_is_missing_is_ignored() -> None:
    renames = Renames(tables={"nothing": "users"}, columns={"users": {"nope": "name"}})
    assert diff(schema(USERS), schema(USERS), renames) == ()
