"""`schemawarden check`: judge SQL files or migration folders (built in the rulebook issue)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("check", help="judge migrations: locks, rewrites, data loss, risk")
    parser.add_argument("paths", nargs="*")
    parser.set_defaults(handler=_not_built)


def _not_built(args: argparse.Namespace) -> int:
    print("schemawarden check: not built yet")
    return 2
