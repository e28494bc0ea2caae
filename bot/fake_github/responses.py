"""The fake's answers in GitHub's shapes: GitHub's own example of each schema, completed with every
required property (`Description.instance`) and overlaid with the fake's values. The server holds
each answer to the OpenAPI description, so a builder that drifts from GitHub fails the test."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

from .openapi import DROP, Description
from .state import CheckRun, Comment, Deployment, FakeGitHubState, PullRequest, Repository, Status


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64_lines(data: bytes) -> str:
    """Base64 wrapped at 60 characters per line, as GitHub sends blob and file contents."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


class Shapes:
    """Builders of GitHub objects for one fake server (its base URL goes into every `url`)."""

    def __init__(self, describe: Description, state: FakeGitHubState) -> None:
        self.d = describe
        self.s = state
        self.api = state.base_url
        self.web = state.base_url + "/_web"

    def user(self, login: str) -> dict[str, Any]:
        bot = login.endswith("[bot]")
        return self.d.instance(
            "simple-user", None, login=login, id=_stable_id(login), node_id=f"U_{login}",
            type="Bot" if bot else "User", url=f"{self.api}/users/{login}", html_url=f"{self.web}/{login}",
            avatar_url=f"{self.web}/avatars/{login}", site_admin=False,
        )

    def repository(self, repo: Repository, full: bool = False) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}"
        return self.d.instance(
            "full-repository" if full else "repository", "full-repository-default-response",
            id=repo.id, node_id=f"R_{repo.id}", name=repo.name, full_name=repo.full_name,
            owner=self.user(repo.owner), private=repo.private,
            visibility="private" if repo.private else "public", fork=False, url=url,
            html_url=f"{self.web}/{repo.full_name}", default_branch=repo.default_branch,
            template_repository=DROP, organization=DROP, parent=DROP, source=DROP,
        )

    def app(self) -> dict[str, Any]:
        app = self.s.app
        return self.d.instance(
            "integration", "integration", id=app.id, slug=app.slug, name=app.name,
            client_id=f"Iv1.{app.id}", node_id=f"A_{app.id}", owner=self.user("octo-org"),
            html_url=f"{self.web}/apps/{app.slug}", external_url=f"{self.web}/apps/{app.slug}",
            permissions={"checks": "write", "contents": "read", "deployments": "write", "issues": "write",
                         "metadata": "read", "pull_requests": "write", "statuses": "write"},
            events=["pull_request", "push"],
        )

    def installation(self, installation_id: int, account: str) -> dict[str, Any]:
        return self.d.instance(
            "installation", "installation", id=installation_id, app_id=self.s.app.id,
            app_slug=self.s.app.slug, account=self.user(account), target_id=_stable_id(account),
            target_type="Organization", repository_selection="selected",
            access_tokens_url=f"{self.api}/app/installations/{installation_id}/access_tokens",
            repositories_url=f"{self.api}/installation/repositories",
            html_url=f"{self.web}/organizations/{account}/settings/installations/{installation_id}",
        )

    def access_token(self, token: str, expires: float) -> dict[str, Any]:
        return self.d.instance(
            "installation-token", "installation-token", token=token, expires_at=iso(expires),
            permissions={"checks": "write", "contents": "read", "issues": "write", "pull_requests": "write",
                         "deployments": "write", "metadata": "read", "statuses": "write"},
            repository_selection="selected",
        )

    def pull_request(self, pull: PullRequest) -> dict[str, Any]:
        url = f"{self.api}/repos/{pull.repo}/pulls/{pull.number}"
        issue = f"{self.api}/repos/{pull.repo}/issues/{pull.number}"

        def side(repo_name: str, ref: str, sha: str) -> dict[str, Any]:
            repo = self.s.repos[repo_name]
            return {"label": f"{repo.owner}:{ref}", "ref": ref, "sha": sha, "user": self.user(repo.owner),
                    "repo": self.repository(repo)}

        data = self.d.instance(
            "pull-request", "pull-request", id=pull.id, node_id=f"PR_{pull.id}", number=pull.number,
            url=url, html_url=f"{self.web}/{pull.repo}/pull/{pull.number}", issue_url=issue,
            comments_url=f"{issue}/comments", state=pull.state, title=pull.title, body=pull.body,
            user=self.user(pull.user), draft=pull.draft, merged=pull.merged, locked=False,
            labels=[self.label(pull.repo, name) for name in pull.labels],
            head=side(pull.head_repo, pull.head_ref, pull.head_sha),
            base=side(pull.repo, pull.base_ref, pull.base_sha),
            milestone=None, assignee=None, assignees=[], requested_reviewers=[], requested_teams=[],
            merged_by=None, merged_at=None, closed_at=None, merge_commit_sha=None, active_lock_reason=None,
            author_association="CONTRIBUTOR",
        )
        data["head"]["repo"] = side(pull.head_repo, pull.head_ref, pull.head_sha)["repo"]
        data["base"]["repo"] = side(pull.repo, pull.base_ref, pull.base_sha)["repo"]
        return data

    def label(self, repo: str, name: str) -> dict[str, Any]:
        return self.d.instance(
            "label", None, id=_stable_id(name), node_id=f"L_{name}", name=name,
            url=f"{self.api}/repos/{repo}/labels/{name}", color="ededed", default=False, description=None,
        )

    def comment(self, comment: Comment) -> dict[str, Any]:
        app = self.app() if comment.app_id is not None else None
        return self.d.instance(
            "issue-comment", "issue-comment", id=comment.id, node_id=f"IC_{comment.id}",
            url=f"{self.api}/repos/{comment.repo}/issues/comments/{comment.id}",
            html_url=f"{self.web}/{comment.repo}/pull/{comment.issue_number}#issuecomment-{comment.id}",
            issue_url=f"{self.api}/repos/{comment.repo}/issues/{comment.issue_number}",
            body=comment.body, user=self.user(comment.user), created_at=iso(comment.created_at),
            updated_at=iso(comment.updated_at), author_association="NONE" if app else "OWNER",
            performed_via_github_app=app,
        )

    def check_run(self, run: CheckRun) -> dict[str, Any]:
        url = f"{self.api}/repos/{run.repo}/check-runs/{run.id}"
        return self.d.instance(
            "check-run", "check-run", id=run.id, node_id=f"CR_{run.id}", head_sha=run.head_sha,
            external_id=run.external_id, name=run.name, status=run.status, conclusion=run.conclusion,
            url=url, html_url=f"{self.web}/{run.repo}/runs/{run.id}", details_url=run.details_url,
            started_at=iso(run.started_at), completed_at=iso(run.completed_at) if run.completed_at else None,
            output={"title": run.title, "summary": run.summary, "text": run.text,
                    "annotations_count": len(run.annotations), "annotations_url": f"{url}/annotations"},
            check_suite={"id": run.id}, app=self.app(), pull_requests=[], deployment=DROP,
        )

    def status(self, status: Status) -> dict[str, Any]:
        return self.d.instance(
            "status", "status", id=status.id, node_id=f"S_{status.id}", state=status.state,
            context=status.context, description=status.description, target_url=status.target_url,
            url=f"{self.api}/repos/{status.repo}/statuses/{status.sha}", creator=self.user(status.creator),
            created_at=iso(status.created_at), updated_at=iso(status.created_at), avatar_url=None,
        )

    def deployment(self, deployment: Deployment) -> dict[str, Any]:
        url = f"{self.api}/repos/{deployment.repo}/deployments/{deployment.id}"
        return self.d.instance(
            "deployment", "deployment-simple-example", id=deployment.id, node_id=f"D_{deployment.id}",
            url=url, sha=deployment.sha, ref=deployment.ref, task=deployment.task, payload=deployment.payload,
            environment=deployment.environment, original_environment=deployment.environment,
            description=deployment.description, creator=self.user(deployment.creator),
            created_at=iso(deployment.created_at), updated_at=iso(deployment.created_at),
            statuses_url=f"{url}/statuses", repository_url=f"{self.api}/repos/{deployment.repo}",
            transient_environment=deployment.transient_environment,
            production_environment=deployment.production_environment, performed_via_github_app=None,
        )

    def deployment_status(self, deployment: Deployment, status: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.api}/repos/{deployment.repo}/deployments/{deployment.id}"
        return self.d.instance(
            "deployment-status", "deployment-status", id=status["id"], node_id=f"DS_{status['id']}",
            url=f"{url}/statuses/{status['id']}", state=status["state"], description=status["description"],
            environment=deployment.environment, environment_url=status["environment_url"],
            log_url=status["log_url"], target_url=status["log_url"], creator=self.user(status["creator"]),
            deployment_url=url, repository_url=f"{self.api}/repos/{deployment.repo}",
            created_at=iso(status["created_at"]), updated_at=iso(status["created_at"]),
            performed_via_github_app=None,
        )

    def tree(self, repo: str, sha: str, entries: list[dict[str, Any]], truncated: bool) -> dict[str, Any]:
        return {"sha": sha, "url": f"{self.api}/repos/{repo}/git/trees/{sha}", "tree": entries,
                "truncated": truncated}

    def tree_entry(self, repo: str, path: str, mode: str, kind: str, sha: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"path": path, "mode": mode, "type": kind, "sha": sha,
                                 "url": f"{self.api}/repos/{repo}/git/{kind}s/{sha}"}
        if kind == "blob":
            entry["size"] = len(self.s.git.blobs[sha])
        return entry

    def blob(self, repo: str, sha: str, data: bytes) -> dict[str, Any]:
        return {"sha": sha, "node_id": f"B_{sha[:12]}", "size": len(data), "encoding": "base64",
                "url": f"{self.api}/repos/{repo}/git/blobs/{sha}", "content": b64_lines(data)}

    def content_file(self, repo: str, path: str, sha: str, data: bytes, ref: str) -> dict[str, Any]:
        """GitHub's contents answer for a file; above 1 MB GitHub leaves `content` empty and says
        `"encoding": "none"` (the blob API still serves it)."""
        large = len(data) > 1024 * 1024
        url = f"{self.api}/repos/{repo}/contents/{path}?ref={ref}"
        git_url = f"{self.api}/repos/{repo}/git/blobs/{sha}"
        html = f"{self.web}/{repo}/blob/{ref}/{path}"
        return {"type": "file", "encoding": "none" if large else "base64", "size": len(data),
                "name": path.rsplit("/", 1)[-1], "path": path, "content": "" if large else b64_lines(data),
                "sha": sha, "url": url, "git_url": git_url, "html_url": html,
                "download_url": f"{self.web}/raw/{repo}/{ref}/{path}",
                "_links": {"self": url, "git": git_url, "html": html}}

    def git_ref(self, repo: str, ref: str, sha: str) -> dict[str, Any]:
        return self.d.instance(
            "git-ref", "git-ref", ref=f"refs/{ref}", node_id=f"REF_{ref}",
            url=f"{self.api}/repos/{repo}/git/refs/{ref}",
            object={"type": "commit", "sha": sha, "url": f"{self.api}/repos/{repo}/git/commits/{sha}"},
        )

    def commit(self, repo: str, sha: str) -> dict[str, Any]:
        commit = self.s.git.commits[sha]
        person = {"name": commit.author, "email": f"{commit.author}@users.noreply.github.com",
                  "date": iso(commit.timestamp)}
        url = f"{self.api}/repos/{repo}/commits/{sha}"
        return self.d.instance(
            "commit", "commit", sha=sha, node_id=f"C_{sha[:12]}", url=url,
            html_url=f"{self.web}/{repo}/commit/{sha}", comments_url=f"{url}/comments",
            author=self.user(commit.author), committer=self.user(commit.author),
            parents=[{"sha": p, "url": f"{self.api}/repos/{repo}/commits/{p}",
                      "html_url": f"{self.web}/{repo}/commit/{p}"} for p in commit.parents],
            commit={"message": commit.message, "author": person, "committer": person, "comment_count": 0,
                    "url": f"{self.api}/repos/{repo}/git/commits/{sha}", "verification": DROP,
                    "tree": {"sha": commit.tree, "url": f"{self.api}/repos/{repo}/git/trees/{commit.tree}"}},
            files=[], stats={"additions": 0, "deletions": 0, "total": 0},
        )

    def diff_entry(self, repo: str, path: str, status: str, sha: str | None, ref: str) -> dict[str, Any]:
        return self.d.instance(
            "diff-entry", None, sha=sha, filename=path, status=status, additions=0, deletions=0, changes=0,
            blob_url=f"{self.web}/{repo}/blob/{ref}/{path}", raw_url=f"{self.web}/{repo}/raw/{ref}/{path}",
            contents_url=f"{self.api}/repos/{repo}/contents/{path}?ref={ref}",
        )

    def private_user(self, login: str) -> dict[str, Any]:
        now = iso(time.time())
        return self.d.instance(
            "private-user", "private-user-response-with-public-and-private-profile-information",
            **{**self.user(login), "created_at": now, "updated_at": now, "plan": DROP,
               "name": login, "email": None, "company": None, "blog": None, "location": None,
               "hireable": None, "bio": None, "twitter_username": None, "user_view_type": "private"},
        )


def _stable_id(text: str) -> int:
    return int(1 + sum(ord(c) * 31**i for i, c in enumerate(text[:8])) % 9_000_000)
