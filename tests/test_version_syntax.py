"""SW608: syntax newer than the target PostgreSQL version, one case per feature (and form).

Each case is refused by the target one major version before the feature's `since` (exactly one
SW608 error naming the feature's version) and passes at `since`. The same cases, with the setup
each needs, run on the real servers in test_version_syntax_on_postgres.py, which also holds the
`since` versions against what each server accepts; cases with `since` 11 are statements that
look alike but every supported version accepts (no SW608 anywhere).
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from policies import Context, analyze_sql
from policies.report import Category, Finding, Severity
from policies.rules.syntax_newer_than_target import FEATURES, RULE
from policies.versions import NEWEST_VERSION, OLDEST_VERSION


class Case(NamedTuple):
    since: int
    feature: str
    """A piece of the feature's name, as the message says it (empty for the statements accepted everywhere)."""
    sql: str
    setup: str = ""
    """Run before `sql` on the real server, from `setup_since` on (older servers refuse `sql` at parse time)."""
    setup_since: int = OLDEST_VERSION
    refused_as: str = "SyntaxError"
    """The psycopg error class an older server raises."""
    accepted_as: str | None = None
    """The error a new enough server may still raise once past the parser (in a transaction block, say)."""


GENERATED = "ALTER TABLE t ADD COLUMN g integer GENERATED ALWAYS AS (a * 2) STORED"
ROOMS = "CREATE TABLE rooms (room int4range, during daterange, PRIMARY KEY (room, during WITHOUT OVERLAPS))"
MERGE = "MERGE INTO t USING src ON t.id = src.id WHEN MATCHED THEN UPDATE SET a = src.a"

CASES = [
    Case(12, "generated column (GENERATED ALWAYS AS ... STORED)", GENERATED),
    Case(12, "generated column (GENERATED ALWAYS AS ... STORED)", "CREATE TABLE g2 (a int, g int GENERATED ALWAYS AS (a * 2) STORED)"),
    Case(12, "REINDEX CONCURRENTLY", "REINDEX INDEX CONCURRENTLY t_a_idx", accepted_as="ActiveSqlTransaction"),
    Case(12, "REINDEX CONCURRENTLY", "REINDEX TABLE CONCURRENTLY t", accepted_as="ActiveSqlTransaction"),
    Case(12, "table access method", "CREATE TABLE am (id int) USING heap"),
    Case(12, "table access method", "CREATE MATERIALIZED VIEW amv USING heap AS SELECT 1 AS x"),
    Case(13, "DROP EXPRESSION", "ALTER TABLE t ALTER COLUMN g DROP EXPRESSION", GENERATED, 12),
    Case(13, "DROP EXPRESSION", "DO $$ BEGIN ALTER TABLE t ALTER COLUMN g DROP EXPRESSION; END $$", GENERATED, 12),
    Case(14, "SET COMPRESSION", "ALTER TABLE t ALTER COLUMN s SET COMPRESSION pglz"),
    Case(14, "COMPRESSION column option", "ALTER TABLE t ADD COLUMN c text COMPRESSION pglz"),
    Case(14, "COMPRESSION column option", "CREATE TABLE c2 (c text COMPRESSION pglz)"),
    Case(14, "DETACH PARTITION ... CONCURRENTLY", "ALTER TABLE m DETACH PARTITION m1 CONCURRENTLY",
         accepted_as="ActiveSqlTransaction"),
    Case(14, "DETACH PARTITION ... FINALIZE", "ALTER TABLE m DETACH PARTITION m1 FINALIZE",
         accepted_as="ObjectNotInPrerequisiteState"),
    Case(14, "CREATE OR REPLACE TRIGGER",
         "CREATE OR REPLACE TRIGGER t_noop BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION noop()"),
    Case(14, "REINDEX (TABLESPACE", "REINDEX (TABLESPACE pg_default) INDEX t_a_idx"),
    Case(14, "SQL-standard function body", "CREATE FUNCTION twice(n integer) RETURNS integer LANGUAGE sql RETURN n * 2"),
    Case(14, "SQL-standard function body",
         "CREATE FUNCTION thrice(n integer) RETURNS integer LANGUAGE sql BEGIN ATOMIC SELECT n * 3; END"),
    Case(15, "MERGE", f"{MERGE} WHEN NOT MATCHED THEN INSERT (id, a) VALUES (src.id, src.a)"),
    Case(15, "MERGE", f"DO $$ BEGIN {MERGE}; END $$"),
    Case(15, "NULLS NOT DISTINCT", "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE NULLS NOT DISTINCT (a)"),
    Case(15, "NULLS NOT DISTINCT", "CREATE UNIQUE INDEX t_b_key ON t (b) NULLS NOT DISTINCT"),
    Case(15, "NULLS NOT DISTINCT", "CREATE TABLE u2 (a int UNIQUE NULLS NOT DISTINCT)"),
    Case(15, "security_invoker", "CREATE VIEW tv2 WITH (security_invoker = true) AS SELECT id FROM t",
         refused_as="InvalidParameterValue"),
    Case(15, "security_invoker", "ALTER VIEW tv SET (security_invoker = true)", refused_as="InvalidParameterValue"),
    Case(15, "SET ACCESS METHOD", "ALTER TABLE t SET ACCESS METHOD heap"),
    Case(16, "STORAGE column option", "CREATE TABLE st (doc text STORAGE EXTERNAL)"),
    Case(16, "STORAGE column option", "ALTER TABLE t ADD COLUMN doc text STORAGE EXTERNAL"),
    Case(17, "SET EXPRESSION", "ALTER TABLE t ALTER COLUMN g SET EXPRESSION AS (a * 3)", GENERATED, 12),
    Case(17, "MERGE ... RETURNING", f"{MERGE} RETURNING t.id"),
    Case(17, "WHEN NOT MATCHED BY SOURCE", f"{MERGE} WHEN NOT MATCHED BY SOURCE THEN DELETE"),
    Case(17, "SET STATISTICS DEFAULT", "ALTER TABLE t ALTER COLUMN a SET STATISTICS DEFAULT"),
    Case(18, "virtual generated column", "ALTER TABLE t ADD COLUMN v integer GENERATED ALWAYS AS (a * 2) VIRTUAL"),
    Case(18, "virtual generated column", "ALTER TABLE t ADD COLUMN v integer GENERATED ALWAYS AS (a * 2)"),
    Case(18, "NOT NULL table constraint", "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID"),
    Case(18, "NOT NULL table constraint", "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a"),
    Case(18, "NOT NULL table constraint", "CREATE TABLE nn (a int, CONSTRAINT nn_a_nn NOT NULL a)"),
    Case(18, "NOT NULL ... NO INHERIT", "CREATE TABLE ni (a int NOT NULL NO INHERIT)"),
    Case(18, "NOT NULL ... NO INHERIT", "ALTER TABLE t ADD COLUMN ni int NOT NULL NO INHERIT DEFAULT 0"),
    Case(18, "[NO] INHERIT", "ALTER TABLE t ALTER CONSTRAINT t_a_nn NO INHERIT",
         "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a", 18, refused_as="FeatureNotSupported"),
    Case(18, "NOT ENFORCED", "ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT ENFORCED"),
    Case(18, "NOT ENFORCED", "ALTER TABLE t ADD CONSTRAINT t_b_fk2 FOREIGN KEY (b) REFERENCES parent (id) NOT ENFORCED"),
    Case(18, "NOT ENFORCED", "CREATE TABLE ne (a int CHECK (a > 0) NOT ENFORCED)"),
    Case(18, "NOT ENFORCED", "CREATE TABLE ne (a int CHECK (a > 0) ENFORCED)"),
    Case(18, "NOT ENFORCED", "ALTER TABLE t ALTER CONSTRAINT t_b_fk NOT ENFORCED"),
    Case(18, "WITHOUT OVERLAPS", ROOMS),
    Case(18, "WITHOUT OVERLAPS", "ALTER TABLE t ADD COLUMN r int4range, ADD COLUMN during daterange, ADD UNIQUE (r, during WITHOUT OVERLAPS)"),
    Case(18, "temporal foreign key (PERIOD)",
         "CREATE TABLE booking (room int4range, during daterange, "
         "FOREIGN KEY (room, PERIOD during) REFERENCES rooms (room, PERIOD during))", ROOMS, 18),
    # Alike, and accepted by every supported version.
    Case(11, "", "ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID"),
    Case(11, "", "ALTER TABLE t ADD CONSTRAINT t_b_fk2 FOREIGN KEY (b) REFERENCES parent (id) NOT VALID"),
    Case(11, "", "ALTER TABLE t ALTER CONSTRAINT t_b_fk DEFERRABLE INITIALLY DEFERRED"),
    Case(11, "", "CREATE TABLE x (a int NOT NULL CHECK (a > 0), b int REFERENCES parent, UNIQUE (a), CHECK (b > 0))"),
    Case(11, "", "ALTER TABLE t ALTER COLUMN a SET NOT NULL"),
    Case(11, "", "ALTER TABLE t ADD COLUMN i integer NOT NULL GENERATED ALWAYS AS IDENTITY"),
    Case(11, "", "ALTER TABLE t ADD COLUMN c text NOT NULL DEFAULT 'x' UNIQUE"),
    Case(11, "", "CREATE UNIQUE INDEX t_b_key ON t (b) INCLUDE (s) WHERE b > 0"),
    Case(11, "", "REINDEX (VERBOSE) INDEX t_a_idx"),
    Case(11, "", "CREATE VIEW tv2 WITH (security_barrier = true) AS SELECT id FROM t"),
    Case(11, "", "ALTER TABLE t ALTER COLUMN s SET STORAGE EXTERNAL"),
    Case(11, "", "ALTER TABLE t ALTER COLUMN a SET STATISTICS -1"),
    Case(11, "", "ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NO INHERIT"),
    Case(11, "", "ALTER TABLE m DETACH PARTITION m1"),
    Case(11, "", "CREATE TRIGGER t_noop BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION noop()"),
    Case(11, "", "CREATE FUNCTION twice(n integer) RETURNS integer LANGUAGE sql AS $$ SELECT n * 2 $$"),
    Case(11, "", "INSERT INTO t (id, a) SELECT id, a FROM src ON CONFLICT (id) DO UPDATE SET a = EXCLUDED.a RETURNING id"),
    Case(11, "", "ALTER TABLE t ADD COLUMN during daterange, ADD CONSTRAINT t_no_overlap EXCLUDE USING gist (during WITH &&)"),
]

IDS = [f"{case.since}-{i}" for i, case in enumerate(CASES)]


def sw608(sql: str, version: int) -> list[Finding]:
    report = analyze_sql("migrations/0001_x.sql", f"{sql};\n", Context(pg_version=version))
    return [f for f in report.findings if f.code == "SW608"]


@pytest.mark.parametrize("case", [c for c in CASES if c.since > OLDEST_VERSION], ids=[
    i for i, c in zip(IDS, CASES, strict=True) if c.since > OLDEST_VERSION
])
def test_the_version_before_the_feature_refuses_it_and_the_feature_version_accepts_it(case: Case) -> None:
    (finding,) = sw608(case.sql, case.since - 1)
    assert finding.severity is Severity.ERROR and finding.category is Category.PROCESS
    assert f"needs PostgreSQL {case.since}; the target is {case.since - 1} (pg_version in schemawarden.toml)" in finding.message
    assert case.feature in finding.message
    assert finding.safer
    assert sw608(case.sql, case.since) == []


@pytest.mark.parametrize("case", [c for c in CASES if c.since == OLDEST_VERSION])
def test_what_every_supported_version_accepts_is_never_flagged(case: Case) -> None:
    assert sw608(case.sql, OLDEST_VERSION) == []


def test_every_feature_has_a_case_and_a_safer_way_or_says_none_exists() -> None:
    for feature in FEATURES:
        assert any(case.since == feature.since and case.feature in feature.name for case in CASES), feature.name
        assert OLDEST_VERSION < feature.since <= NEWEST_VERSION
        assert (feature.instead or feature.recipe) or feature.no_equivalent, feature.name


def test_an_old_target_sees_every_newer_feature_of_a_statement() -> None:
    found = sw608(f"{MERGE} RETURNING t.id", 14)
    assert [f.message.split(" needs ")[0] for f in found] == ["MERGE", "MERGE ... RETURNING"]
    assert sw608(f"{MERGE} RETURNING t.id", NEWEST_VERSION) == []


def test_a_statement_in_a_do_block_says_so() -> None:
    (finding,) = sw608("DO $$ BEGIN ALTER TABLE t ALTER COLUMN g DROP EXPRESSION; END $$", 12)
    assert "(inside a DO block)" in finding.message


def test_features_without_an_equivalent_say_so() -> None:
    (finding,) = sw608("ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT ENFORCED", 17)
    assert finding.safer_kind.value == "none" and "NOT VALID" in finding.safer


def test_a_not_null_constraint_is_rewritten_for_the_statement() -> None:
    (finding,) = sw608('ALTER TABLE "t" ADD CONSTRAINT "t_a_nn" NOT NULL "a" NOT VALID', 17)
    assert 'ADD CONSTRAINT "a_not_null" CHECK ("a" IS NOT NULL) NOT VALID;' in finding.safer
    (finding,) = sw608('ALTER TABLE "t" ADD CONSTRAINT "t_a_nn" NOT NULL "a"', 17)
    assert 'ALTER TABLE "t" ALTER COLUMN "a" SET NOT NULL;' in finding.safer


def test_detach_concurrently_is_rewritten_for_the_statement() -> None:
    (finding,) = sw608('ALTER TABLE "m" DETACH PARTITION "m1" CONCURRENTLY', 13)
    assert 'ALTER TABLE "m" DETACH PARTITION "m1";' in finding.safer


def test_a_suppression_comment_silences_it() -> None:
    sql = "-- schemawarden-ignore SW608\nCREATE UNIQUE INDEX t_b_key ON t (b) NULLS NOT DISTINCT"
    assert sw608(sql, 14) == []


def test_the_rule_runs_only_on_migrations_with_a_kind_a_feature_appears_in() -> None:
    assert RULE.needs is not None
    assert all(feature.where.kinds <= RULE.needs for feature in FEATURES)
