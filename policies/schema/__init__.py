"""The schema model: one immutable value for what a database holds, and how operations change it.

* `Schema` and its parts (`Table`, `Column`, `Constraint`, `Index`, `Sequence`, `Identity`):
  `policies.schema.model`;
* `apply_operation(schema, op)` and `enrich(schema, op)`: the replay of classified operations and
  the facts the schema before an operation adds to it (`policies.schema.replay`);
* `refusals(schema, op, pg_version)`: what PostgreSQL refuses for the schema at hand
  (`policies.schema.refusals`);
* `schema_from_snapshot`, `fill_from`: drizzle-kit's snapshots (`policies.schema.snapshot`);
* `diff(a, b, renames)`: the typed changes (`policies.schema.changes`) that turn one schema into
  another (`policies.schema.diff`), with `Renames`, `renames_of(operations)` and
  `renames_in_sql(text)` (`policies.schema.renames`);
* `render(changes, pg_version=...)` and `notes(...)`: their SQL in dependency order and what it
  cannot make exact (`policies.schema.ddl`); `losses(changes, a, b)`: the data they destroy
  (`policies.schema.losses`).

The differ's modules are imported from their own paths (they read SQL with the parser, which a
rule that only needs the model should not load).
"""

from __future__ import annotations

from policies.schema.model import (
    Column,
    CompositeType,
    Constraint,
    Domain,
    DomainConstraint,
    Extension,
    Function,
    Identity,
    Index,
    ObjectKey,
    RlsPolicy,
    Schema,
    Sequence,
    SequenceOptions,
    Table,
    Trigger,
    relation_key,
)

__all__ = [
    "Column",
    "CompositeType",
    "Constraint",
    "Domain",
    "DomainConstraint",
    "Extension",
    "Function",
    "Identity",
    "Index",
    "ObjectKey",
    "RlsPolicy",
    "Schema",
    "Sequence",
    "SequenceOptions",
    "Table",
    "Trigger",
    "relation_key",
]
