"""The safer way written for the statement at hand: it keeps the statement's names and meaning,
the rulebook no longer objects to it, and PostgreSQL runs it to the intended end state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from conftest import fresh_database
from pglast.parser import parse_sql

from policies import Context, analyze_migration_texts, analyze_sql
from policies.operations import quote_identifier
from policies.report import Finding, SaferKind
from policies.rules import all_rules
from policies.rules._recipes import NEXT_MIGRATION, OWN_MIGRATION, object_name

RULES = {rule.code: rule for rule in all_rules()}

# Existing tables the statements below change; a quoted name with a space and capitals on purpose.
SETUP = """
CREATE TABLE orders (id bigint PRIMARY KEY);
CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE "Order Items" (id bigint NOT NULL, order_id bigint, sku text, qty int);
CREATE INDEX "Order Items_old_idx" ON "Order Items" (qty);
INSERT INTO orders VALUES (1);
INSERT INTO customers VALUES (7);
INSERT INTO "Order Items" VALUES (1, 1, 'a', 2), (2, 1, 'b', 3);
"""


@dataclass(frozen=True)
class Case:
    code: str
    sql: str
    expected: str
    """SQL that returns true once the recipe has run: the end state the statement wanted."""
    additive: bool = False
    """The recipe completes the statement (runs after it) instead of replacing it."""


CASES = [
    Case(
        "SW101",
        'CREATE UNIQUE /* keep */ INDEX "Order Items_sku_idx" ON "Order Items" USING btree ("sku") WHERE "sku" IS NOT NULL\n'
        "-- a trailing comment",
        "SELECT i.indisvalid AND i.indisunique AND i.indpred IS NOT NULL FROM pg_index i "
        "WHERE i.indexrelid = '\"Order Items_sku_idx\"'::regclass",
    ),
    Case("SW102", 'DROP INDEX IF EXISTS "Order Items_old_idx"', "SELECT to_regclass('\"Order Items_old_idx\"') IS NULL"),
    Case(
        "SW103",
        'ALTER TABLE "Order Items" ADD CONSTRAINT "items_order_fk" FOREIGN KEY ("order_id") '
        'REFERENCES "orders"("id") ON DELETE cascade -- a trailing comment',
        "SELECT convalidated AND confdeltype = 'c' FROM pg_constraint WHERE conname = 'items_order_fk'",
    ),
    Case(
        "SW104",
        'ALTER TABLE "Order Items" ADD CONSTRAINT "items_qty_positive" CHECK ("qty" > 0)',
        "SELECT convalidated FROM pg_constraint WHERE conname = 'items_qty_positive'",
    ),
    Case(
        "SW105",
        'ALTER TABLE "Order Items" ADD CONSTRAINT "items_sku_key" UNIQUE ("sku", "order_id")',
        "SELECT contype = 'u' AND array_length(conkey, 1) = 2 FROM pg_constraint WHERE conname = 'items_sku_key'",
    ),
    Case(
        "SW105",
        'ALTER TABLE "Order Items" ADD PRIMARY KEY ("id")',
        "SELECT contype = 'p' FROM pg_constraint WHERE conname = 'Order Items_pkey'",
    ),
    Case(
        "SW106",
        'ALTER TABLE "Order Items" ALTER COLUMN "qty" SET NOT NULL',
        "SELECT attnotnull AND NOT EXISTS (SELECT FROM pg_constraint WHERE contype = 'c' AND conname LIKE '%qty%') "
        "FROM pg_attribute WHERE attrelid = '\"Order Items\"'::regclass AND attname = 'qty'",
    ),
    Case(
        "SW506",
        'ALTER TABLE "Order Items" ADD COLUMN "customer_id" bigint;\n'
        'ALTER TABLE "Order Items" ADD CONSTRAINT "items_customer_fk" FOREIGN KEY ("customer_id") '
        'REFERENCES "customers"("id") NOT VALID',
        "SELECT indisvalid FROM pg_index WHERE indexrelid = '\"Order Items_customer_id_idx\"'::regclass",
        additive=True,
    ),
    Case(
        "SW606",
        'ALTER TABLE "Order Items" ADD COLUMN "note" text -- a trailing comment',
        "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = '\"Order Items\"'::regclass AND attname = 'note')",
    ),
]
IDS = [f"{case.code}-{i}" for i, case in enumerate(CASES)]
ADDITIVE = {"SW506"}  # its recipe adds an index after the statement; the others replace it


def _finding(code: str, sql: str, context: Context | None = None) -> Finding:
    found = [f for f in analyze_sql("migrations/0002_change.sql", sql, context or Context()).findings if f.code == code]
    assert len(found) == 1, found
    return found[0]


def _migrations(recipe: str) -> list[str]:
    """The recipe's migrations, in order (it says where one ends and the next begins)."""
    return [part.strip() for part in recipe.split(NEXT_MIGRATION)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_safer_way_is_written_with_the_statements_own_names(case: Case) -> None:
    safer = _finding(case.code, case.sql).safer
    assert safer != RULES[case.code].safer
    assert '"Order Items' in safer and "orders_customer_id" not in safer


REPLACING = [(i, c) for i, c in zip(IDS, CASES, strict=True) if not c.additive]


@pytest.mark.parametrize("case", [c for _, c in REPLACING], ids=[i for i, _ in REPLACING])
def test_the_rule_no_longer_objects_to_its_own_recipe(case: Case) -> None:
    recipe = _finding(case.code, case.sql).safer
    files = [(f"migrations/{i:04d}_safer.sql", text) for i, text in enumerate(_migrations(recipe))]
    reports = analyze_migration_texts(files, Context())
    assert [f for r in reports for f in r.findings if f.code == case.code] == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_postgresql_runs_the_recipe_to_the_intended_end_state(admin_url: str, case: Case) -> None:
    recipe = _finding(case.code, case.sql).safer
    with fresh_database(admin_url) as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SETUP)
        if case.additive:
            with conn.transaction():
                conn.execute(case.sql)
        for migration in _migrations(recipe):
            # Each migration as schemawarden's apply runs it: one transaction, unless it must run outside one.
            if OWN_MIGRATION in migration:
                for statement in _statements(migration):
                    conn.execute(statement)
            else:
                with conn.transaction():
                    conn.execute(migration)
        row = conn.execute(case.expected).fetchone()
        assert row is not None and row[0] is True, recipe


def _statements(migration: str) -> Iterator[str]:
    lines = [line for line in migration.splitlines() if not line.startswith("--")]
    yield from (s.strip() for s in "\n".join(lines).split(";") if s.strip())


def test_the_example_stands_where_a_recipe_would_change_the_statement() -> None:
    rule_example = RULES["SW105"].safer
    for sql in (
        'ALTER TABLE "t" ADD CONSTRAINT "t_a_key" UNIQUE NULLS NOT DISTINCT ("a")',
        'ALTER TABLE "t" ADD CONSTRAINT "t_a_key" UNIQUE ("a") INCLUDE ("b")',
        'ALTER TABLE "t" ADD CONSTRAINT "t_a_key" UNIQUE ("a") DEFERRABLE INITIALLY DEFERRED',
    ):
        assert _finding("SW105", sql).safer == rule_example, sql
    assert _finding("SW102", 'DROP INDEX "a_idx" CASCADE').safer == RULES["SW102"].safer
    # A partitioned table (ON ONLY, ALTER TABLE ONLY) cannot build an index CONCURRENTLY.
    assert _finding("SW101", 'CREATE INDEX "m_idx" ON ONLY "m" ("a")').safer == RULES["SW101"].safer
    assert _finding("SW105", 'ALTER TABLE ONLY "m" ADD CONSTRAINT "m_a_key" UNIQUE ("a")').safer == RULES["SW105"].safer
    several = 'ALTER TABLE "t" ADD CONSTRAINT "t_fk" FOREIGN KEY ("a") REFERENCES "u"("id"), ADD COLUMN "b" int'
    assert _finding("SW103", several).safer == RULES["SW103"].safer
    unnamed = 'ALTER TABLE "t" ADD FOREIGN KEY ("a") REFERENCES "u"("id")'
    assert _finding("SW103", unnamed).safer == RULES["SW103"].safer
    assert _finding("SW106", 'ALTER TABLE "t" ALTER COLUMN "a" SET NOT NULL', Context(pg_version=11)).safer == (
        RULES["SW106"].safer
    )


def test_each_index_of_a_drop_of_several_gets_its_own_recipe() -> None:
    report = analyze_sql("migrations/0002_drop.sql", 'DROP INDEX IF EXISTS "a_idx", public.b_idx', Context())
    assert [f.safer.splitlines()[-1] for f in report.findings if f.code == "SW102"] == [
        'DROP INDEX CONCURRENTLY IF EXISTS "a_idx";',
        'DROP INDEX CONCURRENTLY IF EXISTS "public"."b_idx";',
    ]


def test_a_new_tables_foreign_key_index_needs_no_concurrently() -> None:
    sql = (
        'CREATE TABLE "items" ("id" bigint PRIMARY KEY, "order_id" bigint);\n'
        'ALTER TABLE "items" ADD CONSTRAINT "items_order_fk" FOREIGN KEY ("order_id") REFERENCES "orders"("id");'
    )
    assert _finding("SW506", sql).safer == 'CREATE INDEX "items_order_id_idx" ON "items" ("order_id");'


def test_generated_names_fit_postgresqls_limit_as_postgresql_shortens_them() -> None:
    assert object_name("users", ("email",), "key") == "users_email_key"
    assert object_name("users", (), "pkey") == "users_pkey"
    long = object_name("t" * 70, ("c" * 10,), "idx")
    assert len(long.encode()) == 63 and long.endswith("_" + "c" * 10 + "_idx")
    wide = object_name("tabelle", ("ä" * 40,), "idx")  # two bytes a character: cut by characters
    assert len(wide.encode()) <= 63 and wide.startswith("tabelle_ä") and wide.endswith("_idx")
    assert quote_identifier('say "hi"') == '"say ""hi"""'


@pytest.mark.shared
def test_every_recipe_written_for_the_corpus_parses_and_satisfies_its_rule(shared_dir: Path) -> None:
    """Over ../shared/corpus: each safer way written for a real statement is valid SQL for PostgreSQL's
    parser, and (where it replaces the statement) its own rule no longer objects to it."""
    written = 0
    for path in sorted((shared_dir / "corpus").rglob("*.sql")):
        report = analyze_sql(str(path), path.read_text(encoding="utf-8", errors="replace"), Context())
        for finding in report.findings:
            if finding.safer_kind is not SaferKind.RECIPE:
                continue  # the rule's example, or why no recipe fits
            written += 1
            migrations = _migrations(finding.safer)
            for migration in migrations:
                parse_sql(migration)  # raises on anything PostgreSQL's grammar refuses
            if finding.code in ADDITIVE:
                continue
            files = [(f"migrations/{i:04d}_safer.sql", text) for i, text in enumerate(migrations)]
            again = [f for r in analyze_migration_texts(files, Context()) for f in r.findings if f.code == finding.code]
            assert again == [], f"{path}:{finding.line} {finding.code}\n{finding.safer}"
    assert written > 6000  # measured: 6,380 of the corpus's 14,400 findings
