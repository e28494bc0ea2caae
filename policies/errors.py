"""One hierarchy for every error a user can hit, so the CLI can print it without a traceback.

The exit codes of every command are defined here, once: the error classes carry them, the CLI's
`--help` lists them from `EXIT_CODES`, and a test holds the README to the same list.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "ok"),
    (
        EXIT_PROBLEM,
        "a problem was found (a finding at the failing severity; a tampered, unknown, out-of-order "
        "or partial migration; drift), or apply was blocked (by its gate, another runner) or failed",
    ),
    (
        EXIT_USAGE,
        "usage or configuration error (bad arguments, policy file, migrations folder, or an "
        "environment without a URL)",
    ),
    (EXIT_UNREACHABLE, "a database could not be reached (down, DNS, TLS, refused login)"),
)
"""(code, meaning) for every exit code a command may return, in order."""


class SchemawardenError(Exception):
    """Base of every user-facing error: its message says what is wrong and what to do."""

    exit_code = EXIT_PROBLEM


class ConfigurationError(SchemawardenError):
    """Bad settings, policy file or command-line usage (exit code 2)."""

    exit_code = EXIT_USAGE


class MigrationSetError(SchemawardenError):
    """A migrations folder that cannot be read as Drizzle would read it.

    `path` names the offending file; `line` is set when the problem has a line.
    """

    exit_code = EXIT_USAGE

    def __init__(self, path: str, problem: str, fix: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        self.fix = fix
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}. {fix}")
