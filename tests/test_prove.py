"""The prover (`reconciler.prove`) on a real server: each migration, its generated rollback and the
migration again in a scratch database, and the status that round trip earns.

Every proof runs on the test server (`admin_url`: the embedded PostgreSQL 18, 15 in CI, any major
version through tests/run_on_postgres.py), with the scratch registry in a database of this module's
own (`scratch_bookkeeping`), so the templates it builds and the scratch databases it creates can be
looked up in pg_database whatever other processes do on the server.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from conftest import ScratchBookkeeping

from policies import Context, analyze_sql
from policies.lock_trace import contradictions
from policies.proof import with_proof
from policies.report import LockRef, RollbackStatus
from reconciler.database.run import MigrationFailed
from reconciler.database.scratch import ScratchServer, template_key
from reconciler.migrations import Layout, Migration
from reconciler.prove import MigrationProof, prove_migrations, prove_revert

BASE = (
    'CREATE TYPE "mood" AS ENUM(\'happy\', \'sad\', \'meh\');\n--> statement-breakpoint\n'
    'CREATE TABLE "notes" ("id" bigint PRIMARY KEY, "title" text NOT NULL, "body" text, "views" bigint, '
    '"price" numeric(10,2), "mood" "mood");\n--> statement-breakpoint\n'
    "INSERT INTO \"notes\" VALUES (1, 'a', 'x', 5, 1.25, 'happy'), (2, 'b', 'y', 6, 2.5, 'sad');"
)


@pytest.fixture(scope="module")
def server(scratch_bookkeeping: ScratchBookkeeping) -> Iterator[ScratchServer]:
    with ScratchServer(scratch_bookkeeping.url, environment_targets={}) as scratch:
        yield scratch


def migration(idx: int, text: str, name: str = "change") -> Migration:
    tag = f"{idx:04d}_{name}"
    return Migration(idx=idx, tag=tag, when=idx + 1, path=f"migrations/{tag}.sql", sql=text.encode(), layout=Layout.DRIZZLE_0)


def prove(server: ScratchServer, *texts: str, base: str = BASE) -> list[MigrationProof]:
    """Prove `texts` in order, each a migration, on the schema `base` leaves."""
    return prove_migrations(server, [migration(0, base, "base")], [migration(i + 1, t) for i, t in enumerate(texts)])


def prove_one(server: ScratchServer, text: str, base: str = BASE) -> MigrationProof:
    (proof,) = prove(server, text, base=base)
    return proof


# -- verified ---------------------------------------------------------------------------------------


def test_an_additive_migration_is_verified_and_its_rollback_drops_what_it_added(server: ScratchServer) -> None:
    proof = prove_one(server, 'ALTER TABLE "notes" ADD COLUMN "tag" text;\n--> statement-breakpoint\n'
                              'CREATE INDEX "notes_tag_idx" ON "notes" ("tag");')

    assert (proof.rollback.status, proof.rollback.reason, proof.failure) == (RollbackStatus.VERIFIED, None, None)
    assert proof.rollback.sql == "DROP INDEX public.notes_tag_idx;\nALTER TABLE public.notes DROP COLUMN tag;\n"
    # what the rollback would drop that was written since the deploy is a note, not the status
    assert proof.rollback.notes == (
        "rolling back drops what was written since: column notes.tag is dropped: its values are lost",
    )


def test_a_backfill_of_a_new_column_is_not_irreversible(server: ScratchServer) -> None:
    proof = prove_one(server, 'ALTER TABLE "notes" ADD COLUMN "slug" text;\n--> statement-breakpoint\n'
                              'UPDATE "notes" SET "slug" = lower("title");')

    assert (proof.rollback.status, proof.rollback.reason) == (RollbackStatus.VERIFIED, None)


def test_a_backfill_in_a_with_clause_or_an_upsert_of_new_columns_is_not_irreversible(server: ScratchServer) -> None:
    proof = prove_one(
        server,
        'ALTER TABLE "notes" ADD COLUMN "slug" text;\n--> statement-breakpoint\n'
        'WITH filled AS (UPDATE "notes" SET "slug" = lower("title") RETURNING 1) SELECT count(*) FROM filled;'
        "\n--> statement-breakpoint\n"
        "INSERT INTO \"notes\" (\"id\", \"title\") VALUES (3, 'c') ON CONFLICT (\"id\") DO UPDATE SET \"slug\" = 's';"
        "\n--> statement-breakpoint\n"
        "INSERT INTO \"notes\" (\"id\", \"title\") VALUES (1, 'a') ON CONFLICT DO NOTHING;",
    )

    assert (proof.rollback.status, proof.rollback.reason) == (RollbackStatus.VERIFIED, None)


def test_a_narrowing_to_a_length_checked_type_without_using_loses_nothing(server: ScratchServer) -> None:
    """The assignment cast refuses a value that does not fit: the migration would fail instead."""
    proof = prove_one(server, 'ALTER TABLE "notes" ALTER COLUMN "title" SET DATA TYPE varchar(200);')

    assert proof.rollback.status is RollbackStatus.VERIFIED
    assert proof.rollback.sql == "ALTER TABLE public.notes ALTER COLUMN title TYPE text;\n"


# -- irreversible -------------------------------------------------------------------------------------

ENUM_WITHOUT_MEH = (
    'ALTER TABLE "notes" ALTER COLUMN "mood" SET DATA TYPE text;\n--> statement-breakpoint\n'
    'DROP TYPE "public"."mood";\n--> statement-breakpoint\n'
    "CREATE TYPE \"public\".\"mood\" AS ENUM('happy', 'sad');\n--> statement-breakpoint\n"
    'ALTER TABLE "notes" ALTER COLUMN "mood" SET DATA TYPE "public"."mood" USING "mood"::"public"."mood";'
)


@pytest.mark.parametrize(
    ("text", "reason", "restores"),
    [
        pytest.param(
            'ALTER TABLE "notes" DROP COLUMN "body";',
            "column notes.body is dropped: its values are lost",
            "ALTER TABLE public.notes ADD COLUMN body text;",
            id="dropped-column",
        ),
        pytest.param(
            'DROP TABLE "notes";',
            "table notes is dropped: its rows are lost",
            "CREATE TABLE public.notes (",
            id="dropped-table",
        ),
        pytest.param(
            ENUM_WITHOUT_MEH,
            "enum mood loses 'meh': rows of notes.mood holding it cannot be converted",
            "ALTER TYPE public.mood ADD VALUE 'meh' AFTER 'sad';",
            id="enum-value-removed",
        ),
        pytest.param(
            'ALTER TABLE "notes" ALTER COLUMN "views" SET DATA TYPE integer;',
            "column notes.views changes type from bigint to integer: values that do not fit are refused or cut",
            "ALTER TABLE public.notes ALTER COLUMN views TYPE bigint;",
            id="narrowing-integer",
        ),
        pytest.param(
            'ALTER TABLE "notes" ALTER COLUMN "price" SET DATA TYPE numeric(10,0);',
            "column notes.price changes type from numeric(10,2) to numeric(10,0)",
            "ALTER TABLE public.notes ALTER COLUMN price TYPE numeric(10,2);",
            id="rounding-numeric",
        ),
        pytest.param(
            'UPDATE "notes" SET "body" = upper("body");',
            "UPDATE at line 1 changes rows of notes that existed before: the rollback restores the structure, "
            "not the old values",
            "",
            id="update",
        ),
        pytest.param(
            'ALTER TABLE "notes" ADD COLUMN "slug" text;\n--> statement-breakpoint\n'
            'DELETE FROM "notes" WHERE "id" = 2;',
            "DELETE at line 3 changes rows of notes that existed before",
            "ALTER TABLE public.notes DROP COLUMN slug;",
            id="delete",
        ),
        pytest.param(
            "WITH changed AS (UPDATE \"notes\" SET \"body\" = 'q' RETURNING 1) SELECT count(*) FROM changed;",
            "UPDATE at line 1 changes rows of notes that existed before",
            "",
            id="update-in-a-with-clause",
        ),
        pytest.param(
            'WITH gone AS (DELETE FROM "notes" WHERE "id" = 2 RETURNING "id") SELECT count(*) FROM gone;',
            "DELETE at line 1 changes rows of notes that existed before",
            "",
            id="delete-in-a-with-clause",
        ),
        pytest.param(
            "INSERT INTO \"notes\" (\"id\", \"title\", \"body\") VALUES (1, 'a', 'new') "
            'ON CONFLICT ("id") DO UPDATE SET "body" = excluded."body";',
            "INSERT ... ON CONFLICT DO UPDATE at line 1 changes rows of notes that existed before",
            "",
            id="upsert",
        ),
    ],
)
def test_a_migration_that_destroys_data_is_irreversible_naming_what(
    server: ScratchServer, text: str, reason: str, restores: str
) -> None:
    proof = prove_one(server, text)

    assert proof.rollback.status is RollbackStatus.IRREVERSIBLE, proof.rollback.reason
    assert proof.failure is None
    assert proof.rollback.reason is not None and reason in proof.rollback.reason
    # the SQL that restores the structure is still given (and was run: the schema came back)
    assert restores in proof.rollback.sql


def test_column_order_no_alter_restores_is_a_note_never_hidden(server: ScratchServer) -> None:
    proof = prove_one(server, 'ALTER TABLE "notes" DROP COLUMN "body";')

    assert proof.rollback.status is RollbackStatus.IRREVERSIBLE
    assert proof.rollback.notes == (
        "columns of notes end in the order id, title, views, price, mood, body instead of id, title, body, "
        "views, price, mood: PostgreSQL adds a column last and no ALTER moves one",
    )


# -- a rename is renamed back, with its data ----------------------------------------------------------

ROWS_STILL_THERE = """DO $$
BEGIN
    IF (SELECT string_agg("about", ',' ORDER BY "id") FROM "notes") IS DISTINCT FROM 'x,y' THEN
        RAISE EXCEPTION 'the values of notes.about did not survive the rollback';
    END IF;
END $$;"""


def test_a_rename_is_rolled_back_by_a_rename_and_the_columns_data_survives(server: ScratchServer) -> None:
    """The next migration runs where the first one's proof left the database (migration, rollback,
    migration again): it reads the rows the base inserted through the renamed column."""
    renamed, check = prove(server, 'ALTER TABLE "notes" RENAME COLUMN "body" TO "about";', ROWS_STILL_THERE)

    assert (renamed.rollback.status, renamed.rollback.reason) == (RollbackStatus.VERIFIED, None)
    assert renamed.rollback.sql == "ALTER TABLE public.notes RENAME COLUMN about TO body;\n"
    assert "DROP" not in renamed.rollback.sql and "ADD" not in renamed.rollback.sql
    assert renamed.rollback.notes == ()
    assert check.failure is None, check.rollback.reason
    assert check.rollback.status is RollbackStatus.VERIFIED


SWAP = "--> statement-breakpoint\n".join(
    [
        'ALTER TABLE "notes" RENAME COLUMN "body" TO "tmp";\n',
        'ALTER TABLE "notes" RENAME COLUMN "title" TO "body";\n',
        'ALTER TABLE "notes" RENAME COLUMN "tmp" TO "title";',
    ]
)
DRAFTS = 'CREATE TABLE "drafts" ("id" bigint PRIMARY KEY, "title" text NOT NULL, "body" text, "views" bigint, ' \
    '"price" numeric(10,2), "mood" "mood");'


@pytest.mark.parametrize(
    ("text", "swapped"),
    [
        pytest.param(SWAP, "columns notes.body and notes.title exchange names", id="columns"),
        pytest.param(
            'ALTER TABLE "notes" RENAME TO "tmp";\n--> statement-breakpoint\n'
            'ALTER TABLE "drafts" RENAME TO "notes";\n--> statement-breakpoint\n'
            'ALTER TABLE "tmp" RENAME TO "drafts";',
            "tables drafts and notes exchange names",
            id="tables",
        ),
        pytest.param(
            "ALTER TYPE \"mood\" RENAME VALUE 'happy' TO 'x';\n--> statement-breakpoint\n"
            "ALTER TYPE \"mood\" RENAME VALUE 'sad' TO 'happy';\n--> statement-breakpoint\n"
            "ALTER TYPE \"mood\" RENAME VALUE 'x' TO 'sad';",
            "enum mood values 'happy' and 'sad' exchange names",
            id="enum-values",
        ),
    ],
)
def test_names_swapped_between_existing_objects_are_never_verified(
    server: ScratchServer, text: str, swapped: str
) -> None:
    """A rollback by name cannot follow names exchanged through a third one: it would leave each
    one's data under the other's name while the schema compares equal."""
    proof = prove_one(server, text, base=BASE + "\n--> statement-breakpoint\n" + DRAFTS)

    assert proof.rollback.status is RollbackStatus.FAILED
    assert proof.rollback.reason is not None and proof.failure is None
    assert proof.rollback.reason.startswith("the rollback cannot follow names the migration hands from one object to another: ")
    assert swapped in proof.rollback.reason


@pytest.mark.parametrize(
    ("texts", "said"),
    [
        pytest.param(
            ['ALTER TABLE "notes" RENAME COLUMN "body" TO "body_old";\n--> statement-breakpoint\n'
             'ALTER TABLE "notes" RENAME COLUMN "title" TO "body";'],
            "column notes.title takes the name notes.body of the one renamed to notes.body_old",
            id="columns",
        ),
        pytest.param(
            ['ALTER TABLE "notes" RENAME TO "notes_old";\n--> statement-breakpoint\n'
             'ALTER TABLE "drafts" RENAME TO "notes";'],
            "table drafts takes the name notes of the one renamed to notes_old",
            id="tables",
        ),
        pytest.param(  # the chain split over two migrations: the second one's proof holds the first's result
            ['ALTER TABLE "notes" RENAME COLUMN "body" TO "body_old";',
             'ALTER TABLE "notes" RENAME COLUMN "title" TO "body";'],
            None,
            id="two-migrations",
        ),
    ],
)
def test_names_handed_along_a_chain_are_never_rolled_back_by_name(
    server: ScratchServer, texts: list[str], said: str | None
) -> None:
    """A user's trial: `access_token` -> `legacy_token`, then `refresh_token` -> `access_token`. Matched
    by name, the rollback renamed one back, dropped `legacy_token` (the original access tokens) and
    added an empty `access_token`, and said "irreversible" for a migration that drops nothing."""
    proofs = prove(server, *texts, base=BASE + "\n--> statement-breakpoint\n" + DRAFTS)
    if said is not None:
        (proof,) = proofs
        assert proof.rollback.status is RollbackStatus.FAILED
        assert proof.rollback.reason is not None and said in proof.rollback.reason
        assert all(line.startswith("--") for line in proof.rollback.shown_sql().splitlines())  # nothing runnable
        return
    # one migration at a time, each rename is followed back by a rename and drops nothing
    assert [p.rollback.status for p in proofs] == [RollbackStatus.VERIFIED, RollbackStatus.VERIFIED]
    assert all("DROP" not in p.rollback.sql for p in proofs)
    # the revert of both at once is the chain: never by name
    revert = prove_revert(server, [migration(0, BASE + "\n--> statement-breakpoint\n" + DRAFTS, "base"),
                                   *(migration(i + 1, t, f"r{i}") for i, t in enumerate(texts))], "0000_base")
    assert revert.rollback.status is RollbackStatus.FAILED
    assert "column notes.title takes the name notes.body of the one renamed to notes.body_old" in (
        revert.rollback.reason or "")


def test_a_name_taken_over_from_a_dropped_column_is_followed_back(server: ScratchServer) -> None:
    """Not a swap: the old name is gone after the migration, so the rollback renames and adds back."""
    proof = prove_one(
        server,
        'ALTER TABLE "notes" DROP COLUMN "views";\n--> statement-breakpoint\n'
        'ALTER TABLE "notes" RENAME COLUMN "price" TO "views";',
    )

    assert proof.rollback.status is RollbackStatus.IRREVERSIBLE
    assert proof.rollback.reason is not None and proof.rollback.reason.endswith("is dropped: its values are lost")
    assert proof.rollback.sql.startswith("ALTER TABLE public.notes RENAME COLUMN views TO price;\n")


# -- failed -------------------------------------------------------------------------------------------


def test_a_migration_that_does_not_apply_fails_with_postgresqls_error_and_stops_the_proof(
    server: ScratchServer,
) -> None:
    broken = 'ALTER TABLE "notes" ADD COLUMN "x" integer;\n--> statement-breakpoint\nCREATE INDEX "i" ON "notes" ("nope");'
    first, failing, after = prove(server, 'ALTER TABLE "notes" ADD COLUMN "w" integer;', broken, 'DROP TABLE "notes";')

    assert first.rollback.status is RollbackStatus.VERIFIED
    assert failing.rollback.status is RollbackStatus.FAILED and failing.rollback.sql == ""
    assert failing.rollback.reason == (
        'the migration does not apply on the schema before it: migrations/0002_change.sql line 3: column "nope" '
        "does not exist (SQLSTATE 42703). Its transaction was rolled back: nothing of it stays applied."
    )
    assert failing.failure is not None
    assert (failing.failure.sqlstate, failing.failure.line, failing.failure.scratch_only) == ("42703", 3, None)
    assert failing.failure.message == 'column "nope" does not exist'
    assert list(failing.traces) == [1]  # the statement that ran before the failure is traced
    assert after.rollback.status is RollbackStatus.FAILED and after.failure is None
    assert after.rollback.reason == "not proven: the proof stopped at 0002_change, which comes before it"
    assert after.traces == {}


def test_a_base_that_does_not_replay_raises(server: ScratchServer, scratch_bookkeeping: ScratchBookkeeping) -> None:
    templates = scratch_bookkeeping.created("template")
    with pytest.raises(MigrationFailed, match="relation \"missing\" does not exist"):
        prove(server, 'ALTER TABLE "notes" ADD COLUMN "w" integer;', base='ALTER TABLE "missing" ADD COLUMN "x" text;')

    built = [t for t in scratch_bookkeeping.created("template") if t not in templates]
    assert len(built) == 1 and scratch_bookkeeping.existing(built) == set()  # the failed build is not kept


# -- what PostgreSQL did, per statement ---------------------------------------------------------------


def test_each_statement_is_traced_in_the_shapes_of_the_predicted_locks(server: ScratchServer) -> None:
    text = (
        'ALTER TABLE "notes" ALTER COLUMN "views" SET DATA TYPE numeric;\n--> statement-breakpoint\n'
        'ALTER TABLE "notes" ADD COLUMN "tag" text;\n--> statement-breakpoint\n'
        'CREATE INDEX CONCURRENTLY "notes_tag_idx" ON "notes" ("tag");'
    )
    proof = prove_one(server, text)

    assert proof.rollback.status is RollbackStatus.VERIFIED, proof.rollback.reason
    assert sorted(proof.traces) == [1, 3, 5]
    retype, add, concurrently = proof.traces[1], proof.traces[3], proof.traces[5]
    predicted = {s.line: s for s in analyze_sql("m.sql", text, Context(pg_version=server.pg_major)).statements}
    assert retype.locks is not None and LockRef("notes", "ACCESS EXCLUSIVE") in retype.locks
    assert set(predicted[1].locks) <= set(retype.locks)
    assert tuple(sorted(retype.rewrites)) == predicted[1].rewrites == ("notes",)
    # the same transaction already holds ACCESS EXCLUSIVE on notes: not taken again, so not listed
    assert predicted[3].locks == (LockRef("notes", "ACCESS EXCLUSIVE"),)
    assert add.locks == () and add.modes_before["notes"] >= {"ACCESS EXCLUSIVE"}
    assert add.rewrites == frozenset() and predicted[3].rewrites == ()
    # CREATE INDEX CONCURRENTLY refuses a transaction block: it ran alone, in autocommit, so its locks
    # had ended when they could be read (None, not "none taken"); what it created is still seen
    assert concurrently.modes_taken is None and concurrently.locks is None and concurrently.scans is None
    assert concurrently.created == frozenset({"notes_tag_idx"})
    for line, trace in proof.traces.items():
        assert contradictions(predicted[line], trace) == [], line


def test_a_do_blocks_locks_are_its_statements_and_contradict_nothing(server: ScratchServer) -> None:
    """drizzle-kit 0.29's foreign keys in `DO $$ BEGIN ... EXCEPTION WHEN duplicate_object ...` and a
    conditional ADD COLUMN: PostgreSQL's locks are traced as the block's, predicted for its
    statements; the prediction of the block must hold them (stock drizzle output was reported as a
    lock-model contradiction)."""
    text = (
        'CREATE TABLE "tags" ("id" bigint PRIMARY KEY, "note_id" bigint);\n--> statement-breakpoint\n'
        "DO $$ BEGIN\n"
        ' ALTER TABLE "tags" ADD CONSTRAINT "tags_note_id_fk" FOREIGN KEY ("note_id") REFERENCES "public"."notes"("id");\n'
        "EXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;\n--> statement-breakpoint\n"
        "DO $$ BEGIN\n IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'notes' "
        "AND column_name = 'prio') THEN\n"
        '  ALTER TABLE "notes" ADD COLUMN "prio" integer;\n END IF;\nEND $$;'
    )
    proof = prove_one(server, text)
    assert proof.rollback.status is RollbackStatus.VERIFIED, proof.rollback.reason
    report = analyze_sql("m.sql", text, Context(pg_version=server.pg_major))
    proven = with_proof(report, proof.rollback, proof.traces)
    by_line = {s.line: s for s in proven.statements}
    fk, column = by_line[3], by_line[9]
    assert fk.traced_locks is not None and LockRef("notes", "SHARE ROW EXCLUSIVE") in fk.traced_locks
    assert column.traced_locks is not None and LockRef("notes", "ACCESS EXCLUSIVE") in column.traced_locks
    assert fk.locks == () and column.locks == ()  # the block's own: its statements are reported after it
    assert [(s.line, s.trace_contradictions) for s in proven.statements if s.trace_contradictions] == []


def test_a_statement_run_alone_takes_its_own_locks(server: ScratchServer) -> None:
    """A statement in a step of its own is traced from nothing held (the shapes `locks` has)."""
    text = 'ALTER TABLE "notes" ADD COLUMN "tag" text;'
    proof = prove_one(server, text)

    (predicted,) = analyze_sql("m.sql", text, Context(pg_version=server.pg_major)).statements
    assert proof.traces[1].locks == predicted.locks == (LockRef("notes", "ACCESS EXCLUSIVE"),)
    assert proof.traces[1].rewrites == frozenset() and proof.traces[1].modes_before == {}


# -- scratch databases and templates ------------------------------------------------------------------


def test_every_scratch_database_is_dropped_after_a_proof_also_a_failing_one(
    server: ScratchServer, scratch_bookkeeping: ScratchBookkeeping
) -> None:
    earlier = set(scratch_bookkeeping.created())
    passing = prove_one(server, 'ALTER TABLE "notes" ADD COLUMN "w" integer;')
    failing = prove_one(server, 'ALTER TABLE "notes" ADD COLUMN "title" text;')  # 42701: it exists

    assert (passing.rollback.status, failing.rollback.status) == (RollbackStatus.VERIFIED, RollbackStatus.FAILED)
    assert failing.failure is not None and failing.failure.sqlstate == "42701"
    clones = [name for name in scratch_bookkeeping.created() if name not in earlier]
    assert len(clones) == 2  # one clone per proof
    assert scratch_bookkeeping.existing(clones) == set()
    # the registry has forgotten them (nothing for the next start to clean up)
    with psycopg.connect(scratch_bookkeeping.url) as conn:
        assert conn.execute("SELECT kind FROM schemawarden_scratch.objects WHERE kind = 'database'").fetchall() == []


def test_the_template_of_a_base_is_built_once_and_cloned_by_the_next_proof(
    server: ScratchServer, scratch_bookkeeping: ScratchBookkeeping
) -> None:
    base = 'CREATE TABLE "reuse" ("id" integer);'
    key = template_key([migration(0, base, "base").hash], server.pg_major)
    before = scratch_bookkeeping.created("template")
    prove_one(server, 'ALTER TABLE "reuse" ADD COLUMN "a" text;', base=base)
    built = [t for t in scratch_bookkeeping.created("template") if t not in before]
    clones = len(scratch_bookkeeping.created())

    second = prove_one(server, 'ALTER TABLE "reuse" ADD COLUMN "b" text;', base=base)

    assert second.rollback.status is RollbackStatus.VERIFIED
    assert [t for t in scratch_bookkeeping.created("template") if t not in before] == built  # not built again
    assert len(scratch_bookkeeping.created()) == clones + 1  # a new clone of it
    assert len(built) == 1 and scratch_bookkeeping.existing(built) == set(built)
    assert server.templates()[0] == key  # the most recently used
    with psycopg.connect(scratch_bookkeeping.admin_url) as conn:
        assert conn.execute("SELECT datallowconn FROM pg_database WHERE datname = %s", (built[0],)).fetchone() == (
            False,
        )


# -- revert: one forward migration back to a tag -------------------------------------------------------

HISTORY = [
    'CREATE TABLE "users" ("id" integer PRIMARY KEY, "name" text);',
    'CREATE INDEX "users_name_idx" ON "users" ("name");',
    'ALTER TABLE "users" RENAME COLUMN "name" TO "full_name";\n--> statement-breakpoint\n'
    'ALTER TABLE "users" ADD COLUMN "bio" text;',
    'ALTER TABLE "users" RENAME COLUMN "full_name" TO "display_name";\n--> statement-breakpoint\n'
    'CREATE TABLE "posts" ("id" integer PRIMARY KEY, "user_id" integer REFERENCES "users"("id"));',
]


def history() -> list[Migration]:
    return [migration(i, text, f"step{i}") for i, text in enumerate(HISTORY)]


def test_a_revert_undoes_several_migrations_in_one_and_follows_renames_back(server: ScratchServer) -> None:
    proof = prove_revert(server, history(), "0001_step1")

    assert proof.undone == ("0002_step2", "0003_step3")
    assert proof.rollback.status is RollbackStatus.IRREVERSIBLE
    assert proof.rollback.reason is not None and proof.rollback.reason.startswith("it drops data written since 0001_step1: ")
    assert "table posts is dropped" in proof.rollback.reason and "column users.bio is dropped" in proof.rollback.reason
    # renamed twice since: renamed back once, never dropped and added
    renames = [s for s in proof.statements if "RENAME" in s]
    assert renames == ["ALTER TABLE public.users RENAME COLUMN display_name TO name"]
    assert not any("ADD COLUMN" in s or "DROP COLUMN display_name" in s for s in proof.statements)
    assert proof.rollback.sql == "".join(f"{s};\n" for s in proof.statements)


def test_a_revert_that_drops_nothing_written_since_is_verified(server: ScratchServer) -> None:
    proof = prove_revert(server, history()[:2], "0000_step0")

    assert (proof.rollback.status, proof.rollback.reason) == (RollbackStatus.VERIFIED, None)
    assert proof.statements == ("DROP INDEX public.users_name_idx",) and proof.undone == ("0001_step1",)


def test_a_revert_that_does_not_run_on_the_head_fails(server: ScratchServer) -> None:
    texts = [
        'CREATE TABLE "t" ("n" integer);',
        'ALTER TABLE "t" ALTER COLUMN "n" SET DATA TYPE text;',
        "INSERT INTO \"t\" VALUES ('not a number');",
    ]
    proof = prove_revert(server, [migration(i, t, f"s{i}") for i, t in enumerate(texts)], "0000_s0")

    assert proof.rollback.status is RollbackStatus.FAILED
    assert proof.rollback.reason is not None
    assert proof.rollback.reason.startswith("the revert does not run on the head schema: ")
    assert "22P02" in proof.rollback.reason


def test_a_revert_across_names_exchanged_since_fails(server: ScratchServer) -> None:
    texts = [BASE, 'ALTER TABLE "notes" ADD COLUMN "tag" text;', SWAP]
    proof = prove_revert(server, [migration(i, t, f"s{i}") for i, t in enumerate(texts)], "0000_s0")

    assert proof.rollback.status is RollbackStatus.FAILED
    assert proof.rollback.reason == (
        "the revert cannot follow names handed from one object to another since 0000_s0: columns notes.body "
        "and notes.title exchange names: matched by name, the revert would leave data under the wrong name or "
        "drop what holds it"
    )


def test_a_revert_to_an_unknown_tag_is_a_value_error(server: ScratchServer) -> None:
    with pytest.raises(ValueError, match="0009_nope"):
        prove_revert(server, history(), "0009_nope")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "DO $$ BEGIN\n EXECUTE 'ALTER TABLE notes RENAME COLUMN body TO tmp';\n"
            " EXECUTE 'ALTER TABLE notes RENAME COLUMN title TO body';\n"
            " EXECUTE 'ALTER TABLE notes RENAME COLUMN tmp TO title';\nEND $$;",
            id="exchanged-in-dynamic-sql",
        ),
        pytest.param(
            'ALTER TABLE "notes" DROP COLUMN "title";\n--> statement-breakpoint\n'
            'ALTER TABLE "notes" ADD COLUMN "title" text;',
            id="dropped-and-added-again",
        ),
    ],
)
def test_columns_that_changed_places_unseen_are_never_verified(server: ScratchServer, text: str) -> None:
    """A user's trial: names exchanged through EXECUTE were "verified" with an empty rollback, the
    data of each column under the other's name; only the columns' order showed it."""
    proof = prove_one(server, text)
    assert proof.rollback.status is RollbackStatus.FAILED
    assert "columns of notes changed places" in (proof.rollback.reason or "")
    assert all(line.startswith("--") for line in proof.rollback.shown_sql().splitlines())
