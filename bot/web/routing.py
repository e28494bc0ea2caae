"""From a GitHub event to the jobs it causes: a pure function of the event, its payload and the settings.

| event, action | what happens |
|---|---|
| `pull_request` opened, synchronize, reopened, ready_for_review | analyse the pull request |
| `pull_request` edited | analyse, only when the base branch changed (`changes.base`) |
| `pull_request` closed, merged into the default branch | reconcile every environment of the repository (trigger `merge`; the job applies where the gate lets it: `auto`, or a standing approval) |
| `pull_request` labeled with an environment's label | reconcile that environment (trigger `label`, carrying the labeller; the job checks the permission and records the approval) |
| `pull_request` unlabeled with an environment's label | revoke the pull request's approvals of that environment not applied yet (in the webhook's transaction) |
| `push` to the default branch | reconcile every environment (trigger `push`) |
| anything else | ignored (202, with the reason) |

The router does not read the policy file (it lives on the default branch, behind GitHub API
calls, and the webhook must be answered within a second): which environments exist and their
labels come from the service's settings; gates and approvers are checked by the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.jobs import AnalysePullRequest, Payload, ReconcileEnvironment, reconcile_entrypoint
from bot.settings import ServedEnvironment, ServiceSettings

ANALYSED_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review", "edited"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Repository(_Model):
    full_name: str
    default_branch: str


class _Account(_Model):
    login: str


class _Installation(_Model):
    id: int


class _HeadRepository(_Model):
    full_name: str


class _Branch(_Model):
    ref: str
    sha: str
    repo: _HeadRepository | None = None


class _PullRequest(_Model):
    number: int
    head: _Branch
    base: _Branch
    updated_at: datetime
    draft: bool = False
    merged: bool | None = None
    merge_commit_sha: str | None = None


class _Label(_Model):
    name: str


class PullRequestEvent(_Model):
    """The fields of a `pull_request` webhook the router reads (GitHub sends many more)."""

    action: str
    pull_request: _PullRequest
    repository: _Repository
    sender: _Account
    installation: _Installation | None = None
    label: _Label | None = None
    changes: dict[str, Any] | None = None


class PushEvent(_Model):
    """The fields of a `push` webhook the router reads."""

    ref: str
    after: str
    deleted: bool = False
    repository: _Repository
    sender: _Account
    installation: _Installation | None = None


@dataclass(frozen=True)
class Revocation:
    """Revoke the standing approvals of `environment` given to `pull_request` through `label`."""

    repository: str
    environment: str
    pull_request: int
    label: str
    revoked_by: str


@dataclass(frozen=True)
class Decision:
    """What one delivery causes: jobs to enqueue as (entrypoint, payload), approvals to revoke,
    or the reason it is ignored."""

    action: str | None
    repository: str | None
    jobs: tuple[tuple[str, Payload], ...] = ()
    revocations: tuple[Revocation, ...] = ()
    ignored: str | None = None


class WrongShape(ValueError):
    """A payload that validates but lacks what its action needs (a label for `labeled`)."""


def route(event: str, payload: dict[str, Any], delivery_id: str, settings: ServiceSettings) -> Decision:
    """The decision for one verified delivery.

    Raises pydantic.ValidationError or WrongShape (answered 422) when the fields read are missing
    or of the wrong type.
    """
    if event == "pull_request":
        return _pull_request(PullRequestEvent.model_validate(payload), delivery_id, settings)
    if event == "push":
        return _push(PushEvent.model_validate(payload), delivery_id, settings)
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    repository = payload.get("repository")
    name = repository.get("full_name") if isinstance(repository, dict) else None
    return Decision(action, name if isinstance(name, str) else None, ignored=f"event {event!r} is not acted on")


def _pull_request(e: PullRequestEvent, delivery_id: str, settings: ServiceSettings) -> Decision:
    repo = e.repository.full_name
    environments = settings.environments_of(repo)
    if environments is None:
        return Decision(e.action, repo, ignored=f"repository {repo} is not served (SCHEMAWARDEN_REPOSITORIES)")
    pr = e.pull_request
    installation = e.installation.id if e.installation else None
    if e.action in ANALYSED_ACTIONS:
        if e.action == "edited" and not (e.changes or {}).get("base"):
            return Decision(e.action, repo, ignored="edited without a change of the base branch")
        job = AnalysePullRequest(
            delivery_id=delivery_id,
            repository=repo,
            installation_id=installation,
            number=pr.number,
            action=e.action,
            head_sha=pr.head.sha,
            head_ref=pr.head.ref,
            head_repository=pr.head.repo.full_name if pr.head.repo else None,
            base_ref=pr.base.ref,
            base_sha=pr.base.sha,
            draft=pr.draft,
            updated_at=pr.updated_at,
        )
        return Decision(e.action, repo, jobs=((job.kind.value, job),))
    if e.action == "closed":
        if not pr.merged:
            return Decision(e.action, repo, ignored="closed without merging")
        if pr.base.ref != e.repository.default_branch:
            return Decision(e.action, repo, ignored=f"merged into {pr.base.ref}, not the default branch")
        if not pr.merge_commit_sha:
            raise WrongShape("pull_request.merge_commit_sha is missing from a merged pull request")
        return _reconcile_all(
            settings, repo, environments, delivery_id, installation, "merge", pr.merge_commit_sha,
            e.repository.default_branch, e.action, pull_request=pr.number,
        )
    if e.action in ("labeled", "unlabeled"):
        if e.label is None:
            raise WrongShape(f"label is missing from a {e.action} event")
        env = next((env for env in environments if env.approval_label == e.label.name), None)
        if env is None:
            return Decision(e.action, repo, ignored=f"label {e.label.name!r} approves no environment")
        if e.action == "unlabeled":
            revocation = Revocation(repo, env.name, pr.number, e.label.name, e.sender.login)
            return Decision(e.action, repo, revocations=(revocation,))
        approval = ReconcileEnvironment(
            delivery_id=delivery_id,
            repository=repo,
            installation_id=installation,
            environment=env.name,
            trigger="label",
            sha=pr.head.sha,
            default_branch=e.repository.default_branch,
            pull_request=pr.number,
            label=e.label.name,
            labeller=e.sender.login,
        )
        return Decision(e.action, repo, jobs=((_entrypoint(settings, repo, env), approval),))
    return Decision(e.action, repo, ignored=f"pull_request action {e.action!r} is not acted on")


def _push(e: PushEvent, delivery_id: str, settings: ServiceSettings) -> Decision:
    repo = e.repository.full_name
    environments = settings.environments_of(repo)
    if environments is None:
        return Decision(None, repo, ignored=f"repository {repo} is not served (SCHEMAWARDEN_REPOSITORIES)")
    if e.ref != f"refs/heads/{e.repository.default_branch}":
        return Decision(None, repo, ignored=f"push to {e.ref}, not the default branch")
    if e.deleted:
        return Decision(None, repo, ignored="the default branch was deleted")
    installation = e.installation.id if e.installation else None
    return _reconcile_all(
        settings, repo, environments, delivery_id, installation, "push", e.after, e.repository.default_branch, None
    )


def _reconcile_all(
    settings: ServiceSettings,
    repo: str,
    environments: tuple[ServedEnvironment, ...],
    delivery_id: str,
    installation: int | None,
    trigger: str,
    sha: str,
    default_branch: str,
    action: str | None,
    pull_request: int | None = None,
) -> Decision:
    if not environments:
        return Decision(action, repo, ignored="no environment is configured (SCHEMAWARDEN_ENV_<NAME>_URL)")
    jobs = tuple(
        (
            _entrypoint(settings, repo, env),
            ReconcileEnvironment.model_validate(
                {
                    "delivery_id": delivery_id,
                    "repository": repo,
                    "installation_id": installation,
                    "environment": env.name,
                    "trigger": trigger,
                    "sha": sha,
                    "default_branch": default_branch,
                    "pull_request": pull_request,
                }
            ),
        )
        for env in environments
    )
    return Decision(action, repo, jobs=jobs)


def _entrypoint(settings: ServiceSettings, repo: str, env: ServedEnvironment) -> str:
    return reconcile_entrypoint(repo if settings.repositories is not None else None, env.name)
