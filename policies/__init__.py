"""The rulebook: pure, I/O-free parsing, classification, risk rules and rollback SQL.

The short surface: `analyze_sql` judges one migration file, `analyze_migration_texts` the files of
one pull request in order; `Context` carries the PostgreSQL version, policy and pull-request facts.
They are loaded on first use, so that importing a small module of the package (`policies.errors`,
`policies.statements`) does not load every rule: `schemawarden apply` starts faster.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policies.analysis import analyze_migration_texts, analyze_sql
    from policies.context import Context

__all__ = ["Context", "analyze_migration_texts", "analyze_sql"]

_HOMES = {
    "analyze_sql": "policies.analysis",
    "analyze_migration_texts": "policies.analysis",
    "Context": "policies.context",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'policies' has no attribute {name!r}")
