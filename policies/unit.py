"""What rules see: one migration's analysed statements and what earlier statements established.

`Knowledge` accumulates, statement by statement (and file by file within a pull request), the facts
later statements depend on: which tables are new, the columns' types, the CHECK constraints (what
they read, whether validated, which prove a column NOT NULL), the foreign keys added NOT VALID,
which indexes exist for foreign keys. Rules read it; they never parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from policies.context import ColumnFact, Context
from policies.locks import Effect
from policies.operations import Operation, OperationKind
from policies.parsing import ParsedStatement

K = OperationKind
_CREATED_OBJECTS = frozenset(
    {K.CREATE_TYPE, K.CREATE_DOMAIN, K.CREATE_SEQUENCE, K.CREATE_FUNCTION, K.CREATE_SCHEMA}
)


def relation_key(relation: str) -> str:
    """`public.users` and `users` are the same table for PostgreSQL's default search path."""
    return relation.removeprefix("public.")


@dataclass(frozen=True)
class CheckFact:
    """A CHECK constraint the analysis saw added: the columns it reads, whether it is validated,
    and the column it proves NOT NULL when it is `CHECK (column IS NOT NULL)`."""

    columns: tuple[str, ...]
    validated: bool
    not_null_column: str | None = None


@dataclass
class Knowledge:
    """Facts established by the statements analysed so far (mutable while analysing)."""

    new_relations: set[str] = field(default_factory=set)
    columns: dict[str, dict[str, ColumnFact]] = field(default_factory=dict)
    checks: dict[tuple[str, str], CheckFact] = field(default_factory=dict)
    """(table, constraint name) -> a CHECK constraint the statements so far added."""
    not_valid_foreign_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    """(table, constraint) -> referenced table, for foreign keys added NOT VALID."""
    indexed_prefixes: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    primary_keys: set[str] = field(default_factory=set)
    new_enum_types: set[str] = field(default_factory=set)
    new_objects: set[str] = field(default_factory=set)
    """Types, domains, sequences, functions and schemas created by the statements so far."""

    @classmethod
    def from_context(cls, context: Context) -> Knowledge:
        knowledge = cls(new_relations={relation_key(t) for t in context.new_tables})
        for relation, columns in context.columns.items():
            knowledge.columns[relation_key(relation)] = dict(columns)
        return knowledge

    def is_new(self, relation: str | None) -> bool:
        return relation is not None and relation_key(relation) in self.new_relations

    def column(self, relation: str | None, column: str) -> ColumnFact | None:
        if relation is None:
            return None
        return self.columns.get(relation_key(relation), {}).get(column)

    def is_new_object(self, name: str | None) -> bool:
        """A type, domain, sequence, function or schema this migration (or pull request) created."""
        return name is not None and relation_key(name) in self.new_objects

    def has_index_for(self, relation: str, columns: tuple[str, ...]) -> bool:
        """An index whose leading columns are exactly the given ones (in any order) exists."""
        wanted = set(columns)
        return any(
            set(prefix[: len(columns)]) == wanted
            for prefix in self.indexed_prefixes.get(relation_key(relation), set())
        )

    def validated_checks(self, relation: str) -> list[CheckFact]:
        """The validated CHECK constraints known on a table."""
        key = relation_key(relation)
        return [fact for (table, _), fact in self.checks.items() if table == key and fact.validated]

    def enrich(self, op: Operation) -> Operation:
        """The operation with facts only earlier statements know (old column type, proofs)."""
        column = op.columns[0] if op.columns else None
        if op.kind is K.ALTER_COLUMN_TYPE and op.relation and column:
            fact = self.column(op.relation, column)
            rechecked = any(column in check.columns for check in self.validated_checks(op.relation))
            if fact is not None and fact.type:
                op = op._replace(old_type=fact.type)
            return op._replace(rechecked=True) if rechecked else op
        proofs = self.validated_checks(op.relation) if op.kind is K.SET_NOT_NULL and op.relation else []
        if column and any(check.not_null_column == column for check in proofs):
            return op._replace(proven_not_null=True)
        if op.kind is K.VALIDATE_CONSTRAINT and op.relation and op.name:
            referenced = self.not_valid_foreign_keys.get((relation_key(op.relation), op.name))
            if referenced is not None:
                return op._replace(referenced_relation=referenced)
        return op

    def learn(self, op: Operation) -> None:
        """Record what an operation establishes for the statements after it."""
        key = relation_key(op.relation) if op.relation else None
        if op.kind in (K.CREATE_TABLE, K.CREATE_TABLE_AS, K.CREATE_MATERIALIZED_VIEW, K.CREATE_VIEW) and key:
            self.new_relations.add(key)
            self.columns[key] = {
                spec.name: ColumnFact(spec.type, spec.not_null) for spec in op.column_specs
            }
            for spec in op.column_specs:
                if spec.primary_key or spec.unique:
                    self._index(key, (spec.name,))
                if spec.primary_key:
                    self.primary_keys.add(key)
        elif op.kind is K.CREATE_INDEX and key:
            self._index(key, op.columns)
            if op.name and self.is_new(op.relation):
                self.new_relations.add(relation_key(op.name))
        elif op.kind is K.CREATE_ENUM and op.name:
            self.new_enum_types.add(op.name)
            self.new_objects.add(relation_key(op.name))
        elif op.kind in _CREATED_OBJECTS and (op.name or op.relation):
            self.new_objects.add(relation_key(op.name or op.relation or ""))
        elif key is not None:
            self._learn_column_change(op, key)

    def _learn_column_change(self, op: Operation, key: str) -> None:
        column = op.columns[0] if op.columns else None
        known = self.columns.setdefault(key, {})
        if op.kind is K.ADD_COLUMN and column and op.column_type:
            known[column] = ColumnFact(op.column_type, op.not_null)
        elif op.kind is K.ALTER_COLUMN_TYPE and column and op.column_type:
            old = known.get(column)
            known[column] = ColumnFact(op.column_type, old.not_null if old else False)
        elif op.kind in (K.SET_NOT_NULL, K.DROP_NOT_NULL, K.ADD_IDENTITY) and column:
            old = known.get(column)
            if old is not None or op.kind is not K.DROP_NOT_NULL:
                known[column] = ColumnFact(old.type if old else "", op.kind is not K.DROP_NOT_NULL)
            else:
                known[column] = ColumnFact("", False)
        elif op.kind is K.DROP_COLUMN and column:
            known.pop(column, None)
            for name in [n for (table, n), check in self.checks.items() if table == key and column in check.columns]:
                del self.checks[(key, name)]  # PostgreSQL drops the constraints that read the column
        elif op.kind in (K.ADD_PRIMARY_KEY, K.ADD_UNIQUE, K.ADD_EXCLUSION):
            self._index(key, op.columns)
            if op.kind is K.ADD_PRIMARY_KEY:
                self.primary_keys.add(key)
        elif op.kind is K.ADD_CHECK:
            name = op.name or f"(unnamed {len(self.checks)})"  # PostgreSQL names it; nothing can refer to it here
            self.checks[(key, name)] = CheckFact(op.columns, not op.not_valid, op.check_not_null_column)
        elif op.kind is K.ADD_FOREIGN_KEY and op.not_valid and op.name and op.referenced_relation:
            self.not_valid_foreign_keys[(key, op.name)] = op.referenced_relation
        elif op.kind is K.VALIDATE_CONSTRAINT and op.name and (key, op.name) in self.checks:
            self.checks[(key, op.name)] = replace(self.checks[(key, op.name)], validated=True)
        elif op.kind is K.DROP_CONSTRAINT and op.name:
            self.checks.pop((key, op.name), None)
            self.not_valid_foreign_keys.pop((key, op.name), None)
        elif op.kind is K.RENAME_TABLE and op.new_name:
            schema = key.rpartition(".")[0]
            new_key = relation_key(f"{schema}.{op.new_name}" if schema else op.new_name)
            if key in self.new_relations:
                self.new_relations.add(new_key)
            self.columns[new_key] = self.columns.pop(key, {})
            for table, name in [k for k in self.checks if k[0] == key]:
                self.checks[(new_key, name)] = self.checks.pop((table, name))
        elif op.kind is K.RENAME_COLUMN and column and op.new_name:
            if column in known:
                known[op.new_name] = known.pop(column)
            for (table, name), check in list(self.checks.items()):
                if table == key and column in check.columns:
                    renamed = tuple(op.new_name if c == column else c for c in check.columns)
                    proves = op.new_name if check.not_null_column == column else check.not_null_column
                    self.checks[(table, name)] = replace(check, columns=renamed, not_null_column=proves)

    def _index(self, key: str, columns: tuple[str, ...]) -> None:
        if columns:
            self.indexed_prefixes.setdefault(key, set()).add(columns)


@dataclass(frozen=True)
class AnalyzedStatement:
    """One statement with its operations and their effects, as rules see it.

    `new_relations` are the relations created before this statement (or by it) in the same
    migration or pull request; `suppressed` holds codes its `-- schemawarden-ignore` names
    (`*` for all).
    """

    index: int
    parsed: ParsedStatement
    operations: tuple[Operation, ...]
    effects: tuple[Effect, ...]
    new_relations: frozenset[str]
    suppressed: frozenset[str] = frozenset()

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
    knowledge: Knowledge
    file_suppressed: frozenset[str] = frozenset()

    @property
    def pg_version(self) -> int:
        return self.context.pg_version

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
