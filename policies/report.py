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


@dataclass(frozen=True)
class StatementReport:
    """What one statement does: its operations (JSON-ready), locks, rewrites and scans."""

    line: int
    sql: str
    operations: tuple[dict[str, Any], ...] = ()
    locks: tuple[LockRef, ...] = ()
    rewrites: tuple[str, ...] = ()
    scans: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "sql": self.sql,
            "operations": list(self.operations),
            "locks": [lock.to_json() for lock in self.locks],
            "rewrites": list(self.rewrites),
            "scans": list(self.scans),
        }


@dataclass(frozen=True)
class FileReport:
    """The judgement of one SQL file; `migration` is the journal tag when it belongs to one."""

    path: str
    migration: str | None
    statements: tuple[StatementReport, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "migration": self.migration,
            "statements": [s.to_json() for s in self.statements],
            "findings": [f.to_json() for f in self.findings],
        }
