"""`plan`, `apply`, `status` and `demo`: the reconciler from the command line."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from bot import console
from bot.commands import EXIT_OK, EXIT_PROBLEM, EXIT_UNREACHABLE, EXIT_USAGE, exit_codes_epilog
from bot.settings import CONFIG_FILE, ENVIRONMENT_VARIABLES, Settings, load_settings
from policies.errors import ConfigurationError, SchemawardenError
from reconciler.apply import ApplyOptions, apply_environment, plan_environment
from reconciler.database.connect import Target, target_of
from reconciler.database.embedded import EmbeddedPostgres, drop_database, ensure_database, with_database
from reconciler.environments import EnvironmentConfig
from reconciler.migrations import SAMPLE_PROJECT, MigrationSet, load_migration_set
from reconciler.plan import Approvals

log = logging.getLogger(__name__)

STATUS_PRECEDENCE = (EXIT_PROBLEM, EXIT_USAGE, EXIT_UNREACHABLE)
"""`status` exits with the first of these that any environment has: a problem found in a reachable
environment outranks a misconfigured one, which outranks one that could not be reached."""


class GateNotSatisfied(SchemawardenError):
    """`apply` to an environment whose gate is not `auto`, without a recorded approval (exit 1)."""


@dataclass(frozen=True)
class Destination:
    """Where an environment's commands go.

    `url` is the secret connection string (never printed); `target` is what output may show of it;
    `where` names environment and target for text output ("environment 'staging' at db:5432/app").
    """

    url: str
    target: Target
    where: str


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `plan`, `apply`, `status` and `demo` to the CLI."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--migrations", type=Path, help="the drizzle migrations folder (default: ./migrations)"
    )
    common.add_argument("--config", type=Path, help=f"{CONFIG_FILE} to read (default: ./{CONFIG_FILE})")
    common.add_argument("--data-dir", type=Path, help="folder of the embedded PostgreSQL")
    common.add_argument("--format", choices=["text", "json"], default="text")
    epilog = exit_codes_epilog(ENVIRONMENT_VARIABLES)
    formatter = argparse.RawDescriptionHelpFormatter

    plan = subparsers.add_parser(
        "plan",
        parents=[common],
        help="what apply would do to an environment",
        description=(
            "Compare the migrations folder with an environment's history and show what apply would "
            "do: pending migrations in order, what blocks each, tampered, unknown and out-of-order "
            "history, migrations partly applied or with their own transaction control, and whether the environment's gate is satisfied. Changes nothing."
        ),
        epilog=epilog,
        formatter_class=formatter,
    )
    plan.add_argument("--env", required=True, help="environment name, e.g. staging")
    plan.set_defaults(handler=run_plan)

    apply = subparsers.add_parser(
        "apply",
        parents=[common],
        help="apply pending migrations to an environment",
        description=(
            "Apply the pending migrations of the folder to an environment, in journal order, each in "
            "its own transaction with lock and statement timeouts, under a per-environment runner "
            "lock, recording each attempt in schemawarden.apply_log. An environment whose gate is "
            "not auto needs --approved-by and --reason."
        ),
        epilog=epilog,
        formatter_class=formatter,
    )
    apply.add_argument("--env", required=True, help="environment name, e.g. staging")
    apply.add_argument("--dry-run", action="store_true", help="show the plan and change nothing")
    apply.add_argument("--to", metavar="TAG", help="apply up to and including this migration")
    apply.add_argument("--wait", action="store_true", help="wait for another runner instead of exiting")
    apply.add_argument("--actor", help="who applies (recorded in the audit log; default: $USER)")
    apply.add_argument("--pr", type=int, help="pull request number, for the audit log")
    apply.add_argument("--commit", help="commit SHA of the migrations, for the audit log")
    apply.add_argument(
        "--approved-by",
        metavar="NAME",
        help="who approved this apply, for an environment whose gate is not auto (recorded)",
    )
    apply.add_argument("--reason", metavar="TEXT", help="why it is approved (recorded; with --approved-by)")
    apply.add_argument(
        "--allow-out-of-order",
        action="append",
        default=[],
        metavar="TAG",
        help="apply this migration although it is older than the newest applied one",
    )
    apply.add_argument("--accept-tampered", metavar="REASON", help="go on although applied files changed")
    apply.add_argument("--allow-unknown", action="store_true", help="go on despite unknown history rows")
    apply.add_argument(
        "--resume-partial",
        action="append",
        default=[],
        metavar="TAG",
        help="a migration partly applied from an earlier version of its file: skip the statements that "
        "already ran (unchanged in the new file) and run the rest (recorded)",
    )
    apply.add_argument(
        "--restart-partial",
        action="append",
        default=[],
        metavar="TAG",
        help="a migration partly applied from an earlier version of its file: run the new file whole "
        "(only when repeating what ran is safe; recorded)",
    )
    apply.add_argument(
        "--terminate-orphans",
        action="store_true",
        help="end a backend left running by a runner that died, instead of waiting for its statement",
    )
    apply.set_defaults(handler=run_apply)

    status = subparsers.add_parser(
        "status",
        parents=[common],
        help="every environment: version, pending, problems",
        description=(
            "For every environment (from the policy file and the SCHEMAWARDEN_ENV_<NAME>_URL "
            "variables): its target, gate, recorded version, pending migrations and problems. An "
            "environment without a URL or that cannot be reached is listed with its error. Exit "
            "code: 1 if any environment has a problem, else 2 if any is misconfigured, else 3 if any "
            "is unreachable, else 0."
        ),
        epilog=epilog,
        formatter_class=formatter,
    )
    status.set_defaults(handler=run_status)

    demo = subparsers.add_parser(
        "demo",
        help="apply the bundled Drizzle sample project to a fresh embedded 'staging' database, then "
        "show the PR bot's comment on a pull request adding a risky migration",
        description=(
            "Apply the bundled Drizzle sample project to a fresh database on the embedded PostgreSQL "
            "(no URL needed), printing the plan and the result. Then the PR bot: the sample project as a "
            "pull request that adds a risky migration, on a local stand-in for GitHub; the webhook "
            "service and a worker run on loopback, and the comment they posted is printed (text "
            "format only)."
        ),
        epilog=exit_codes_epilog(),
        formatter_class=formatter,
    )
    demo.add_argument("--data-dir", type=Path, help="folder of the embedded PostgreSQL")
    demo.add_argument("--format", choices=["text", "json"], default="text")
    demo.add_argument("--no-bot", action="store_true", help="only the apply, not the pull request")
    demo.set_defaults(handler=run_demo)


def run_plan(args: argparse.Namespace) -> int:
    """`plan --env NAME`: 1 when the plan has open problems; the gate only shows, it never fails."""
    settings = _settings(args)
    env = settings.environment(args.env)
    migration_set = load_migration_set(settings.migrations_folder)
    destination = _destination(settings, env)
    gate = console.Gate(env.gate, satisfied=env.gate == "auto")
    plan = plan_environment(
        env, destination.url, migration_set, ApplyOptions(actor="plan", approvals=Approvals(all_approved=gate.satisfied))
    )
    console.print_plan(env, destination.target, destination.where, gate, migration_set, plan, args.format)
    return EXIT_PROBLEM if plan.open_problems else EXIT_OK


def run_apply(args: argparse.Namespace) -> int:
    """`apply --env NAME`: configuration first (exit 2), then the gate (exit 1), then the database."""
    settings = _settings(args)
    env = settings.environment(args.env)
    migration_set = load_migration_set(settings.migrations_folder)
    if args.to and migration_set.by_tag(args.to) is None:
        raise ConfigurationError(f"--to {args.to}: no migration with that tag in {migration_set.source}")
    approved_by, reason = _approval(args)
    destination = _destination(settings, env)
    gate = console.Gate(
        env.gate,
        satisfied=env.gate == "auto" or approved_by is not None,
        approved_by=approved_by,
        reason=reason,
    )
    if not gate.satisfied and not args.dry_run:
        raise GateNotSatisfied(
            f"{env.label} has gate {env.gate!r} and this apply has no approval: nothing was applied. "
            f"To apply by hand, {console.GATE_HOW_TO}"
            + (
                ""
                if "gate" in env.model_fields_set
                else f". ({env.gate!r} is the default for an environment declared in {CONFIG_FILE}: "
                f'set gate = "auto" under [environments.{env.name}] if it needs no approval)'
            )
        )
    options = ApplyOptions(
        actor=args.actor or settings.actor,
        pull_request=args.pr,
        commit_sha=args.commit,
        wait=args.wait,
        dry_run=args.dry_run,
        stop_at=args.to,
        terminate_orphans=args.terminate_orphans,
        approvals=Approvals(
            all_approved=gate.satisfied,
            allow_out_of_order=frozenset(args.allow_out_of_order),
            accept_tampered_reason=args.accept_tampered,
            allow_unknown=args.allow_unknown,
            resume_partial=frozenset(args.resume_partial),
            restart_partial=frozenset(args.restart_partial),
            approved_by=approved_by,
            approval_reason=reason,
        ),
    )
    return _apply_and_report(env, destination, gate, migration_set, options, args.format)


def run_status(args: argparse.Namespace) -> int:
    """`status`: every environment, each with its own error; exit code by `STATUS_PRECEDENCE`."""
    settings = _settings(args)
    migration_set = load_migration_set(settings.migrations_folder)
    rows: list[console.StatusRow] = []
    codes: set[int] = set()
    environments = settings.listed_environments()
    if not environments:
        raise ConfigurationError(
            f"no environment to show: set SCHEMAWARDEN_ENV_<NAME>_URL, or declare [environments.NAME] in "
            f"{CONFIG_FILE}"
        )
    for env in environments:
        target: Target | None = None
        try:  # one unusable environment must not hide the others
            destination = _destination(settings, env)
            target = destination.target
            plan = plan_environment(env, destination.url, migration_set)
        except SchemawardenError as exc:
            kind = {EXIT_USAGE: "configuration", EXIT_UNREACHABLE: "unreachable"}.get(exc.exit_code, "error")
            rows.append(console.StatusRow(env, target, None, str(exc), kind))
            codes.add(exc.exit_code)
            continue
        rows.append(console.StatusRow(env, target, plan))
        codes.add(EXIT_PROBLEM if plan.open_problems else EXIT_OK)
    console.print_status(rows, migration_set, args.format)
    return next((code for code in STATUS_PRECEDENCE if code in codes), EXIT_OK)


def run_demo(args: argparse.Namespace) -> int:
    """`demo`: the bundled sample project on a fresh database of the embedded server."""
    settings = load_settings(data_dir=args.data_dir)
    env = EnvironmentConfig(name="staging", gate="auto", embedded=True)
    server = EmbeddedPostgres(settings.data_dir)
    admin = server.admin_url()
    database = "schemawarden_demo_staging"
    drop_database(admin, database)  # the demo starts from an empty database every time
    ensure_database(admin, database)
    migration_set = load_migration_set(SAMPLE_PROJECT / "migrations")
    url = with_database(admin, database)
    target = target_of(url)
    destination = Destination(
        url, target, f"{env.label} at {target} (embedded PostgreSQL in {settings.data_dir})"
    )
    options = ApplyOptions(actor=f"{settings.actor}@{socket.gethostname()} (demo)")
    gate = console.Gate(env.gate, satisfied=True)
    code = _apply_and_report(env, destination, gate, migration_set, options, args.format)
    if code != EXIT_OK or args.format != "text" or args.no_bot:
        return code
    from bot.demo import print_pull_request_demo, run_pull_request_demo

    control = "schemawarden_demo_control"
    drop_database(admin, control)
    ensure_database(admin, control)
    shown = run_pull_request_demo(with_database(admin, control), url)
    print_pull_request_demo(shown, sys.stdout)
    return EXIT_OK


def _apply_and_report(
    env: EnvironmentConfig,
    destination: Destination,
    gate: console.Gate,
    migration_set: MigrationSet,
    options: ApplyOptions,
    fmt: str,
) -> int:
    if fmt == "text":  # the plan as it stands now; apply recomputes it under the runner lock
        preview = plan_environment(env, destination.url, migration_set, options)
        console.print_plan(env, destination.target, destination.where, gate, migration_set, preview, fmt)
    with console.progress(fmt) as observer:
        result = apply_environment(env, destination.url, migration_set, options, observer)
    console.print_apply(result, destination.target, destination.where, gate, migration_set, fmt)
    return EXIT_OK if result.ok else EXIT_PROBLEM


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(config=args.config, migrations=args.migrations, data_dir=args.data_dir)


def _approval(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """`--approved-by` and `--reason`, which go together (a usage error otherwise)."""
    approved_by = (args.approved_by or "").strip() or None
    reason = (args.reason or "").strip() or None
    if (approved_by is None) != (reason is None):
        given, missing = ("--approved-by", "--reason") if approved_by else ("--reason", "--approved-by")
        raise ConfigurationError(
            f"{given} needs {missing} too: an approval records who approved and why "
            "(--approved-by NAME --reason TEXT)"
        )
    return approved_by, reason


def _destination(settings: Settings, env: EnvironmentConfig) -> Destination:
    """Where `env`'s commands go: its URL, or, only when it is marked `embedded = true`, the embedded server.

    Raises `ConfigurationError` (exit 2) for an environment without a URL that is not marked
    embedded, and for a URL that cannot be parsed; neither touches any database.
    """
    if env.url is not None:
        url = env.url.get_secret_value()
        try:
            target = target_of(url)
        except ValueError:
            raise ConfigurationError(
                f"{env.url_variable} is not a PostgreSQL URL; set it to the owner role's URL of "
                f"{env.label}, e.g. postgresql://USER@HOST:5432/DATABASE"
            ) from None
        log.info("%s: URL from %s, target %s", env.label, env.url_variable, target)
        return Destination(url, target, f"{env.label} at {target}")
    if not env.embedded:
        raise ConfigurationError(
            f"{env.label} has no database URL: set {env.url_variable} to its owner role's URL "
            f"(postgresql://USER@HOST:5432/DATABASE). For a local trial on the embedded PostgreSQL "
            f"instead, add `embedded = true` under [environments.{env.name}] in {CONFIG_FILE}. "
            "No database was touched"
        )
    database = f"schemawarden_{env.name}"
    url = EmbeddedPostgres(settings.data_dir).database_url(database)
    target = target_of(url)
    log.info("%s: marked embedded, database %s on the embedded PostgreSQL", env.label, database)
    return Destination(url, target, f"{env.label} at {target} (embedded PostgreSQL in {settings.data_dir})")
