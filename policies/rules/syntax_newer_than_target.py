"""SW608: syntax (or an option) the target PostgreSQL version does not accept yet.

The parser is libpg_query with the newest grammar, so a statement written for PostgreSQL 18 parses
here whatever `pg_version` says; the target server refuses it and the migration fails there. The
features are data (`FEATURES`): the version that introduced each, its name, a detector over the
statement's parse tree, and what works on older servers. Each entry cites the release notes or
the documentation page that dates it; every version was also checked against the real servers
(tests/test_version_syntax_on_postgres.py, run on 11 to 18).

Cost: the rule runs only on migrations with one of the operation kinds the features can appear in
(`needs`), returns at once when the target is new enough for every feature, and looks only at the
statements of those kinds, with detectors that read a few fields near the top of the tree (the
subcommands of an ALTER TABLE, the elements of a CREATE TABLE, their constraints) and never walk
a whole tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from policies.operations import Operation, OperationKind
from policies.parsing import Node, unwrap
from policies.report import Category, Severity
from policies.rules._helpers import quoted
from policies.rules._rule import Hit, Rule
from policies.unit import AnalyzedStatement, MigrationUnit
from policies.versions import NEWEST_VERSION, OLDEST_VERSION

K = OperationKind


class Tree:
    """The parts of one statement's parse tree the detectors read, each found once and on demand.

    `marks` says, from one pass over the column definitions and constraints, which of the
    clauses the detectors look for they hold (most statements: none), so that a detector is a
    set lookup rather than a loop of its own. (Plain attributes filled on first use rather than
    `functools.cached_property`, which takes a lock on every read before Python 3.12.)
    """

    __slots__ = ("_commands", "_marks", "_subtypes", "node", "operations", "shape")

    def __init__(self, statement: AnalyzedStatement) -> None:
        self.shape = statement.parsed.shape
        self.node = statement.parsed.node
        self.operations = statement.operations
        self._commands: tuple[tuple[str, Node], ...] | None = None
        self._subtypes: frozenset[str] | None = None
        self._marks: frozenset[str] | None = None

    @property
    def commands(self) -> tuple[tuple[str, Node], ...]:
        """ALTER TABLE subcommands: (subtype, fields)."""
        if self._commands is None:
            found: list[tuple[str, Node]] = []
            if self.shape == "AlterTableStmt":
                for wrapped in self.node.get("cmds", ()):
                    ((_, fields),) = wrapped.items()
                    found.append((str(fields.get("subtype", "")), fields))
            self._commands = tuple(found)
        return self._commands

    @property
    def subtypes(self) -> frozenset[str]:
        if self._subtypes is None:
            self._subtypes = frozenset(subtype for subtype, _ in self.commands)
        return self._subtypes

    @property
    def marks(self) -> frozenset[str]:
        if self._marks is None:
            self._marks = self._find_marks()
        return self._marks

    def _find_marks(self) -> frozenset[str]:
        """The marks of the column definitions (CREATE TABLE, ADD COLUMN), their constraints and
        the table constraints (CREATE TABLE elements, ADD CONSTRAINT)."""
        if self.shape == "CreateStmt":
            elements = self.node.get("tableElts", ())
        else:
            elements = [f["def"] for sub, f in self.commands if sub in _DEFINING and "def" in f]
        found: set[str] = set()
        for element in elements:
            ((name, fields),) = element.items()
            if name == "ColumnDef":
                if not _COLUMN_MARKS.isdisjoint(fields):
                    found.update(_COLUMN_MARKS.intersection(fields))
                for wrapped in fields.get("constraints", ()):
                    ((_, constraint),) = wrapped.items()
                    _mark_constraint(constraint, found)
            elif name == "Constraint":
                _mark_constraint(fields, found)
        return frozenset(found)

    def has_command(self, *subtypes: str) -> bool:
        return not self.subtypes.isdisjoint(subtypes)

    def first(self, kind: OperationKind) -> Operation | None:
        return next((op for op in self.operations if op.kind is kind), None)


def _mark_constraint(constraint: Node, found: set[str]) -> None:
    kind = constraint.get("contype")
    if kind == "CONSTR_GENERATED":
        found.add(_VIRTUAL if constraint.get("generated_kind") == "v" else _STORED)
    elif kind in _ENFORCEMENT_ATTRIBUTES or (kind in _ENFORCEABLE and not constraint.get("is_enforced")):
        # A table constraint written NOT ENFORCED lacks `is_enforced` (the grammar sets it for
        # every other CHECK and FOREIGN KEY); a column constraint gets an attribute node instead.
        found.add(_ENFORCEMENT)
    elif kind == "CONSTR_NOTNULL":
        if "keys" in constraint:
            found.add(_NOT_NULL_CONSTRAINT)  # a column's NOT NULL has no `keys`; `NOT NULL col` (18) has
        elif constraint.get("is_no_inherit"):
            found.add(_NOT_NULL_NO_INHERIT)
    if not _CONSTRAINT_MARKS.isdisjoint(constraint):
        found.update(_CONSTRAINT_MARKS.intersection(constraint))


_DEFINING = frozenset({"AT_AddColumn", "AT_AddConstraint"})
_STORED, _VIRTUAL, _ENFORCEMENT = "stored", "virtual", "enforcement"
_NOT_NULL_CONSTRAINT, _NOT_NULL_NO_INHERIT = "not null constraint", "not null no inherit"
_COLUMN_MARKS = frozenset({"compression", "storage_name"})
"""ColumnDef fields set only by the clauses of the same name."""
_CONSTRAINT_MARKS = frozenset({"nulls_not_distinct", "without_overlaps", "fk_with_period", "pk_with_period"})
"""Constraint fields set only by the clauses of the same name (absent when false)."""
_ENFORCEABLE = frozenset({"CONSTR_CHECK", "CONSTR_FOREIGN"})
_ENFORCEMENT_ATTRIBUTES = frozenset({"CONSTR_ATTR_ENFORCED", "CONSTR_ATTR_NOT_ENFORCED"})


def _marked(*marks: str) -> Callable[[Tree], bool]:
    wanted = frozenset(marks)
    return lambda tree: not wanted.isdisjoint(tree.marks)


def _option_names(options: object) -> Iterator[str]:
    """The names of a list of DefElem options (`WITH (...)`, `REINDEX (...)`)."""
    if not isinstance(options, list):
        return
    for wrapped in options:
        name, fields = unwrap(wrapped)
        if name == "DefElem":
            yield str(fields.get("defname", ""))


def _reindex_option(tree: Tree, option: str) -> bool:
    return tree.shape == "ReindexStmt" and option in _option_names(tree.node.get("params"))


def _detach(tree: Tree, finalize: bool) -> bool:
    return any(
        op.kind is K.DETACH_PARTITION and (op.detail == "finalize" if finalize else op.concurrently)
        for op in tree.operations
    )


def _nulls_not_distinct(tree: Tree) -> bool:
    if tree.shape == "IndexStmt":
        return bool(tree.node.get("nulls_not_distinct"))
    return "nulls_not_distinct" in tree.marks


def _security_invoker(tree: Tree) -> bool:
    if tree.shape == "ViewStmt":
        return "security_invoker" in _option_names(tree.node.get("options"))
    for subtype, fields in tree.commands:
        if subtype in ("AT_SetRelOptions", "AT_ResetRelOptions") and "def" in fields:
            name, listed = unwrap(fields["def"])
            if name == "List" and "security_invoker" in _option_names(listed.get("items")):
                return True
    return False


def _merge_when(tree: Tree, match_kind: str) -> bool:
    return tree.shape == "MergeStmt" and any(
        unwrap(clause)[1].get("matchKind") == match_kind for clause in tree.node.get("mergeWhenClauses", ())
    )


def _enforcement(tree: Tree) -> bool:
    # ENFORCED / NOT ENFORCED on a constraint, or ALTER CONSTRAINT ... [NOT] ENFORCED.
    return _ENFORCEMENT in tree.marks or _altered_constraint(tree, "alterEnforceability")


def _altered_constraint(tree: Tree, field: str) -> bool:
    return any(
        subtype == "AT_AlterConstraint" and "def" in fields and unwrap(fields["def"])[1].get(field)
        for subtype, fields in tree.commands
    )


def _access_method(tree: Tree) -> bool:
    if tree.shape == "CreateStmt":
        return "accessMethod" in tree.node
    return tree.shape == "CreateTableAsStmt" and "accessMethod" in tree.node.get("into", {})


def _plain_detach(tree: Tree) -> str | None:
    op = tree.first(K.DETACH_PARTITION)
    if op is None or not op.relation or not op.name:
        return None
    return (
        "-- a plain detach (takes ACCESS EXCLUSIVE on the partitioned table: at a quiet time, with lock_timeout):\n"
        f"ALTER TABLE {quoted(op.relation)} DETACH PARTITION {quoted(op.name)};"
    )


def _drop_and_create_trigger(tree: Tree) -> str | None:
    op = tree.first(K.CREATE_TRIGGER)
    if op is None or not op.relation or not op.name:
        return None
    return (
        f"DROP TRIGGER IF EXISTS {quoted(op.name)} ON {quoted(op.relation)};\n"
        f"CREATE TRIGGER {quoted(op.name)} ...;  -- the same definition, without OR REPLACE"
    )


def _not_null_recipe(tree: Tree) -> str | None:
    """ADD CONSTRAINT ... NOT NULL col [NOT VALID] as a CHECK proof then SET NOT NULL (12+ skips the scan)."""
    if tree.shape != "AlterTableStmt" or len(tree.commands) != 1:
        return None
    relation = tree.node.get("relation", {})
    table = ".".join(str(relation[part]) for part in ("schemaname", "relname") if part in relation)
    ((_, command),) = tree.commands
    _, constraint = unwrap(command["def"])
    keys = [unwrap(key)[1].get("sval") for key in constraint.get("keys", ())]
    if len(keys) != 1 or not keys[0] or not table:
        return None
    column = quoted(keys[0])
    check_name = quoted(f"{keys[0]}_not_null")
    steps = f"ALTER TABLE {quoted(table)} ADD CONSTRAINT {check_name} CHECK ({column} IS NOT NULL) NOT VALID;"
    if constraint.get("skip_validation"):
        return f"-- NOT VALID as a CHECK; VALIDATE it and SET NOT NULL in a later migration:\n{steps}"
    return (
        f"{steps}\n-- next migration:\nALTER TABLE {quoted(table)} VALIDATE CONSTRAINT {check_name};\n"
        f"ALTER TABLE {quoted(table)} ALTER COLUMN {column} SET NOT NULL;  -- the CHECK spares the scan (12 on)"
    )


class Where(NamedTuple):
    """Where a feature can appear: the parser node types of the statements that can hold it (the
    rule looks at no others), and the operation kinds those statements then have (`Rule.needs`)."""

    shapes: frozenset[str]
    kinds: frozenset[OperationKind]

    def __or__(self, other: object) -> Where:
        assert isinstance(other, Where)
        return Where(self.shapes | other.shapes, self.kinds | other.kinds)


def _in(shapes: str, *kinds: OperationKind) -> Where:
    return Where(frozenset(shapes.split()), frozenset(kinds))


@dataclass(frozen=True, eq=False)
class Feature:
    """Syntax introduced in PostgreSQL `since`: how to see it in a statement (`detect`, asked only
    of statements `where` says can hold it), and what works on older servers (`instead`, or a
    `recipe` written for the statement), or why nothing does (`no_equivalent`)."""

    since: int
    name: str
    where: Where
    detect: Callable[[Tree], bool]
    instead: str | None = None
    no_equivalent: str | None = None
    recipe: Callable[[Tree], str | None] | None = None
    """The older-server way with the statement's own names, where it is mechanical."""


_COLUMNS = _in("CreateStmt AlterTableStmt", K.CREATE_TABLE, K.ADD_COLUMN)
_CONSTRAINTS = _in(
    "CreateStmt AlterTableStmt",
    K.CREATE_TABLE, K.ADD_COLUMN, K.ADD_CHECK, K.ADD_FOREIGN_KEY, K.ADD_UNIQUE, K.ADD_PRIMARY_KEY,
)

FEATURES: tuple[Feature, ...] = (
    # https://www.postgresql.org/docs/release/12.0/ ("Add support for generated columns");
    # https://www.postgresql.org/docs/12/ddl-generated-columns.html
    Feature(
        12, "a generated column (GENERATED ALWAYS AS ... STORED)", _COLUMNS, _marked(_STORED),
        instead=(
            "-- a plain column kept up to date by a trigger:\n"
            'ALTER TABLE "t" ADD COLUMN "c" integer;\n'
            'CREATE FUNCTION "t_fill_c"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW."c" := NEW."a" * 2; RETURN NEW; END $$;\n'
            'CREATE TRIGGER "t_fill_c" BEFORE INSERT OR UPDATE ON "t" FOR EACH ROW EXECUTE FUNCTION "t_fill_c"();\n'
            'UPDATE "t" SET "c" = "a" * 2;  -- in batches on a large table'
        ),
    ),
    # https://www.postgresql.org/docs/release/12.0/ ("Add REINDEX CONCURRENTLY option");
    # https://www.postgresql.org/docs/12/sql-reindex.html
    Feature(
        12, "REINDEX CONCURRENTLY", _in("ReindexStmt", K.REINDEX), lambda t: _reindex_option(t, "concurrently"),
        instead=(
            "-- build a copy without blocking writes, then swap (each outside a transaction block):\n"
            'CREATE INDEX CONCURRENTLY "orders_total_idx_new" ON "orders" ("total");\n'
            'DROP INDEX CONCURRENTLY "orders_total_idx";\n'
            'ALTER INDEX "orders_total_idx_new" RENAME TO "orders_total_idx";'
        ),
    ),
    # https://www.postgresql.org/docs/release/12.0/ ("Allow specifying a table access method");
    # https://www.postgresql.org/docs/12/sql-createtable.html (USING method)
    Feature(
        12, "a table access method (CREATE TABLE / MATERIALIZED VIEW ... USING)",
        _in("CreateStmt CreateTableAsStmt", K.CREATE_TABLE, K.CREATE_TABLE_AS, K.CREATE_MATERIALIZED_VIEW), _access_method,
        instead="-- leave out USING: before PostgreSQL 12 every table is stored as heap",
    ),
    # https://www.postgresql.org/docs/release/13.0/ ("Add ALTER TABLE ... DROP EXPRESSION");
    # https://www.postgresql.org/docs/13/sql-altertable.html
    Feature(
        13, "ALTER COLUMN ... DROP EXPRESSION", _in("AlterTableStmt", K.ALTER_COLUMN_OTHER),
        lambda t: t.has_command("AT_DropExpression"),
        instead=(
            "-- copy the values into a plain column and swap it in (rewrites nothing, but blocks while copying):\n"
            'ALTER TABLE "t" ADD COLUMN "c_plain" integer;\n'
            'UPDATE "t" SET "c_plain" = "c";\n'
            'ALTER TABLE "t" DROP COLUMN "c";\n'
            'ALTER TABLE "t" RENAME COLUMN "c_plain" TO "c";'
        ),
    ),
    # https://www.postgresql.org/docs/release/14.0/ ("Add ability to use LZ4 compression on TOAST
    # data", with ALTER TABLE ... SET COMPRESSION and the COMPRESSION column option);
    # https://www.postgresql.org/docs/14/sql-altertable.html
    Feature(
        14, "ALTER COLUMN ... SET COMPRESSION", _in("AlterTableStmt", K.ALTER_COLUMN_OTHER),
        lambda t: t.has_command("AT_SetCompression"),
        instead="-- leave it out: before PostgreSQL 14 every column is compressed with pglz, and that cannot be changed",
    ),
    # https://www.postgresql.org/docs/14/sql-createtable.html (COMPRESSION compression_method)
    Feature(
        14, "the COMPRESSION column option", _COLUMNS, _marked("compression"),
        instead="-- leave out COMPRESSION: before PostgreSQL 14 every column is compressed with pglz",
    ),
    # https://www.postgresql.org/docs/release/14.0/ ("Allow partitions to be detached in a
    # non-blocking manner"); https://www.postgresql.org/docs/14/sql-altertable.html
    Feature(
        14, "DETACH PARTITION ... CONCURRENTLY", _in("AlterTableStmt", K.DETACH_PARTITION), lambda t: _detach(t, finalize=False),
        recipe=_plain_detach,
    ),
    Feature(
        14, "DETACH PARTITION ... FINALIZE", _in("AlterTableStmt", K.DETACH_PARTITION), lambda t: _detach(t, finalize=True),
        no_equivalent="FINALIZE completes a detach that only CONCURRENTLY (14) starts: before 14 a detach is never pending.",
    ),
    # https://www.postgresql.org/docs/release/14.0/ ("Add OR REPLACE option for CREATE TRIGGER");
    # https://www.postgresql.org/docs/14/sql-createtrigger.html
    Feature(
        14, "CREATE OR REPLACE TRIGGER", _in("CreateTrigStmt", K.CREATE_TRIGGER), lambda t: bool(t.node.get("replace")),
        recipe=_drop_and_create_trigger,
    ),
    # https://www.postgresql.org/docs/release/14.0/ ("Add TABLESPACE option to REINDEX");
    # https://www.postgresql.org/docs/14/sql-reindex.html
    Feature(
        14, "REINDEX (TABLESPACE ...)", _in("ReindexStmt", K.REINDEX), lambda t: _reindex_option(t, "tablespace"),
        instead=(
            "-- move the index instead (it takes ACCESS EXCLUSIVE and copies the index):\n"
            'ALTER INDEX "orders_total_idx" SET TABLESPACE "fast";'
        ),
    ),
    # https://www.postgresql.org/docs/release/14.0/ ("Allow SQL-language functions and procedures
    # to use SQL-standard function bodies"); https://www.postgresql.org/docs/14/sql-createfunction.html
    Feature(
        14, "a SQL-standard function body (BEGIN ATOMIC ... END, or RETURN)", _in("CreateFunctionStmt", K.CREATE_FUNCTION),
        lambda t: "sql_body" in t.node,
        instead='-- the body as a string:\nCREATE FUNCTION "double"(n integer) RETURNS integer LANGUAGE sql AS $$ SELECT n * 2 $$;',
    ),
    # https://www.postgresql.org/docs/release/15.0/ ("Add SQL MERGE command");
    # https://www.postgresql.org/docs/15/sql-merge.html
    Feature(
        15, "MERGE", _in("MergeStmt", K.MERGE), lambda t: t.shape == "MergeStmt",
        instead=(
            "-- an upsert (needs a unique index on the matched columns):\n"
            'INSERT INTO "stock" ("item", "qty") SELECT "item", "qty" FROM "delivery"\n'
            'ON CONFLICT ("item") DO UPDATE SET "qty" = "stock"."qty" + EXCLUDED."qty";'
        ),
    ),
    # https://www.postgresql.org/docs/release/15.0/ ("Allow unique constraints and indexes to
    # treat NULL values as not distinct"); https://www.postgresql.org/docs/15/sql-createindex.html
    Feature(
        15, "NULLS NOT DISTINCT", _CONSTRAINTS | _in("IndexStmt", K.CREATE_INDEX), _nulls_not_distinct,
        instead=(
            "-- the unique index, plus a partial one that admits a single NULL:\n"
            'CREATE UNIQUE INDEX "users_email_key" ON "users" ("email");\n'
            'CREATE UNIQUE INDEX "users_email_one_null" ON "users" ((true)) WHERE "email" IS NULL;'
        ),
    ),
    # https://www.postgresql.org/docs/release/15.0/ ("Allow view access to be controlled by
    # privileges of the view user"); https://www.postgresql.org/docs/15/sql-createview.html
    Feature(
        15, "the security_invoker view option", _in("ViewStmt AlterTableStmt", K.CREATE_VIEW, K.SET_STORAGE_PARAMETERS), _security_invoker,
        instead=(
            "-- a view always runs as its owner before PostgreSQL 15; a SQL function runs as its caller:\n"
            'CREATE FUNCTION "my_orders"() RETURNS SETOF "orders" LANGUAGE sql STABLE AS $$ SELECT * FROM "orders" $$;'
        ),
    ),
    # https://www.postgresql.org/docs/release/15.0/ ("Add ALTER TABLE ... SET ACCESS METHOD");
    # https://www.postgresql.org/docs/15/sql-altertable.html
    Feature(
        15, "ALTER TABLE ... SET ACCESS METHOD", _in("AlterTableStmt", K.ALTER_TABLE_OTHER),
        lambda t: t.has_command("AT_SetAccessMethod"),
        no_equivalent=(
            "No way to change a table's access method in place before PostgreSQL 15: create a new table "
            "(USING the method, from 12) and copy the rows."
        ),
    ),
    # https://www.postgresql.org/docs/release/16.0/ ("Allow the STORAGE type to be specified by
    # CREATE TABLE"); https://www.postgresql.org/docs/16/sql-createtable.html
    Feature(
        16, "the STORAGE column option", _COLUMNS, _marked("storage_name"),
        instead='-- define the column, then set its storage:\nALTER TABLE "t" ALTER COLUMN "doc" SET STORAGE EXTERNAL;',
    ),
    # https://www.postgresql.org/docs/release/17.0/ ("Allow ALTER TABLE to change a column's
    # generation expression"); https://www.postgresql.org/docs/17/sql-altertable.html
    Feature(
        17, "ALTER COLUMN ... SET EXPRESSION", _in("AlterTableStmt", K.ALTER_COLUMN_OTHER), lambda t: t.has_command("AT_SetExpression"),
        instead=(
            "-- drop the generated column and add it again (both ways rewrite the table):\n"
            'ALTER TABLE "t" DROP COLUMN "c", ADD COLUMN "c" integer GENERATED ALWAYS AS ("a" * 3) STORED;'
        ),
    ),
    # https://www.postgresql.org/docs/release/17.0/ ("Add RETURNING support to MERGE");
    # https://www.postgresql.org/docs/17/sql-merge.html
    Feature(
        17, "MERGE ... RETURNING", _in("MergeStmt", K.MERGE), lambda t: t.shape == "MergeStmt" and "returningClause" in t.node,
        instead=(
            "-- INSERT ... ON CONFLICT ... RETURNING, or MERGE and then SELECT the rows it changed\n"
            'INSERT INTO "stock" ("item", "qty") VALUES (1, 5)\n'
            'ON CONFLICT ("item") DO UPDATE SET "qty" = EXCLUDED."qty" RETURNING *;'
        ),
    ),
    # https://www.postgresql.org/docs/release/17.0/ ("Allow MERGE to modify rows that are not in
    # the source: WHEN NOT MATCHED BY SOURCE"); https://www.postgresql.org/docs/17/sql-merge.html
    Feature(
        17, "MERGE ... WHEN NOT MATCHED BY SOURCE", _in("MergeStmt", K.MERGE),
        lambda t: _merge_when(t, "MERGE_WHEN_NOT_MATCHED_BY_SOURCE"),
        instead=(
            "-- a separate statement for the target rows the source lacks:\n"
            'DELETE FROM "stock" WHERE NOT EXISTS (SELECT 1 FROM "delivery" d WHERE d."item" = "stock"."item");'
        ),
    ),
    # https://www.postgresql.org/docs/release/17.0/ ("Allow ALTER TABLE ... SET STATISTICS to use
    # DEFAULT"); https://www.postgresql.org/docs/17/sql-altertable.html
    Feature(
        17, "SET STATISTICS DEFAULT", _in("AlterTableStmt", K.ALTER_COLUMN_OTHER),
        lambda t: any(subtype == "AT_SetStatistics" and "def" not in f for subtype, f in t.commands),
        instead='ALTER TABLE "t" ALTER COLUMN "a" SET STATISTICS -1;  -- -1 is the default target',
    ),
    # https://www.postgresql.org/docs/release/18.0/ ("Allow generated columns to be virtual, and
    # make them the default"); https://www.postgresql.org/docs/18/ddl-generated-columns.html
    Feature(
        18, "a virtual generated column (GENERATED ALWAYS AS ... VIRTUAL, the default without STORED)",
        _COLUMNS, _marked(_VIRTUAL),
        instead=(
            "-- a stored generated column (PostgreSQL 12 on; it is written on every change, and adding it "
            "to an existing table rewrites it), or compute the value in a view\n"
            'ALTER TABLE "t" ADD COLUMN "c" integer GENERATED ALWAYS AS ("a" * 2) STORED;'
        ),
    ),
    # https://www.postgresql.org/docs/release/18.0/ ("Allow NOT NULL constraints to be added as NOT
    # VALID", and NOT NULL as a named table constraint); https://www.postgresql.org/docs/18/sql-altertable.html
    Feature(
        18, "a NOT NULL table constraint (CONSTRAINT ... NOT NULL column [NOT VALID])",
        _COLUMNS | _in("AlterTableStmt", K.SET_NOT_NULL), _marked(_NOT_NULL_CONSTRAINT),
        instead='ALTER TABLE "t" ALTER COLUMN "a" SET NOT NULL;  -- scans the table under ACCESS EXCLUSIVE',
        recipe=_not_null_recipe,
    ),
    # https://www.postgresql.org/docs/18/sql-createtable.html (NOT NULL [ NO INHERIT ] as a column
    # constraint; before 18 NO INHERIT is accepted only on CHECK)
    Feature(
        18, "NOT NULL ... NO INHERIT", _COLUMNS, _marked(_NOT_NULL_NO_INHERIT),
        no_equivalent="Before PostgreSQL 18 a NOT NULL constraint is always inherited by the child tables.",
    ),
    # https://www.postgresql.org/docs/18/sql-altertable.html (ALTER CONSTRAINT ... [ NO ] INHERIT, for
    # NOT NULL constraints). Older grammars parse it as a constraint attribute, then refuse it.
    Feature(
        18, "ALTER CONSTRAINT ... [NO] INHERIT", _in("AlterTableStmt", K.ALTER_CONSTRAINT),
        lambda t: _altered_constraint(t, "alterInheritability"),
        no_equivalent="Before PostgreSQL 18 the child tables always inherit NOT NULL, and that cannot be changed.",
    ),
    # https://www.postgresql.org/docs/release/18.0/ ("Allow CHECK and foreign key constraints to be
    # specified as NOT ENFORCED"); https://www.postgresql.org/docs/18/sql-createtable.html
    Feature(
        18, "ENFORCED / NOT ENFORCED constraints", _CONSTRAINTS | _in("AlterTableStmt", K.ALTER_CONSTRAINT), _enforcement,
        no_equivalent=(
            "Before PostgreSQL 18 every CHECK and foreign key is enforced; the nearest is NOT VALID, which "
            "skips checking the existing rows but enforces the constraint on new ones."
        ),
    ),
    # https://www.postgresql.org/docs/release/18.0/ ("Add support for temporal PRIMARY KEY and
    # UNIQUE constraints ... WITHOUT OVERLAPS"); https://www.postgresql.org/docs/18/sql-createtable.html
    Feature(
        18, "WITHOUT OVERLAPS", _CONSTRAINTS, _marked("without_overlaps"),
        instead=(
            "-- an exclusion constraint (scalar columns need the btree_gist extension):\n"
            'ALTER TABLE "booking" ADD CONSTRAINT "booking_no_overlap" EXCLUDE USING gist ("room" WITH =, "during" WITH &&);'
        ),
    ),
    # https://www.postgresql.org/docs/release/18.0/ ("Add support for temporal FOREIGN KEY
    # contraints ... PERIOD"); https://www.postgresql.org/docs/18/sql-createtable.html
    Feature(
        18, "a temporal foreign key (PERIOD)", _CONSTRAINTS,
        _marked("fk_with_period", "pk_with_period"),
        no_equivalent="No declarative equivalent before PostgreSQL 18: enforce it with a constraint trigger.",
    ),
)


@cache
def _newer_than(target: int) -> dict[str, tuple[Feature, ...]]:
    """The features newer than `target`, by the shape of the statements that can hold them."""
    by_shape: dict[str, list[Feature]] = {}
    for feature in FEATURES:
        if feature.since > target:
            for shape in feature.where.shapes:
                by_shape.setdefault(shape, []).append(feature)
    return {shape: tuple(features) for shape, features in by_shape.items()}


def check(unit: MigrationUnit) -> Iterator[Hit]:
    target = unit.pg_version
    by_shape = _newer_than(target)
    if not by_shape:
        return
    for statement in unit.statements:
        features = by_shape.get(statement.parsed.shape)
        if features is None:
            continue
        tree = Tree(statement)
        for feature in features:
            if feature.detect(tree):
                yield _hit(statement, tree, feature, target)


def _hit(statement: AnalyzedStatement, tree: Tree, feature: Feature, target: int) -> Hit:
    where = " (inside a DO block)" if statement.parsed.in_do_block else ""
    message = (
        f"{feature.name} needs PostgreSQL {feature.since}; the target is {target} (pg_version in "
        f"schemawarden.toml): PostgreSQL {target} refuses this statement{where}, and the migration fails here."
    )
    recipe = feature.recipe(tree) if feature.recipe else None
    return Hit(
        statement, message, safer=recipe, example=None if recipe else feature.instead,
        no_recipe=None if recipe or feature.instead else feature.no_equivalent,
    )


NEEDS = frozenset(kind for feature in FEATURES for kind in feature.where.kinds)


def _listing() -> str:
    return "; ".join(f"{feature.name} ({feature.since})" for feature in FEATURES)


RULE = Rule(
    code="SW608",
    name="syntax-newer-than-target",
    category=Category.PROCESS,
    severity=Severity.ERROR,
    summary="Use only syntax the target PostgreSQL version accepts.",
    rationale=(
        "schemawarden parses with the newest PostgreSQL grammar, so a statement written for a newer "
        "server parses here; the target server (pg_version, "
        f"{OLDEST_VERSION} to {NEWEST_VERSION}) refuses it and the migration fails at that statement. "
        "The finding names the feature, the version that introduced it and the target, and what works "
        f"on the target where something does. Covered, with the version that introduced each: {_listing()}."
    ),
    safer=(
        "-- on PostgreSQL 14, instead of UNIQUE NULLS NOT DISTINCT: the unique index, plus a partial\n"
        "-- one that admits a single NULL\n"
        'CREATE UNIQUE INDEX "users_email_key" ON "users" ("email");\n'
        'CREATE UNIQUE INDEX "users_email_one_null" ON "users" ((true)) WHERE "email" IS NULL;'
    ),
    bad='CREATE UNIQUE INDEX "users_email_key" ON "users" ("email") NULLS NOT DISTINCT;',
    good=(
        'CREATE UNIQUE INDEX "users_email_key" ON "users" ("email");\n'
        'CREATE UNIQUE INDEX "users_email_one_null" ON "users" ((true)) WHERE "email" IS NULL;'
    ),
    check=check,
    needs=NEEDS,
    bad_context={"pg_version": 14},
    good_context={"pg_version": 14},
)
