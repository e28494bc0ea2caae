"""Webhook deliveries for tests, built from GitHub's own examples (`bot/fake_github/examples/`).

`pull_request_event` and `push_event` take the example of that event and action and change its
values only (repository, numbers, refs, shas, people, installation) to match a scenario arranged
on the fake GitHub; the shape stays GitHub's. `delivery` signs a payload as GitHub does
(`X-Hub-Signature-256`) and returns the body and headers to POST to the bot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .state import FakeGitHubState

EXAMPLES = Path(__file__).resolve().parent / "examples"
_EXAMPLE_REPO = "Codertocat/Hello-World"


def example(name: str) -> dict[str, Any]:
    """The committed example `name` (e.g. "pull_request.opened", "push")."""
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _retargeted(name: str, state: FakeGitHubState, repo: str) -> dict[str, Any]:
    text = (EXAMPLES / f"{name}.json").read_text(encoding="utf-8")
    owner = repo.split("/")[0]
    payload: dict[str, Any] = json.loads(text.replace(_EXAMPLE_REPO, repo).replace('"Codertocat"', json.dumps(owner)))
    record = state.repos[repo]
    payload["repository"].update(id=record.id, name=record.name, full_name=repo,
                                 default_branch=record.default_branch, private=record.private)
    payload["repository"]["owner"]["login"] = owner
    if "installation" in payload:
        payload["installation"]["id"] = state.INSTALLATION_ID
    return payload


def pull_request_event(state: FakeGitHubState, repo: str, number: int, action: str, *,
                       sender: str = "octocat", label: str | None = None) -> dict[str, Any]:
    """A `pull_request` delivery for pull request `number` as the fake holds it now."""
    pull = state.pulls[(repo, number)]
    name = f"pull_request.{action}"
    if action == "closed":
        name += ".merged" if pull.merged else ".unmerged"
    payload = _retargeted(name, state, repo)
    payload["number"] = number
    payload["sender"]["login"] = sender
    pr = payload["pull_request"]
    pr.update(number=number, id=pull.id, title=pull.title, state=pull.state, draft=pull.draft,
              merged=pull.merged, body=pull.body or None, updated_at=_iso(pull.updated_at))
    if pull.merge_commit_sha is not None:
        pr["merge_commit_sha"] = pull.merge_commit_sha
    pr["user"]["login"] = pull.user
    for side, repo_name, ref, sha in (("head", pull.head_repo, pull.head_ref, pull.head_sha),
                                      ("base", pull.repo, pull.base_ref, pull.base_sha)):
        part = pr[side]
        source = state.repos[repo_name]
        part.update(ref=ref, sha=sha, label=f"{source.owner}:{ref}")
        part["repo"].update(id=source.id, name=source.name, full_name=repo_name,
                            default_branch=source.default_branch, private=source.private)
        part["repo"]["owner"]["login"] = part["user"]["login"] = source.owner
    template = (pr["labels"] or [payload.get("label") or {}])[0]
    pr["labels"] = [{**template, "name": name} for name in pull.labels] if template else []
    if label is not None and "label" in payload:
        payload["label"]["name"] = label
    return payload


def _iso(epoch: float) -> str:
    """An instant as GitHub writes it in payloads (UTC, to the millisecond here so that two updates
    of one second stay in order)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def push_event(state: FakeGitHubState, repo: str, branch: str, before: str, after: str, *,
               sender: str = "octocat") -> dict[str, Any]:
    """A `push` delivery of `branch` moving from `before` to `after`."""
    payload = _retargeted("push", state, repo)
    payload.update(ref=f"refs/heads/{branch}", before=before, after=after)
    payload["sender"]["login"] = payload["pusher"]["name"] = sender
    for commit in [*payload["commits"][:1], payload["head_commit"]]:
        commit["id"], commit["tree_id"] = after, state.git.commits[after].tree
    return payload


def delivery(event: str, payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers GitHub sends for `payload`, signed with `secret`."""
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()),
                  "X-Hub-Signature-256": f"sha256={signature}", "Content-Type": "application/json",
                  "User-Agent": "GitHub-Hookshot/fake"}
