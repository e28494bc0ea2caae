"""`plan`, `apply`, `status` and `demo`: the reconciler from the command line."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from bot import console
from bot.commands import EXIT_OK, EXIT_PROBLEM
from bot.settings import Settings, load_settings
from policies.errors import ConfigurationError, SchemawardenError
from reconciler.apply import ApplyOptions, apply_environment
from reconciler.connect import connect_environment
from reconciler.embedded import EmbeddedPostgres, drop_database, ensure_database, with_database
from reconciler.environments import EnvironmentConfig
from reconciler.history import HistoryRow, HistoryTable, read_history
from reconciler.migrations import SAMPLE_PROJECT, MigrationSet, load_migration_set
from reconciler.plan import Approvals, make_plan


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--migrations", type=Path, help="the drizzle migrations folder (default: ./migrations)"
    )
    common.add_argument(
        "--config", type=Path, help="schemawarden.toml to read (default: ./schemawarden.toml)"
    )
    common.add_argument("--data-dir", type=Path, help="folder of the embedded PostgreSQL")
    common.add_argument("--format", choices=["text", "json"], default="text")

    plan = subparsers.add_parser("plan", parents=[common], help="what apply would do to an environment")
    plan.add_argument("--env", required=True, help="environment name, e.g. staging")
    plan.set_defaults(handler=run_plan)

    apply = subparsers.add_parser(
        "apply", parents=[common], help="apply pending migrations to an environment"
    )
    apply.add_argument("--env", required=True, help="environment name, e.g. staging")
    apply.add_argument("--dry-run", action="store_true", help="show the plan and change nothing")
    apply.add_argument("--to", metavar="TAG", help="apply up to and including this migration")
    apply.add_argument("--wait", action="store_true", help="wait for another runner instead of exiting")
    apply.add_argument("--actor", help="who applies (recorded in the audit log; default: $USER)")
    apply.add_argument("--pr", type=int, help="pull request number, for the audit log")
    apply.add_argument("--commit", help="commit SHA of the migrations, for the audit log")
    apply.add_argument(
        "--allow-out-of-order",
        action="append",
        default=[],
        metavar="TAG",
        help="apply this migration although it is older than the newest applied one",
    )
    apply.add_argument("--accept-tampered", metavar="REASON", help="go on although applied files changed")
    apply.add_argument("--allow-unknown", action="store_true", help="go on despite unknown history rows")
    apply.set_defaults(handler=run_apply)

    status = subparsers.add_parser(
        "status", parents=[common], help="every environment: version, pending, problems"
    )
    status.set_defaults(handler=run_status)

    demo = subparsers.add_parser(
        "demo", help="apply the bundled Drizzle sample project to a fresh embedded 'staging' database"
    )
    demo.add_argument("--data-dir", type=Path, help="folder of the embedded PostgreSQL")
    demo.add_argument("--format", choices=["text", "json"], default="text")
    demo.set_defaults(handler=run_demo)


def run_plan(args: argparse.Namespace) -> int:
    settings = _settings(args)
    env = settings.environment(args.env)
    migration_set = load_migration_set(settings.migrations_folder)
    url, where = _database_url(settings, env)
    plan = make_plan(migration_set, _history(env, url))
    console.print_plan(env, where, migration_set, plan, args.format)
    return EXIT_PROBLEM if plan.open_problems else EXIT_OK


def run_apply(args: argparse.Namespace) -> int:
    settings = _settings(args)
    env = settings.environment(args.env)
    migration_set = load_migration_set(settings.migrations_folder)
    if args.to and migration_set.by_tag(args.to) is None:
        raise ConfigurationError(f"--to {args.to}: no migration with that tag in {migration_set.source}")
    url, where = _database_url(settings, env)
    options = ApplyOptions(
        actor=args.actor or settings.actor,
        pull_request=args.pr,
        commit_sha=args.commit,
        wait=args.wait,
        dry_run=args.dry_run,
        stop_at=args.to,
        approvals=Approvals(
            all_approved=True,
            allow_out_of_order=frozenset(args.allow_out_of_order),
            accept_tampered_reason=args.accept_tampered,
            allow_unknown=args.allow_unknown,
        ),
    )
    return _apply_and_report(env, url, where, migration_set, options, args.format)


def run_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    migration_set = load_migration_set(settings.migrations_folder)
    rows: list[console.StatusRow] = []
    for env in settings.environments.values():
        try:
            url, where = _database_url(settings, env)
            rows.append(console.StatusRow(env, where, make_plan(migration_set, _history(env, url)), None))
        except SchemawardenError as exc:  # one unreachable environment must not hide the others
            rows.append(console.StatusRow(env, "", None, str(exc)))
    console.print_status(rows, migration_set, args.format)
    return EXIT_PROBLEM if any(r.error or (r.plan and r.plan.open_problems) for r in rows) else EXIT_OK


def run_demo(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    env = EnvironmentConfig(name="staging", gate="auto")
    server = EmbeddedPostgres(settings.data_dir)
    admin = server.admin_url()
    database = "schemawarden_demo_staging"
    drop_database(admin, database)  # the demo starts from an empty database every time
    ensure_database(admin, database)
    migration_set = load_migration_set(SAMPLE_PROJECT / "migrations")
    where = f"embedded PostgreSQL in {settings.data_dir}, database {database}"
    options = ApplyOptions(actor=f"{settings.actor}@{socket.gethostname()} (demo)")
    return _apply_and_report(env, with_database(admin, database), where, migration_set, options, args.format)


def _apply_and_report(
    env: EnvironmentConfig, url: str, where: str, migration_set: MigrationSet, options: ApplyOptions, fmt: str
) -> int:
    if fmt == "text":  # the plan as it stands now; apply recomputes it under the runner lock
        preview = make_plan(migration_set, _history(env, url), options.approvals, options.stop_at)
        console.print_plan(env, where, migration_set, preview, fmt)
    with console.progress(fmt) as observer:
        result = apply_environment(env, url, migration_set, options, observer)
    console.print_apply(result, where, migration_set, fmt)
    return EXIT_OK if result.ok else EXIT_PROBLEM


def _history(env: EnvironmentConfig, url: str) -> list[HistoryRow]:
    with connect_environment(env, url, f"schemawarden plan {env.name}") as conn:
        return read_history(conn, HistoryTable(env.history_schema, env.history_table))


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(config=args.config, migrations=args.migrations, data_dir=args.data_dir)


def _database_url(settings: Settings, env: EnvironmentConfig) -> tuple[str, str]:
    """The environment's URL, or a database on the embedded PostgreSQL when none is set."""
    if env.url is not None:
        return env.url.get_secret_value(), env.label
    database = f"schemawarden_{env.name}"
    url = EmbeddedPostgres(settings.data_dir).database_url(database)
    return url, f"{env.label} (embedded PostgreSQL in {settings.data_dir}, database {database})"
