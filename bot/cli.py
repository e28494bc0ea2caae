"""The `schemawarden` command: parses arguments, dispatches to a subcommand, maps errors to exit codes.

Exit codes: 0 ok; 1 a problem was found (tampered, unknown or out-of-order migrations, drift,
findings at the failing severity) or an apply failed; 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bot.commands import without_cycle_collection
from policies.errors import SchemawardenError

Handler = Callable[[argparse.Namespace], int]


RECONCILE_COMMANDS = frozenset({"plan", "apply", "status", "demo"})


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; when `command` is known, only that family of subcommands is loaded.

    `check` loads every rule and renderer, `apply` the database drivers; a deploy pipeline
    or a pre-commit hook need not pay for the other (about a quarter of a second).
    """
    parser = argparse.ArgumentParser(
        prog="schemawarden",
        description="GitOps reconciler and PR bot for PostgreSQL schemas managed with Drizzle ORM.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if command != "check":
        from bot.commands import reconcile as reconcile_commands

        reconcile_commands.register(subparsers)
    if command not in RECONCILE_COMMANDS:
        from bot.commands import check

        check.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    with without_cycle_collection():  # the imports of a command's modules only allocate
        parser = build_parser(next((a for a in arguments if not a.startswith("-")), None))
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except SchemawardenError as exc:
        print(f"schemawarden: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("schemawarden: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
