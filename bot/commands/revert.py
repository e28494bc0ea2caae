"""`rollback-sql TAG` and `revert --to TAG [--write]`: proven rollback SQL from the command line.

* `rollback-sql TAG` proves one migration against the schema the migrations before it leave (the
  round trip of `reconciler.prove`) and prints its rollback as SQL, its status, reason and notes as
  SQL comments, so the output can be run as it is. Exit 0 verified, 1 irreversible or failed (the
  SQL is still printed when there is some; after a failed proof commented out, so that it cannot run).
* `revert --to TAG` prints ONE new forward migration that takes the head schema back to its state
  at TAG, computed and proven at the head (`reconciler.prove.prove_revert`); `--write` adds it to
  the migrations folder in its own layout (`reconciler.migrations.write_revert_migration`), so a
  team rolls back the GitOps way, by a pull request. Exit 0 when proven (verified, or irreversible:
  it drops data written since TAG, which it says), 1 when the proof failed (nothing is written).

Both run on the scratch server (`SCHEMAWARDEN_SCRATCH_URL`, else the embedded PostgreSQL), never
on an environment.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from bot.commands import EXIT_OK, EXIT_PROBLEM, exit_codes_epilog, write
from bot.settings import ENVIRONMENT_VARIABLES, load_settings
from policies.errors import ConfigurationError, SchemawardenError
from policies.outside import schemas_created, scratch_only
from policies.report import Rollback, RollbackStatus
from policies.versions import is_supported, supported_range
from reconciler.migrations import MigrationSet, load_migration_set
from reconciler.migrations.write import write_revert_migration


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `rollback-sql` and `revert` to the CLI."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--migrations", type=Path, help="the drizzle migrations folder (default: the policy's)")
    common.add_argument("--config", type=Path, help="schemawarden.toml to read (default: ./schemawarden.toml)")
    common.add_argument("--data-dir", type=Path, help="folder of the embedded PostgreSQL")
    common.add_argument("--pg-version", type=int, metavar="N", help=f"write SQL for this major version ({supported_range()})")
    common.add_argument("--format", choices=["text", "json"], default="text")
    epilog = exit_codes_epilog(ENVIRONMENT_VARIABLES)
    formatter = argparse.RawDescriptionHelpFormatter

    rollback_sql = subparsers.add_parser(
        "rollback-sql",
        parents=[common],
        help="print one migration's rollback, proven in a scratch database",
        description="Prove migration TAG in a scratch database (the migrations before it, then TAG, its "
        "generated rollback, TAG again) and print the rollback SQL with its status. Exit 0 verified, 1 "
        "irreversible or failed (the SQL is still printed when there is some).",
        epilog=epilog,
        formatter_class=formatter,
    )
    rollback_sql.add_argument("tag", metavar="TAG", help="the migration's journal tag or 1.x folder name")
    rollback_sql.set_defaults(handler=run_rollback_sql)

    revert = subparsers.add_parser(
        "revert",
        parents=[common],
        help="one new migration undoing every migration after TAG, proven at the head schema",
        description="Compute one forward migration that takes the head schema back to its state at TAG, "
        "prove it on a scratch copy of the head, and print it; --write adds it to the migrations folder "
        "in drizzle-kit's layout (tag: next number + _revert_to_TAG, or a timestamped 1.x folder).",
        epilog=epilog,
        formatter_class=formatter,
    )
    revert.add_argument("--to", required=True, metavar="TAG", dest="to_tag", help="the migration to return to")
    revert.add_argument("--write", action="store_true", help="add the migration to the folder (with its snapshot)")
    revert.set_defaults(handler=run_revert)


def _folder_and_version(args: argparse.Namespace) -> tuple[Path, MigrationSet, int | None]:
    from bot.commands.check import read_policy

    policy = read_policy(str(args.config) if args.config else None)
    folder = args.migrations or Path(policy.migrations.folder)
    if not folder.is_dir():
        raise ConfigurationError(
            f"{folder}: no such migrations folder; pass --migrations PATH or set [migrations] folder in schemawarden.toml"
        )
    version = args.pg_version if args.pg_version is not None else policy.pg_version
    if not is_supported(version):
        raise ConfigurationError(f"--pg-version {version} is not supported (allowed: {supported_range()})")
    return folder, load_migration_set(folder), version


def _unknown_tag(tag: str, migration_set: MigrationSet) -> ConfigurationError:
    latest = ", ".join(m.tag for m in migration_set.migrations[-5:]) or "none"
    return ConfigurationError(
        f"{tag!r} is not a migration of {migration_set.source} (the latest are: {latest}); pass a journal "
        "tag or a 1.x folder name"
    )


def run_rollback_sql(args: argparse.Namespace) -> int:
    from bot.proving import environment_targets, open_scratch_server
    from reconciler.prove import prove_migrations

    _, migration_set, version = _folder_and_version(args)
    migration = migration_set.by_tag(args.tag)
    if migration is None:
        raise _unknown_tag(args.tag, migration_set)
    before = migration_set.migrations[: migration_set.migrations.index(migration)]
    settings = load_settings(args.config, args.migrations, args.data_dir)
    with open_scratch_server(
        settings.scratch_url, settings.data_dir, environment_targets(settings.environments.values())
    ) as server, _replay_explained(f"the migrations before {migration.tag}", migration_set):
        (proof,) = prove_migrations(server, before, [migration], pg_version=version)
    rollback = proof.rollback
    if args.format == "json":
        write(sys.stdout, orjson.dumps({"migration": migration.tag, "rollback": rollback.to_json()}).decode() + "\n")
    else:
        write(sys.stdout, _as_sql(f"rollback of {migration.tag}", rollback))
    return EXIT_OK if rollback.status is RollbackStatus.VERIFIED else EXIT_PROBLEM


def run_revert(args: argparse.Namespace) -> int:
    from bot.proving import environment_targets, open_scratch_server
    from reconciler.prove import prove_revert

    folder, migration_set, version = _folder_and_version(args)
    if migration_set.by_tag(args.to_tag) is None:
        raise _unknown_tag(args.to_tag, migration_set)
    if migration_set.migrations[-1].tag == args.to_tag:
        raise ConfigurationError(f"{args.to_tag} is the latest migration: there is nothing after it to revert")
    settings = load_settings(args.config, args.migrations, args.data_dir)
    with open_scratch_server(
        settings.scratch_url, settings.data_dir, environment_targets(settings.environments.values())
    ) as server, _replay_explained("the migrations up to the head", migration_set):
        proof = prove_revert(server, migration_set.migrations, args.to_tag, pg_version=version)
    failed = proof.rollback.status is RollbackStatus.FAILED
    written = None
    if args.write and not failed and proof.statements:
        written = write_revert_migration(folder, migration_set, args.to_tag, proof.statements)
    if args.format == "json":
        document = {
            "to": args.to_tag,
            "undone": list(proof.undone),
            "revert": proof.rollback.to_json(),
            "written": None
            if written is None
            else {"tag": written.tag, "sql_path": written.sql_path, "snapshot_path": written.snapshot_path,
                  "notes": list(written.notes)},
        }
        write(sys.stdout, orjson.dumps(document).decode() + "\n")
    else:
        write(sys.stdout, _as_sql(f"revert to {args.to_tag} (undoes {', '.join(proof.undone)})", proof.rollback))
        if written is not None:
            said = f"schemawarden: wrote {folder / written.sql_path} and its snapshot ({written.tag})"
            print("\n".join([said, *(f"  note: {note}" for note in written.notes)]), file=sys.stderr)
        elif args.write and failed:
            print("schemawarden: not written: the revert's proof failed", file=sys.stderr)
        elif args.write:
            print("schemawarden: not written: the schema at the head is already the schema at "
                  f"{args.to_tag}", file=sys.stderr)
    return EXIT_PROBLEM if failed else EXIT_OK


@contextmanager
def _replay_explained(what: str, migration_set: MigrationSet) -> Iterator[None]:
    """Turn a replay that fails in the scratch database (`MigrationFailed` from building the schema
    a proof starts from) into an error that says what was being built and what to do, the
    scratch server's lack named when it is one (`policies.outside.scratch_only`). Exit code 1."""
    from reconciler.database.run import MigrationFailed

    try:
        yield
    except MigrationFailed as failed:
        created = schemas_created(m.text for m in migration_set.migrations)
        why = scratch_only(failed.sqlstate, failed.error.message if failed.error else "", created)
        todo = why or (
            "fix that migration (it fails on the schema the ones before it leave), or prove on a "
            "server where it applies (SCHEMAWARDEN_SCRATCH_URL)"
        )
        raise SchemawardenError(
            f"{what} do not replay in a scratch database, so nothing can be proven: {str(failed).rstrip('.')}. "
            f"{todo[0].upper()}{todo[1:]}"
        ) from None


def _as_sql(what: str, rollback: Rollback) -> str:
    """The rollback as a script: status, reason and notes as SQL comments, then the statements."""
    lines = [f"-- schemawarden: {what}: {rollback.status.value}"]
    if rollback.status is RollbackStatus.VERIFIED:
        lines[0] += " (run in a scratch database; the schema came back exactly)"
    if rollback.reason:
        lines += [f"-- {line}" for line in rollback.reason.splitlines()]
    lines += [f"-- note: {note}" for note in rollback.notes]
    if not rollback.sql.strip():
        lines.append("-- (no SQL: there is nothing to undo in the schema)")
    return "\n".join(lines) + "\n" + rollback.shown_sql()
