"""The proof of a rollback: each new migration, its rollback and the migration again, in a scratch database.

For the new migrations of a change (a pull request's, or every migration of a folder), on a scratch
server (`reconciler.database.scratch`), never an environment:

0. the roles the migrations name and do not create (`GRANT ... TO authenticated`) are made on the
   scratch server as stand-ins when it lacks them: the environments have them;
1. the schema before the first new migration is the replay of the migrations before it, kept as
   a template database keyed by their hashes, so the next proof on the same base clones it;
2. per new migration, in order, in one clone: introspect (`before`); run the migration statement
   by statement as apply runs it, tracing what each statement locks and rewrites; introspect
   (`after`); generate the rollback, `render(diff(after, before, renames.inverted()))`, with the
   migration's own renames so that a renamed column is renamed back and keeps its data; run it;
   introspect and compare with `before` (`policies.schema.compare`): it must be the same schema;
   run the migration again: it must apply and give `after` again;
3. the status: `failed` when any of that did not hold (with PostgreSQL's error and the statement,
   or what still differs); `irreversible` when the migration destroys data that the rollback
   cannot bring back (a dropped table or column, a removed enum value, a narrowing type, rows
   changed by UPDATE/DELETE: `policies.schema.losses`, `policies.proof.rows_changed`), the SQL that
   restores the structure still given; `verified` otherwise. Column order that no ALTER can
   restore is a note, never hidden; so is what a rollback would drop that was written since.

The verdict is never taken from the differ alone: the restored database is introspected again and
compared, and the migration is run again on it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from policies.context import ScratchFailure
from policies.lock_trace import StatementTrace
from policies.outside import roles_named, scratch_only, taken_from_outside
from policies.proof import checked_narrowings, rows_changed
from policies.report import Rollback, RollbackStatus
from policies.schema.changes import AlterColumnType
from policies.schema.compare import compare
from policies.schema.ddl import notes, render
from policies.schema.diff import diff
from policies.schema.losses import losses
from policies.schema.model import Schema
from policies.schema.renames import Renames, renames_in_sql, renames_in_texts
from reconciler.database.introspect import introspect
from reconciler.database.run import MigrationFailed, replay, run_migration, run_sql
from reconciler.database.scratch import ScratchDatabase, ScratchServer, Template, template_key
from reconciler.migrations import Migration

log = logging.getLogger(__name__)

DEFAULT_EXCLUDED = ("drizzle", "schemawarden")
"""Schemas left out of every introspection: drizzle's history table and schemawarden's own."""


@dataclass(frozen=True)
class MigrationProof:
    """The proof of one migration.

    * `rollback`: its SQL and status (`policies.report.Rollback`);
    * `traces`: what PostgreSQL did for each statement of its first run, by the statement's line in
      the file (statements run outside a transaction have no locks: they ended with it);
    * `failure`: set when the migration itself did not apply on the schema before it (a finding,
      SW611), with PostgreSQL's SQLSTATE, message, DETAIL, HINT and the line;
    * `rollback_failure`: set when the migration applied but the rollback written for it did not
      prove (a finding, SW612): the rollback's failure as the message, at line 1.
    """

    migration: Migration
    rollback: Rollback
    traces: dict[int, StatementTrace] = field(default_factory=dict)
    failure: ScratchFailure | None = None
    rollback_failure: ScratchFailure | None = None


def prove_migrations(
    server: ScratchServer,
    base: Sequence[Migration],
    new: Sequence[Migration],
    *,
    exclude_schemas: Collection[str] = DEFAULT_EXCLUDED,
    pg_version: int | None = None,
    progress: Callable[[Migration], None] | None = None,
) -> list[MigrationProof]:
    """Prove each of `new` in order on the schema `base` (then the new ones before it) leaves.

    `pg_version` is the major version the rollback SQL is written for (the target's; default the
    scratch server's): SQL for an older version runs on a newer server, so the proof holds for it.
    `progress(migration)` is called before each proof (for a front end). Raises
    `MigrationFailed` when `base` itself does not replay (the base cannot be proven on), and the
    scratch server's errors (`ScratchServerUnreachable`); a new migration that fails is a result,
    not an exception.
    """
    roles, created_schemas = taken_from_outside(m.text for m in [*base, *new])
    server.provide_roles(roles)
    template = base_template(server, base)
    proofs: list[MigrationProof] = []
    with server.database(template=template) as db:
        conn = db.connection()
        before = introspect(conn, exclude_schemas=exclude_schemas)
        for position, migration in enumerate(new):
            if progress is not None:
                progress(migration)
            version = min(pg_version or server.pg_major, server.pg_major)
            proof, after = _prove_one(db, migration, before, exclude_schemas, version, created_schemas)
            log.info(
                "proved %s in scratch database %s: rollback %s%s", migration.tag, db.name, proof.rollback.status.value,
                f" ({proof.rollback.reason})" if proof.rollback.reason else "",
            )
            proofs.append(proof)
            if after is None:  # the database is no longer at a known state: the rest cannot be proven
                proofs += [_not_reached(m, migration) for m in new[position + 1 :]]
                break
            before = after
    return proofs


def base_template(server: ScratchServer, base: Sequence[Migration]) -> Template:
    """The template database holding the schema `base` leaves, built once per set of hashes."""
    key = template_key([m.hash for m in base], server.pg_major)
    return server.template(key, lambda db: replay(base, db))


def introspect_at(
    server: ScratchServer, migrations: Sequence[Migration], *, exclude_schemas: Collection[str] = DEFAULT_EXCLUDED
) -> Schema:
    """The schema `migrations` leave, from their template (built when missing)."""
    with server.database(template=base_template(server, migrations)) as db:
        return introspect(db.connection(), exclude_schemas=exclude_schemas)


def _prove_one(
    db: ScratchDatabase,
    migration: Migration,
    before: Schema,
    exclude_schemas: Collection[str],
    version: int,
    created_schemas: frozenset[str],
) -> tuple[MigrationProof, Schema | None]:
    """The proof of one migration on `db` (at `before`), its rollback written for PostgreSQL
    `version`, and the schema `db` is left at (`after`), or None when it is at no known state.
    `created_schemas`: the schemas the migration set creates (a refusal naming another one may be
    the scratch server's: `policies.outside.scratch_only`)."""
    conn = db.connection()
    try:
        run = run_migration(db, migration, trace=True)
    except MigrationFailed as failed:
        traces = {r.statement.line: r.trace for r in failed.completed if r.trace is not None}
        refused = _scratch_failure(failed, created_schemas)
        if refused.scratch_only:
            reason = f"not proven: {refused.scratch_only}: {failed}"
        else:
            reason = f"the migration does not apply on the schema before it: {failed}"
        rollback = Rollback(RollbackStatus.FAILED, "", reason)
        # a transactional failure rolled everything back: the database is still at `before`, but
        # the next migrations were written after this one, so they are not proven on top of it
        return MigrationProof(migration, rollback, traces, refused), None
    traces = {r.statement.line: r.trace for r in run.statements if r.trace is not None}
    after = introspect(conn, exclude_schemas=exclude_schemas)

    forward_renames = renames_in_sql(migration.text)
    back = diff(after, before, forward_renames.inverted())
    statements = render(back, pg_version=version)
    sql = "".join(f"{statement};\n" for statement in statements)
    said = list(notes(back, pg_version=version))
    said += [
        f"rolling back drops what was written since: {loss.reason}" for loss in losses(back, after, before)
    ]
    checked = checked_narrowings(migration.text)
    lost = [
        loss.reason
        for loss in losses(diff(before, after, forward_renames), before, after)
        if not (isinstance(loss.change, AlterColumnType) and (loss.change.table, loss.change.column) in checked)
    ]
    lost += rows_changed(migration.text, before)

    def result(status: RollbackStatus, reason: str | None) -> MigrationProof:
        if status is not RollbackStatus.FAILED:
            return MigrationProof(migration, Rollback(status, sql, reason, tuple(dict.fromkeys(said))), traces)
        if lost:  # what the migration destroys matters to a reviewer also when its rollback failed
            reason = f"{reason}; the migration also destroys data: {'; '.join(dict.fromkeys(lost))}"
        rollback = Rollback(status, sql, reason, tuple(dict.fromkeys(said)))
        return MigrationProof(migration, rollback, traces, rollback_failure=ScratchFailure(1, str(reason), in_rollback=True))

    exchanged = swapped_names(forward_renames, before, after) + moved_columns(forward_renames, before, after)
    if exchanged:
        # the rollback is not run: it would pass, the schema comparing equal by name, with the data
        # of each object under the other's name; the database is still at `after`
        reason = (
            f"the rollback cannot follow names the migration hands from one object to another: "
            f"{'; '.join(exchanged)}: matched by name, the rollback would leave data under the wrong name "
            "or drop what holds it"
        )
        return result(RollbackStatus.FAILED, reason), after
    if statements:
        try:
            run_sql(db, sql, source=f"the rollback of {migration.tag}")
        except MigrationFailed as failed:
            reason = f"the rollback does not run: {failed}"
            known = after if not failed.committed and not failed.outside_transaction else None
            return result(RollbackStatus.FAILED, reason), known
    restored = introspect(conn, exclude_schemas=exclude_schemas)
    back_check = compare(before, restored, version)
    said += [n for n in back_check.order_notes if n not in said]
    if not back_check.equal:
        failure = f"the rollback ran but the schema did not come back: {back_check.describe(version)}"
        return result(RollbackStatus.FAILED, failure), None
    try:
        run_migration(db, migration)
    except MigrationFailed as failed:
        return result(RollbackStatus.FAILED, f"the migration does not apply again after its rollback: {failed}"), None
    again = introspect(conn, exclude_schemas=exclude_schemas)
    again_check = compare(after, again, version)
    if not again_check.equal:
        failure = f"the migration applied again gives another schema: {again_check.describe(version)}"
        return result(RollbackStatus.FAILED, failure), None
    if lost:
        return result(RollbackStatus.IRREVERSIBLE, "; ".join(dict.fromkeys(lost))), again
    return result(RollbackStatus.VERIFIED, None), again


def moved_columns(renames: Renames, before: Schema, after: Schema) -> list[str]:
    """Tables whose columns found on both sides (through `renames`) stand in another order after:
    no change the differ sees moves a column (ADD COLUMN appends, DROP COLUMN removes; PostgreSQL
    has no ALTER that moves one, "ALTER TABLE" in the documentation), so something it does not see
    happened: names exchanged in dynamic SQL (`EXECUTE 'ALTER TABLE ... RENAME ...'`), a column
    dropped and added again under its name. Matched by name, a rollback would not undo it."""
    found: list[str] = []
    for key, table in sorted(before.tables.items()):
        now = after.tables.get(renames.table(key))
        if now is None or table.kind != "table" or now.kind != "table":
            continue
        columns = renames.columns.get(key, {})
        taken = set(columns.values())  # a name another column was renamed to is no longer this one's
        kept = [
            columns.get(name, name)
            for name in table.columns
            if columns.get(name, name) in now.columns and (name in columns or name not in taken)
        ]
        kept_after = [name for name in now.columns if name in set(kept)]
        if kept != kept_after:
            found.append(
                f"columns of {key} changed places ({', '.join(kept)} before, {', '.join(kept_after)} after) by "
                "statements the proof cannot read (dynamic SQL, or a column dropped and added again under its name)"
            )
    return found


def swapped_names(renames: Renames, before: Schema, after: Schema) -> list[str]:
    """The names a migration hands from one existing object to another: an exchange (`a` -> `tmp`,
    `b` -> `a`, `tmp` -> `b`) or a chain (`a` -> `a_old`, `b` -> `a`), each a rename onto a name taken
    before whose holder was renamed away too. The differ matches such objects by name and cannot
    follow them (`policies.schema.diff`): a rollback it writes would leave their data exchanged
    (the schemas comparing equal) or drop the object that holds the first one's data. Tables,
    columns and enum values, each exchanged pair once, each chain link once."""
    found: list[str] = []

    def said(kind: str, old: str, new: str, renamed: Mapping[str, str], exchanged: bool, name: Callable[[str], str]) -> None:
        if exchanged and renamed.get(new) == old and new < old:
            return  # the same exchange, said once
        if exchanged:
            found.append(f"{kind}s {name(min(old, new))} and {name(max(old, new))} exchange names")
        else:
            found.append(f"{kind} {name(old)} takes the name {name(new)} of the one renamed to {name(renamed[new])}")

    for old, new in sorted(renames.tables.items()):
        if new in before.tables and (old in after.tables or new in renames.tables):
            said("table", old, new, renames.tables, old in after.tables, str)
    for table, columns in sorted(renames.columns.items()):
        was, now = before.tables.get(table), after.tables.get(renames.table(table))
        if was is None or now is None:
            continue
        for old, new in sorted(columns.items()):
            if new in was.columns and (old in now.columns or new in columns):
                said("column", old, new, columns, old in now.columns, functools.partial("{}.{}".format, table))
    for type_name, values in sorted(renames.enum_values.items()):
        was_values, now_values = before.enums.get(type_name), after.enums.get(renames.type(type_name))
        if was_values is None or now_values is None:
            continue
        for old, new in sorted(values.items()):
            if new in was_values and (old in now_values or new in values):
                said(f"enum {type_name} value", old, new, values, old in now_values, repr)
    return found


def _scratch_failure(failed: MigrationFailed, created_schemas: frozenset[str]) -> ScratchFailure:
    error = failed.error
    if error is None:
        return ScratchFailure(failed.line or 1, str(failed))
    return ScratchFailure(
        failed.line or 1,
        error.message,
        sqlstate=error.sqlstate,
        detail=error.detail,
        hint=error.hint,
        scratch_only=scratch_only(error.sqlstate, error.message, created_schemas),
    )


def _not_reached(migration: Migration, stopped: Migration) -> MigrationProof:
    reason = f"not proven: the proof stopped at {stopped.tag}, which comes before it"
    return MigrationProof(migration, Rollback(RollbackStatus.FAILED, "", reason))


@dataclass(frozen=True)
class RevertProof:
    """One forward migration that takes the head schema back to its state at `to_tag`.

    `statements` are its SQL statements (no trailing `;`); `rollback` carries them as a script with
    the status of its proof: `verified` (it ran on the head schema and gave exactly the schema at
    `to_tag`, destroying nothing), `irreversible` (the same, but it drops data written since, named
    in `reason`), `failed` (it did not run, or left another schema: `reason`). `undone` are the
    tags of the migrations it undoes, in order.
    """

    to_tag: str
    statements: tuple[str, ...]
    rollback: Rollback
    undone: tuple[str, ...]


def prove_revert(
    server: ScratchServer,
    migrations: Sequence[Migration],
    to_tag: str,
    *,
    exclude_schemas: Collection[str] = DEFAULT_EXCLUDED,
    pg_version: int | None = None,
) -> RevertProof:
    """The revert to `to_tag` of a migration set (`migrations`, in journal order), computed at the
    head schema (not a concatenation of each migration's rollback) and proven on a clone of it.

    The renames of the migrations after `to_tag` are followed back, so a column renamed since is
    renamed back with its data. Raises ValueError when `to_tag` is not one of `migrations` (the
    caller says so in its own words), MigrationFailed when the set itself does not replay.
    """
    tags = [m.tag for m in migrations]
    if to_tag not in tags:
        raise ValueError(to_tag)
    kept = list(migrations[: tags.index(to_tag) + 1])
    undone = list(migrations[len(kept) :])
    version = min(pg_version or server.pg_major, server.pg_major)
    server.provide_roles(roles_named(m.text for m in migrations))
    target = introspect_at(server, kept, exclude_schemas=exclude_schemas)
    with server.database(template=base_template(server, migrations)) as db:
        conn = db.connection()
        head = introspect(conn, exclude_schemas=exclude_schemas)
        forward = renames_in_texts([m.text for m in undone])
        changes = diff(head, target, forward.inverted())
        statements = tuple(render(changes, pg_version=version))
        sql = "".join(f"{statement};\n" for statement in statements)
        said = list(notes(changes, pg_version=version))
        lost = [loss.reason for loss in losses(changes, head, target)]

        def result(status: RollbackStatus, reason: str | None) -> RevertProof:
            rollback = Rollback(status, sql, reason, tuple(dict.fromkeys(said)))
            return RevertProof(to_tag, statements, rollback, tuple(m.tag for m in undone))

        exchanged = swapped_names(forward, target, head)
        if exchanged:
            return result(
                RollbackStatus.FAILED,
                f"the revert cannot follow names handed from one object to another since {to_tag}: "
                f"{'; '.join(exchanged)}: matched by name, the revert would leave data under the wrong name "
                "or drop what holds it",
            )
        if statements:
            try:
                run_sql(db, sql, source=f"the revert to {to_tag}")
            except MigrationFailed as failed:
                return result(RollbackStatus.FAILED, f"the revert does not run on the head schema: {failed}")
        got = introspect(conn, exclude_schemas=exclude_schemas)
        check = compare(target, got, version)
        said += [n for n in check.order_notes if n not in said]
        if not check.equal:
            return result(RollbackStatus.FAILED, f"the revert ran but left another schema: {check.describe(version)}")
    if lost:
        return result(RollbackStatus.IRREVERSIBLE, "it drops data written since " + to_tag + ": " + "; ".join(lost))
    return result(RollbackStatus.VERIFIED, None)
