"""What each REST operation of the fake does, as GitHub does it (status codes and messages included).

A handler gets a `Call` (the state, the path parameters, query and JSON body, the credential) and
returns an `Answer`, or raises `Refusal` for GitHub's error answers.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .responses import Shapes
from .state import CheckRun, Comment, Credential, Deployment, FakeGitHubState, Repository, Status

DOCS = "https://docs.github.com/rest"


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Refusal(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def answer(self) -> Answer:
        return Answer(self.status, {"message": self.message, "documentation_url": DOCS}, self.headers)


@dataclass
class Call:
    state: FakeGitHubState
    shapes: Shapes
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    credential: Credential | None
    path: str

    @property
    def repo(self) -> Repository:
        name = f"{self.params['owner']}/{self.params['repo']}"
        repo = self.state.repos.get(name)
        if repo is None:
            raise Refusal(404, "Not Found")
        return repo

    @property
    def actor(self) -> str:
        return self.credential.login if self.credential else "ghost"

    def commit_sha(self, ref: str) -> str:
        sha = self.state.resolve(self.repo.full_name, ref)
        if sha is None:
            raise Refusal(422, f"No commit found for SHA: {ref}")
        return sha

    def page(self, items: list[Any]) -> Answer:
        """One page of `items` with GitHub's `Link` header (per_page default 30, at most 100)."""
        per_page = min(int(self.query.get("per_page", 30)), 100)
        number = max(int(self.query.get("page", 1)), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []
        if number < last:
            base = f"{self.state.base_url}{quote(self.path)}?per_page={per_page}"
            links = [f'<{base}&page={number + 1}>; rel="next"', f'<{base}&page={last}>; rel="last"']
        body = items[(number - 1) * per_page : number * per_page]
        return Answer(200, body, {"Link": ", ".join(links)} if links else {})


Handler = Callable[[Call], Answer]
HANDLERS: dict[str, Handler] = {}


def handles(operation: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[operation] = fn
        return fn

    return register


@handles("GET /app")
def get_app(call: Call) -> Answer:
    return Answer(200, call.shapes.app())


@handles("POST /app/installations/{installation_id}/access_tokens")
def create_access_token(call: Call) -> Answer:
    installation = int(call.params["installation_id"])
    if installation not in call.state.installations:
        raise Refusal(404, "Not Found")
    token, expires = call.state.issue_installation_token(installation)
    return Answer(201, call.shapes.access_token(token, expires))


@handles("GET /repos/{owner}/{repo}/installation")
def get_repo_installation(call: Call) -> Answer:
    for installation, repos in call.state.installations.items():
        if call.repo.full_name in repos:
            return Answer(200, call.shapes.installation(installation, call.repo.owner))
    raise Refusal(404, "Not Found")


@handles("GET /user")
def get_user(call: Call) -> Answer:
    if call.credential is None or call.credential.kind != "token":
        raise Refusal(403, "Resource not accessible by integration")
    return Answer(200, call.shapes.private_user(call.credential.login))


@handles("GET /repos/{owner}/{repo}")
def get_repository(call: Call) -> Answer:
    return Answer(200, call.shapes.repository(call.repo, full=True))


@handles("GET /repos/{owner}/{repo}/git/ref/{ref}")
def get_ref(call: Call) -> Answer:
    ref = call.params["ref"]
    sha = call.repo.refs.get(ref)
    if sha is None:
        raise Refusal(404, "Not Found")
    return Answer(200, call.shapes.git_ref(call.repo.full_name, ref, sha))


@handles("GET /repos/{owner}/{repo}/commits/{ref}")
def get_commit(call: Call) -> Answer:
    return Answer(200, call.shapes.commit(call.repo.full_name, call.commit_sha(call.params["ref"])))


@handles("GET /repos/{owner}/{repo}/git/trees/{tree_sha}")
def get_tree(call: Call) -> Answer:
    """A tree by its sha, or the root tree of a commit or branch (GitHub accepts both); with
    `recursive`, every entry below it, cut at the state's `tree_entry_limit` with `truncated`."""
    git, name = call.state.git, call.params["tree_sha"]
    tree = name if name in git.trees else None
    if tree is None:
        sha = call.state.resolve(call.repo.full_name, name)
        if sha is None:
            raise Refusal(404, "Not Found")
        tree = git.commits[sha].tree
    recursive = call.query.get("recursive") not in (None, "", "0", "false")
    entries = [call.shapes.tree_entry(call.repo.full_name, path, e.mode, e.type, e.sha)
               for path, e in git.walk(tree, recursive=recursive)]
    limit = call.state.tree_entry_limit
    return Answer(200, call.shapes.tree(call.repo.full_name, tree, entries[:limit], len(entries) > limit))


@handles("GET /repos/{owner}/{repo}/git/blobs/{file_sha}")
def get_blob(call: Call) -> Answer:
    data = call.state.git.blobs.get(call.params["file_sha"])
    if data is None:
        raise Refusal(404, "Not Found")
    return Answer(200, call.shapes.blob(call.repo.full_name, call.params["file_sha"], data))


@handles("GET /repos/{owner}/{repo}/contents/{path}")
def get_contents(call: Call) -> Answer:
    ref = call.query.get("ref") or call.repo.default_branch
    sha = call.state.resolve(call.repo.full_name, ref)
    if sha is None:
        raise Refusal(404, f"No commit found for the ref {ref}")
    entry = call.state.git.entry_at(call.state.git.commits[sha].tree, call.params["path"])
    if entry is None:
        raise Refusal(404, "Not Found")
    if entry.type == "tree":
        raise Refusal(501, "fake GitHub: listing a folder through contents is not implemented")
    data = call.state.git.blobs[entry.sha]
    return Answer(200, call.shapes.content_file(call.repo.full_name, call.params["path"], entry.sha, data, ref))


@handles("GET /repos/{owner}/{repo}/tarball/{ref}")
def get_tarball(call: Call) -> Answer:
    sha = call.state.resolve(call.repo.full_name, call.params["ref"])
    if sha is None:
        raise Refusal(404, "Not Found")
    token = secrets.token_hex(16)
    with call.state.lock:
        call.state.archive_tokens[token] = time.time() + 300
    location = f"{call.state.base_url}/_codeload/{call.repo.full_name}/legacy.tar.gz/{sha}?token={token}"
    return Answer(302, None, {"Location": location})


@handles("GET /repos/{owner}/{repo}/pulls/{pull_number}")
def get_pull(call: Call) -> Answer:
    pull = call.state.pulls.get((call.repo.full_name, int(call.params["pull_number"])))
    if pull is None:
        raise Refusal(404, "Not Found")
    return Answer(200, call.shapes.pull_request(pull))


@handles("GET /repos/{owner}/{repo}/pulls/{pull_number}/files")
def list_pull_files(call: Call) -> Answer:
    pull = call.state.pulls.get((call.repo.full_name, int(call.params["pull_number"])))
    if pull is None:
        raise Refusal(404, "Not Found")
    git = call.state.git
    base = {p: e.sha for p, e in git.walk(git.commits[pull.base_sha].tree) if e.type == "blob"}
    head = {p: e.sha for p, e in git.walk(git.commits[pull.head_sha].tree) if e.type == "blob"}
    files = []
    for path in sorted(base.keys() | head.keys()):
        if base.get(path) == head.get(path):
            continue
        status = "added" if path not in base else "removed" if path not in head else "modified"
        files.append(call.shapes.diff_entry(call.repo.full_name, path, status, head.get(path) or base[path],
                                            pull.head_sha))
    return call.page(files[:3000])


@handles("GET /repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_comments(call: Call) -> Answer:
    comments = call.state.comments_on(call.repo.full_name, int(call.params["issue_number"]))
    return call.page([call.shapes.comment(c) for c in comments])


@handles("POST /repos/{owner}/{repo}/issues/{issue_number}/comments")
def create_comment(call: Call) -> Answer:
    number = int(call.params["issue_number"])
    if (call.repo.full_name, number) not in call.state.pulls:
        raise Refusal(404, "Not Found")
    _check_body_length(call.body["body"])
    now = time.time()
    app_id = call.state.app.id if call.credential and call.credential.kind == "installation" else None
    comment = Comment(call.state.next_id(), call.repo.full_name, number, call.body["body"], call.actor,
                      app_id, now, now)
    with call.state.lock:
        call.state.comments[comment.id] = comment
    return Answer(201, call.shapes.comment(comment))


@handles("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}")
def update_comment(call: Call) -> Answer:
    comment = call.state.comments.get(int(call.params["comment_id"]))
    if comment is None or comment.repo != call.repo.full_name:
        raise Refusal(404, "Not Found")
    if comment.user != call.actor:
        raise Refusal(403, "Resource not accessible by integration")
    _check_body_length(call.body["body"])
    with call.state.lock:
        comment.body, comment.updated_at = call.body["body"], time.time()
    return Answer(200, call.shapes.comment(comment))


def _check_body_length(body: str) -> None:
    if len(body) > 65536:
        raise Refusal(422, "Validation Failed: body is too long (maximum is 65536 characters)")


@handles("DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}")
def remove_label(call: Call) -> Answer:
    pull = call.state.pulls.get((call.repo.full_name, int(call.params["issue_number"])))
    if pull is None:
        raise Refusal(404, "Not Found")
    if call.params["name"] not in pull.labels:
        raise Refusal(404, "Label does not exist")
    with call.state.lock:
        pull.labels.remove(call.params["name"])
    return Answer(200, [call.shapes.label(call.repo.full_name, name) for name in pull.labels])


@handles("POST /repos/{owner}/{repo}/check-runs")
def create_check_run(call: Call) -> Answer:
    if call.credential is None or call.credential.kind != "installation":
        raise Refusal(403, "You must authenticate via a GitHub App.")
    body = call.body
    run = CheckRun(call.state.next_id(), call.repo.full_name, call.commit_sha(body["head_sha"]), body["name"],
                   call.state.app.id, external_id=body.get("external_id"))
    _apply_check_run(run, body)
    with call.state.lock:
        call.state.check_runs_by_id[run.id] = run
    return Answer(201, call.shapes.check_run(run))


@handles("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}")
def update_check_run(call: Call) -> Answer:
    run = call.state.check_runs_by_id.get(int(call.params["check_run_id"]))
    if run is None or run.repo != call.repo.full_name:
        raise Refusal(404, "Not Found")
    if call.credential is None or call.credential.kind != "installation":
        raise Refusal(403, "You must authenticate via a GitHub App.")
    with call.state.lock:
        _apply_check_run(run, call.body)
    return Answer(200, call.shapes.check_run(run))


def _apply_check_run(run: CheckRun, body: dict[str, Any]) -> None:
    """Fields as GitHub sets them: a conclusion completes the run; annotations accumulate over
    updates (GitHub takes at most 50 per request: the description's `maxItems` holds the client
    to that)."""
    for key in ("name", "external_id", "details_url", "status"):
        if key in body:
            setattr(run, key, body[key])
    if "conclusion" in body:
        run.conclusion, run.status = body["conclusion"], "completed"
    if run.status == "completed" and run.completed_at is None:
        run.completed_at = time.time()
    output = body.get("output")
    if output:
        run.title, run.summary = output.get("title", run.title), output.get("summary", run.summary)
        run.text = output.get("text", run.text)
        run.annotations.extend(output.get("annotations", []))


@handles("GET /repos/{owner}/{repo}/commits/{ref}/check-runs")
def list_check_runs(call: Call) -> Answer:
    sha = call.commit_sha(call.params["ref"])
    runs = [r for r in call.state.check_runs(call.repo.full_name, sha)
            if call.query.get("check_name") in (None, r.name) and call.query.get("status") in (None, r.status)]
    runs.reverse()  # newest first, as GitHub lists them
    page = call.page([call.shapes.check_run(r) for r in runs])
    page.body = {"total_count": len(runs), "check_runs": page.body}
    return page


@handles("POST /repos/{owner}/{repo}/statuses/{sha}")
def create_status(call: Call) -> Answer:
    sha = call.commit_sha(call.params["sha"])
    body = call.body
    status = Status(call.state.next_id(), call.repo.full_name, sha, body["state"],
                    body.get("context") or "default", body.get("description"), body.get("target_url"),
                    call.actor, time.time())
    with call.state.lock:
        call.state.statuses_by_id[status.id] = status
    return Answer(201, call.shapes.status(status))


@handles("GET /repos/{owner}/{repo}/collaborators/{username}/permission")
def get_permission(call: Call) -> Answer:
    login = call.params["username"]
    role = call.repo.collaborators.get(login) or ("none" if call.repo.private else "read")
    legacy = {"maintain": "write", "triage": "read"}.get(role, role)  # GitHub's `permission` field
    data = call.shapes.d.instance(
        "repository-collaborator-permission", None, permission=legacy, role_name=role,
        user=call.shapes.d.instance("nullable-collaborator", None, **call.shapes.user(login), permissions={
            "admin": role == "admin", "maintain": role in ("admin", "maintain"),
            "push": role in ("admin", "maintain", "write"), "triage": role != "read" and role != "none",
            "pull": role != "none"}, role_name=role),
    )
    return Answer(200, data)


@handles("GET /repos/{owner}/{repo}/deployments")
def list_deployments(call: Call) -> Answer:
    q = call.query
    found = [d for d in reversed(call.state.deployments(call.repo.full_name))
             if q.get("sha") in (None, d.sha) and q.get("ref") in (None, d.ref)
             and q.get("task") in (None, d.task) and q.get("environment") in (None, d.environment)]
    return call.page([call.shapes.deployment(d) for d in found])


@handles("POST /repos/{owner}/{repo}/deployments")
def create_deployment(call: Call) -> Answer:
    body = call.body
    sha = call.state.resolve(call.repo.full_name, body["ref"])
    if sha is None:
        raise Refusal(422, f"No ref found for: {body['ref']}")
    environment = body.get("environment", "production")
    deployment = Deployment(call.state.next_id(), call.repo.full_name, sha, body["ref"], body.get("task", "deploy"),
                            environment, body.get("payload", {}), body.get("description"), call.actor,
                            body.get("production_environment", environment == "production"),
                            body.get("transient_environment", False))
    with call.state.lock:
        call.state.deployments_by_id[deployment.id] = deployment
    return Answer(201, call.shapes.deployment(deployment))


@handles("POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses")
def create_deployment_status(call: Call) -> Answer:
    deployment = call.state.deployments_by_id.get(int(call.params["deployment_id"]))
    if deployment is None or deployment.repo != call.repo.full_name:
        raise Refusal(404, "Not Found")
    body = call.body
    status = {"id": call.state.next_id(), "state": body["state"], "description": body.get("description", ""),
              "environment_url": body.get("environment_url", ""), "log_url": body.get("log_url", ""),
              "creator": call.actor, "created_at": time.time()}
    with call.state.lock:
        deployment.statuses.append(status)
    return Answer(201, call.shapes.deployment_status(deployment, status))
