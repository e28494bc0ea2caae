"""One hierarchy for every error a user can hit, so the CLI can print it without a traceback."""

from __future__ import annotations


class SchemawardenError(Exception):
    """Base of every user-facing error: its message says what is wrong and what to do."""

    exit_code = 1


class ConfigurationError(SchemawardenError):
    """Bad settings, policy file or command-line usage (exit code 2)."""

    exit_code = 2


class MigrationSetError(SchemawardenError):
    """A migrations folder that cannot be read as Drizzle would read it.

    `path` names the offending file; `line` is set when the problem has a line.
    """

    exit_code = 2

    def __init__(self, path: str, problem: str, fix: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        self.fix = fix
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}. {fix}")
