"""The `analyse_pull_request` job: judge a pull request's new migrations and publish the verdict.

Data walks down and comes back once: the pull request, its changed files, the policy of the
default branch and the migrations folder at its base and head are read through GitHub; the
judgement is `bot.judge.judge_change`, exactly as `schemawarden check --base` judges a branch;
each environment's history is read (never written; none of the pull request's SQL runs anywhere);
then ONE sticky comment and a check run (a commit status with a token) are published, under
`bot.control.analyses.publication` so that an analysis overtaken by a newer push is dropped.

A pull request that touches neither the schema sources nor the migrations folder gets a neutral
verdict and no comment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from bot.comment import Comment, EnvironmentRow, environments_section
from bot.control.analyses import publication
from bot.control.database import connect
from bot.environment_matrix import environment_rows
from bot.github import Annotation, Conclusion, GitHub, PullRequestInfo, Verdict
from bot.jobs import AnalysePullRequest, JobContext, github_of
from bot.judge import base_schema_from, judge_change
from bot.proving import ProofGroup, Proven, attach, open_scratch_server, prove_groups
from bot.render import markdown
from bot.render.summary import summarize
from bot.repository import (
    WORKFLOWS,
    PullRequestMigrations,
    change_kinds,
    environment_targets,
    migration_files,
    migration_set,
    pull_request_migrations,
    read_policy,
    touches_schema,
)
from bot.settings import CONFIG_FILE, ServiceSettings
from policies.errors import ConfigurationError, MigrationSetError, SchemawardenError
from policies.report import FileReport, Severity
from policies.versions import is_supported
from reconciler.database.connect import Target, target_of
from reconciler.database.scratch import ScratchServer
from reconciler.migrations import load_migration_files

log = logging.getLogger(__name__)

CHECK_NAME = "schemawarden"
_LEVEL: dict[Severity, Literal["notice", "warning", "failure"]] = {
    Severity.ERROR: "failure", Severity.WARNING: "warning", Severity.INFO: "notice",
}

ScratchOpener = Callable[[], ScratchServer]
"""Opens the scratch server on which a pull request's new migrations are proven (its rollbacks,
the locks really taken); None: no proof."""


@dataclass(frozen=True)
class Analysis:
    """What one analysis publishes: the verdict, and the comment (None: no comment)."""

    verdict: Verdict
    comment: str | None


def handle(job: AnalysePullRequest, ctx: JobContext) -> None:
    """The job's handler: analyse, then publish unless a newer analysis of the pull request has
    been published meanwhile (then drop this one)."""
    github = github_of(ctx)
    if job.installation_id is not None:
        github.remember_installation(job.repository, job.installation_id)
    pull = github.pull_request(job.repository, job.number)
    if pull.head_sha != job.head_sha:
        log.info("%s#%d: head is %s now, not %s: a newer push will be analysed", job.repository, job.number,
                 pull.head_sha[:12], job.head_sha[:12])
        return
    analysis = analyse(github, job, pull, ctx.settings, scratch=lambda: scratch_server_of(ctx.settings))
    with connect(ctx.control_url.get_secret_value()) as conn, publication(
        conn, repository=job.repository, pull_request=job.number, head_sha=job.head_sha,
        head_updated_at=job.updated_at, job_id=ctx.job_id,
    ) as newest:
        if not newest:
            log.info("%s#%d@%s: a newer analysis is published; this one is dropped", job.repository, job.number,
                     job.head_sha[:12])
            return
        publish(github, job, analysis)


def publish(github: GitHub, job: AnalysePullRequest, analysis: Analysis) -> None:
    """The comment first (what people read), then the verdict."""
    if analysis.comment is not None:
        posted = github.upsert_comment(job.repository, job.number, analysis.comment)
        log.info("%s#%d: comment %s %s", job.repository, job.number, posted.id, "posted" if posted.created else "updated")
    github.publish_verdict(job.repository, job.head_sha, analysis.verdict)
    log.info("%s#%d@%s: %s (%s)", job.repository, job.number, job.head_sha[:12], analysis.verdict.conclusion,
             analysis.verdict.title)


def scratch_server_of(settings: ServiceSettings) -> ScratchServer:
    """The scratch server of the service (`SCHEMAWARDEN_SCRATCH_URL`, else the embedded PostgreSQL),
    refused when it leads to the database of any environment the service serves."""
    targets: dict[str, Target] = {}
    for repo, env in settings.all_environments():
        for url in (env.url, env.readonly_url):
            if url is not None:
                with contextlib.suppress(ValueError):
                    targets[f"{repo + ' ' if repo else ''}{env.name}"] = target_of(url.get_secret_value())
    return open_scratch_server(settings.scratch_url, settings.data_dir, targets)


def analyse(
    github: GitHub, job: AnalysePullRequest, pull: PullRequestInfo, settings: ServiceSettings,
    scratch: ScratchOpener | None = None,
) -> Analysis:
    """Judge pull request `job` (as `pull` is now) with the policy of its repository's default branch;
    with `scratch`, its new migrations are first proven there (never in an environment: a fork's SQL
    too runs only there, as a role without privileges and under statement_timeout)."""
    repo, branch = job.repository, pull.default_branch
    try:
        policy = read_policy(github, repo, branch)
    except ConfigurationError as exc:
        return _refused(job, f"{CONFIG_FILE} on {branch} is not valid", str(exc))
    if policy.applied_by is None and settings.environments_of(repo):
        # the service applies to the environments it serves: judge for its apply, not drizzle's migrator
        policy = policy.model_copy(update={"applied_by": "schemawarden"})
    changes = change_kinds(github.changed_files(repo, job.number))
    paths = [path for _, path in changes]
    if not touches_schema(paths, policy):
        summary = (f"No changed file matches the schema sources ({', '.join(policy.migrations.schema_globs)}) "
                   f"or the migrations folder `{policy.migrations.folder}`: nothing to judge.")
        return Analysis(_verdict(job, "neutral", "No schema changes", summary), None)
    notes = _notes(pull, paths, branch)
    folder = policy.migrations.folder.strip("/")
    head_files = migration_files(github, repo, job.head_sha, policy)
    try:
        head = migration_set(head_files, f"{folder} at {job.head_sha[:12]}", policy)
        change = pull_request_migrations(changes, head_files, head, policy)
    except MigrationSetError as exc:
        comment = Comment((), Severity(policy.fail_on), policy.docs_url, notes=notes,
                          problem=f"the migrations folder cannot be read as drizzle reads it: {exc}")
        return Analysis(_verdict(job, "failure", "The migrations folder cannot be read", str(exc)), comment.render())
    base_files = migration_files(github, repo, job.base_sha, policy)
    before = base_schema_from(base_files, f"{folder} at {job.base_sha[:12]}", policy.pg_version)
    proven, proof_note = _prove(scratch, base_files, f"{folder} at {job.base_sha[:12]}", change, policy.pg_version)
    if proof_note:
        notes = (*notes, proof_note)

    def judged(version: int) -> list[FileReport]:
        return judge_change(
            change.added, paths, change.edited, [change.head], before, policy, version, proven.failures
        )

    reports: Sequence[FileReport] = judged(policy.pg_version)
    if proven.proofs:
        server = proven.pg_major
        other = server is not None and server != policy.pg_version and is_supported(server)
        reports = attach(reports, proven, judged(server) if other and server is not None else None)
    targets = environment_targets(settings, repo, policy, f"{CONFIG_FILE} on {branch}", reading=True)
    rows = environment_rows(targets, head, change.tags)
    fail_on = Severity(policy.fail_on)
    comment = Comment(tuple(reports), fail_on, policy.docs_url, tuple(rows), notes)
    deleted = frozenset(path for path, kind in change.edited if kind == "deleted")
    return Analysis(_judged_verdict(job, reports, fail_on, rows, notes, deleted), comment.render())


def _prove(
    scratch: ScratchOpener | None, base_files: Mapping[str, bytes], source: str, change: PullRequestMigrations,
    pg_version: int,
) -> tuple[Proven, str | None]:
    """The proof of the pull request's new migrations on its base's migration set, and a note for
    the comment when it could not run (the analysis is still posted: a proof is extra)."""
    new = tuple(
        (change.head.shown(m.path), m)
        for m in change.head.migrations.migrations
        if change.head.shown(m.path) in {t.path for t in change.added}
    )
    if scratch is None or not new:
        return Proven(), None
    try:
        base = load_migration_files(base_files, source).migrations if base_files else ()
        with scratch() as server:
            return prove_groups(server, [ProofGroup(tuple(base), new)], pg_version), None
    except SchemawardenError as exc:
        log.warning("the proof in a scratch database did not run: %s", exc)
        return Proven(), f"The rollback proof in a scratch database did not run: {exc}"


def _notes(pull: PullRequestInfo, paths: Sequence[str], branch: str) -> tuple[str, ...]:
    """What the comment says about the pull request itself: where its SQL may run, whose policy counts."""
    notes: list[str] = []
    if pull.from_fork:
        source = pull.head_repo or "a deleted fork"
        notes.append(f"This pull request comes from {source}: its SQL runs only in scratch databases, never "
                     "in an environment, and it is judged by the policy of the default branch.")
    if CONFIG_FILE in paths:
        notes.append(f"This pull request changes `{CONFIG_FILE}`: it is judged by the policy on `{branch}`; "
                     "the change counts once merged.")
    workflows = sorted(p for p in paths if p.startswith(WORKFLOWS))
    if workflows:
        notes.append(f"This pull request changes a workflow ({', '.join(f'`{p}`' for p in workflows)}): its "
                     "SQL runs only in scratch databases until it is merged.")
    return tuple(notes)


def _judged_verdict(
    job: AnalysePullRequest, reports: Sequence[FileReport], fail_on: Severity, rows: Sequence[EnvironmentRow],
    notes: Sequence[str], deleted: frozenset[str],
) -> Verdict:
    summary = summarize(reports, fail_on)
    outcome = f"fails at `{fail_on.value}`" if summary.failed else "passes"
    text = markdown.render(reports, fail_on, limit=60_000)
    said = "".join(f"> {note}\n\n" for note in notes) + environments_section(rows)
    return _verdict(
        job, "failure" if summary.failed else "success", f"{summary.headline()}: {outcome}",
        f"{summary.headline()}; the policy {outcome}.\n\n{said}", text, _annotations(reports, deleted),
    )


def _annotations(reports: Sequence[FileReport], deleted: frozenset[str]) -> tuple[Annotation, ...]:
    """A note on each finding's line, the path relative to the repository's root (a finding about a
    whole file: its first line); none on a deleted file, which the head commit does not have."""
    notes = []
    for report in reports:
        if report.path in deleted:
            continue
        for finding in report.findings:
            line = finding.line or 1
            notes.append(Annotation(report.path, line, line, _LEVEL[finding.severity], finding.message,
                                    f"{finding.code} {finding.name}"))
    return tuple(notes)


def _refused(job: AnalysePullRequest, title: str, why: str) -> Analysis:
    return Analysis(_verdict(job, "failure", title, why), None)


def _verdict(job: AnalysePullRequest, conclusion: Conclusion, title: str, summary: str, text: str | None = None,
             annotations: tuple[Annotation, ...] = ()) -> Verdict:
    """The verdict for the job's head. Its `external_id` names this verdict: the pull request, head,
    base, conclusion and annotations (a re-run with the same outcome finds its check run)."""
    identity = json.dumps([job.base_sha, conclusion, title, [asdict(a) for a in annotations]], sort_keys=True)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return Verdict(CHECK_NAME, f"pr-{job.number}@{job.head_sha[:12]}:{digest}", conclusion, title, summary, text,
                   annotations)
