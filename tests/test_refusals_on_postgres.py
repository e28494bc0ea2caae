"""Every refusal SW609 claims (policies/schema/refusals.py), held against a real PostgreSQL.

Each case of `CASES` is an earlier migration (`setup`), then a migration of one statement. The
analysis judges the two files in order for the server's major version and collects the SW609
findings of the second; the server, in a fresh database, runs the setup and then the statement.
The test asserts:

* SW609 is reported exactly when PostgreSQL refuses, once, with PostgreSQL's SQLSTATE and message
  (`e.diag.message_primary`) and, when the finding states a hint, PostgreSQL's hint;
* what the server did is what the table says (`Case.expect`, per version where it differs), so that
  the pure tests in tests/test_refusals.py hold the same facts without a server;
* when the finding's `safer` is SQL (not only comments), that SQL, run in place of the statement on
  a fresh copy of the setup, succeeds.

`pre` is SQL the database held before the migrations (a drizzle-kit pull, a schema made by another
tool): the server runs it first, the analysis never sees it.

Run here on 15, and through tests/run_on_postgres.py on the other major versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from conftest import fresh_database

from policies.analysis import analyze_folder
from policies.context import Context
from policies.report import Finding, SaferKind
from policies.statements import split_statements

Expect = tuple[str, str] | None
"""(SQLSTATE, message_primary) of the error PostgreSQL raises, or None when it accepts."""


@dataclass(frozen=True)
class Case:
    name: str
    setup: str
    statement: str
    expect: Expect
    pre: str = ""
    since: tuple[tuple[int, Expect], ...] = field(default=())
    """(major version, what happens from that version on) where it differs from `expect`."""

    def expected(self, major: int) -> Expect:
        found = self.expect
        for version, expect in self.since:
            if major >= version:
                found = expect
        return found


ACCOUNT = 'CREATE TABLE "account" ("id" bigint PRIMARY KEY, "name" text NOT NULL, "code" text, "n" integer, "v" varchar(40));'
ROLES = "CREATE TYPE \"role\" AS ENUM ('admin', 'member');\nCREATE TYPE \"team_role\" AS ENUM ('owner', 'guest');"
WITH_ROLE = f'{ROLES}\nCREATE TABLE "member" ("id" bigint PRIMARY KEY, "role" "role" NOT NULL, "label" text);'
IDENTITY = 'CREATE TABLE "item" ("id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY, "n" integer);'
SERIAL = 'CREATE TABLE "ticket" ("id" serial PRIMARY KEY NOT NULL, "title" text);'
PARENT_CHILD = (
    'CREATE TABLE "parent" ("id" integer PRIMARY KEY, "slug" text, "code" text UNIQUE);\n'
    'CREATE TABLE "child" ("id" integer PRIMARY KEY, "parent_id" integer, "parent_uuid" uuid, '
    '"parent_text" text, "parent_big" bigint);\n'
    'ALTER TABLE "child" ADD CONSTRAINT "child_parent_id_parent_id_fk" FOREIGN KEY ("parent_id") REFERENCES "parent"("id");'
)
NO_KEY = 'CREATE TABLE "tag" ("name" text NOT NULL);\nCREATE TABLE "post" ("id" integer PRIMARY KEY, "tag_name" text);'
KEYED_PAIR = (
    'CREATE TABLE "parent" ("id" integer PRIMARY KEY, "slug" text);\n'
    'CREATE TABLE "child" ("id" integer PRIMARY KEY, "parent_id" integer, "parent_uuid" uuid, '
    '"parent_text" text, "parent_big" bigint);'
)
EVENTS = (
    'CREATE TABLE "event" ("id" bigint NOT NULL, "at" timestamptz NOT NULL, "kind" text) PARTITION BY RANGE ("at");\n'
    "CREATE TABLE \"event_2024\" PARTITION OF \"event\" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
)
DUPLICATE_OBJECT = "DO $$ BEGIN\n {} \nEXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;"


CASES: list[Case] = [
    # -- SET DATA TYPE without USING ----------------------------------------------------------
    Case("text to enum", WITH_ROLE, 'ALTER TABLE "member" ALTER COLUMN "label" SET DATA TYPE "role";',
         ("42804", 'column "label" cannot be cast automatically to type role')),
    Case("text to integer", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "code" SET DATA TYPE integer;',
         ("42804", 'column "code" cannot be cast automatically to type integer')),
    Case("text to uuid", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "code" SET DATA TYPE uuid;',
         ("42804", 'column "code" cannot be cast automatically to type uuid')),
    Case("text to numeric(10, 2)", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "code" SET DATA TYPE numeric(10, 2);',
         ("42804", 'column "code" cannot be cast automatically to type numeric')),
    Case("text to timestamp with time zone", ACCOUNT,
         'ALTER TABLE "account" ALTER COLUMN "code" SET DATA TYPE timestamp with time zone;',
         ("42804", 'column "code" cannot be cast automatically to type timestamp with time zone')),
    Case("varchar to integer", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "v" SET DATA TYPE integer;',
         ("42804", 'column "v" cannot be cast automatically to type integer')),
    Case("integer to uuid", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "n" SET DATA TYPE uuid;',
         ("42804", 'column "n" cannot be cast automatically to type uuid')),
    Case("integer to boolean", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "n" SET DATA TYPE boolean;',
         ("42804", 'column "n" cannot be cast automatically to type boolean')),
    Case("enum to another enum", WITH_ROLE, 'ALTER TABLE "member" ALTER COLUMN "role" SET DATA TYPE "team_role";',
         ("42804", 'column "role" cannot be cast automatically to type team_role')),
    Case("text to an enum of another schema",
         'CREATE SCHEMA "app";\nCREATE TYPE "app"."level" AS ENUM (\'low\', \'high\');\n' + ACCOUNT,
         'ALTER TABLE "account" ALTER COLUMN "code" SET DATA TYPE "app"."level";',
         ("42804", 'column "code" cannot be cast automatically to type app.level')),
    Case("text to integer, a mixed-case column", 'CREATE TABLE "shop" ("id" bigint PRIMARY KEY, "zipCode" text);',
         'ALTER TABLE "shop" ALTER COLUMN "zipCode" SET DATA TYPE integer;',
         ("42804", 'column "zipCode" cannot be cast automatically to type integer')),
    Case("text to integer, a column named as a keyword", 'CREATE TABLE "login" ("id" bigint PRIMARY KEY, "user" text);',
         'ALTER TABLE "login" ALTER COLUMN "user" SET DATA TYPE integer;',
         ("42804", 'column "user" cannot be cast automatically to type integer')),
    Case("text to varchar(20)[]", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "code" SET DATA TYPE varchar(20)[];',
         ("42804", 'column "code" cannot be cast automatically to type character varying[]')),
    Case("text[] to integer[]", 'CREATE TABLE "bag" ("id" bigint PRIMARY KEY, "items" text[]);',
         'ALTER TABLE "bag" ALTER COLUMN "items" SET DATA TYPE integer[];',
         ("42804", 'column "items" cannot be cast automatically to type integer[]')),
    Case("text to integer[]", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "code" SET DATA TYPE integer[];',
         ("42804", 'column "code" cannot be cast automatically to type integer[]')),
    Case("enum to integer", WITH_ROLE, 'ALTER TABLE "member" ALTER COLUMN "role" SET DATA TYPE integer;',
         ("42804", 'column "role" cannot be cast automatically to type integer')),
    Case("text to enum with USING", WITH_ROLE,
         'ALTER TABLE "member" ALTER COLUMN "label" SET DATA TYPE "role" USING "label"::"role";', None),
    Case("integer to bigint", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "n" SET DATA TYPE bigint;', None),
    Case("enum to text", WITH_ROLE, 'ALTER TABLE "member" ALTER COLUMN "role" SET DATA TYPE text;', None),
    Case("varchar to text", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "v" SET DATA TYPE text;', None),
    Case("integer to text", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "n" SET DATA TYPE text;', None),
    Case("type change of a missing column", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "nope" SET DATA TYPE text;',
         ("42703", 'column "nope" of relation "account" does not exist')),
    Case("type change on a missing table", ACCOUNT, 'ALTER TABLE "nobody" ALTER COLUMN "n" SET DATA TYPE text;',
         ("42P01", 'relation "nobody" does not exist')),
    # -- identity columns -----------------------------------------------------------------------
    Case("identity column to uuid", IDENTITY, 'ALTER TABLE "item" ALTER COLUMN "id" SET DATA TYPE uuid;',
         ("22023", "identity column type must be smallint, integer, or bigint")),
    Case("identity column to text", IDENTITY, 'ALTER TABLE "item" ALTER COLUMN "id" SET DATA TYPE text;',
         ("22023", "identity column type must be smallint, integer, or bigint")),
    Case("identity column to bigint", IDENTITY, 'ALTER TABLE "item" ALTER COLUMN "id" SET DATA TYPE bigint;', None),
    Case("serial to identity, the drizzle-kit statement", SERIAL,
         'ALTER TABLE "ticket" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (sequence name "ticket_id_seq" '
         "INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1);",
         ("42P07", 'relation "ticket_id_seq" already exists')),
    Case("serial to identity after DROP DEFAULT", SERIAL + '\nALTER TABLE "ticket" ALTER COLUMN "id" DROP DEFAULT;',
         'ALTER TABLE "ticket" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (sequence name "ticket_id_seq" '
         "INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1);",
         ("42P07", 'relation "ticket_id_seq" already exists')),
    Case("identity with a sequence name taken by another sequence",
         'CREATE SEQUENCE "used_seq";\nCREATE TABLE "box" ("id" integer NOT NULL);',
         'ALTER TABLE "box" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (sequence name "used_seq");',
         ("42P07", 'relation "used_seq" already exists')),
    Case("identity with a free sequence name", 'CREATE TABLE "box" ("id" integer NOT NULL);',
         'ALTER TABLE "box" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (sequence name "box_seq");', None),
    Case("identity on a nullable column", 'CREATE TABLE "box" ("id" integer);',
         'ALTER TABLE "box" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY;',
         ("55000", 'column "id" of relation "box" must be declared NOT NULL before identity can be added')),
    Case("identity on an identity column", IDENTITY,
         'ALTER TABLE "item" ALTER COLUMN "id" ADD GENERATED BY DEFAULT AS IDENTITY;',
         ("55000", 'column "id" of relation "item" is already an identity column')),
    Case("identity added again after DROP IDENTITY (a revert's)", IDENTITY + '\nALTER TABLE "item" ALTER COLUMN "id" DROP IDENTITY;',
         'ALTER TABLE "item" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (sequence name "item_id_seq");', None),
    Case("identity on a column with a default", 'CREATE TABLE "box" ("id" integer NOT NULL DEFAULT 0);',
         'ALTER TABLE "box" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY;',
         ("55000", 'column "id" of relation "box" already has a default value')),
    Case("identity on a text column", 'CREATE TABLE "box" ("id" text NOT NULL);',
         'ALTER TABLE "box" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY;',
         ("22023", "identity column type must be smallint, integer, or bigint")),
    # -- columns ----------------------------------------------------------------------------------
    Case("ADD COLUMN that exists", ACCOUNT, 'ALTER TABLE "account" ADD COLUMN "name" text;',
         ("42701", 'column "name" of relation "account" already exists')),
    Case("ADD COLUMN IF NOT EXISTS that exists", ACCOUNT, 'ALTER TABLE "account" ADD COLUMN IF NOT EXISTS "name" text;',
         None),
    Case("ADD COLUMN to a missing table", ACCOUNT, 'ALTER TABLE "nobody" ADD COLUMN "name" text;',
         ("42P01", 'relation "nobody" does not exist')),
    Case("ADD COLUMN to a missing table, schema written", ACCOUNT, 'ALTER TABLE "public"."nobody" ADD COLUMN "name" text;',
         ("42P01", 'relation "public.nobody" does not exist')),
    Case("DROP COLUMN missing", ACCOUNT, 'ALTER TABLE "account" DROP COLUMN "nope";',
         ("42703", 'column "nope" of relation "account" does not exist')),
    Case("DROP COLUMN IF EXISTS missing", ACCOUNT, 'ALTER TABLE "account" DROP COLUMN IF EXISTS "nope";', None),
    Case("RENAME COLUMN missing", ACCOUNT, 'ALTER TABLE "account" RENAME COLUMN "nope" TO "other";',
         ("42703", 'column "nope" does not exist')),
    Case("RENAME COLUMN to a taken name", ACCOUNT, 'ALTER TABLE "account" RENAME COLUMN "code" TO "name";',
         ("42701", 'column "name" of relation "account" already exists')),
    Case("SET NOT NULL on a missing column", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "nope" SET NOT NULL;',
         ("42703", 'column "nope" of relation "account" does not exist')),
    Case("SET DEFAULT on a missing column", ACCOUNT, "ALTER TABLE \"account\" ALTER COLUMN \"nope\" SET DEFAULT 'x';",
         ("42703", 'column "nope" of relation "account" does not exist')),
    Case("DROP NOT NULL on a missing column", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "nope" DROP NOT NULL;',
         ("42703", 'column "nope" of relation "account" does not exist')),
    Case("DROP NOT NULL on a primary key column", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "id" DROP NOT NULL;',
         ("42P16", 'column "id" is in a primary key')),
    Case("DROP NOT NULL on an identity column", 'CREATE TABLE "box" ("id" integer GENERATED ALWAYS AS IDENTITY);',
         'ALTER TABLE "box" ALTER COLUMN "id" DROP NOT NULL;',
         ("42601", 'column "id" of relation "box" is an identity column')),
    Case("DROP NOT NULL on a plain column", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "name" DROP NOT NULL;', None),
    Case("DROP COLUMN referenced by a foreign key", PARENT_CHILD, 'ALTER TABLE "parent" DROP COLUMN "id";',
         ("2BP01", "cannot drop column id of table parent because other objects depend on it")),
    Case("DROP COLUMN referenced by a foreign key, CASCADE", PARENT_CHILD,
         'ALTER TABLE "parent" DROP COLUMN "id" CASCADE;', None),
    Case("DROP COLUMN that holds a foreign key", PARENT_CHILD, 'ALTER TABLE "child" DROP COLUMN "parent_id";', None),
    # -- keys, constraints, indexes ---------------------------------------------------------------
    Case("second PRIMARY KEY", ACCOUNT, 'ALTER TABLE "account" ADD CONSTRAINT "account_name_pk" PRIMARY KEY ("name");',
         ("42P16", 'multiple primary keys for table "account" are not allowed')),
    Case("foreign key name taken", PARENT_CHILD,
         'ALTER TABLE "child" ADD CONSTRAINT "child_parent_id_parent_id_fk" FOREIGN KEY ("parent_id") REFERENCES "parent"("id");',
         ("42710", 'constraint "child_parent_id_parent_id_fk" for relation "child" already exists')),
    Case("unique constraint name taken by a unique constraint", PARENT_CHILD,
         'ALTER TABLE "parent" ADD CONSTRAINT "parent_code_key" UNIQUE ("slug");',
         ("42P07", 'relation "parent_code_key" already exists')),
    Case("unique constraint name taken by a foreign key", PARENT_CHILD,
         'ALTER TABLE "child" ADD CONSTRAINT "child_parent_id_parent_id_fk" UNIQUE ("parent_id");',
         ("42710", 'constraint "child_parent_id_parent_id_fk" for relation "child" already exists')),
    Case("unique constraint name taken by an index",
         ACCOUNT + '\nCREATE INDEX "account_code_idx" ON "account" ("code");',
         'ALTER TABLE "account" ADD CONSTRAINT "account_code_idx" UNIQUE ("code");',
         ("42P07", 'relation "account_code_idx" already exists')),
    Case("drizzle foreign key in a DO block, name taken", PARENT_CHILD, DUPLICATE_OBJECT.format(
        'ALTER TABLE "child" ADD CONSTRAINT "child_parent_id_parent_id_fk" FOREIGN KEY ("parent_id") '
        'REFERENCES "public"."parent"("id") ON DELETE no action ON UPDATE no action;'), None),
    Case("PRIMARY KEY USING a non-unique index", 'CREATE TABLE "box" ("id" integer NOT NULL);\n'
         'CREATE INDEX "box_id_idx" ON "box" ("id");',
         'ALTER TABLE "box" ADD CONSTRAINT "box_pkey" PRIMARY KEY USING INDEX "box_id_idx";',
         ("42809", '"box_id_idx" is not a unique index')),
    Case("partitioned: PRIMARY KEY USING INDEX", EVENTS + '\nCREATE UNIQUE INDEX "event_key" ON "event" ("id", "at");',
         'ALTER TABLE "event" ADD CONSTRAINT "event_pkey" PRIMARY KEY USING INDEX "event_key";',
         ("0A000", "ALTER TABLE / ADD CONSTRAINT USING INDEX is not supported on partitioned tables")),
    Case("partitioned: unique constraint without the partition key", EVENTS,
         'ALTER TABLE "event" ADD CONSTRAINT "event_id_key" UNIQUE ("id");',
         ("0A000", "unique constraint on partitioned table must include all partitioning columns")),
    Case("partitioned: primary key without the partition key", EVENTS,
         'ALTER TABLE "event" ADD CONSTRAINT "event_pkey" PRIMARY KEY ("id");',
         ("0A000", "unique constraint on partitioned table must include all partitioning columns")),
    Case("partitioned: primary key with the partition key", EVENTS,
         'ALTER TABLE "event" ADD CONSTRAINT "event_pkey" PRIMARY KEY ("id", "at");', None),
    Case("partitioned: unique index without the partition key", EVENTS,
         'CREATE UNIQUE INDEX "event_id_idx" ON "event" ("id");',
         ("0A000", "unique constraint on partitioned table must include all partitioning columns")),
    Case("partitioned: CREATE INDEX CONCURRENTLY", EVENTS, 'CREATE INDEX CONCURRENTLY "event_kind_idx" ON "event" ("kind");',
         ("0A000", 'cannot create index on partitioned table "event" concurrently')),
    Case("partitioned: CREATE INDEX CONCURRENTLY on a partition", EVENTS,
         'CREATE INDEX CONCURRENTLY "event_2024_kind_idx" ON "event_2024" ("kind");', None),
    Case("partitioned: NOT VALID foreign key",
         'CREATE TABLE "kind" ("name" text PRIMARY KEY);\n' + EVENTS,
         'ALTER TABLE "event" ADD CONSTRAINT "event_kind_fk" FOREIGN KEY ("kind") REFERENCES "kind"("name") NOT VALID;',
         ("42809", 'cannot add NOT VALID foreign key on partitioned table "event" referencing relation "kind"'),
         since=((18, None),)),
    Case("foreign key to columns without a unique constraint", KEYED_PAIR,
         'ALTER TABLE "child" ADD CONSTRAINT "child_slug_fk" FOREIGN KEY ("parent_text") REFERENCES "parent"("slug");',
         ("42830", 'there is no unique constraint matching given keys for referenced table "parent"')),
    Case("foreign key to a unique constraint", PARENT_CHILD,
         'ALTER TABLE "child" ADD CONSTRAINT "child_code_fk" FOREIGN KEY ("parent_text") REFERENCES "parent"("code");',
         None),
    Case("foreign key to a table without a primary key", NO_KEY,
         'ALTER TABLE "post" ADD CONSTRAINT "post_tag_fk" FOREIGN KEY ("tag_name") REFERENCES "tag";',
         ("42704", 'there is no primary key for referenced table "tag"')),
    Case("foreign key uuid to integer", KEYED_PAIR,
         'ALTER TABLE "child" ADD CONSTRAINT "child_uuid_fk" FOREIGN KEY ("parent_uuid") REFERENCES "parent"("id");',
         ("42804", 'foreign key constraint "child_uuid_fk" cannot be implemented')),
    Case("foreign key text to integer", KEYED_PAIR,
         'ALTER TABLE "child" ADD CONSTRAINT "child_text_fk" FOREIGN KEY ("parent_text") REFERENCES "parent"("id");',
         ("42804", 'foreign key constraint "child_text_fk" cannot be implemented')),
    Case("unnamed foreign key text to integer", KEYED_PAIR,
         'ALTER TABLE "child" ADD FOREIGN KEY ("parent_text") REFERENCES "parent"("id");',
         ("42804", 'foreign key constraint "child_parent_text_fkey" cannot be implemented')),
    Case("foreign key bigint to integer", KEYED_PAIR,
         'ALTER TABLE "child" ADD CONSTRAINT "child_big_fk" FOREIGN KEY ("parent_big") REFERENCES "parent"("id");', None),
    Case("unnamed foreign key uuid to integer, its name taken", KEYED_PAIR
         + '\nALTER TABLE "child" ADD CONSTRAINT "child_parent_uuid_fkey" CHECK ("parent_uuid" IS NOT NULL);',
         'ALTER TABLE "child" ADD FOREIGN KEY ("parent_uuid") REFERENCES "parent"("id");',
         ("42804", 'foreign key constraint "child_parent_uuid_fkey1" cannot be implemented')),
    Case("foreign key to a missing table, schema written", KEYED_PAIR,
         'ALTER TABLE "child" ADD CONSTRAINT "child_x_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."nobody"("id");',
         ("42P01", 'relation "public.nobody" does not exist')),
    Case("foreign key to a missing table", KEYED_PAIR,
         'ALTER TABLE "child" ADD CONSTRAINT "child_x_fk" FOREIGN KEY ("parent_id") REFERENCES "nobody"("id");',
         ("42P01", 'relation "nobody" does not exist')),
    Case("CREATE INDEX name taken by an index", ACCOUNT + '\nCREATE INDEX "account_code_idx" ON "account" ("code");',
         'CREATE INDEX "account_code_idx" ON "account" ("name");', ("42P07", 'relation "account_code_idx" already exists')),
    Case("CREATE INDEX name taken by a table", ACCOUNT + '\nCREATE TABLE "other" ("id" integer);',
         'CREATE INDEX "other" ON "account" ("name");', ("42P07", 'relation "other" already exists')),
    Case("CREATE INDEX IF NOT EXISTS name taken", ACCOUNT + '\nCREATE INDEX "account_code_idx" ON "account" ("code");',
         'CREATE INDEX IF NOT EXISTS "account_code_idx" ON "account" ("name");', None),
    Case("DROP CONSTRAINT missing", ACCOUNT, 'ALTER TABLE "account" DROP CONSTRAINT "account_nope";',
         ("42704", 'constraint "account_nope" of relation "account" does not exist')),
    Case("DROP CONSTRAINT IF EXISTS missing", ACCOUNT, 'ALTER TABLE "account" DROP CONSTRAINT IF EXISTS "account_nope";',
         None),
    Case("DROP CONSTRAINT of the generated name", ACCOUNT, 'ALTER TABLE "account" DROP CONSTRAINT "account_pkey";', None),
    Case("DROP CONSTRAINT of a numbered generated name",
         'CREATE TABLE "pair" ("a" integer, "b" integer, CONSTRAINT "pair_a_check" CHECK ("b" > 0));\n'
         'ALTER TABLE "pair" ADD CHECK ("a" > 0);',
         'ALTER TABLE "pair" DROP CONSTRAINT "pair_a_check1";', None),
    Case("DROP CONSTRAINT missing, named keys only",
         'CREATE TABLE "named" ("id" integer NOT NULL, "name" text NOT NULL, CONSTRAINT "named_pk" PRIMARY KEY ("id"));',
         'ALTER TABLE "named" DROP CONSTRAINT "named_pkey";',
         ("42704", 'constraint "named_pkey" of relation "named" does not exist')),
    Case("DROP CONSTRAINT of a NOT NULL's name",
         'CREATE TABLE "named" ("id" integer NOT NULL, "name" text NOT NULL, CONSTRAINT "named_pk" PRIMARY KEY ("id"));',
         'ALTER TABLE "named" DROP CONSTRAINT "named_name_not_null";',
         ("42704", 'constraint "named_name_not_null" of relation "named" does not exist'), since=((18, None),)),
    Case("DROP CONSTRAINT of a partition, cloned from its parent",
         'CREATE TABLE "kind" ("name" text PRIMARY KEY);\n' + EVENTS
         + '\nALTER TABLE "event" ADD CONSTRAINT "event_kind_fk" FOREIGN KEY ("kind") REFERENCES "kind"("name");',
         'ALTER TABLE "event_2024" DROP CONSTRAINT "event_kind_fk";',
         ("42P16", 'cannot drop inherited constraint "event_kind_fk" of relation "event_2024"')),
    Case("DROP CONSTRAINT of a partition created after the foreign key",
         'CREATE TABLE "kind" ("name" text PRIMARY KEY);\n'
         'CREATE TABLE "event" ("id" bigint NOT NULL, "at" timestamptz NOT NULL, "kind" text) PARTITION BY RANGE ("at");\n'
         'ALTER TABLE "event" ADD CONSTRAINT "event_kind_fk" FOREIGN KEY ("kind") REFERENCES "kind"("name");\n'
         "CREATE TABLE \"event_2024\" PARTITION OF \"event\" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
         'ALTER TABLE "event_2024" DROP CONSTRAINT "event_kind_fk";',
         ("42P16", 'cannot drop inherited constraint "event_kind_fk" of relation "event_2024"')),
    Case("VALIDATE CONSTRAINT of a partition, a CHECK of its parent",
         EVENTS + '\nALTER TABLE "event" ADD CONSTRAINT "event_id_check" CHECK ("id" > 0) NOT VALID;',
         'ALTER TABLE "event_2024" VALIDATE CONSTRAINT "event_id_check";', None),
    Case("DROP CONSTRAINT of a partition, a CHECK of its parent",
         EVENTS + '\nALTER TABLE "event" ADD CONSTRAINT "event_id_check" CHECK ("id" > 0);',
         'ALTER TABLE "event_2024" DROP CONSTRAINT "event_id_check";',
         ("42P16", 'cannot drop inherited constraint "event_id_check" of relation "event_2024"')),
    Case("VALIDATE CONSTRAINT missing", ACCOUNT, 'ALTER TABLE "account" VALIDATE CONSTRAINT "account_nope";',
         ("42704", 'constraint "account_nope" of relation "account" does not exist')),
    # -- whole objects ------------------------------------------------------------------------------
    Case("CREATE TABLE that exists", ACCOUNT, 'CREATE TABLE "account" ("id" bigint);',
         ("42P07", 'relation "account" already exists')),
    Case("CREATE TABLE IF NOT EXISTS that exists", ACCOUNT, 'CREATE TABLE IF NOT EXISTS "account" ("id" bigint);', None),
    Case("CREATE TABLE named as an index", ACCOUNT + '\nCREATE INDEX "account_code_idx" ON "account" ("code");',
         'CREATE TABLE "account_code_idx" ("id" bigint);', ("42P07", 'relation "account_code_idx" already exists')),
    Case("PARTITION OF a table not partitioned", ACCOUNT,
         "CREATE TABLE \"account_1\" PARTITION OF \"account\" FOR VALUES IN ('1');",
         ("42P17", '"account" is not partitioned')),
    Case("DROP TABLE referenced by a foreign key", PARENT_CHILD, 'DROP TABLE "parent";',
         ("2BP01", "cannot drop table parent because other objects depend on it")),
    Case("DROP TABLE referenced, CASCADE", PARENT_CHILD, 'DROP TABLE "parent" CASCADE;', None),
    Case("DROP TABLE missing", ACCOUNT, 'DROP TABLE "nobody";', ("42P01", 'table "nobody" does not exist')),
    Case("DROP TABLE missing, schema written", ACCOUNT, 'DROP TABLE "public"."nobody";',
         ("42P01", 'table "nobody" does not exist')),
    Case("DROP TABLE IF EXISTS missing", ACCOUNT, 'DROP TABLE IF EXISTS "nobody";', None),
    Case("DROP TYPE used by a column", WITH_ROLE, 'DROP TYPE "role";',
         ("2BP01", "cannot drop type role because other objects depend on it")),
    Case("DROP TYPE used by no column", WITH_ROLE, 'DROP TYPE "team_role";', None),
    Case("DROP SEQUENCE of a serial column", SERIAL, 'DROP SEQUENCE "ticket_id_seq";',
         ("2BP01", "cannot drop sequence ticket_id_seq because other objects depend on it")),
    Case("DROP SEQUENCE used by a default",
         'CREATE SEQUENCE "number_seq";\nCREATE TABLE "invoice" ("id" bigint DEFAULT nextval(\'number_seq\') NOT NULL);',
         'DROP SEQUENCE "number_seq";',
         ("2BP01", "cannot drop sequence number_seq because other objects depend on it")),
    Case("DROP SEQUENCE used by a default set later",
         'CREATE SEQUENCE "number_seq";\nCREATE TABLE "invoice" ("id" bigint NOT NULL);\n'
         'ALTER TABLE "invoice" ALTER COLUMN "id" SET DEFAULT nextval(\'"number_seq"\'::regclass);',
         'DROP SEQUENCE "number_seq";',
         ("2BP01", "cannot drop sequence number_seq because other objects depend on it")),
    Case("DROP SEQUENCE whose default was dropped",
         'CREATE SEQUENCE "number_seq";\nCREATE TABLE "invoice" ("id" bigint DEFAULT nextval(\'number_seq\') NOT NULL);\n'
         'ALTER TABLE "invoice" ALTER COLUMN "id" DROP DEFAULT;',
         'DROP SEQUENCE "number_seq";', None),
    Case("CREATE TYPE that exists", WITH_ROLE, "CREATE TYPE \"role\" AS ENUM ('a');",
         ("42710", 'type "role" already exists')),
    Case("CREATE TYPE that exists, in a drizzle DO block", WITH_ROLE,
         DUPLICATE_OBJECT.format("CREATE TYPE \"public\".\"role\" AS ENUM('a');"), None),
    Case("ADD VALUE that exists", WITH_ROLE, "ALTER TYPE \"role\" ADD VALUE 'admin';",
         ("42710", 'enum label "admin" already exists')),
    Case("ADD VALUE IF NOT EXISTS that exists", WITH_ROLE, "ALTER TYPE \"role\" ADD VALUE IF NOT EXISTS 'admin';", None),
    Case("ADD VALUE BEFORE a missing label", WITH_ROLE, "ALTER TYPE \"role\" ADD VALUE 'guest' BEFORE 'nobody';",
         ("22023", '"nobody" is not an existing enum label')),
    Case("ADD VALUE AFTER a label", WITH_ROLE, "ALTER TYPE \"role\" ADD VALUE 'guest' AFTER 'admin';", None),
    # -- what the migrations do not show ----------------------------------------------------------
    Case("a first migration of only comments: DROP COLUMN", "-- the schema was pulled from the database\n",
         'ALTER TABLE "users" DROP COLUMN "legacy";', None,
         pre='CREATE TABLE "users" ("id" integer PRIMARY KEY, "legacy" text);'),
    Case("a first migration of only comments: foreign key", "-- pulled\n",
         'CREATE TABLE "post" ("id" integer PRIMARY KEY, "user_id" integer REFERENCES "users"("id"));', None,
         pre='CREATE TABLE "users" ("id" integer PRIMARY KEY);'),
    Case("a first migration of only comments: DROP CONSTRAINT", "-- pulled\n",
         'ALTER TABLE "users" DROP CONSTRAINT "users_name_key";', None,
         pre='CREATE TABLE "users" ("id" integer PRIMARY KEY, "name" text CONSTRAINT "users_name_key" UNIQUE);'),
    Case("auth.users, a schema the migrations did not create", KEYED_PAIR,
         'ALTER TABLE "child" ADD CONSTRAINT "child_user_fk" FOREIGN KEY ("parent_uuid") REFERENCES "auth"."users"("id");',
         None, pre='CREATE SCHEMA "auth";\nCREATE TABLE "auth"."users" ("id" uuid PRIMARY KEY);'),
    Case("a column of auth.users", KEYED_PAIR, 'ALTER TABLE "auth"."users" DROP COLUMN "email";', None,
         pre='CREATE SCHEMA "auth";\nCREATE TABLE "auth"."users" ("id" uuid PRIMARY KEY, "email" text);'),
    # found by a trial as a user would write them (issue 9 review)
    Case("text with a default to an enum, with USING", ROLES + '\nCREATE TABLE "acct" ("id" bigint PRIMARY KEY, "role" text DEFAULT \'member\' NOT NULL);',
         'ALTER TABLE "acct" ALTER COLUMN "role" SET DATA TYPE "role" USING "role"::"role";',
         ("42804", 'default for column "role" cannot be cast automatically to type role')),
    Case("text with a default to an enum, without USING", ROLES + '\nCREATE TABLE "acct" ("id" bigint PRIMARY KEY, "role" text DEFAULT \'member\' NOT NULL);',
         'ALTER TABLE "acct" ALTER COLUMN "role" SET DATA TYPE "role";',
         ("42804", 'column "role" cannot be cast automatically to type role')),
    Case("a default set in the new enum first, as drizzle-kit writes it",
         ROLES + '\nCREATE TABLE "acct" ("id" bigint PRIMARY KEY, "role" text DEFAULT \'member\' NOT NULL);',
         'ALTER TABLE "acct" ALTER COLUMN "role" SET DEFAULT \'member\'::"public"."role";\n'
         'ALTER TABLE "acct" ALTER COLUMN "role" SET DATA TYPE "public"."role" USING "role"::"public"."role";', None),
    Case("integer with a default to bigint", ACCOUNT.replace('"n" integer', '"n" integer DEFAULT 0'),
         'ALTER TABLE "account" ALTER COLUMN "n" SET DATA TYPE bigint;', None),
    Case("DROP IDENTITY of a column that is none", ACCOUNT, 'ALTER TABLE "account" ALTER COLUMN "n" DROP IDENTITY;',
         ("55000", 'column "n" of relation "account" is not an identity column')),
    Case("DROP IDENTITY IF EXISTS of a column that is none", ACCOUNT,
         'ALTER TABLE "account" ALTER COLUMN "n" DROP IDENTITY IF EXISTS;', None),
    Case("SET GENERATED on a serial column", SERIAL, 'ALTER TABLE "ticket" ALTER COLUMN "id" SET GENERATED ALWAYS;',
         ("55000", 'column "id" of relation "ticket" is not an identity column')),
    Case("RESTART on a serial column", SERIAL, 'ALTER TABLE "ticket" ALTER COLUMN "id" RESTART;',
         ("55000", 'column "id" of relation "ticket" is not an identity column')),
    Case("SET DEFAULT on an identity column", IDENTITY, 'ALTER TABLE "item" ALTER COLUMN "id" SET DEFAULT 5;',
         ("42601", 'column "id" of relation "item" is an identity column')),
    Case("DROP DEFAULT on an identity column", IDENTITY, 'ALTER TABLE "item" ALTER COLUMN "id" DROP DEFAULT;',
         ("42601", 'column "id" of relation "item" is an identity column')),
    Case("SET GENERATED on an identity column", IDENTITY, 'ALTER TABLE "item" ALTER COLUMN "id" SET GENERATED BY DEFAULT;', None),
    Case("an index on a renamed column's old name", ACCOUNT,
         'ALTER TABLE "account" RENAME COLUMN "code" TO "handle";\nCREATE INDEX "account_code_idx" ON "account" ("code");',
         ("42703", 'column "code" does not exist')),
    Case("an index on a column of a table kept by IF NOT EXISTS", ACCOUNT,
         'CREATE TABLE IF NOT EXISTS "account" ("id" bigint PRIMARY KEY, "other" text);\nCREATE INDEX "account_other_idx" ON "account" ("other");',
         ("42703", 'column "other" does not exist')),
    Case("a key on a missing column", ACCOUNT, 'ALTER TABLE "account" ADD CONSTRAINT "account_x_key" UNIQUE ("x");',
         ("42703", 'column "x" named in key does not exist')),
    Case("a foreign key from a missing column", ACCOUNT + "\n" + IDENTITY,
         'ALTER TABLE "account" ADD CONSTRAINT "account_item_fk" FOREIGN KEY ("x") REFERENCES "item"("id");',
         ("42703", 'column "x" referenced in foreign key constraint does not exist')),
    Case("a drizzle DO guard does not catch a foreign key of mismatched types",
         'CREATE TABLE "owner" ("id" uuid PRIMARY KEY);\nCREATE TABLE "pet" ("id" bigint PRIMARY KEY, "owner_id" text);',
         'DO $$ BEGIN\n ALTER TABLE "pet" ADD CONSTRAINT "pet_owner_fk" FOREIGN KEY ("owner_id") REFERENCES "owner"("id");\n'
         'EXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;',
         ("42804", 'foreign key constraint "pet_owner_fk" cannot be implemented')),
    Case("a drizzle DO guard catches a foreign key that exists",
         'CREATE TABLE "owner" ("id" uuid PRIMARY KEY);\nCREATE TABLE "pet" ("id" bigint PRIMARY KEY, "owner_id" uuid);\n'
         'ALTER TABLE "pet" ADD CONSTRAINT "pet_owner_fk" FOREIGN KEY ("owner_id") REFERENCES "owner"("id");',
         'DO $$ BEGIN\n ALTER TABLE "pet" ADD CONSTRAINT "pet_owner_fk" FOREIGN KEY ("owner_id") REFERENCES "owner"("id");\n'
         'EXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;', None),
    Case("an enum default that is not a label", WITH_ROLE, 'ALTER TABLE "member" ALTER COLUMN "role" SET DEFAULT \'boss\';',
         ("22P02", 'invalid input value for enum role: "boss"')),
    Case("an enum default that is a label", WITH_ROLE, 'ALTER TABLE "member" ALTER COLUMN "role" SET DEFAULT \'member\';', None),
    Case("a table of a schema the migrations created", 'CREATE SCHEMA "app";',
         'ALTER TABLE "app"."users" ADD COLUMN "email" text;', ("42P01", 'relation "app.users" does not exist')),
]


@dataclass(frozen=True)
class Server:
    admin_url: str
    major: int


@pytest.fixture(scope="module")
def server(admin_url: str) -> Iterator[Server]:
    with psycopg.connect(admin_url) as conn:
        yield Server(admin_url, conn.info.server_version // 10000)


def sw609(case: Case, major: int) -> list[Finding]:
    """The SW609 findings of the statement's file (and none for the setup's)."""
    files = [("0000_setup.sql", case.setup, None), ("0001_statement.sql", case.statement, None)]
    reports = analyze_folder(files, Context(pg_version=major))
    assert not [f for f in reports[0].findings if f.code == "SW609"], "the setup itself is refused"
    return [f for f in reports[1].findings if f.code == "SW609"]


def _run(admin_url: str, case: Case, statement: str) -> psycopg.Error | None:
    """Run `pre`, the setup and `statement` in a fresh database; the statement's error, if any."""
    with fresh_database(admin_url) as url, psycopg.connect(url, autocommit=True) as conn:
        for script in (case.pre, case.setup):
            if script.strip():
                conn.execute(script.encode())
        try:
            # one statement at a time, as apply runs them: a fix may hold a CONCURRENTLY step, which
            # a multi-statement query (an implicit transaction) would refuse
            for part in split_statements(statement):
                conn.execute(part.sql.encode())
        except psycopg.Error as error:
            return error
    return None


def _is_sql(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refusal_on_postgres(server: Server, case: Case) -> None:
    findings = sw609(case, server.major)
    error = _run(server.admin_url, case, case.statement)
    happened: Expect = None if error is None else (str(error.sqlstate), str(error.diag.message_primary))
    assert happened == case.expected(server.major), f"the table is wrong about PostgreSQL {server.major}"
    if error is None:
        assert not findings, f"PostgreSQL accepts it, SW609 said: {findings[0].message}"
        return
    assert len(findings) == 1, f"PostgreSQL refused with {happened}, SW609 reported {[f.message for f in findings]}"
    finding = findings[0]
    assert f"ERROR {error.sqlstate}: {error.diag.message_primary}." in finding.message
    if " HINT: " in finding.message:
        assert f" HINT: {error.diag.message_hint} " in finding.message
    if finding.safer_kind is SaferKind.RECIPE and _is_sql(finding.safer):
        failed = _run(server.admin_url, case, finding.safer)
        assert failed is None, f"the fix fails: {failed.sqlstate}: {failed}\n{finding.safer}"


def test_enough_cases() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)
