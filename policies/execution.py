"""How a migration must be executed: the steps, each one transaction or one autocommit statement.

drizzle-orm runs every pending migration inside one transaction, so `CREATE INDEX CONCURRENTLY`
fails and a new enum value cannot be used in the migration that adds it. schemawarden runs a
migration in as few transactions as PostgreSQL allows: one, unless a statement cannot run in a
transaction block (it then runs alone) or a new enum value is used later in the same migration
(the transaction is committed right after `ADD VALUE`).

A migration's own transaction control would break that: a `COMMIT` in the middle commits part
of the migration with no record of it and drops the `SET LOCAL` timeouts. The one harmless form,
a whole file wrapped in `BEGIN; ... COMMIT;`, is read as what it means (the body is one
transaction); any other `BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, ... is reported by
`transaction_control` so that the plan refuses the migration before anything runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from policies.classify import classify
from policies.operations import Operation, OperationKind, quote_name, runs_outside_transaction
from policies.parsing import parse_statement
from policies.recovery import RecoveryTarget, recovery_for
from policies.statements import Statement


class StepKind(StrEnum):
    TRANSACTION = "transaction"
    AUTOCOMMIT = "autocommit"


@dataclass(frozen=True)
class Step:
    """Statements executed together: in one transaction, or one statement outside any.

    `recovery` (autocommit steps only) says how to find and finish what an interrupted attempt
    at the statement left behind (an INVALID index, a partition pending detach, ...).
    """

    kind: StepKind
    statements: tuple[Statement, ...]
    recovery: RecoveryTarget | None = None


@dataclass(frozen=True)
class TransactionControl:
    """A transaction-control statement of a migration (`commit`, `begin`, `savepoint`, ...)."""

    statement: Statement
    command: str


# The first word of every TransactionStmt PostgreSQL accepts (docs: SQL Commands).
_TRANSACTION_WORDS = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"}
)


def transaction_control(statements: Sequence[Statement]) -> list[TransactionControl]:
    """The transaction-control statements that make a migration unsafe to run, in order.

    A leading `BEGIN`/`START TRANSACTION` paired with a trailing `COMMIT`/`END` and no other
    transaction control is the file's own wrapper: not reported (`plan_steps` leaves it out).
    """
    found = _control_statements(statements)
    return [] if _wrapped(statements, found) else found


def plan_steps(statements: Sequence[Statement], pg_major: int) -> list[Step]:
    """Group a migration's statements into execution steps, in order.

    Raises ValueError when the migration has transaction control (the plan refuses such a
    migration before apply gets here).
    """
    found = _control_statements(statements)
    if _wrapped(statements, found):
        statements = statements[1:-1]
    elif found:
        raise ValueError(f"transaction control at line {found[0].statement.line}: {found[0].command}")
    steps: list[Step] = []
    current: list[Statement] = []

    def close_transaction() -> None:
        if current:
            steps.append(Step(StepKind.TRANSACTION, tuple(current)))
            current.clear()

    for position, statement in enumerate(statements):
        operations = _operations(statement)
        outside = [op for op in operations if runs_outside_transaction(op, pg_major)]
        if outside:
            close_transaction()
            steps.append(Step(StepKind.AUTOCOMMIT, (statement,), recovery=recovery_for(outside[0])))
            continue
        current.append(statement)
        new_values = [op.value for op in operations if op.kind is OperationKind.ADD_ENUM_VALUE and op.value]
        if any(_value_used_later(value, statements[position + 1 :]) for value in new_values):
            close_transaction()  # commit the new value before the statement that uses it
    close_transaction()
    return steps


_EXTENSION_SHAPES = frozenset({"CreateExtensionStmt", "AlterExtensionStmt", "AlterExtensionContentsStmt"})


def is_extension_statement(statement: Statement) -> bool:
    """Whether `statement` is a CREATE, ALTER, DROP or COMMENT ON EXTENSION of its own.

    Creating an extension needs a superuser unless the extension is trusted (pgvector is not;
    PostgreSQL 11 and 12 trust none; docs: sql-createextension.html), and changing one needs its
    owner: a scratch database, where migrations run as a role that is not a superuser, runs these
    as the superuser. Inside a DO block such a statement is part of the block, which runs as written.
    """
    if "EXTENSION" not in statement.sql.upper():
        return False
    parsed = parse_statement(statement)
    if len(parsed) != 1 or parsed[0].error is not None:
        return False
    shape, node = parsed[0].shape, parsed[0].node
    if shape == "DropStmt":
        return node.get("removeType") == "OBJECT_EXTENSION"
    if shape == "CommentStmt":
        return node.get("objtype") == "OBJECT_EXTENSION"
    return shape in _EXTENSION_SHAPES


def relations_of(sql_text: str) -> list[str]:
    """The relations a statement touches (also inside DO blocks), quoted for `to_regclass`."""
    found: list[str] = []
    for parsed in parse_statement(Statement(sql=sql_text, line=1, chunk=0)):
        for inner in (parsed, *parsed.inner):
            for operation in classify(inner):
                found.extend(quote_name(name) for name in operation.relations)
    return list(dict.fromkeys(found))


def _first_word(statement: Statement) -> str:
    head = statement.sql.lstrip()[:12].split(None, 1)
    return head[0].rstrip(";").upper() if head else ""


def _transaction_commands(statement: Statement) -> list[str]:
    return [op.detail or "transaction" for op in _operations(statement) if op.kind is OperationKind.TRANSACTION]


def _control_statements(statements: Sequence[Statement]) -> list[TransactionControl]:
    """Every transaction-control statement, wrapper included (only statements that start with such a word are parsed)."""
    return [
        TransactionControl(statement, command)
        for statement in statements
        if _first_word(statement) in _TRANSACTION_WORDS
        for command in _transaction_commands(statement)
    ]


def _wrapped(statements: Sequence[Statement], found: list[TransactionControl]) -> bool:
    """Whether the file is `BEGIN; ...; COMMIT;` with no other transaction control."""
    return (
        len(statements) >= 2
        and len(found) == 2
        and found[0].statement is statements[0]
        and found[0].command in ("begin", "start")
        and found[1].statement is statements[-1]
        and found[1].command == "commit"
    )


def _operations(statement: Statement) -> list[Operation]:
    return [op for parsed in parse_statement(statement) for op in classify(parsed)]


def _value_used_later(value: str, later: Sequence[Statement]) -> bool:
    literal = "'" + value.replace("'", "''") + "'"
    return any(literal in statement.sql for statement in later)


def statement_keys(statements: Sequence[Statement]) -> list[str]:
    """A stable key per statement: the sha-256 of its SQL, with its occurrence number in the file.

    Progress records these keys, so an edited file can be compared statement by statement with
    what already ran (a statement repeated in a file gets `#1`, `#2`, ...).
    """
    seen: dict[str, int] = {}
    keys: list[str] = []
    for statement in statements:
        digest = hashlib.sha256(statement.sql.encode("utf-8")).hexdigest()
        seen[digest] = seen.get(digest, 0) + 1
        keys.append(f"{digest}#{seen[digest]}")
    return keys
