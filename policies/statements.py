"""Splitting migration SQL into statements, exactly as Drizzle does and then finer, keeping lines.

Drizzle's migrator splits a file on the literal `--> statement-breakpoint` and sends each chunk
as it is (nothing trimmed). Analysis and apply need single statements with their file line, so
each chunk is further split by PostgreSQL's own parser through pglast (dollar quotes, nested
comments, `E''` strings and `BEGIN ATOMIC` bodies are handled as PostgreSQL handles them), or by
its scanner when the chunk does not parse.
"""

from __future__ import annotations

from dataclasses import dataclass

import pglast
from pglast.parser import ParseError

BREAKPOINT = "--> statement-breakpoint"


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a migration file.

    `sql` has no leading comments and no trailing semicolon; `comments` holds the comment
    lines just before it (where `-- schemawarden-ignore` lives); `line` is 1-based in the file.
    """

    sql: str
    line: int
    chunk: int
    comments: str = ""


def split_chunks(text: str) -> list[str]:
    """The chunks drizzle-orm's migrator executes, one query each, nothing trimmed."""
    return text.split(BREAKPOINT)


def split_statements(text: str) -> list[Statement]:
    """Every statement of a migration file, in order, with its line number.

    A chunk the scanner cannot read (an unterminated dollar quote, say) becomes one
    statement, so that the parser later reports it at its line instead of losing it.
    """
    statements: list[Statement] = []
    base_line = 1
    for chunk_index, chunk in enumerate(split_chunks(text)):
        for start, end in _statement_spans(chunk):
            comments, body_start = leading_comments(chunk, start, end)
            sql = chunk[body_start:end].rstrip().rstrip(";").rstrip()
            if not sql:
                continue
            line = base_line + chunk.count("\n", 0, body_start)
            statements.append(Statement(sql=sql, line=line, chunk=chunk_index, comments=comments))
        base_line += chunk.count("\n")  # the breakpoint itself is on the line the next chunk starts on
    return statements


def _statement_spans(chunk: str) -> list[tuple[int, int]]:
    """Spans of the statements in one chunk, as PostgreSQL's parser delimits them.

    The parser, not the scanner alone, knows that the semicolons of a SQL-standard function body
    (`BEGIN ATOMIC ... END`, PostgreSQL 14) are inside one statement. A chunk it cannot parse is
    split by the scanner (the parser then reports each statement at its own line); the whole chunk
    is one statement when the scanner gives up too. Splitting with the parser costs no more than
    with the scanner (measured over the shared corpus: 0.07 s for 6,078 chunks either way).
    """
    try:
        slices = pglast.split(chunk, with_parser=True, only_slices=True)
    except ParseError:
        try:
            slices = pglast.split(chunk, with_parser=False, only_slices=True)
        except ParseError:
            return [(0, len(chunk))]
    spans = [(s.start, s.stop) for s in slices]
    # The scanner drops a trailing comment-only tail; keep comment lines before a statement
    # by widening each span back to the end of the previous one.
    widened: list[tuple[int, int]] = []
    previous_end = 0
    for start, end in spans:
        widened.append((previous_end if start > previous_end else start, end))
        previous_end = end + 1 if end < len(chunk) and chunk[end] == ";" else end
    return widened


def leading_comments(chunk: str, start: int, end: int) -> tuple[str, int]:
    """The comment text in `chunk[start:end]` before a statement, and where the statement begins."""
    pos = start
    comment_parts: list[str] = []
    while pos < end:
        if chunk[pos] in " \t\r\n;":
            pos += 1
        elif chunk.startswith("--", pos):
            newline = chunk.find("\n", pos)
            stop = end if newline == -1 or newline > end else newline
            comment_parts.append(chunk[pos:stop])
            pos = stop
        elif chunk.startswith("/*", pos):
            close = chunk.find("*/", pos + 2)
            stop = end if close == -1 else min(close + 2, end)
            comment_parts.append(chunk[pos:stop])
            pos = stop
        else:
            break
    return "\n".join(comment_parts), pos
