"""Names and literals as the generated SQL writes them: schema-qualified like `pg_dump` (so that the
statements do not depend on `search_path`), each part quoted as PostgreSQL's `quote_ident` does."""

from __future__ import annotations

from policies.operations import quote_ident
from policies.schema.renames import split_key
from policies.schema.sqltext import quote_literal

__all__ = ["bare", "collation", "function_name", "literal", "qualified", "quote_ident"]


def qualified(key: str) -> str:
    """A model key (`users`, `app.users`) as a qualified name: `public.users`, `app.users`."""
    schema, name = split_key(key)
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def bare(key: str) -> str:
    """The object's own name without its schema, quoted: what RENAME TO takes."""
    return quote_ident(split_key(key)[1])


def function_name(signature: str) -> str:
    """A function's key `name(arguments)` as `schema.name(arguments)`."""
    name, paren, arguments = signature.partition("(")
    return qualified(name) + paren + arguments


def literal(value: str) -> str:
    return quote_literal(value)


def collation(text: str) -> str:
    """A collation as `COLLATE` takes it: kept when already quoted or qualified (`pg_catalog."C"`),
    else quoted (`C` -> `"C"`, which an unquoted word would fold to lower case)."""
    return text if text.startswith('"') or "." in text else quote_ident(text)
