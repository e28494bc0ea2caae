"""Output formats for file reports: one module each, all taking a list of `FileReport`.

`render(fmt, reports, fail_on=..., color=..., docs_url=...)` is the one entry point the CLI and the bot use.
A format's module is imported when it is asked for: a `check` prints one format, and its start-up
is most of the wall time of checking one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from bot.render.summary import Summary, summarize
from policies.report import FileReport, Severity

Format = Literal["text", "markdown", "json", "sarif", "github"]
FORMATS: tuple[str, ...] = get_args(Format)

__all__ = ["FORMATS", "Format", "Summary", "render", "render_bytes", "summarize"]


def render(
    fmt: Format,
    reports: Sequence[FileReport],
    fail_on: Severity = Severity.ERROR,
    color: bool = False,
    docs_url: str | None = None,
) -> str:
    """The reports in format `fmt`; `color` only matters for `text`, `docs_url` (the base of the
    rule reference, from the policy) for the links of `markdown` and `sarif`."""
    if fmt == "text":
        from bot.render import text

        return text.render(reports, fail_on, color=color)
    if fmt == "markdown":
        from bot.render import markdown

        return markdown.render(reports, fail_on, docs_url)
    if fmt == "json":
        from bot.render import json_format

        return json_format.render(reports, fail_on)
    if fmt == "sarif":
        from bot.render import sarif

        return sarif.render(reports, fail_on, docs_url)
    from bot.render import github

    return github.render(reports, fail_on)


def render_bytes(
    fmt: Format,
    reports: Sequence[FileReport],
    fail_on: Severity = Severity.ERROR,
    color: bool = False,
    docs_url: str | None = None,
) -> bytes:
    """`render` as UTF-8, for writing to a file or pipe (JSON is encoded once, not three times)."""
    if fmt == "json":
        from bot.render import json_format

        return json_format.encoded(reports, fail_on)
    return render(fmt, reports, fail_on, color=color, docs_url=docs_url).encode()
