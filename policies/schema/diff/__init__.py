"""The differ: the typed changes that turn one schema into another.

`diff(a, b, renames)` compares two schemas of the model (`policies.schema.model`), usually two
introspections, and returns the changes (`policies.schema.changes`) that turn `a` into `b`, in a
stable order: renames first, then family by family (schemas and extensions, functions, domains,
composite types, tables and columns, enums, views made again, constraints, indexes, triggers,
policies, sequences, comments, privileges), each sorted by name. `policies.schema.ddl.render`
puts them in the order PostgreSQL needs and writes the SQL.

With `renames` (`renames_of(...)` of a migration, or its `inverted()` for a rollback) a renamed
object is renamed back rather than dropped and created, which keeps a column's data and its place.
"""

from __future__ import annotations

from policies.schema.changes import Change
from policies.schema.diff.dependents import rebuild_views
from policies.schema.diff.grants import diff_comments, diff_privileges
from policies.schema.diff.objects import (
    diff_composites,
    diff_domains,
    diff_enums,
    diff_functions,
    diff_schemas_and_extensions,
    diff_sequences,
)
from policies.schema.diff.owned import diff_owned
from policies.schema.diff.renaming import apply_renames
from policies.schema.diff.state import Differ, named_by_keys
from policies.schema.diff.tables import diff_relations
from policies.schema.model import Schema
from policies.schema.renames import NO_RENAMES, Renames

__all__ = ["diff"]


def diff(a: Schema, b: Schema, renames: Renames = NO_RENAMES) -> tuple[Change, ...]:
    """The changes that turn schema `a` into schema `b`, renames (names of `a` -> names of `b`)
    applied as renames. Deterministic: the same schemas give the same changes in the same order.
    Pure; raises nothing for well-formed schemas."""
    a, b = named_by_keys(a), named_by_keys(b)
    renamed, rename_changes = apply_renames(a, b, renames)
    d = Differ(renamed, b)
    diff_schemas_and_extensions(d)
    diff_functions(d)
    diff_relations(d)
    diff_enums(d)
    diff_domains(d)
    diff_composites(d)
    rebuild_views(d)
    diff_owned(d)
    diff_sequences(d)
    diff_comments(d)
    diff_privileges(d)
    return (*rename_changes, *d.changes)
