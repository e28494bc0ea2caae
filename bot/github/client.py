"""`PyGitHubClient`: the `GitHub` interface on PyGithub.

PyGithub runs lazily here (`lazy=True`), so an object is fetched only by an explicit call, and
every call below sends exactly one request (listings page by page with `get_page`) through
`Calls.once`, which counts it and classifies its failure; each public method is one operation
under `Calls.run`, safe to run again from the start (see `_calls`).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, Literal, TypeVar, cast

from github import Auth, Github, GithubIntegration
from github.GithubObject import GithubObject, NotSet
from github.PaginatedList import PaginatedList
from github.Repository import Repository

from . import MARKER, ChangedFile, DeploymentState, Posted, PullRequestInfo, Role, Verdict
from ._auth import InstallationAuth, InstallationTokens
from ._calls import Calls
from ._files import BlobCache, FolderReader
from ._redact import SecretFilter
from .config import ApiUsage, GitHubConfig
from .errors import GitHubError, GitHubNotFound

G = TypeVar("G", bound=GithubObject)
COMMENT_LIMIT = 65536
OUTPUT_LIMIT = 65535
ANNOTATION_BATCH = 50
STATUS_DESCRIPTION_LIMIT = 140
PER_PAGE = 100
_CUT_NOTE = "\n\n*(cut here: GitHub takes at most 65,536 characters)*\n"
_STATUS_STATE = {"success": "success", "neutral": "success", "skipped": "success", "failure": "failure",
                 "action_required": "failure", "timed_out": "error", "cancelled": "error"}


class PyGitHubClient:
    """See `bot.github.GitHub`. `clock` (epoch seconds) decides when a token is stale."""

    def __init__(self, config: GitHubConfig, usage: ApiUsage | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._usage = usage or ApiUsage()
        self._secrets = SecretFilter(*(s.get_secret_value() for s in (config.token, config.private_key) if s))
        self._secrets.install()
        self._calls = Calls(config, self._usage, on_unauthorized=self._forget_tokens)
        self._reader = FolderReader(self._calls, BlobCache(config.blob_cache_bytes), config.blob_fetch_limit,
                                    config.timeout_s)
        self._lock = threading.Lock()
        self._clients: dict[int | None, Github] = {}
        self._installations: dict[str, int] = {}
        self._bot_login: str | None = None
        self._integration: GithubIntegration | None = None
        self._tokens: InstallationTokens | None = None
        if config.mode == "app":
            assert config.app_id is not None and config.private_key is not None
            app_auth = Auth.AppAuth(config.app_id, config.private_key.get_secret_value())
            self._integration = GithubIntegration(auth=app_auth, **self._connection())
            self._tokens = InstallationTokens(self._integration, self._calls, config.token_refresh_margin_s,
                                              self._secrets, clock)

    def _connection(self) -> dict[str, Any]:
        # retry=0: PyGithub's own retry would re-send POSTs (see _calls)
        return {"base_url": self.config.api_url.rstrip("/"), "timeout": self.config.timeout_s, "retry": 0,
                "user_agent": self.config.user_agent,
                "seconds_between_requests": self.config.seconds_between_requests or None,
                "seconds_between_writes": self.config.seconds_between_writes or None}

    @property
    def usage(self) -> ApiUsage:
        return self._usage

    def close(self) -> None:
        """Close connections and take the log filter off the libraries' loggers."""
        for client in self._clients.values():
            client.close()
        if self._integration is not None:
            self._integration.close()
        self._secrets.remove()

    def __repr__(self) -> str:
        return f"PyGitHubClient(api_url={self.config.api_url!r}, mode={self.config.mode!r})"

    # -- connections -----------------------------------------------------------------------------

    def remember_installation(self, repo: str, installation_id: int) -> None:
        with self._lock:
            self._installations[repo] = installation_id

    def _forget_tokens(self) -> bool:
        return self._tokens.forget() if self._tokens is not None else False

    def _repo(self, name: str) -> Repository:
        """A lazy repository object (no request) on the connection that may act on it."""
        return self._github_for(name).get_repo(name)

    def _github_for(self, repo: str) -> Github:
        installation = None if self._tokens is None else self._installation_of(repo)
        with self._lock:
            client = self._clients.get(installation)
            if client is None:
                if installation is None:
                    assert self.config.token is not None
                    auth: Auth.Auth = Auth.Token(self.config.token.get_secret_value())
                else:
                    assert self._tokens is not None
                    auth = InstallationAuth(self._tokens, installation)
                client = Github(auth=auth, per_page=PER_PAGE, lazy=True, **self._connection())
                self._clients[installation] = client
            return client

    def _installation_of(self, repo: str) -> int:
        with self._lock:
            known = self._installations.get(repo)
        if known is not None:
            return known
        assert self._integration is not None
        owner, _, name = repo.partition("/")
        integration = self._integration
        found = self._calls.once(
            f"finding the GitHub App installation of {repo}",
            lambda: integration.get_repo_installation(owner, name).id,
            not_found=f"The GitHub App is not installed on {repo} (or cannot see it): install it there, "
                      "or check the repository's name",
        )
        self.remember_installation(repo, found)
        return found

    def _bot(self, repo: str) -> str:
        """The login the bot's comments carry: `<app slug>[bot]`, or the token's user."""
        if self._bot_login is None:
            if self._integration is not None:
                integration = self._integration
                slug = self._calls.once("reading the GitHub App", lambda: integration.get_app().slug)
                self._bot_login = f"{slug}[bot]"
            else:
                client = self._github_for(repo)
                self._bot_login = self._calls.once("reading the token's user",
                                                   lambda: client.get_user().complete().login)
        return self._bot_login

    def _pages(self, what: str, listing: PaginatedList[G], requester: Any) -> Iterator[G]:
        page = 0
        while True:
            items = self._calls.once(f"{what} (page {page + 1})", partial(listing.get_page, page), requester)
            yield from items
            if len(items) < PER_PAGE:
                return
            page += 1

    # -- reading -----------------------------------------------------------------------------------

    def pull_request(self, repo: str, number: int) -> PullRequestInfo:
        def read() -> PullRequestInfo:
            r = self._repo(repo)
            pull = self._calls.once(f"reading pull request {repo}#{number}", lambda: r.get_pull(number).complete(),
                                    r.requester, not_found=_not_found(repo, f"pull request #{number}"))
            head_repo = pull.head.repo.full_name if pull.head.repo is not None else None
            return PullRequestInfo(
                repo=repo, number=number, title=pull.title, author=pull.user.login, state=cast(Literal["open", "closed"], pull.state),
                draft=bool(pull.draft), merged=bool(pull.merged), head_sha=pull.head.sha, head_ref=pull.head.ref,
                head_repo=head_repo, base_sha=pull.base.sha, base_ref=pull.base.ref,
                default_branch=pull.base.repo.default_branch, labels=tuple(label.name for label in pull.labels),
                html_url=pull.html_url,
            )

        return self._calls.run(f"reading pull request {repo}#{number}", read)

    def changed_files(self, repo: str, number: int) -> list[ChangedFile]:
        def read() -> list[ChangedFile]:
            r = self._repo(repo)
            files = r.get_pull(number).get_files()
            return [ChangedFile(f.filename, cast(Any, f.status), f.previous_filename)
                    for f in self._pages(f"listing the files of {repo}#{number}", files, r.requester)]

        return self._calls.run(f"listing the files of {repo}#{number}", read)

    def folder_files(self, repo: str, ref: str, folder: str,
                     include: Callable[[str], bool] | None = None) -> dict[str, bytes]:
        return self._calls.run(f"reading {folder} of {repo} at {ref}",
                               lambda: self._reader.read(self._repo(repo), repo, ref, folder, include))

    def file(self, repo: str, ref: str, path: str) -> bytes | None:
        def read() -> bytes | None:
            r = self._repo(repo)
            try:
                content = self._calls.once(f"reading {path} of {repo} at {ref}",
                                           lambda: r.get_contents(path, ref=ref), r.requester)
            except GitHubNotFound:
                return None
            if isinstance(content, list):
                raise GitHubError(f"reading {path} of {repo} at {ref}: it is a folder, not a file")
            if content.encoding == "base64":
                return base64.b64decode(content.content)
            # above 1 MB the contents API leaves the content out: the blob API serves it
            blob = self._calls.once(f"reading {path} of {repo} at {ref}", lambda: r.get_git_blob(content.sha),
                                    r.requester)
            return base64.b64decode(blob.content)

        return self._calls.run(f"reading {path} of {repo} at {ref}", read)

    def permission(self, repo: str, login: str) -> Role:
        def read() -> Role:
            r = self._repo(repo)
            role = self._calls.once(f"reading {login}'s permission on {repo}",
                                    lambda: r.get_collaborator_role_name(login), r.requester,
                                    not_found=_not_found(repo, f"user {login}"))
            return cast(Role, role)  # GitHub's role names: admin, maintain, write, triage, read, none

        return self._calls.run(f"reading {login}'s permission on {repo}", read)

    # -- writing -----------------------------------------------------------------------------------

    def _my_comment(self, r: Repository, repo: str, number: int, marker: str) -> Any:
        """The bot's own comment carrying `marker` on issue `number`, or None (one listing)."""
        issue = r.get_issue(number)
        bot = self._bot(repo)
        return next((c for c in self._pages(f"listing the comments of {repo}#{number}", issue.get_comments(),
                                            r.requester)
                     if c.user.login == bot and marker in (c.body or "")), None)

    def edit_comment(self, repo: str, number: int, change: Callable[[str], str], marker: str = MARKER) -> Posted | None:
        def edit() -> Posted | None:
            r = self._repo(repo)
            mine = self._my_comment(r, repo, number, marker)
            if mine is None:
                return None
            new = change(mine.body)
            body = _fit_comment(new if marker in new else f"{new}\n{marker}", marker)
            if body != mine.body:
                self._calls.once(f"updating the comment on {repo}#{number}", lambda: mine.edit(body), r.requester,
                                 method="PATCH")
            return Posted(mine.id, mine.html_url, False)

        return self._calls.run(f"updating the comment on {repo}#{number}", edit)

    def branch_head(self, repo: str, branch: str) -> str:
        def read() -> str:
            r = self._repo(repo)
            ref = self._calls.once(f"reading branch {branch} of {repo}", lambda: r.get_git_ref(f"heads/{branch}"),
                                   r.requester, not_found=_not_found(repo, f"branch {branch}"))
            return str(ref.object.sha)

        return self._calls.run(f"reading branch {branch} of {repo}", read)

    def upsert_comment(self, repo: str, number: int, body: str, marker: str = MARKER) -> Posted:
        body = _fit_comment(body if marker in body else f"{body}\n{marker}", marker)

        def post() -> Posted:
            r = self._repo(repo)
            issue = r.get_issue(number)
            mine = self._my_comment(r, repo, number, marker)
            if mine is None:
                created = self._calls.once(f"commenting on {repo}#{number}", lambda: issue.create_comment(body),
                                           r.requester, not_found=_not_found(repo, f"pull request #{number}"),
                                           method="POST")
                return Posted(created.id, created.html_url, True)
            if mine.body != body:
                self._calls.once(f"updating the comment on {repo}#{number}", lambda: mine.edit(body), r.requester,
                                 method="PATCH")
            return Posted(mine.id, mine.html_url, False)

        return self._calls.run(f"posting the comment on {repo}#{number}", post)

    def publish_verdict(self, repo: str, head_sha: str, verdict: Verdict) -> Posted:
        if self._tokens is None:
            return self._calls.run(f"setting the commit status of {repo}@{head_sha[:7]}",
                                   lambda: self._commit_status(repo, head_sha, verdict))
        return self._calls.run(f"publishing the check run of {repo}@{head_sha[:7]}",
                               lambda: self._check_run(repo, head_sha, verdict))

    def _check_run(self, repo: str, head_sha: str, verdict: Verdict) -> Posted:
        r = self._repo(repo)
        what = f"check run {verdict.name!r} on {repo}@{head_sha[:7]}"
        runs = r.get_commit(head_sha).get_check_runs(check_name=verdict.name)
        found = next((run for run in self._pages(f"listing the check runs of {repo}@{head_sha[:7]}", runs,
                                                 r.requester) if run.external_id == verdict.external_id), None)
        annotations = [_annotation(a) for a in verdict.annotations]
        fields: dict[str, Any] = {"details_url": verdict.details_url or NotSet}
        if verdict.conclusion is None:
            fields["status"] = "in_progress"
        else:
            fields["conclusion"] = verdict.conclusion
        output = {"title": verdict.title, "summary": _fit(verdict.summary, OUTPUT_LIMIT)}
        if verdict.text:
            output["text"] = _fit(verdict.text, OUTPUT_LIMIT)
        if found is None:
            run = self._calls.once(
                f"creating {what}", lambda: r.create_check_run(
                    verdict.name, head_sha, external_id=verdict.external_id,
                    output={**output, "annotations": annotations[:ANNOTATION_BATCH]}, **fields),
                r.requester, not_found=_not_found(repo, f"commit {head_sha}"), method="POST")
            created = True
            sent = min(len(annotations), ANNOTATION_BATCH)
        else:
            run, created = found, False
            sent = run.output.annotations_count or 0  # what an earlier, interrupted try already sent
            batch = annotations[sent:sent + ANNOTATION_BATCH]
            self._calls.once(f"updating {what}", lambda: run.edit(output={**output, "annotations": batch}, **fields),
                             r.requester, method="PATCH")
            sent += len(batch)
        while sent < len(annotations):
            batch = annotations[sent:sent + ANNOTATION_BATCH]
            self._calls.once(f"annotating {what}", partial(run.edit, output={**output, "annotations": batch}),
                             r.requester, method="PATCH")
            sent += len(batch)
        return Posted(run.id, run.html_url, created)

    def _commit_status(self, repo: str, sha: str, verdict: Verdict) -> Posted:
        r = self._repo(repo)
        state = "pending" if verdict.conclusion is None else _STATUS_STATE[verdict.conclusion]
        description = _fit(verdict.title, STATUS_DESCRIPTION_LIMIT)
        commit = r.get_commit(sha)
        status = self._calls.once(
            f"setting the commit status of {repo}@{sha[:7]}",
            lambda: commit.create_status(state, target_url=verdict.details_url or NotSet,
                                         description=description, context=verdict.name),
            r.requester, not_found=_not_found(repo, f"commit {sha}"), method="POST")
        return Posted(status.id, verdict.details_url or status.url, True)

    def remove_label(self, repo: str, number: int, label: str) -> bool:
        def remove() -> bool:
            r = self._repo(repo)
            try:
                self._calls.once(f"removing label {label!r} from {repo}#{number}",
                                 lambda: r.get_issue(number).remove_from_labels(label), r.requester,
                                 method="DELETE")
            except GitHubNotFound:
                return False
            return True

        return self._calls.run(f"removing label {label!r} from {repo}#{number}", remove)

    def create_deployment(self, repo: str, sha: str, environment: str, key: str, *, description: str,
                          production: bool, transient: bool = False) -> Posted:
        payload = {"schemawarden": key}

        def deploy() -> Posted:
            r = self._repo(repo)
            listing = r.get_deployments(sha=sha, environment=environment)
            for existing in self._pages(f"listing the deployments of {repo}", listing, r.requester):
                if isinstance(existing.payload, dict) and existing.payload.get("schemawarden") == key:
                    return Posted(existing.id, existing.url, False)
            made = self._calls.once(
                f"creating a deployment of {repo}@{sha[:7]} to {environment}",
                lambda: r.create_deployment(sha, auto_merge=False, required_contexts=[], payload=payload,
                                            environment=environment, description=description,
                                            production_environment=production, transient_environment=transient),
                r.requester, not_found=_not_found(repo, f"commit {sha}"), method="POST")
            return Posted(made.id, made.url, True)

        return self._calls.run(f"creating a deployment of {repo} to {environment}", deploy)

    def set_deployment_status(self, repo: str, deployment_id: int, state: DeploymentState, *, description: str,
                              log_url: str | None = None, environment_url: str | None = None) -> None:
        def post() -> None:
            r = self._repo(repo)
            deployment = r.get_deployment(deployment_id)
            self._calls.once(
                f"setting the status of deployment {deployment_id} of {repo}",
                lambda: deployment.create_status(state, description=_fit(description, STATUS_DESCRIPTION_LIMIT),
                                                 target_url=log_url or NotSet,
                                                 environment_url=environment_url or NotSet),
                r.requester, not_found=_not_found(repo, f"deployment {deployment_id}"), method="POST")

        self._calls.run(f"setting the status of deployment {deployment_id} of {repo}", post)


def _not_found(repo: str, thing: str) -> str:
    return (f"Either {repo} has no {thing}, or the credentials cannot see {repo} (for a GitHub App: "
            "install it on the repository)")


def _annotation(note: Any) -> dict[str, Any]:
    data = {"path": note.path, "start_line": note.start_line, "end_line": note.end_line,
            "annotation_level": note.level, "message": _fit(note.message, OUTPUT_LIMIT)}
    if note.title:
        data["title"] = note.title
    return data


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit_comment(body: str, marker: str) -> str:
    """GitHub refuses a comment over 65,536 characters: keep the start, say so, keep the marker."""
    if len(body) <= COMMENT_LIMIT:
        return body
    tail = f"{_CUT_NOTE}{marker}\n"
    return body[: COMMENT_LIMIT - len(tail)] + tail


__all__ = ["PyGitHubClient"]
