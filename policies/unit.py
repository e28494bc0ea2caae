"""What rules see: one migration's analysed statements and the schema each one meets.

Every statement carries the schema just before it (`policies.schema.Schema`, immutable): the
tables, columns with their types, constraints, indexes, enums and sequences that earlier statements
of the folder, the pull request's base or this migration created. Rules read it; they never parse.
A migration also knows the statements that share its transaction when drizzle-orm applies it
together with the migrations before it (`MigrationUnit.earlier`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from policies.context import Context
from policies.locks import Effect
from policies.operations import Operation, OperationKind
from policies.parsing import ParsedStatement
from policies.schema.model import EMPTY_SCHEMA, Schema, relation_key
from policies.schema.refusals import Refusal

K = OperationKind

__all__ = ["AnalyzedStatement", "Located", "MigrationUnit", "relation_key"]


@dataclass(frozen=True)
class AnalyzedStatement:
    """One statement with its operations and their effects, as rules see it.

    `new_relations` are the relations and objects created before this statement (or by it) in the
    same deploy (the migration, or the pull request's new migrations); `suppressed` holds codes its
    `-- schemawarden-ignore` names (`*` for all).
    """

    index: int
    parsed: ParsedStatement
    operations: tuple[Operation, ...]
    effects: tuple[Effect, ...]
    new_relations: frozenset[str]
    suppressed: frozenset[str] = frozenset()
    schema: Schema = EMPTY_SCHEMA
    """The schema just before the statement."""
    refusals: tuple[Refusal, ...] = ()
    """What PostgreSQL refuses in this statement for that schema (certain failures)."""
    path: str = ""
    """The migration file the statement belongs to."""

    @property
    def line(self) -> int:
        return self.parsed.line

    @property
    def sql(self) -> str:
        return self.parsed.statement.sql

    def is_new(self, relation: str | None) -> bool:
        """The relation was created earlier in this migration or pull request (or by this statement)."""
        return relation is not None and relation_key(relation) in self.new_relations


@dataclass(frozen=True)
class MigrationUnit:
    """One migration file as analysed: rules receive this and the context."""

    path: str
    text: str
    statements: tuple[AnalyzedStatement, ...]
    context: Context
    schema_before: Schema = EMPTY_SCHEMA
    schema_after: Schema = EMPTY_SCHEMA
    file_suppressed: frozenset[str] = frozenset()
    created: frozenset[str] = frozenset()
    """Relations and objects (types, sequences, schemas, functions) created in this deploy."""
    earlier: tuple[AnalyzedStatement, ...] = ()
    """Statements of earlier migrations that run in the same transaction as this one: drizzle-orm's
    migrator applies a pull request's new migrations in one transaction (`applied_by = "drizzle"`)."""

    @property
    def pg_version(self) -> int:
        return self.context.pg_version

    def is_new_object(self, name: str | None) -> bool:
        """A relation, type, domain, sequence, function or schema this deploy created."""
        return name is not None and relation_key(name) in self.created

    def in_transaction(self) -> tuple[AnalyzedStatement, ...]:
        """The statements of this migration's transaction in order: `earlier` ones first."""
        return (*self.earlier, *self.statements) if self.earlier else self.statements

    def owns(self, statement: AnalyzedStatement) -> bool:
        """The statement is this migration's own (not one of an earlier migration in its transaction)."""
        return statement.path == self.path

    @cached_property
    def by_kind(self) -> dict[OperationKind, list[Located]]:
        """Every operation grouped by kind, in statement order (rules ask by kind, many times)."""
        grouped: dict[OperationKind, list[Located]] = {}
        order = 0
        for statement in self.statements:
            for op, result in zip(statement.operations, statement.effects, strict=True):
                grouped.setdefault(op.kind, []).append(Located(order, statement, op, result))
                order += 1
        return grouped

    @cached_property
    def written_types(self) -> tuple[tuple[AnalyzedStatement, Operation, str, str], ...]:
        """Every column type the migration writes: (statement, operation, column, type as written).

        Column definitions (CREATE TABLE, ADD COLUMN) in statement order, then the new types of
        ALTER COLUMN ... TYPE; several design rules each look here for a type of their own.
        """
        defined = sorted(
            (item for kind in (K.CREATE_TABLE, K.ADD_COLUMN) for item in self.by_kind.get(kind, ())),
            key=lambda item: item.order,
        )
        found = [(x.statement, x.operation, spec.name, spec.type) for x in defined for spec in x.operation.column_specs]
        for x in self.by_kind.get(K.ALTER_COLUMN_TYPE, ()):
            op = x.operation
            if op.column_type and op.columns:
                found.append((x.statement, op, op.columns[0], op.column_type))
        return tuple(found)


@dataclass(frozen=True)
class Located:
    """An operation with its statement, its effect and its position in the migration."""

    order: int
    statement: AnalyzedStatement
    operation: Operation
    effect: Effect
