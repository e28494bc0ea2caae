"""Names inside definitions that PostgreSQL prints (`pg_get_viewdef`, `pg_get_indexdef`, defaults):
which names a text mentions, and the text with some names replaced, read with PostgreSQL's own
scanner (pglast's `scan`, so that strings, dollar quotes and comments are never mistaken for names).

The differ uses them to see a definition as it reads after a rename (a column renamed back makes
an index's text name the old column again) and to find what reads a column whose type changes.
Names are compared as PostgreSQL folds them: an unquoted word in lower case, a quoted one as written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import NamedTuple

from pglast.parser import ParseError, scan

from policies.operations import quote_ident


class Word(NamedTuple):
    """A name in a text: its value as PostgreSQL folds it, and where it stands (`end` exclusive)."""

    value: str
    start: int
    end: int


_KEYWORD_NAMES = frozenset({"UNRESERVED_KEYWORD", "COL_NAME_KEYWORD", "TYPE_FUNC_NAME_KEYWORD"})
"""Keywords that may stand as a name unquoted (a column called `name` or `type`)."""


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[tuple[str, str, int, int], ...]:
    """(name, kind, start, end exclusive) of each token, or nothing when the text does not scan."""
    try:
        return tuple((t.name, t.kind, t.start, t.end + 1) for t in scan(text))
    except ParseError:
        return ()


def words(text: str, *, strings: bool = False) -> Iterator[Word]:
    """The identifiers and non-reserved keywords of `text` (those that can be names), in order;
    with `strings`, also those inside string constants (a function's body), positions then being
    those of the string."""
    for name, kind, start, end in _tokens(text):
        raw = text[start:end]
        if strings and name == "SCONST":
            yield from (w._replace(start=start, end=end) for w in words(_string_value(raw), strings=True))
        elif name == "IDENT" and raw.startswith('"'):
            yield Word(raw[1:-1].replace('""', '"'), start, end)
        elif name == "IDENT" or kind in _KEYWORD_NAMES:
            yield Word(raw.lower(), start, end)


def _string_value(raw: str) -> str:
    """The text inside a string constant: `$tag$...$tag$` or `'...'` (quotes doubled)."""
    if raw.startswith("$"):
        tag_end = raw.index("$", 1) + 1
        return raw[tag_end : len(raw) - tag_end]
    if raw[:1] in "eE":
        raw = raw[1:]
    return raw[1:-1].replace("''", "'") if raw.startswith("'") else raw


def mentions(text: str | None, names: frozenset[str] | set[str], *, strings: bool = False) -> bool:
    """Whether the text names any of `names` as a word (with `strings`, inside string constants
    too: a function's body)."""
    return bool(text) and any(word.value in names for word in words(text or "", strings=strings))


def replace_names(text: str, mapping: Mapping[str, str], *, qualifiers_only: bool = False) -> str:
    """`text` with each name in `mapping` replaced by its new name, quoted as `quote_ident` does.

    With `qualifiers_only`, a name is replaced only where a dot follows it (a schema qualifying a
    name: `old_schema.t`)."""
    if not mapping or not text:
        return text
    pieces: list[str] = []
    last = 0
    for word in words(text):
        new = mapping.get(word.value)
        if new is None or (qualifiers_only and text[word.end : word.end + 1] != "."):
            continue
        pieces.append(text[last : word.start])
        pieces.append(quote_ident(new))
        last = word.end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def replace_literals(text: str, type_names: frozenset[str], mapping: Mapping[str, str]) -> str:
    """`text` with each string literal cast to one of `type_names` (`'old'::status`) whose value is
    in `mapping` replaced by the new value: an enum value renamed."""
    if not mapping or not text:
        return text
    tokens = _tokens(text)
    pieces: list[str] = []
    last = 0
    for position, (name, _, start, end) in enumerate(tokens):
        if name != "SCONST" or position + 2 >= len(tokens) or tokens[position + 1][0] != "TYPECAST":
            continue
        raw = text[start:end]
        if not (raw.startswith("'") and raw.endswith("'")):
            continue
        cast = text[tokens[position + 2][2] :].split("[", 1)[0].split(")", 1)[0].split(" ", 1)[0]
        if cast.replace('"', "").removeprefix("public.") not in type_names:
            continue
        value = raw[1:-1].replace("''", "'")
        if value in mapping:
            pieces.append(text[last:start])
            pieces.append(quote_literal(mapping[value]))
            last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def quote_literal(value: str) -> str:
    """A string as PostgreSQL's `quote_literal` writes it: in single quotes, a quote doubled, and
    with a backslash doubled under an `E` prefix (functions-string.html)."""
    quoted = "'" + value.replace("'", "''") + "'"
    if "\\" in value:
        return "E" + quoted.replace("\\", "\\\\")
    return quoted
