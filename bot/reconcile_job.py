"""The `reconcile_environment` job: bring one environment to the default branch's migrations,
as far as its gate lets them through.

The migration set is read through GitHub at the default branch's head (whatever commit the
webhook named: a job that runs late applies what main holds now, never an older set), the policy
from the same commit. The gate decides what may pass:

* `auto`: every pending migration (after a merge or a push; a label changes nothing);
* `label`: the migrations of pull requests approved by their label. A label is checked when its
  job runs: still on the pull request (a label removed before the job ran approves nothing), and
  added by someone the policy of the default branch allows (`approvers`, else repository
  permission `maintain` or `admin`). Otherwise the label is removed, the refusal commented and
  recorded, and nothing is applied. The standing approvals of every pull request make the
  `Approvals` of the plan, so a later approved migration never jumps an earlier unapproved one;
* `manual`: nothing, ever, from the bot (`schemawarden apply --approved-by` only).

`reconciler.apply.apply_environment` applies (its runner lock is the last guard against a second
runner); the outcome is a GitHub Deployment of the default branch's head to the environment with
its statuses, and, when a pull request caused the job, its sticky comment's environment matrix is
brought up to date.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg

from bot.comment import with_environments
from bot.control.analyses import pull_request_lock
from bot.control.approvals import Approval, mark_applied, record_approval, record_refusal, standing_approvals
from bot.control.database import connect
from bot.environment_matrix import EnvironmentTarget, environment_rows
from bot.github import GitHub
from bot.jobs import JobContext, ReconcileEnvironment, github_of
from bot.judge import migration_tag, sort_changes
from bot.repository import change_kinds, environment_targets, migration_files, migration_set, read_policy
from bot.settings import CONFIG_FILE
from policies.errors import ConfigurationError, SchemawardenError
from policies.policy_file import Policy
from reconciler.apply import ApplyOptions, ApplyResult, apply_environment, plan_environment
from reconciler.environments import EnvironmentConfig
from reconciler.migrations import MigrationSet
from reconciler.plan import Approvals

log = logging.getLogger(__name__)

APPROVING_ROLES = frozenset({"admin", "maintain"})
"""Repository permissions that may approve through a label when the policy names no approvers."""


def handle(job: ReconcileEnvironment, ctx: JobContext) -> None:
    """The job's handler (see the module docstring). Raises ConfigurationError for an environment
    the service does not serve or a bad policy (not retried), and what apply raises (retried)."""
    github = github_of(ctx)
    repo = job.repository
    if job.installation_id is not None:
        github.remember_installation(repo, job.installation_id)
    head = github.branch_head(repo, job.default_branch)
    source = f"{CONFIG_FILE} on {job.default_branch}"
    policy = read_policy(github, repo, head)
    targets = environment_targets(ctx.settings, repo, policy, source, reading=False)
    target = next((t for t in targets if t.config.name.lower() == job.environment.lower()), None)
    if target is None or target.url is None:
        raise ConfigurationError(f"environment {job.environment!r} of {repo} is not served by this service (or has "
                                 "no URL): check SCHEMAWARDEN_ENV_<NAME>_URL or SCHEMAWARDEN_REPOSITORIES")
    env = target.config
    with connect(ctx.control_url.get_secret_value()) as conn:
        if job.trigger == "label" and not _approve(github, conn, job, env, policy, ctx.job_id):
            return
        files = migration_files(github, repo, head, policy)
        migrations = migration_set(files, f"{policy.migrations.folder} at {head[:12]}", policy)
        if env.gate == "manual":
            log.info("%s of %s: gate manual, nothing is applied by the bot (schemawarden apply --approved-by)",
                     env.label, repo)
        else:
            _apply(github, conn, job, env, target.url.get_secret_value(), migrations, head, ctx.job_id)
    if job.pull_request is not None:
        _refresh_matrix(github, ctx, job, policy, source, migrations)


def _approve(github: GitHub, conn: psycopg.Connection[Any], job: ReconcileEnvironment, env: EnvironmentConfig,
             policy: Policy, job_id: int) -> bool:
    """Whether the job may go on after a label: the approval recorded (gate `label`), or no
    approval needed (gate `auto`). False, with the refusal done, when the label does not count."""
    repo, number, label = job.repository, job.pull_request, job.label
    assert number is not None and label is not None and job.labeller is not None
    if env.gate != "label":
        return env.gate == "auto"
    if label != env.approval_label:
        log.info("%s#%d: label %r is not the approval label of %s (%r in %s)", repo, number, label, env.label,
                 env.approval_label, CONFIG_FILE)
        return False
    pull = github.pull_request(repo, number)
    if label not in pull.labels:
        log.info("%s#%d: label %r was removed before this job ran: nothing is approved", repo, number, label)
        return False
    allowed, why = _may_approve(github, repo, job.labeller, env, job.default_branch)
    if not allowed:
        github.remove_label(repo, number, label)
        record_refusal(conn, repository=repo, environment=env.name, pull_request=number, head_sha=pull.head_sha,
                       label=label, labeller=job.labeller, reason=why, job_id=job_id)
        github.upsert_comment(repo, number, _refusal_text(job.labeller, label, env, why),
                              marker=f"<!-- schemawarden:refusal:{job_id} -->")
        log.warning("%s#%d: label %r by %s refused: %s", repo, number, label, job.labeller, why)
        return False
    folder = policy.migrations.folder.strip("/")
    added, _ = sort_changes(change_kinds(github.changed_files(repo, number)), [folder])
    approval = record_approval(conn, repository=repo, environment=env.name, pull_request=number,
                               head_sha=pull.head_sha, approved_by=job.labeller, label=label,
                               migrations=[migration_tag(path) for path in added])
    log.info("%s#%d: %s approved by %s through %r: %s", repo, number, env.label, job.labeller, label,
             ", ".join(approval.migrations) or "no migration")
    return True


def _may_approve(github: GitHub, repo: str, login: str, env: EnvironmentConfig, branch: str) -> tuple[bool, str]:
    """(allowed, why not) for `login` approving `env` through its label, by the default branch's policy."""
    if env.approvers:
        if login.lower() in {a.lower() for a in env.approvers}:
            return True, ""
        return False, (f"{login} is not among the approvers of {env.name} ({', '.join(env.approvers)}) "
                       f"in {CONFIG_FILE} on {branch}")
    role = github.permission(repo, login)
    if role in APPROVING_ROLES:
        return True, ""
    return False, (f"{login}'s permission on {repo} is {role}; approving {env.name} needs maintain or admin "
                   f"(or a place among its approvers in {CONFIG_FILE} on {branch})")


def _refusal_text(login: str, label: str, env: EnvironmentConfig, why: str) -> str:
    return (f"**schemawarden**: the label `{label}` added by @{login} does not approve `{env.name}`: {why}. "
            "The label was removed and nothing was applied.")


def _apply(github: GitHub, conn: psycopg.Connection[Any], job: ReconcileEnvironment, env: EnvironmentConfig,
           url: str, migrations: MigrationSet, head: str, job_id: int) -> None:
    """Apply what the gate lets through, reported as a GitHub Deployment of `head` to `env`."""
    repo = job.repository
    approvals, standing = _approvals(conn, job, env)
    pr = f" for #{job.pull_request}" if job.pull_request else ""
    options = ApplyOptions(actor=f"schemawarden bot (job {job_id}, {job.trigger}{pr})", pull_request=job.pull_request,
                           commit_sha=head, wait=True, approvals=approvals)
    preview = plan_environment(env, url, migrations, options)
    if not preview.runnable and not preview.open_problems:
        waiting = len(preview.pending)
        log.info("%s of %s: nothing to apply%s", env.label, repo, f" ({waiting} pending, not approved)" if waiting else "")
        return
    deployment = github.create_deployment(repo, head, env.name, f"job-{job_id}-{env.name}",
                                          description=f"schemawarden: {len(preview.runnable)} migration(s) to apply",
                                          production=env.name == "production")
    github.set_deployment_status(repo, deployment.id, "in_progress", description="applying migrations")
    try:
        result = apply_environment(env, url, migrations, options)
    except SchemawardenError as exc:
        github.set_deployment_status(repo, deployment.id, "error", description=str(exc))
        raise
    done = {o.tag for o in result.outcomes if o.status == "applied"} | {m.tag for m in result.plan.applied}
    finished = [a.id for a in standing if a.migrations and set(a.migrations) <= done]
    if finished:
        mark_applied(conn, finished)
    github.set_deployment_status(repo, deployment.id, "success" if result.ok else "failure",
                                 description=_outcome(result))
    log.info("%s of %s: %s", env.label, repo, _outcome(result))


def _approvals(conn: psycopg.Connection[Any], job: ReconcileEnvironment,
               env: EnvironmentConfig) -> tuple[Approvals, Sequence[Approval]]:
    """What passes the gate: everything (`auto`), or the migrations of the standing approvals."""
    if env.gate == "auto":
        return Approvals(all_approved=True), ()
    standing = standing_approvals(conn, repository=job.repository, environment=env.name)
    tags = frozenset(tag for approval in standing for tag in approval.migrations)
    who = ", ".join(sorted({a.approved_by for a in standing})) or None
    why = "; ".join(f"label {a.label} on #{a.pull_request}" for a in standing) or None
    return Approvals(all_approved=False, tags=tags, approved_by=who, approval_reason=why), standing


def _outcome(result: ApplyResult) -> str:
    """One line for a deployment status (GitHub keeps 140 characters)."""
    applied = [o.tag for o in result.outcomes if o.status == "applied"]
    failed = next((o for o in result.outcomes if o.status != "applied"), None)
    if failed is not None:
        return f"{failed.tag} failed: {failed.error or 'see the apply log'}"
    if result.plan.open_problems:
        return f"blocked: {result.plan.open_problems[0].kind.value} ({result.plan.open_problems[0].tag or 'history'})"
    return f"applied {', '.join(applied)}" if applied else "nothing to apply"


def _refresh_matrix(github: GitHub, ctx: JobContext, job: ReconcileEnvironment, policy: Policy, source: str,
                    main: MigrationSet) -> None:
    """Bring the pull request's comment's environment matrix up to date (its other parts stay)."""
    repo, number = job.repository, job.pull_request
    assert number is not None
    pull = github.pull_request(repo, number)
    folder = policy.migrations.folder.strip("/")
    added, _ = sort_changes(change_kinds(github.changed_files(repo, number)), [folder])
    tags = [migration_tag(path) for path in added]
    migrations = main
    if not pull.merged:
        files = migration_files(github, repo, pull.head_sha, policy)
        migrations = migration_set(files, f"{folder} at {pull.head_sha[:12]}", policy)
    targets: list[EnvironmentTarget] = environment_targets(ctx.settings, repo, policy, source, reading=True)
    rows = environment_rows(targets, migrations, tags)
    with connect(ctx.control_url.get_secret_value()) as conn, pull_request_lock(conn, repository=repo,
                                                                               pull_request=number):
        github.edit_comment(repo, number, lambda body: with_environments(body, rows))
