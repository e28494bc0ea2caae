"""Parsing statements with pglast (PostgreSQL's own grammar), including the bodies of DO blocks.

The parse tree is read as pglast's JSON form (decoded with orjson, twice as fast as `json`): it is
several times faster to build than pglast's Python node objects and carries the same information,
which matters when a whole repository's history is judged in one run. A statement that does not parse is kept, with its error and line,
so that a rule can report it instead of the analysis crashing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from pglast.parser import ParseError, parse_plpgsql_json, parse_sql_json, scan

from policies.statements import BREAKPOINT, Statement, leading_comments, split_statements

Node = Mapping[str, Any]
"""One node of pglast's JSON tree: the fields of a node whose type name is known separately."""

TOO_DEEP = "nested too deeply to analyse"
"""Why a statement that parses is still not judged: its tree (an expression of some 500 levels,
say `a || b || ...` with hundreds of terms) is deeper than the JSON decoder or the readers go."""

_FIRST_SHAPE = re.compile(r'"stmt":\{"(\w+)"')


@dataclass(frozen=True)
class ParsedStatement:
    """A statement with its parse tree: `shape` is the node type (`AlterTableStmt`, ...).

    `error` is set (and `shape` empty) when PostgreSQL's grammar rejects the statement;
    `inner` holds the statements found in the body of a `DO` block, with their file lines.
    `too_deep` is set (and `node` empty) when the statement parses but nests deeper than its tree
    can be read here: it is then known only by its shape.
    """

    statement: Statement
    shape: str
    node: Node
    error: str | None = None
    inner: tuple[ParsedStatement, ...] = ()
    in_do_block: bool = False
    too_deep: bool = False
    caught: frozenset[str] | None = None
    """For a statement of a DO block: the PL/pgSQL condition names of the EXCEPTION handlers around
    it (`duplicate_object`, `others`, ...), or None when it runs only under a condition (IF, CASE,
    a loop), so that whether it runs at all is not known."""

    @property
    def line(self) -> int:
        return self.statement.line


def unwrap(wrapped: Node) -> tuple[str, Node]:
    """Split a JSON node `{"TypeName": {...}}` into its type name and fields."""
    ((name, fields),) = wrapped.items()
    return name, fields


def parse_migration(text: str) -> list[ParsedStatement]:
    """Every top-level statement of a migration file, parsed, with its file line and drizzle chunk.

    One parser call for the whole file when that sees what drizzle's chunking sees; otherwise the
    file is split (drizzle breakpoints, then the scanner) and each statement parsed on its own,
    which also places a syntax error at its statement. The two give the same statements: the
    single call only saves a scanner pass and a parser call per statement.
    """
    whole = _parse_whole_file(text) if text.isascii() else None
    if whole is not None:
        return whole
    return [parsed for statement in split_statements(text) for parsed in parse_statement(statement)]


def in_execution_order(parsed: Iterable[ParsedStatement]) -> Iterator[ParsedStatement]:
    """Statements in the order PostgreSQL runs them: a DO block, then the statements its body runs
    (recursively), then the next statement."""
    for item in parsed:
        yield item
        yield from in_execution_order(item.inner)


def _parse_whole_file(text: str) -> list[ParsedStatement] | None:
    """The file's statements from one parser call, or None where that could differ from splitting.

    Only for ASCII text, where the parser's byte offsets are character offsets. It gives up on a
    syntax error and on a `--> statement-breakpoint` that is not between statements (inside a
    string or a block comment, or after a statement without its semicolon): drizzle cuts there.
    """
    try:
        tree = orjson.loads(parse_sql_json(text))
    except (ParseError, orjson.JSONDecodeError):
        return None  # a syntax error, or a tree too deep to decode: each statement on its own
    breakpoints: list[int] = []
    found = text.find(BREAKPOINT)
    while found != -1:
        breakpoints.append(found)
        found = text.find(BREAKPOINT, found + len(BREAKPOINT))
    breakpoints.append(len(text) + 1)  # a sentinel after everything
    results: list[ParsedStatement] = []
    chunk = 0
    segment_start = 0  # where the text of the statement being read may begin: after the last `;`
    line, counted_to = 1, 0
    for raw in tree.get("stmts", ()):
        body_start = raw.get("stmt_location", 0)
        length = raw.get("stmt_len", 0)
        end = body_start + length if length else len(text)
        while breakpoints[chunk] < body_start:
            chunk += 1
            segment_start = max(segment_start, breakpoints[chunk - 1] + len(BREAKPOINT))
        if breakpoints[chunk] < end:
            return None  # a breakpoint inside the statement: drizzle runs its pieces apart
        comments = ""
        if text[segment_start:body_start].strip(" \t\r\n;"):  # more than blank lines before it
            comments, found_start = leading_comments(text, segment_start, end)
            if found_start != body_start:
                return None  # the cut left something before the statement that is not a comment
        sql = text[body_start:end].rstrip().rstrip(";").rstrip()
        line += text.count("\n", counted_to, body_start)
        counted_to = body_start
        statement = Statement(sql=sql, line=line, chunk=chunk, comments=comments)
        shape, node = unwrap(raw["stmt"])
        inner = tuple(_do_block_statements(statement, node, body_start)) if shape == "DoStmt" else ()
        results.append(ParsedStatement(statement, shape, node, None, inner))
        segment_start = end + 1 if end < len(text) and text[end] == ";" else end
    return results


def parse_statement(statement: Statement, in_do_block: bool = False) -> list[ParsedStatement]:
    """Parse one split statement; normally one result, more if the scanner left several together."""
    try:
        tree_json = parse_sql_json(statement.sql)
    except ParseError as error:
        return [_failed(statement, error, in_do_block)]
    try:
        tree = orjson.loads(tree_json)
    except orjson.JSONDecodeError:  # deeper than the decoder's limit of 1,024 levels
        found = _FIRST_SHAPE.search(tree_json)
        shape = found.group(1) if found else ""
        return [ParsedStatement(statement, shape, {}, in_do_block=in_do_block, too_deep=True)]
    results: list[ParsedStatement] = []
    raw_statements = tree.get("stmts", [])
    for raw in raw_statements:
        shape, node = unwrap(raw["stmt"])
        part = statement
        if len(raw_statements) > 1:
            start = raw.get("stmt_location", 0)
            end = start + raw["stmt_len"] if raw.get("stmt_len") else len(statement.sql)
            text = statement.sql[start:end]
            stripped = text.lstrip()
            offset = start + len(text) - len(stripped)
            part = Statement(
                sql=stripped.rstrip().rstrip(";"),
                line=statement.line + statement.sql.count("\n", 0, offset),
                chunk=statement.chunk,
                comments=statement.comments,  # a suppression before the text covers all it holds
            )
        inner = tuple(_do_block_statements(part, node)) if shape == "DoStmt" else ()
        results.append(ParsedStatement(part, shape, node, None, inner, in_do_block))
    return results


def _failed(statement: Statement, error: ParseError, in_do_block: bool) -> ParsedStatement:
    """A statement PostgreSQL would reject, placed at the line where the grammar stopped."""
    location = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else 0
    line = statement.line + statement.sql.count("\n", 0, max(location, 0))
    placed = Statement(statement.sql, line, statement.chunk, statement.comments)
    return ParsedStatement(placed, "", {}, str(error.args[0]) if error.args else str(error), (), in_do_block)


def _do_block_statements(statement: Statement, node: Node, offset: int = 0) -> Iterator[ParsedStatement]:
    """The SQL statements run by a PL/pgSQL `DO` block, so that rules judge them too.

    `offset` is where the statement's text begins in the text that was parsed (the node's
    locations count from there).
    """
    language = "plpgsql"
    body_location = 0
    for arg in node.get("args", []):
        _, elem = unwrap(arg)
        if elem.get("defname") == "language":
            language = unwrap(elem["arg"])[1].get("sval", language)
        elif elem.get("defname") == "as":
            body_location = max(elem.get("arg_location", 0) - offset, 0)
    if language.lower() != "plpgsql":
        return
    try:
        functions = orjson.loads(parse_plpgsql_json(statement.sql))
    except ParseError as error:
        yield _failed(statement, error, True)
        return
    except orjson.JSONDecodeError:  # a body nested too deeply to read: its statements are unknown
        yield ParsedStatement(statement, "DoStmt", {}, in_do_block=True, too_deep=True)
        return
    try:
        queries = list(_embedded_queries(functions))
    except RecursionError:  # a body nested deeper than the walk goes: its statements are unknown
        yield ParsedStatement(statement, "DoStmt", {}, in_do_block=True, too_deep=True)
        return
    body_line = statement.line + statement.sql.count("\n", 0, body_location)
    for query, lineno, caught in queries:
        inner = Statement(sql=query.strip(), line=body_line + max(lineno, 1) - 1, chunk=statement.chunk)
        yield from (replace(p, caught=caught) for p in parse_statement(inner, in_do_block=True))


_CONDITIONAL = frozenset({
    "PLpgSQL_stmt_if", "PLpgSQL_stmt_case", "PLpgSQL_stmt_loop", "PLpgSQL_stmt_while", "PLpgSQL_stmt_fori",
    "PLpgSQL_stmt_fors", "PLpgSQL_stmt_forc", "PLpgSQL_stmt_foreach_a", "PLpgSQL_stmt_dynfors",
})
"""PL/pgSQL statements whose body runs only under a condition (or any number of times)."""


def _embedded_queries(
    tree: Any, caught: frozenset[str] | None = frozenset()
) -> Iterator[tuple[str, int, frozenset[str] | None]]:
    """Every `PLpgSQL_stmt_execsql` in a PL/pgSQL tree, in source order, with its body line and the
    conditions its EXCEPTION handlers catch (None under IF, CASE or a loop)."""
    if isinstance(tree, list):
        for item in tree:
            yield from _embedded_queries(item, caught)
    elif isinstance(tree, dict):
        execsql = tree.get("PLpgSQL_stmt_execsql")
        if isinstance(execsql, dict):
            expr = execsql.get("sqlstmt", {}).get("PLpgSQL_expr", {})
            query = expr.get("query")
            if isinstance(query, str):
                yield query, int(execsql.get("lineno", 1)), caught
            return
        for key, value in tree.items():
            inner = caught
            if key in _CONDITIONAL:
                inner = None
            elif key == "PLpgSQL_stmt_block" and isinstance(value, dict) and caught is not None:
                conditions = {
                    str(condition.get("PLpgSQL_condition", {}).get("condname", "others"))
                    for handler in value.get("exceptions", {}).get("PLpgSQL_exception_block", {}).get("exc_list", [])
                    for condition in handler.get("PLpgSQL_exception", {}).get("conditions", [])
                }
                inner = caught | conditions
                yield from _embedded_queries(value.get("body", []), inner)
                continue  # the handlers' own statements run only when an error was caught: not walked
            yield from _embedded_queries(value, inner)


# The superset test below reads UTF-8 bytes, as PostgreSQL's limit and scanner count them: the
# scanner takes every byte from 0x80 up as a name character.
_LONG_QUOTED = re.compile(rb'"[^"]{64,}"')
# Bytes that can be part of an unquoted name become "a", all others a space: a name longer than
# the limit is then a run of "a"s that one substring search finds.
_NAME_BYTES = bytes(
    ord("a") if i >= 0x80 or chr(i).isalnum() or chr(i) in "_$" else ord(" ") for i in range(256)
)
# The tokens that can hold a double quote in SQL without dollar quotes, block comments or
# backslashes: quoted names, string constants and line comments, read left to right.
_QUOTED_STRINGS_COMMENTS = re.compile(rb'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'|--[^\n]*')


def may_have_long_identifier(sql: str, limit: int = 63) -> bool:
    """A cheap superset test: a quoted or unquoted name over `limit` bytes may be in `sql`.

    It also holds for any part of `sql`: when a whole file fails it, none of its statements passes.
    """
    if len(sql) * 4 <= limit:
        return False  # not even in 4-byte characters
    text = sql.encode()
    if len(text) <= limit:
        return False
    if b'"' in text and (b'""' in text or _LONG_QUOTED.search(text)):
        # A long stretch between two quotes: a long quoted name, or only the text between two names.
        if b"$" in text or b"/*" in text or b"\\" in text:
            return True  # where a quote opens is then the scanner's business
        if any(token[:1] == b'"' and len(token) - 2 > limit for token in _QUOTED_STRINGS_COMMENTS.findall(text)):
            return True
    # A long unquoted name (or a quoted one of name characters only) is a long run of name bytes.
    return b"a" * (limit + 1) in text.translate(_NAME_BYTES)


def long_identifiers(sql: str, limit: int = 63) -> tuple[str, ...]:
    """Identifiers longer than `limit` bytes, as written.

    The parser truncates them to PostgreSQL's limit before we see the tree (as the server does),
    so they are found with the scanner, and only when a cheap look at the text finds a candidate.
    """
    if not may_have_long_identifier(sql, limit):
        return ()
    found: list[str] = []
    try:
        tokens = scan(sql)
    except ParseError:
        return ()
    for token in tokens:
        if token.name != "IDENT":
            continue
        text = sql[token.start : token.end + 1]  # the scanner gives character offsets
        name = text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()
        if len(name.encode()) > limit and name not in found:
            found.append(name)
    return tuple(found)
