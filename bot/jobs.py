"""Durable jobs: their kinds, typed payloads, queue names and the handlers a worker runs.

A job is one row in the control database's queue (pgqueuer), enqueued by the webhook service in
the transaction that records the delivery. Two kinds:

* `analyse_pull_request`: judge a pull request's new migrations, publish one sticky comment and
  a check run. Many may run at once.
* `reconcile_environment`: bring one environment to the default branch's migrations (after a
  merge, a push to the default branch, or an approval label). One entrypoint per environment
  (`reconcile_environment:<environment>`, or `reconcile_environment:<owner/name>:<environment>`
  when the service serves several repositories) with a concurrency limit of 1, which the queue
  enforces across every worker; the apply engine's advisory lock stays the last guard.

Handlers are plain (blocking) functions, run in a thread so that the worker's event loop keeps
sending the job's heartbeats: a job whose heartbeat stops is taken over by another worker.
Handlers must be idempotent, because a job runs again when its worker dies after the handler's
effect but before the queue recorded the success (see docs/decisions.md, "The webhook service
and its jobs"): the sticky comment is found by its marker and updated, the check run carries an
`external_id`, approvals are recorded once per PR, commit and label, the apply engine skips what
the history table says is applied, and `bot.control.analyses.publication` keeps an older
analysis from overwriting a newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from bot.settings import ServiceSettings
from policies.errors import ConfigurationError

if TYPE_CHECKING:
    from bot.github import GitHub

_Sha = Annotated[str, Field(pattern=r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")]
_Repository = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]


class JobKind(StrEnum):
    ANALYSE_PULL_REQUEST = "analyse_pull_request"
    RECONCILE_ENVIRONMENT = "reconcile_environment"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    delivery_id: str
    """The `X-GitHub-Delivery` that caused the job (for logs and the deliveries table)."""
    repository: _Repository
    """`owner/name`, as GitHub spells it."""
    installation_id: int | None = None
    """The GitHub App installation to act as (None when the service uses a token)."""


class AnalysePullRequest(_Payload):
    """Analyse pull request `number` at `head_sha` against its base `base_ref` at `base_sha`."""

    kind: Literal[JobKind.ANALYSE_PULL_REQUEST] = JobKind.ANALYSE_PULL_REQUEST
    number: int = Field(gt=0)
    action: str
    """The webhook's action: opened, synchronize, reopened, edited or ready_for_review."""
    head_sha: _Sha
    head_ref: str
    head_repository: _Repository | None
    """Where the head branch lives: another repository means a fork (its SQL runs only in scratch
    databases); None when GitHub no longer knows the fork."""
    base_ref: str
    base_sha: _Sha
    draft: bool = False
    updated_at: datetime
    """The pull request's `updated_at` in the webhook: with the job id, orders analyses (newest wins)."""

    def dedupe_key(self) -> str:
        """Unique while queued or running: the same head on the same base is analysed once at a time;
        a new push (new head) or a changed base is a new key, so it is never dropped."""
        return f"analyse:{self.repository}#{self.number}:{self.head_sha}:{self.base_sha}"


class ReconcileEnvironment(_Payload):
    """Reconcile `environment` of `repository` to the default branch at `sha`.

    `trigger` says why: `merge` (a pull request merged into the default branch), `push` (a push to
    it) or `label` (an approval label added to pull request `pull_request` by `labeller`; the job
    checks the labeller's permission against the policy of the default branch before recording it).
    """

    kind: Literal[JobKind.RECONCILE_ENVIRONMENT] = JobKind.RECONCILE_ENVIRONMENT
    environment: str
    trigger: Literal["merge", "push", "label"]
    sha: _Sha
    """The commit to reconcile to (merge or push), or the labelled pull request's head."""
    default_branch: str
    pull_request: int | None = None
    label: str | None = None
    labeller: str | None = None

    def dedupe_key(self) -> str | None:
        """Merge and push of one commit coalesce while one is queued or running; approvals never do."""
        if self.trigger == "label":
            return None
        return f"reconcile:{self.repository}:{self.environment}@{self.sha}"


Payload = AnalysePullRequest | ReconcileEnvironment


def reconcile_entrypoint(repository: str | None, environment: str) -> str:
    """The queue entrypoint of one environment's reconciles (repository None: one repository served)."""
    scope = f"{repository.lower()}:" if repository else ""
    return f"{JobKind.RECONCILE_ENVIRONMENT}:{scope}{environment}"


def kind_of_entrypoint(entrypoint: str) -> str:
    """`reconcile_environment:acme/shop:staging` -> `reconcile_environment` (for metrics)."""
    return entrypoint.split(":", 1)[0]


def encode(payload: Payload) -> bytes:
    """The queue row's payload: the model's JSON."""
    return payload.model_dump_json().encode()


def decode(kind: JobKind, data: bytes | None) -> Payload:
    """The payload of a queue row of `kind`; raises pydantic.ValidationError for a bad one."""
    model: type[AnalysePullRequest] | type[ReconcileEnvironment] = (
        AnalysePullRequest if kind is JobKind.ANALYSE_PULL_REQUEST else ReconcileEnvironment
    )
    return model.model_validate_json(data or b"{}")


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its payload.

    `attempt` counts from 1 (a job taken over from a dead worker keeps its attempt number: only
    failures count). `control_url` is a secret: connect with `bot.control.database.connect`.
    """

    job_id: int
    attempt: int
    max_attempts: int
    settings: ServiceSettings
    control_url: SecretStr
    extras: dict[str, Any]
    """Objects the process shares with its handlers (a GitHub client, metrics)."""


AnalyseHandler = Callable[[AnalysePullRequest, JobContext], None]
ReconcileHandler = Callable[[ReconcileEnvironment, JobContext], None]


@dataclass(frozen=True)
class JobHandlers:
    """The registry: one handler per job kind. A worker takes only the kinds it has a handler for;
    jobs of the others wait in the queue (durably) for a worker that has one."""

    analyse_pull_request: AnalyseHandler | None = None
    reconcile_environment: ReconcileHandler | None = None

    def kinds(self) -> list[JobKind]:
        return [kind for kind in JobKind if getattr(self, kind.value) is not None]


GITHUB = "github"
"""The key of the process's GitHub client in `JobContext.extras` (the worker puts it there)."""


def github_of(ctx: JobContext) -> GitHub:
    """The GitHub client the worker shares with its handlers; ConfigurationError (not retried)
    when the service has no GitHub credentials."""
    client = ctx.extras.get(GITHUB)
    if client is None:
        ctx.settings.github_config()  # raises the ConfigurationError that names the variables
        raise ConfigurationError("this worker has no GitHub client")
    return client  # type: ignore[no-any-return]


def registered_handlers() -> JobHandlers:
    """The handlers `schemawarden worker` and `serve --with-worker` run: `bot.pull_request.handle`
    and `bot.reconcile_job.handle` (imported here, so that the web service alone loads neither)."""
    from bot import pull_request, reconcile_job

    return JobHandlers(pull_request.handle, reconcile_job.handle)
