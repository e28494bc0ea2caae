"""CLI subcommands: one module each, exposing `register(subparsers)`.

`register` adds its parser and sets `handler` (a function from the parsed arguments to an exit
code) with `parser.set_defaults(handler=...)`.
"""

from __future__ import annotations

import atexit
import gc
import os
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

# The exit codes are defined once, in policies/errors.py (EXIT_CODES); these names are for commands.
from policies.errors import EXIT_CODES, EXIT_OK, EXIT_PROBLEM, EXIT_UNREACHABLE, EXIT_USAGE

__all__ = [
    "EXIT_CODES",
    "EXIT_OK",
    "EXIT_PROBLEM",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "exit_codes_epilog",
    "silence",
    "without_cycle_collection",
    "write",
]


def exit_codes_epilog(environment_variables: tuple[tuple[str, str], ...] = ()) -> str:
    """The `--help` epilog: every exit code (from `EXIT_CODES`) and the environment variables read."""

    def item(name: str, text: str) -> str:
        return textwrap.fill(text, width=78, initial_indent=f"  {name}  ", subsequent_indent="      ")

    lines = ["exit codes:", *(item(str(code), meaning) for code, meaning in EXIT_CODES)]
    if environment_variables:
        lines += ["", "environment variables:"]
        lines += [
            f"  {name}\n" + textwrap.fill(what, 78, initial_indent=" " * 6, subsequent_indent=" " * 6)
            for name, what in environment_variables
        ]
    return "\n".join(lines)


def write(stream: TextIO, text: str) -> None:
    """Write `text` to `stream`; when its reader has gone (`| head`), drop this and all later output.

    A closed pipe must not stop a command half way (an apply goes on and records its result);
    it only means nobody reads any more, as with any Unix tool.
    """
    try:
        stream.write(text)
    except BrokenPipeError:
        silence(stream)


def silence(stream: TextIO) -> None:
    """Point `stream`'s file descriptor at /dev/null, so later writes and the exit's flush are quiet."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # not a real file (a test's capture): nothing to redirect
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector for a block that only allocates.

    Importing a command's modules and judging a corpus allocate millions of objects that live on
    (classes, rules) or are acyclic (parse trees, operations, which reference counting frees); the
    cyclic collector would only re-walk them: a sixth of a corpus-sized `check`, and some 10 ms of
    every start. It is switched back on (if it was on) when the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _no_collection_at_exit() -> None:
    """Move every live object out of the cyclic collector's reach: the process is ending.

    The interpreter runs a full collection while it shuts down. After `apply` on a large history,
    or `check` on a corpus, the heap holds the migration set, statements and every module's objects,
    and that collection cost 65-280 ms of a 2-4 s `apply` on dokploy (2 busy cores); frozen, the exit
    takes 10-35 ms. Memory goes back to the system with the process either way; objects that are
    not in a reference cycle are still finalised, and open files are still flushed.
    """
    gc.freeze()


# A command's process ends when the command does (bot.cli imports this package first), so the
# final collection can only re-walk objects that are about to vanish: skip it (docs/decisions.md).
atexit.register(_no_collection_at_exit)
