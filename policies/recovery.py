"""What an interrupted statement that runs outside a transaction leaves behind, and how to finish it.

A statement PostgreSQL refuses inside a transaction block (`CREATE INDEX CONCURRENTLY`, `DETACH
PARTITION ... CONCURRENTLY`, ...) commits in several internal transactions. Killed, cancelled
or stopped by `lock_timeout` half way, it leaves a state that is neither before nor after it,
and running it again as written often fails:

* `CREATE INDEX CONCURRENTLY` leaves an INVALID index of that name (docs: CREATE INDEX, "Building
  Indexes Concurrently"); a second build fails with "already exists". Drop it, build again.
* `DROP INDEX CONCURRENTLY` leaves the index INVALID; running the drop again finishes it.
* `REINDEX ... CONCURRENTLY` leaves an INVALID `<index>_ccnew` (or `_ccold`) index per attempt
  (docs: REINDEX, "Rebuilding Indexes Concurrently"). Drop them, reindex again.
* `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY` leaves the partition "detach pending"
  (`pg_inherits.inhdetachpending`); running it again fails (SQLSTATE 55000) until
  `ALTER TABLE ... DETACH PARTITION ... FINALIZE` completes it (docs: ALTER TABLE, DETACH PARTITION).
* `ALTER TYPE ... ADD VALUE` (before PostgreSQL 12, outside a transaction), `CREATE DATABASE`
  and `DROP DATABASE` are atomic, but may have committed just before the runner died: when the
  effect is there, the step is done.

Each kind is one `Recipe`, kept as data like the lock model: a catalog probe that names the
state, and per state what to do. The reconciler runs the probe before every attempt at such a
statement (the first, a retry after `lock_timeout`, and a resume after a crash), runs the
cleanup under the environment's timeouts, and records what it did. Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from policies.operations import Operation, OperationKind, quote_name


class Then(StrEnum):
    """What follows the probe (and the cleanup, if any)."""

    RUN = "run"  # run the statement as written
    SKIP = "skip"  # its effect is already there: the step is done


@dataclass(frozen=True)
class Response:
    """What to do in one state.

    `cleanup` is SQL run before `then`, once per leftover the probe names (`{leftover}`), or once
    with the recipe's names (`{parent}`, `{partition}`, ...) when it has no `{leftover}`.
    With `only_when_resuming`, the response holds only when an earlier attempt at this migration
    was interrupted or failed; otherwise the statement runs as written (and PostgreSQL reports,
    say, an index that already existed before the migration).
    """

    then: Then
    says: str
    cleanup: str | None = None
    only_when_resuming: bool = False


@dataclass(frozen=True)
class Recipe:
    """A catalog probe returning one row `(state text, leftovers text[])`, and a response per state."""

    name: str
    probe: str
    responses: Mapping[str, Response]


@dataclass(frozen=True)
class RecoveryTarget:
    """A recipe with the names of the objects one statement concerns (quoted SQL names)."""

    recipe: Recipe
    names: Mapping[str, str]

    @property
    def probe_parameters(self) -> dict[str, str]:
        return dict(self.names)

    def cleanup_statements(self, response: Response, leftovers: Sequence[str]) -> list[str]:
        """The cleanup SQL for a probed state, names filled in."""
        if response.cleanup is None:
            return []
        if "{leftover}" in response.cleanup:
            return [response.cleanup.format(leftover=name, **self.names) for name in leftovers]
        return [response.cleanup.format(**self.names)]


_INDEX_STATE = """
    SELECT CASE WHEN i.indexrelid IS NULL THEN 'absent' WHEN i.indisvalid THEN 'valid' ELSE 'invalid' END,
           ARRAY[%(index)s]::text[]
    FROM (SELECT 1) AS one LEFT JOIN pg_index AS i ON i.indexrelid = to_regclass(%(index)s)
"""

CREATE_INDEX_CONCURRENTLY = Recipe(
    name="CREATE INDEX CONCURRENTLY",
    probe=_INDEX_STATE,
    responses={
        "absent": Response(Then.RUN, "the index does not exist yet"),
        "invalid": Response(
            Then.RUN,
            "an INVALID index of that name was left by an interrupted build: dropping it and building again",
            cleanup="DROP INDEX CONCURRENTLY IF EXISTS {leftover}",
        ),
        "valid": Response(
            Then.SKIP, "the index was built by the interrupted attempt", only_when_resuming=True
        ),
    },
)

DROP_INDEX_CONCURRENTLY = Recipe(
    name="DROP INDEX CONCURRENTLY",
    probe=_INDEX_STATE,
    responses={
        "absent": Response(Then.SKIP, "the index was dropped by the interrupted attempt", only_when_resuming=True),
        "invalid": Response(Then.RUN, "an interrupted drop left the index INVALID: dropping it again"),
        "valid": Response(Then.RUN, "the index is still there"),
    },
)

REINDEX_CONCURRENTLY = Recipe(
    name="REINDEX CONCURRENTLY",
    probe="""
    SELECT CASE WHEN count(*) > 0 THEN 'leftovers' ELSE 'clean' END,
           coalesce(array_agg(format('%%I.%%I', n.nspname, c.relname) ORDER BY c.relname), '{}')
    FROM pg_index AS i
    JOIN pg_class AS c ON c.oid = i.indexrelid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$'
      AND CASE %(target)s
          WHEN 'index' THEN i.indrelid = (SELECT x.indrelid FROM pg_index AS x WHERE x.indexrelid = to_regclass(%(relation)s))
          WHEN 'table' THEN i.indrelid = to_regclass(%(relation)s)
          WHEN 'schema' THEN n.nspname = %(schema)s
          ELSE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      END
    """,
    responses={
        "clean": Response(Then.RUN, "no index left by an interrupted rebuild"),
        "leftovers": Response(
            Then.RUN,
            "INVALID _ccnew/_ccold indexes were left by an interrupted REINDEX CONCURRENTLY: dropping them "
            "and rebuilding again",
            cleanup="DROP INDEX CONCURRENTLY IF EXISTS {leftover}",
        ),
    },
)

DETACH_PARTITION_CONCURRENTLY = Recipe(
    name="DETACH PARTITION CONCURRENTLY",
    probe="""
    SELECT CASE WHEN i.inhrelid IS NULL THEN 'detached' WHEN i.inhdetachpending THEN 'pending' ELSE 'attached' END,
           '{}'::text[]
    FROM (SELECT 1) AS one
    LEFT JOIN pg_inherits AS i ON i.inhrelid = to_regclass(%(partition)s) AND i.inhparent = to_regclass(%(parent)s)
    """,
    responses={
        "attached": Response(Then.RUN, "the partition is still attached"),
        "pending": Response(
            Then.SKIP,
            "an interrupted detach left the partition \"detach pending\": finishing it with FINALIZE",
            cleanup="ALTER TABLE {parent} DETACH PARTITION {partition} FINALIZE",
        ),
        "detached": Response(
            Then.SKIP, "the partition was detached by the interrupted attempt", only_when_resuming=True
        ),
    },
)

ADD_ENUM_VALUE = Recipe(
    name="ALTER TYPE ... ADD VALUE",
    probe="""
    SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_enum WHERE enumtypid = to_regtype(%(type)s) AND enumlabel = %(value)s)
                THEN 'present' ELSE 'absent' END, '{}'::text[]
    """,
    responses={
        "absent": Response(Then.RUN, "the value is not there yet"),
        "present": Response(Then.SKIP, "the value was added by the interrupted attempt", only_when_resuming=True),
    },
)

_DATABASE_STATE = """
    SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_database WHERE datname = %(database)s) THEN 'present' ELSE 'absent' END,
           '{}'::text[]
"""

CREATE_DATABASE = Recipe(
    name="CREATE DATABASE",
    probe=_DATABASE_STATE,
    responses={
        "absent": Response(Then.RUN, "the database does not exist yet"),
        "present": Response(Then.SKIP, "the database was created by the interrupted attempt", only_when_resuming=True),
    },
)

DROP_DATABASE = Recipe(
    name="DROP DATABASE",
    probe=_DATABASE_STATE,
    responses={
        "present": Response(Then.RUN, "the database is still there"),
        "absent": Response(Then.SKIP, "the database was dropped by the interrupted attempt", only_when_resuming=True),
    },
)

RECIPES: tuple[Recipe, ...] = (
    CREATE_INDEX_CONCURRENTLY,
    DROP_INDEX_CONCURRENTLY,
    REINDEX_CONCURRENTLY,
    DETACH_PARTITION_CONCURRENTLY,
    ADD_ENUM_VALUE,
    CREATE_DATABASE,
    DROP_DATABASE,
)
"""Every recipe; statements of the other non-transactional kinds (VACUUM, ANALYZE, ALTER SYSTEM,
a plain REINDEX of a schema) are idempotent and simply run again."""


def recovery_for(operation: Operation) -> RecoveryTarget | None:
    """The recipe for a statement that runs outside a transaction, with its names; None: run again as is."""
    kind = operation.kind
    if kind is OperationKind.CREATE_INDEX and operation.concurrently and operation.name:
        schema = operation.relation.rsplit(".", 1)[0] if operation.relation and "." in operation.relation else None
        index = quote_name(f"{schema}.{operation.name}" if schema else operation.name)
        return RecoveryTarget(CREATE_INDEX_CONCURRENTLY, {"index": index})
    if kind is OperationKind.DROP_INDEX and operation.concurrently and operation.name:
        return RecoveryTarget(DROP_INDEX_CONCURRENTLY, {"index": quote_name(operation.name)})
    if kind is OperationKind.REINDEX and operation.concurrently:
        target = operation.detail or "index"
        relation = operation.relation or ""
        return RecoveryTarget(
            REINDEX_CONCURRENTLY,
            {"target": target, "relation": quote_name(relation) if relation else "", "schema": relation},
        )
    if (
        kind is OperationKind.DETACH_PARTITION
        and operation.concurrently
        and operation.relation
        and operation.name
    ):
        return RecoveryTarget(
            DETACH_PARTITION_CONCURRENTLY,
            {"parent": quote_name(operation.relation), "partition": quote_name(operation.name)},
        )
    if kind is OperationKind.ADD_ENUM_VALUE and operation.name and operation.value is not None:
        return RecoveryTarget(ADD_ENUM_VALUE, {"type": quote_name(operation.name), "value": operation.value})
    if kind is OperationKind.CREATE_DATABASE and operation.name:
        return RecoveryTarget(CREATE_DATABASE, {"database": operation.name})
    if kind is OperationKind.DROP_DATABASE and operation.name:
        return RecoveryTarget(DROP_DATABASE, {"database": operation.name})
    return None
