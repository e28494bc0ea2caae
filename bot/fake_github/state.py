"""What the fake GitHub knows: repositories with real git objects, pull requests, comments, check
runs, statuses, deployments, credentials, the faults to inject and every request it received.

A test arranges a scenario through the methods of `FakeGitHubState` (create a repository, push
files, open a pull request, add a human's comment, inject a fault) and reads back what the bot did
(`comments`, `check_runs`, `statuses`, `deployments`, `requests`). Everything is in memory and
guarded by one lock: the server answers from its own thread.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .git import ObjectStore

FaultKind = Literal["status", "timeout", "secondary_rate_limit", "hold"]


TEST_APP_ID = 271828


def make_app_identity(app_id: int = TEST_APP_ID, slug: str = "schemawarden-test") -> AppIdentity:
    """A GitHub App with a freshly generated RSA key (PEM, as GitHub hands it out)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return AppIdentity(app_id, slug, "schemawarden (test)", private, public)


@dataclass(frozen=True)
class AppIdentity:
    """The GitHub App the bot runs as: its id and slug, and the private key a test hands the bot."""

    id: int
    slug: str
    name: str
    private_key_pem: str = field(repr=False)
    public_key_pem: str = field(repr=False)

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


@dataclass
class Credential:
    kind: Literal["installation", "token"]
    login: str
    installation_id: int | None
    expires_at: float | None
    remaining: int = 5000
    window_reset: float = field(default_factory=lambda: time.time() + 3600)


@dataclass
class Repository:
    owner: str
    name: str
    id: int
    default_branch: str
    private: bool
    refs: dict[str, str] = field(default_factory=dict)  # "heads/main" -> commit sha
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> role name

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class PullRequest:
    repo: str
    number: int
    id: int
    title: str
    user: str
    head_repo: str
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    body: str = ""
    state: str = "open"
    draft: bool = False
    merged: bool = False
    labels: list[str] = field(default_factory=list)
    merge_commit_sha: str | None = None
    updated_at: float = field(default_factory=time.time)


@dataclass
class Comment:
    id: int
    repo: str
    issue_number: int
    body: str
    user: str
    app_id: int | None
    created_at: float
    updated_at: float


@dataclass
class CheckRun:
    id: int
    repo: str
    head_sha: str
    name: str
    app_id: int
    external_id: str | None = None
    status: str = "queued"
    conclusion: str | None = None
    details_url: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    completed_at: float | None = None


@dataclass
class Status:
    id: int
    repo: str
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: float


@dataclass
class Deployment:
    id: int
    repo: str
    sha: str
    ref: str
    task: str
    environment: str
    payload: Any
    description: str | None
    creator: str
    production_environment: bool
    transient_environment: bool
    statuses: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)


@dataclass
class RecordedRequest:
    """One request as the fake received it (the credential's kind, never its value)."""

    started: float
    method: str
    path: str
    query: list[tuple[str, str]]
    operation: str | None
    credential: str | None  # "jwt", "installation", "token" or None
    body: Any
    status: int = 0
    finished: float = 0.0
    fault: str | None = None


@dataclass
class Fault:
    method: str
    path: str  # a concrete path or an operation's template
    kind: FaultKind
    times: int
    status: int = 502
    delay: float = 0.0
    after: bool = False  # perform the request first, then fail
    retry_after: int = 1
    arrived: threading.Event = field(default_factory=threading.Event)  # a held request came
    release: threading.Event = field(default_factory=threading.Event)  # let it through


class FakeGitHubState:
    """The fake's whole memory; see the module docstring."""

    INSTALLATION_ID = 4242

    def __init__(self, app: AppIdentity, base_url: str) -> None:
        self.lock = threading.RLock()
        self.app = app
        self.base_url = base_url
        self.git = ObjectStore()
        self.repos: dict[str, Repository] = {}
        self.installations: dict[int, set[str]] = {self.INSTALLATION_ID: set()}
        self.credentials: dict[str, Credential] = {}
        self.pulls: dict[tuple[str, int], PullRequest] = {}
        self.comments: dict[int, Comment] = {}
        self.check_runs_by_id: dict[int, CheckRun] = {}
        self.statuses_by_id: dict[int, Status] = {}
        self.deployments_by_id: dict[int, Deployment] = {}
        self.archive_tokens: dict[str, float] = {}
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.rate_limited_until: float | None = None
        self.rate_limit_status = 403
        self.token_lifetime = 3600.0
        self.tree_entry_limit = 100_000
        self.latency_s = 0.0
        """Seconds every answer waits, to stand for GitHub's own latency (benchmarks)."""
        self._ids = 1000

    # -- arranging a scenario ------------------------------------------------------------------

    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    def create_repository(self, full_name: str, files: Mapping[str, bytes | str] | None = None,
                          default_branch: str = "main", private: bool = False,
                          installed: bool = True) -> Repository:
        """A repository with one commit of `files` on `default_branch`; the App is installed on it
        unless `installed` is false (then GitHub answers 404 to the App, as it does)."""
        owner, name = full_name.split("/")
        repo = Repository(owner, name, self.next_id(), default_branch, private)
        with self.lock:
            self.repos[full_name] = repo
            if installed:
                self.installations[self.INSTALLATION_ID].add(full_name)
        self.push(full_name, default_branch, files or {"README.md": b"# test\n"})
        return repo

    def push(self, full_name: str, branch: str, files: Mapping[str, bytes | str | None],
             message: str = "change", base: str | None = None, author: str = "octocat") -> str:
        """Commit `files` (path -> content; None deletes) on top of `branch` (created from `base`,
        default the default branch, when missing); open pull requests from it follow. Returns the
        commit's sha."""
        with self.lock:
            repo = self.repos[full_name]
            parent = repo.refs.get(f"heads/{branch}") or repo.refs.get(f"heads/{base or repo.default_branch}")
            current = self.git.files(self.git.commits[parent].tree) if parent else {}
            for path, data in files.items():
                if data is None:
                    current.pop(path, None)
                else:
                    current[path] = data.encode() if isinstance(data, str) else data
            tree = self.git.write_tree(current)
            stamp = int(time.time()) + len(self.git.commits)  # distinct commits for equal trees
            sha = self.git.write_commit(tree, (parent,) if parent else (), message, author, stamp)
            repo.refs[f"heads/{branch}"] = sha
            for pull in self.pulls.values():
                if pull.head_repo == full_name and pull.head_ref == branch and pull.state == "open":
                    pull.head_sha = sha
                    pull.updated_at = max(time.time(), pull.updated_at + 0.001)
            return sha

    def open_pull_request(self, full_name: str, head: str, base: str | None = None,
                          title: str = "Change the schema", user: str = "octocat", draft: bool = False,
                          head_repo: str | None = None, body: str = "") -> PullRequest:
        """A pull request from branch `head` (of `head_repo`: a fork, when given) into `base`."""
        with self.lock:
            repo = self.repos[full_name]
            base = base or repo.default_branch
            source = self.repos[head_repo or full_name]
            number = 1 + max((n for r, n in self.pulls if r == full_name), default=0)
            pull = PullRequest(full_name, number, self.next_id(), title, user, source.full_name, head,
                               source.refs[f"heads/{head}"], base, repo.refs[f"heads/{base}"],
                               body=body, draft=draft)
            self.pulls[(full_name, number)] = pull
            return pull

    def merge_pull_request(self, full_name: str, number: int) -> str:
        """Merge (the head's files become the base's) and close; returns the merge commit sha."""
        with self.lock:
            pull = self.pulls[(full_name, number)]
            files = self.git.files(self.git.commits[pull.head_sha].tree)
            old = self.git.files(self.git.commits[self.repos[full_name].refs[f"heads/{pull.base_ref}"]].tree)
            changes: dict[str, bytes | str | None] = {p: None for p in old if p not in files}
            changes.update(files)
            sha = self.push(full_name, pull.base_ref, changes, message=f"Merge pull request #{number}")
            pull.state, pull.merged, pull.merge_commit_sha = "closed", True, sha
            pull.updated_at = max(time.time(), pull.updated_at + 0.001)
            return sha

    def add_label(self, full_name: str, number: int, label: str) -> None:
        with self.lock:
            pull = self.pulls[(full_name, number)]
            pull.labels.append(label)
            pull.updated_at = max(time.time(), pull.updated_at + 0.001)

    def take_label(self, full_name: str, number: int, label: str) -> None:
        """A person removes `label` from pull request `number`."""
        with self.lock:
            pull = self.pulls[(full_name, number)]
            pull.labels.remove(label)
            pull.updated_at = max(time.time(), pull.updated_at + 0.001)

    def add_comment(self, full_name: str, number: int, body: str, user: str = "octocat") -> Comment:
        """A person's comment (not the bot's) on issue or pull request `number`."""
        with self.lock:
            now = time.time()
            comment = Comment(self.next_id(), full_name, number, body, user, None, now, now)
            self.comments[comment.id] = comment
            return comment

    def set_permission(self, full_name: str, login: str, role: str) -> None:
        """`login`'s role on the repository: admin, maintain, write, triage or read."""
        with self.lock:
            self.repos[full_name].collaborators[login] = role

    def issue_token(self, login: str = "ci-bot") -> str:
        """A plain token (a personal access token, or Actions' GITHUB_TOKEN) for token mode."""
        token = "ghp_" + secrets.token_hex(18)
        with self.lock:
            self.credentials[token] = Credential("token", login, None, None)
        return token

    def issue_installation_token(self, installation_id: int) -> tuple[str, float]:
        token = "ghs_" + secrets.token_hex(18)
        expires = time.time() + self.token_lifetime
        with self.lock:
            self.credentials[token] = Credential("installation", self.app.bot_login, installation_id, expires)
        return token, expires

    def expire_tokens(self) -> None:
        """Every installation token issued so far expires now (GitHub then answers 401)."""
        with self.lock:
            for credential in self.credentials.values():
                if credential.kind == "installation":
                    credential.expires_at = time.time() - 1

    def installation_tokens(self) -> list[str]:
        with self.lock:
            return [t for t, c in self.credentials.items() if c.kind == "installation"]

    # -- faults -----------------------------------------------------------------------------------

    def fail(self, method: str, path: str, status: int = 502, times: int = 1, after: bool = False) -> None:
        """The next `times` requests `method path` answer `status`; with `after`, GitHub performs
        the request first (a create that happened although the client saw an error)."""
        self._add_fault(Fault(method.upper(), path, "status", times, status=status, after=after))

    def time_out(self, method: str, path: str, delay: float = 3.0, times: int = 1, after: bool = False) -> None:
        """The next `times` requests `method path` are answered only after `delay` seconds."""
        self._add_fault(Fault(method.upper(), path, "timeout", times, delay=delay, after=after))

    def secondary_rate_limit(self, method: str, path: str, retry_after: int = 1, status: int = 403,
                             times: int = 1) -> None:
        """The next `times` requests `method path` hit GitHub's secondary rate limit (`status` 403
        or 429 with `Retry-After`)."""
        self._add_fault(Fault(method.upper(), path, "secondary_rate_limit", times, status=status,
                              retry_after=retry_after))

    def hold(self, method: str, path: str) -> Fault:
        """The next request `method path` waits, unanswered, until `release.set()` (at most a
        minute); `arrived` is set when it comes. For tests that order two jobs by their state."""
        fault = Fault(method.upper(), path, "hold", 1)
        self._add_fault(fault)
        return fault

    def primary_rate_limit(self, reset_in: float = 1.0, status: int = 403) -> int:
        """Every credential has used up its requests until `reset_in` seconds from now: each
        request before then answers `status` with `X-RateLimit-Remaining: 0` and
        `X-RateLimit-Reset` (whole epoch seconds, as GitHub sends). Returns that reset time."""
        with self.lock:
            reset = int(time.time() + reset_in) + 1
            self.rate_limited_until = float(reset)
            self.rate_limit_status = status
            return reset

    def _add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, method: str, path: str, template: str | None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.path in (path, template) and fault.times > 0:
                    fault.times -= 1
                    return fault
            return None

    # -- reading what the bot did ----------------------------------------------------------------

    def comments_on(self, full_name: str, number: int) -> list[Comment]:
        with self.lock:
            return sorted((c for c in self.comments.values() if (c.repo, c.issue_number) == (full_name, number)),
                          key=lambda c: c.id)

    def check_runs(self, full_name: str, sha: str | None = None) -> list[CheckRun]:
        with self.lock:
            return sorted((r for r in self.check_runs_by_id.values()
                           if r.repo == full_name and (sha is None or r.head_sha == sha)), key=lambda r: r.id)

    def statuses(self, full_name: str, sha: str | None = None) -> list[Status]:
        with self.lock:
            return sorted((s for s in self.statuses_by_id.values()
                           if s.repo == full_name and (sha is None or s.sha == sha)), key=lambda s: s.id)

    def deployments(self, full_name: str) -> list[Deployment]:
        with self.lock:
            return sorted((d for d in self.deployments_by_id.values() if d.repo == full_name), key=lambda d: d.id)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """Recorded requests `method path` (a concrete path or an operation's template)."""
        with self.lock:
            return [r for r in self.requests if r.method == method.upper()
                    and path in (r.path, (r.operation or "").partition(" ")[2])]

    def resolve(self, full_name: str, ref: str) -> str | None:
        """The commit sha that `ref` (a sha, branch, `heads/x` or `refs/heads/x`) names."""
        with self.lock:
            repo = self.repos[full_name]
            if ref in self.git.commits:
                return ref
            name = ref.removeprefix("refs/")
            return repo.refs.get(name) or repo.refs.get(f"heads/{name}")
