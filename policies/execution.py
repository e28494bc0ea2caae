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

import pglast
from pglast import ast
from pglast.parser import ParseError
from pglast.visitors import Visitor

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
        node = _parse_one(statement.sql)
        if node is not None and _needs_autocommit(node, pg_major):
            close_transaction()
            index, creates = _index_target(node)
            steps.append(Step(StepKind.AUTOCOMMIT, (statement,), index=index, creates_index=creates))
            continue
        current.append(statement)
        new_value = node.newVal if isinstance(node, ast.AlterEnumStmt) and not node.oldVal else None
        if new_value and _value_used_later(new_value, statements[position + 1 :]):
            close_transaction()  # commit the new value before the statement that uses it
    close_transaction()
    return steps


def runs_outside_transaction(sql_text: str, pg_major: int) -> bool:
    """Whether PostgreSQL refuses to run this statement inside a transaction block."""
    node = _parse_one(sql_text)
    return node is not None and _needs_autocommit(node, pg_major)


def _parse_one(sql_text: str) -> ast.Node | None:
    try:
        parsed = pglast.parse_sql(sql_text)
    except ParseError:
        return None  # PostgreSQL will report it when the statement runs
    if len(parsed) != 1:
        return None
    stmt: ast.Node | None = parsed[0].stmt
    return stmt


def _needs_autocommit(node: ast.Node, pg_major: int) -> bool:
    if isinstance(node, ast.IndexStmt | ast.DropStmt):
        return bool(node.concurrent)
    if isinstance(node, ast.ReindexStmt):
        return any(p.defname == "concurrently" for p in node.params or ())
    if isinstance(node, ast.VacuumStmt | ast.AlterSystemStmt | ast.CreatedbStmt | ast.DropdbStmt):
        return True
    if isinstance(node, ast.CreateTableSpaceStmt | ast.DropTableSpaceStmt):
        return True
    if isinstance(node, ast.AlterEnumStmt) and node.newVal and not node.oldVal:
        return pg_major < 12  # ADD VALUE may run in a transaction block from PostgreSQL 12
    if isinstance(node, ast.AlterTableStmt):
        return any(
            isinstance(cmd, ast.AlterTableCmd)
            and isinstance(cmd.def_, ast.PartitionCmd)
            and bool(cmd.def_.concurrent)
            for cmd in node.cmds or ()
        )
    if isinstance(node, ast.ClusterStmt):
        return node.relation is None  # CLUSTER of every table cannot run in a transaction
    return False


def _index_target(node: ast.Node) -> tuple[str | None, bool]:
    """The schema-qualified (when written so) index a CONCURRENTLY statement touches."""
    if isinstance(node, ast.IndexStmt) and node.idxname:
        schema = node.relation.schemaname if node.relation else None
        return (_quote(schema, node.idxname), True)
    if isinstance(node, ast.DropStmt) and node.objects and len(node.objects) == 1:
        names = [n.sval for n in node.objects[0]]
        return (_quote(*names) if 1 <= len(names) <= 2 else None, False)
    return (None, False)


def _quote(*parts: str | None) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts if p)


def _value_used_later(value: str, later: Sequence[Statement]) -> bool:
    literal = "'" + value.replace("'", "''") + "'"
    return any(literal in statement.sql for statement in later)


def relations_of(sql_text: str) -> list[str]:
    """The relations a statement names (schema-qualified when written so), for lock diagnostics."""
    try:
        parsed = pglast.parse_sql(sql_text)
    except ParseError:
        return []
    found: list[str] = []

    class RangeVarCollector(Visitor):
        def visit_RangeVar(self, ancestors: object, node: ast.RangeVar) -> None:
            name = _quote(node.schemaname, node.relname)
            if name not in found:
                found.append(name)

    RangeVarCollector()(parsed)
    return found
