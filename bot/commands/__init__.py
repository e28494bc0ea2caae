"""CLI subcommands: one module each, exposing `register(subparsers)`.

`register` adds its parser and sets `handler` (a function from the parsed arguments to an exit
code) with `parser.set_defaults(handler=...)`.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager

# The exit codes every command documents (README): usage errors come from SchemawardenError.exit_code.
EXIT_OK = 0
EXIT_PROBLEM = 1  # a problem found, a finding at the failing severity, or an apply that failed


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
