"""CLI subcommands: one module each, exposing `register(subparsers)`.

`register` adds its parser and sets `handler` (a function from the parsed arguments to an exit
code) with `parser.set_defaults(handler=...)`.
"""

# The exit codes every command documents (README): usage errors come from SchemawardenError.exit_code.
EXIT_OK = 0
EXIT_PROBLEM = 1  # a problem found, a finding at the failing severity, or an apply that failed
