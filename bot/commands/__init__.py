"""CLI subcommands: one module each, exposing `register(subparsers)`.

`register` adds its parser and sets `handler` (a function from the parsed arguments to an exit
code) with `parser.set_defaults(handler=...)`.
"""
