"""The rulebook: pure, I/O-free parsing, classification, risk rules and rollback SQL.

The short surface: `analyze_sql` judges one migration file, `analyze_migration_texts` the files of
one pull request in order; `Context` carries the PostgreSQL version, policy and pull-request facts.
"""

from policies.analysis import analyze_migration_texts, analyze_sql
from policies.context import Context

__all__ = ["Context", "analyze_migration_texts", "analyze_sql"]
