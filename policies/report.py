"""The result of judging migration files: plain data behind every output format.

This is the contract between the analysis (operations, locks, rules) and the renderers
(text, markdown, JSON, SARIF, GitHub annotations). The JSON shape is documented in README.md
and is stable: add fields, never rename or remove them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How bad a finding is; ordered so that `error` > `warning` > `info`."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


class Category(StrEnum):
    """The fixed families of risk a rule belongs to."""

    LOCK = "lock"
    REWRITE = "rewrite"
    DATA_LOSS = "data-loss"
    COMPATIBILITY = "compatibility"
    DESIGN = "design"
    PROCESS = "process"


class SaferKind(StrEnum):
    """What a finding's `safer` text is.

    * `recipe`: SQL written for the flagged statement, with its own names, ready to paste;
    * `example`: the rule's worked example on made-up tables (no recipe fits this statement
      mechanically): renderers label it as an example;
    * `none`: no safe recipe exists for this statement (a partitioned table, say); `safer` says why,
      or is empty.
    """

    RECIPE = "recipe"
    EXAMPLE = "example"
    NONE = "none"


@dataclass(frozen=True)
class Finding:
    """One rule hit at one statement (or the whole file when `line` is None)."""

    code: str
    name: str
    category: Category
    severity: Severity
    line: int | None
    message: str
    safer: str
    safer_kind: SaferKind = SaferKind.RECIPE

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "category": self.category.value,
            "severity": self.severity.value,
            "line": self.line,
            "message": self.message,
            "safer": self.safer,
            "safer_kind": self.safer_kind.value,
        }


@dataclass(frozen=True)
class LockRef:
    """A lock a statement takes: the relation and the PostgreSQL lock mode name."""

    relation: str
    mode: str

    def to_json(self) -> dict[str, Any]:
        return {"relation": self.relation, "mode": self.mode}


class RollbackStatus(StrEnum):
    """What the round trip in a scratch database proved of a migration's rollback.

    * `verified`: the rollback ran and the schema came back exactly, and the migration applied
      again after it; the migration destroys no data, so nothing is lost by going back;
    * `irreversible`: the structure can be restored (the SQL is still given, and was run when the
      proof got that far) but data cannot: `reason` names what is lost (a dropped column or table,
      an enum value removed, values changed by an UPDATE);
    * `failed`: the migration or its rollback did not run, or the schema did not come back;
      `reason` holds PostgreSQL's error and the statement, or the differences left.
    """

    VERIFIED = "verified"
    IRREVERSIBLE = "irreversible"
    FAILED = "failed"


@dataclass(frozen=True)
class Rollback:
    """The rollback of one migration: its SQL as a script (each statement ending with `;`, one per
    line or more; empty when there is none), the status the proof gave it, why (for `irreversible`
    and `failed`) and notes a person should read (column order no ALTER restores)."""

    status: RollbackStatus
    sql: str
    reason: str | None = None
    notes: tuple[str, ...] = ()

    NOT_PROVEN_HEADER = "-- did not prove (see the reason): shown for diagnosis only, commented out so that it cannot run"

    def shown_sql(self) -> str:
        """The SQL as people are shown it (text, markdown, `rollback-sql`, the PR comment): as it is,
        unless the proof failed, when every line is commented out under `NOT_PROVEN_HEADER`, so that
        a script that did not prove (a name swap renamed back by name would move data between
        columns) cannot be run by pasting or piping it. JSON keeps `sql` as written, with `status`."""
        if self.status is not RollbackStatus.FAILED or not self.sql.strip():
            return self.sql
        commented = "".join(f"-- {line}\n" for line in self.sql.rstrip("\n").splitlines())
        return f"{self.NOT_PROVEN_HEADER}\n{commented}"

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status.value, "sql": self.sql, "reason": self.reason, "notes": list(self.notes)}


@dataclass(frozen=True)
class StatementReport:
    """What one statement does: its operations (JSON-ready), locks, rewrites and scans.

    With `check --prove`, `traced_locks` and `traced_rewrites` are what PostgreSQL really did when
    the statement ran in a scratch database (`pg_locks` of our backend, relfilenodes), in the shapes
    of `locks` and `rewrites`, and `trace_contradictions` says where the lock model's prediction
    differs from it (a lock-model bug); all three are None without a proof.
    """

    line: int
    sql: str
    operations: tuple[dict[str, Any], ...] = ()
    locks: tuple[LockRef, ...] = ()
    rewrites: tuple[str, ...] = ()
    scans: tuple[str, ...] = ()
    traced_locks: tuple[LockRef, ...] | None = None
    traced_rewrites: tuple[str, ...] | None = None
    trace_contradictions: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "sql": self.sql,
            "operations": list(self.operations),
            "locks": [lock.to_json() for lock in self.locks],
            "rewrites": list(self.rewrites),
            "scans": list(self.scans),
            "traced_locks": None if self.traced_locks is None else [lock.to_json() for lock in self.traced_locks],
            "traced_rewrites": None if self.traced_rewrites is None else list(self.traced_rewrites),
            "trace_contradictions": None if self.trace_contradictions is None else list(self.trace_contradictions),
        }


@dataclass(frozen=True)
class FileReport:
    """The judgement of one SQL file; `migration` is the journal tag when it belongs to one.

    `rollback` is the proven rollback (`check --prove`), None without a proof."""

    path: str
    migration: str | None
    statements: tuple[StatementReport, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    rollback: Rollback | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "migration": self.migration,
            "statements": [s.to_json() for s in self.statements],
            "findings": [f.to_json() for f in self.findings],
            "rollback": None if self.rollback is None else self.rollback.to_json(),
        }
