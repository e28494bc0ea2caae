"""How a migration must be executed: the steps, each one transaction or one autocommit statement.

drizzle-orm runs every pending migration inside one transaction, so `CREATE INDEX CONCURRENTLY`
fails and a new enum value cannot be used in the migration that adds it. schemawarden runs a
migration in as few transactions as PostgreSQL allows: one, unless a statement cannot run in a
transaction block (it then runs alone) or a new enum value is used later in the same migration
(the transaction is committed right after `ADD VALUE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from policies.classify import classify
from policies.operations import Operation, OperationKind, quote_name, runs_outside_transaction
from policies.parsing import parse_statement
from policies.statements import Statement


class StepKind(StrEnum):
    TRANSACTION = "transaction"
    AUTOCOMMIT = "autocommit"


@dataclass(frozen=True)
class Step:
    """Statements executed together: in one transaction, or one statement outside any.

    `index` names the index a CONCURRENTLY statement builds or drops, so that a run that
    was killed half way can find an INVALID index and rebuild it.
    """

    kind: StepKind
    statements: tuple[Statement, ...]
    index: str | None = None
    creates_index: bool = False


def plan_steps(statements: Sequence[Statement], pg_major: int) -> list[Step]:
    """Group a migration's statements into execution steps, in order."""
    steps: list[Step] = []
    current: list[Statement] = []

    def close_transaction() -> None:
        if current:
            steps.append(Step(StepKind.TRANSACTION, tuple(current)))
            current.clear()

    for position, statement in enumerate(statements):
        operations = _operations(statement)
        if any(runs_outside_transaction(op, pg_major) for op in operations):
            close_transaction()
            index, creates = _index_target(operations)
            steps.append(Step(StepKind.AUTOCOMMIT, (statement,), index=index, creates_index=creates))
            continue
        current.append(statement)
        new_values = [op.value for op in operations if op.kind is OperationKind.ADD_ENUM_VALUE and op.value]
        if any(_value_used_later(value, statements[position + 1 :]) for value in new_values):
            close_transaction()  # commit the new value before the statement that uses it
    close_transaction()
    return steps


def relations_of(sql_text: str) -> list[str]:
    """The relations a statement touches (also inside DO blocks), quoted for `to_regclass`."""
    found: list[str] = []
    for parsed in parse_statement(Statement(sql=sql_text, line=1, chunk=0)):
        for inner in (parsed, *parsed.inner):
            for operation in classify(inner):
                found.extend(quote_name(name) for name in operation.relations)
    return list(dict.fromkeys(found))


def _operations(statement: Statement) -> list[Operation]:
    return [op for parsed in parse_statement(statement) for op in classify(parsed)]


def _index_target(operations: Sequence[Operation]) -> tuple[str | None, bool]:
    """The index a CONCURRENTLY statement builds or drops, quoted for `to_regclass`."""
    for op in operations:
        if op.kind is OperationKind.CREATE_INDEX and op.name:
            schema = op.relation.rsplit(".", 1)[0] if op.relation and "." in op.relation else None
            return quote_name(f"{schema}.{op.name}" if schema else op.name), True
        if op.kind is OperationKind.DROP_INDEX and op.name:
            return quote_name(op.name), False
    return None, False


def _value_used_later(value: str, later: Sequence[Statement]) -> bool:
    literal = "'" + value.replace("'", "''") + "'"
    return any(literal in statement.sql for statement in later)
