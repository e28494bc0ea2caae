"""Views made again because something under them changes.

PostgreSQL refuses to change the type of a column a view reads ("cannot alter type of a column
used by a view or rule", sql-altertable.html), to drop a column, relation or function a view uses
without CASCADE, and to drop a view other views read. A view that stays the same in `b` is then
dropped before the change and made again after it, and so are the views that read it. A view holds
no data, so this loses nothing (a materialized view is filled again by its CREATE).

What a view reads is known per relation (`Table.depends_on`, from `pg_depend`); which columns it
reads is taken from the names in its definition, which can only make again a view that did not need
it, never miss one.
"""

from __future__ import annotations

from policies.schema.changes import CreateView, DropView
from policies.schema.diff.state import VIEW_KINDS, Differ
from policies.schema.renames import split_key
from policies.schema.sqltext import mentions


def rebuild_views(d: Differ) -> None:
    """Add a drop and a create for every kept view that something it reads no longer allows."""
    functions = frozenset(split_key(s.split("(", 1)[0])[1] for s in d.dropped_functions)
    while True:
        found = [key for key in _kept_views(d) if _disturbed(d, key, functions)]
        if not found:
            return
        for key in found:
            d.add(DropView(d.a.tables[key]))
            d.add(CreateView(d.b.tables[key]))


def _kept_views(d: Differ) -> list[str]:
    return sorted(
        key for key, view in d.a.tables.items()
        if view.kind in VIEW_KINDS and key in d.b.tables and key not in d.dropped_relations
    )


def _disturbed(d: Differ, key: str, functions: frozenset[str]) -> bool:
    view = d.a.tables[key]
    for relation in view.depends_on:
        if relation in d.dropped_relations:
            return True
        columns = {c for t, c in (*d.retyped_columns, *d.dropped_columns) if t == relation}
        if columns and mentions(view.definition, columns):
            return True
    return bool(functions) and mentions(view.definition, functions)
