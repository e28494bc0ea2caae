"""What the analysis knows beyond the SQL text: version, policy, the pull request, the environments.

Everything here is plain data handed in by the caller (the CLI reads the policy file, the bot reads
the pull request); the analysis never looks anything up itself. Fields have safe defaults so that
`Context()` judges a lone file for the default PostgreSQL version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch

from policies.errors import ConfigurationError
from policies.report import Severity
from policies.versions import DEFAULT_PG_VERSION, is_supported, supported_range

RULE_SETTINGS = ("error", "warning", "info", "off")
FILE_CHANGES = ("added", "modified", "deleted")
APPLIERS = ("drizzle", "schemawarden")


@dataclass(frozen=True)
class ColumnFact:
    """A column of an existing table as the caller knows it (from an introspected schema)."""

    type: str
    not_null: bool = False


@dataclass(frozen=True)
class TableSize:
    """How big a table is in one environment (filled by the reconciler's statistics, later)."""

    rows: int
    bytes: int


@dataclass(frozen=True)
class ScratchFailure:
    """A migration that PostgreSQL refused when it ran in a scratch database, on the schema the
    migrations before it leave (found by `check --prove`): the statement's line in the file,
    PostgreSQL's SQLSTATE, message, DETAIL and HINT."""

    line: int
    message: str
    sqlstate: str | None = None
    detail: str | None = None
    hint: str | None = None
    scratch_only: str | None = None
    """Set when the refusal may be the scratch server's rather than the migration's (a privilege of
    the scratch role, a schema the environments provide: `policies.outside.scratch_only`): why."""
    in_rollback: bool = False
    """Set when the migration applied and the rollback written for it did not prove (SW612): the
    rollback did not run, the schema did not come back, the migration did not apply again after it,
    or it exchanges names a rollback cannot follow; `message` says which."""

    def __str__(self) -> str:
        said = f"ERROR {self.sqlstate}: {self.message}" if self.sqlstate else f"ERROR: {self.message}"
        if self.detail:
            said += f" DETAIL: {self.detail}"
        if self.hint:
            said += f" HINT: {self.hint}"
        return f"line {self.line}: {said}"


@dataclass(frozen=True)
class Context:
    """The circumstances of one analysis.

    * `pg_version`: the PostgreSQL major version the migrations will run on.
    * `new_tables`: tables created earlier in the same pull request; they get no lock or rewrite
      findings, because nobody else can be using them yet.
    * `rules`: the policy file's rule table, code -> `error` | `warning` | `info` | `off`.
    * `changed_files`: paths the pull request changes (for the schema-without-migration rule),
      with `schema_globs` naming schema sources and `migrations_dir` the migrations folder.
    * `columns`: known columns of existing tables (relation -> column -> fact), when introspected.
    * `table_sizes`: environment -> relation -> size, for impact wording (open for later use).
    * `transactional`: the migration runs in one transaction, as drizzle-orm's migrator does.
    * `migration_changes`: migration files the pull request touches -> `added`, `modified` or
      `deleted` compared with its base (the caller decides which files are migrations).
    * `applied_by`: who applies the migrations where it matters (DESIGN's table): `drizzle`, whose
      migrator runs all pending migrations in one transaction and sets no lock_timeout, or
      `schemawarden`, whose apply runs each migration in its own transaction, non-transactional
      statements alone, and sets lock_timeout itself.
    * `unlisted_files`: SQL files of a drizzle journal folder that its journal does not list (paths
      as shown to the user): drizzle never applies them.
    * `scratch_failures`: migration path -> how PostgreSQL refused it in a scratch database, on
      the schema before it (`check --prove`).
    """

    pg_version: int = DEFAULT_PG_VERSION
    new_tables: frozenset[str] = frozenset()
    rules: Mapping[str, str] = field(default_factory=dict)
    changed_files: tuple[str, ...] = ()
    schema_globs: tuple[str, ...] = ("src/models/Schema.ts",)
    migrations_dir: str = "migrations"
    columns: Mapping[str, Mapping[str, ColumnFact]] = field(default_factory=dict)
    table_sizes: Mapping[str, Mapping[str, TableSize]] = field(default_factory=dict)
    transactional: bool = True
    migration_changes: Mapping[str, str] = field(default_factory=dict)
    applied_by: str = "drizzle"
    unlisted_files: tuple[str, ...] = ()
    scratch_failures: Mapping[str, ScratchFailure] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not is_supported(self.pg_version):
            raise ConfigurationError(
                f"PostgreSQL version {self.pg_version} is not supported: "
                f"use a major version from {supported_range()}"
            )
        for code, setting in self.rules.items():
            if not re.fullmatch(r"SW\d{3}", code):
                raise ConfigurationError(f"rule {code!r} is not a rule code: codes look like SW101")
            if setting not in RULE_SETTINGS:
                raise ConfigurationError(
                    f"rule {code}: {setting!r} is not a setting; use one of {', '.join(RULE_SETTINGS)}"
                )

        if self.applied_by not in APPLIERS:
            raise ConfigurationError(f"applied_by {self.applied_by!r}: use one of {', '.join(APPLIERS)}")
        for path, status in self.migration_changes.items():
            if status not in FILE_CHANGES:
                raise ConfigurationError(f"{path}: {status!r} is not a change; use one of {', '.join(FILE_CHANGES)}")

    @property
    def drizzle_applies(self) -> bool:
        """drizzle-orm's migrator applies the migrations: one transaction for all pending ones."""
        return self.applied_by == "drizzle"

    def disabled(self, code: str) -> bool:
        return self.rules.get(code) == "off"

    def severity_for(self, code: str, default: Severity) -> Severity:
        """The policy's severity for a rule, or the rule's own when the policy says nothing."""
        setting = self.rules.get(code)
        return Severity(setting) if setting in ("error", "warning", "info") else default

    def is_schema_file(self, path: str) -> bool:
        return any(fnmatch(path, glob) for glob in self.schema_globs)

    def is_migration_file(self, path: str) -> bool:
        folder = self.migrations_dir.strip("/")
        return path.endswith(".sql") and (path.startswith(folder + "/") or f"/{folder}/" in path)
