"""The `schemawarden` command: parses arguments, dispatches to a subcommand, maps errors to exit codes.

Exit codes (defined once in `policies.errors.EXIT_CODES`, listed by every `--help`): 0 ok; 1 a
problem was found, or apply was blocked or failed; 2 usage or configuration error; 3 a database
could not be reached. A closed output pipe (`schemawarden plan ... | head`) ends output quietly: `plan`, `apply`
and `status` finish their work and return their own code; another command stops with 141, as a
Unix tool ended by SIGPIPE.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bot.commands import exit_codes_epilog, silence, without_cycle_collection
from policies.errors import SchemawardenError

Handler = Callable[[argparse.Namespace], int]

EXIT_BROKEN_PIPE = 128 + 13
"""What a shell reports for a tool ended by SIGPIPE (141), when output stopped before the command ended."""

RECONCILE_COMMANDS = frozenset({"plan", "apply", "status", "demo"})
SERVICE_COMMANDS = frozenset({"setup", "serve", "worker"})
PROOF_COMMANDS = frozenset({"rollback-sql", "revert"})
OUR_LOGGERS = ("bot", "reconciler", "policies")
"""The loggers `-v` turns up; other libraries (psycopg, ...) stay at warnings."""


class _VersionAction(argparse.Action):
    """`--version`: `schemawarden X.Y.Z` from the installed package's metadata, exit 0.

    Read only when asked: importlib.metadata costs milliseconds every start otherwise.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit", **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("schemawarden")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "unknown (not installed: pip install -e .)"
        sys.stdout.write(f"schemawarden {number}\n")
        parser.exit(0)


def _add_verbose(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="log what happens (connections, plan, each step) on stderr; -vv for debug detail",
    )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; when `command` is known, only that family of subcommands is loaded.

    `check` loads every rule and renderer, `apply` the database drivers; a deploy pipeline
    or a pre-commit hook need not pay for the other (about a quarter of a second).
    """
    parser = argparse.ArgumentParser(
        prog="schemawarden",
        description="GitOps reconciler and PR bot for PostgreSQL schemas managed with Drizzle ORM.",
        epilog=exit_codes_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    _add_verbose(parser, 0)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if command not in RECONCILE_COMMANDS | SERVICE_COMMANDS and command != "check":
        from bot.commands import revert

        revert.register(subparsers)
    if command != "check" and command not in SERVICE_COMMANDS and command not in PROOF_COMMANDS:
        from bot.commands import reconcile as reconcile_commands

        reconcile_commands.register(subparsers)
    if command not in RECONCILE_COMMANDS | SERVICE_COMMANDS | PROOF_COMMANDS:
        from bot.commands import check

        check.register(subparsers)
    if command not in RECONCILE_COMMANDS | PROOF_COMMANDS and command != "check":
        from bot.commands import service

        service.register(subparsers)
    for subparser in subparsers.choices.values():
        # After the subcommand too; SUPPRESS keeps a -v given before it (argparse would reset it).
        _add_verbose(subparser, argparse.SUPPRESS)
    return parser


def _configure_logging(verbosity: int) -> None:
    """Warnings only by default; `-v` logs our INFO messages, `-vv` our DEBUG ones, on stderr."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if verbosity:
        level = logging.INFO if verbosity == 1 else logging.DEBUG
        for name in OUR_LOGGERS:
            logging.getLogger(name).setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (never raises for a user's mistake)."""
    try:
        return _main(argv)
    except BrokenPipeError:  # the reader of our output has gone: stop quietly, as Unix tools do
        silence(sys.stdout)
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    with without_cycle_collection():  # the imports of a command's modules only allocate
        parser = build_parser(next((a for a in arguments if not a.startswith("-")), None))
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help and --version
        sys.stdout.flush()
        return int(exc.code or 0)
    _configure_logging(args.verbose)
    handler: Handler = args.handler
    try:
        code = handler(args)
    except SchemawardenError as exc:
        print(f"schemawarden: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("schemawarden: interrupted", file=sys.stderr)
        return 130
    sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
    return code


if __name__ == "__main__":
    sys.exit(main())
