"""GitHub webhook payloads of GitHub's documented shapes, and their signatures, for tests and benchmarks.

The shapes follow GitHub's webhook documentation and `@octokit/webhooks-examples` (pull_request
and push): full user and repository objects with their API URLs, so that a payload has the size
(15-25 KB) and the fields of a real one, of which the router reads only a few. `delivery_id()`
is a GUID as GitHub sends in `X-GitHub-Delivery`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

API = "https://api.github.com"
WEB = "https://github.com"


def delivery_id() -> str:
    return str(uuid.uuid4())


def sha(seed: str) -> str:
    """A 40-hex commit sha derived from `seed`."""
    return hashlib.sha1(seed.encode()).hexdigest()


def sign(body: bytes, secret: str) -> str:
    """`X-Hub-Signature-256` for `body`: `sha256=` and the HMAC-SHA256 hex digest."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(event: str, body: bytes, secret: str, delivery: str | None = None) -> dict[str, str]:
    """The headers GitHub sends with a delivery."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/a1b2c3d",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or delivery_id(),
        "X-GitHub-Hook-ID": "123456789",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": "424242",
        "X-Hub-Signature-256": sign(body, secret),
    }


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def user(login: str, user_id: int = 21031067) -> dict[str, Any]:
    u = f"{API}/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": "MDQ6VXNlcjIxMDMxMDY3",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": u,
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{u}/followers",
        "following_url": f"{u}/following{{/other_user}}",
        "gists_url": f"{u}/gists{{/gist_id}}",
        "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{u}/subscriptions",
        "organizations_url": f"{u}/orgs",
        "repos_url": f"{u}/repos",
        "events_url": f"{u}/events{{/privacy}}",
        "received_events_url": f"{u}/received_events",
        "type": "User",
        "user_view_type": "public",
        "site_admin": False,
    }


_REPO_URLS = {
    "forks_url": "/forks", "keys_url": "/keys{/key_id}", "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams", "hooks_url": "/hooks", "issue_events_url": "/issues/events{/number}",
    "events_url": "/events", "assignees_url": "/assignees{/user}", "branches_url": "/branches{/branch}",
    "tags_url": "/tags", "blobs_url": "/git/blobs{/sha}", "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}", "trees_url": "/git/trees{/sha}", "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages", "stargazers_url": "/stargazers", "contributors_url": "/contributors",
    "subscribers_url": "/subscribers", "subscription_url": "/subscription", "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}", "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}", "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}", "merges_url": "/merges", "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads", "issues_url": "/issues{/number}", "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}", "releases_url": "/releases{/id}", "deployments_url": "/deployments",
}


def repository(full_name: str, default_branch: str = "main", *, push_event: bool = False) -> dict[str, Any]:
    """A repository object; in push events GitHub writes `created_at`/`pushed_at` as epoch seconds."""
    owner, name = full_name.split("/")
    base = f"{API}/repos/{full_name}"
    repo: dict[str, Any] = {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": name,
        "full_name": full_name,
        "private": False,
        "owner": user(owner),
        "html_url": f"{WEB}/{full_name}",
        "description": None,
        "fork": False,
        "url": base,
        **{key: base + suffix for key, suffix in _REPO_URLS.items()},
        "created_at": 1557933565 if push_event else "2019-05-15T15:19:25Z",
        "updated_at": "2019-05-15T15:21:03Z",
        "pushed_at": 1557933657 if push_event else "2019-05-15T15:20:57Z",
        "git_url": f"git://github.com/{full_name}.git",
        "ssh_url": f"git@github.com:{full_name}.git",
        "clone_url": f"{WEB}/{full_name}.git",
        "svn_url": f"{WEB}/{full_name}",
        "homepage": None,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "TypeScript",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": 2,
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "public",
        "forks": 0,
        "open_issues": 2,
        "watchers": 0,
        "default_branch": default_branch,
        "custom_properties": {},
    }
    if push_event:
        repo["master_branch"] = default_branch
        repo["stargazers"] = 0
    return repo


def _branch(full_name: str, ref: str, commit: str) -> dict[str, Any]:
    owner = full_name.split("/")[0]
    return {"label": f"{owner}:{ref}", "ref": ref, "sha": commit, "user": user(owner), "repo": repository(full_name)}


def pull_request(
    full_name: str,
    number: int,
    *,
    head_sha: str,
    base_sha: str,
    head_ref: str = "add-migration",
    base_ref: str = "main",
    head_repository: str | None = None,
    updated_at: str = "2026-01-15T15:20:35Z",
    merged: bool = False,
    state: str = "open",
    draft: bool = False,
    labels: tuple[str, ...] = (),
) -> dict[str, Any]:
    base = f"{API}/repos/{full_name}"
    author = user("Codertocat")
    return {
        "url": f"{base}/pulls/{number}",
        "id": 279147437 + number,
        "node_id": "MDExOlB1bGxSZXF1ZXN0Mjc5MTQ3NDM3",
        "html_url": f"{WEB}/{full_name}/pull/{number}",
        "diff_url": f"{WEB}/{full_name}/pull/{number}.diff",
        "patch_url": f"{WEB}/{full_name}/pull/{number}.patch",
        "issue_url": f"{base}/issues/{number}",
        "number": number,
        "state": state,
        "locked": False,
        "title": "Add orders.status",
        "user": author,
        "body": "Adds a status column to orders.",
        "created_at": "2026-01-15T15:20:33Z",
        "updated_at": updated_at,
        "closed_at": updated_at if state == "closed" else None,
        "merged_at": updated_at if merged else None,
        "merge_commit_sha": sha(f"merge:{head_sha}"),
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [{"id": 1, "node_id": "L", "url": f"{base}/labels/{n}", "name": n, "color": "ededed", "default": False, "description": None} for n in labels],
        "milestone": None,
        "draft": draft,
        "commits_url": f"{base}/pulls/{number}/commits",
        "review_comments_url": f"{base}/pulls/{number}/comments",
        "review_comment_url": f"{base}/pulls/comments{{/number}}",
        "comments_url": f"{base}/issues/{number}/comments",
        "statuses_url": f"{base}/statuses/{head_sha}",
        "head": _branch(head_repository or full_name, head_ref, head_sha),
        "base": _branch(full_name, base_ref, base_sha),
        "_links": {
            "self": {"href": f"{base}/pulls/{number}"},
            "html": {"href": f"{WEB}/{full_name}/pull/{number}"},
            "issue": {"href": f"{base}/issues/{number}"},
            "comments": {"href": f"{base}/issues/{number}/comments"},
            "review_comments": {"href": f"{base}/pulls/{number}/comments"},
            "review_comment": {"href": f"{base}/pulls/comments{{/number}}"},
            "commits": {"href": f"{base}/pulls/{number}/commits"},
            "statuses": {"href": f"{base}/statuses/{head_sha}"},
        },
        "author_association": "OWNER",
        "auto_merge": None,
        "active_lock_reason": None,
        "merged": merged,
        "mergeable": None,
        "rebaseable": None,
        "mergeable_state": "unknown",
        "merged_by": author if merged else None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 12,
        "deletions": 0,
        "changed_files": 2,
    }


def pull_request_event(
    action: str,
    full_name: str,
    number: int,
    *,
    head_sha: str | None = None,
    base_sha: str | None = None,
    sender: str = "Codertocat",
    label: str | None = None,
    changes: dict[str, Any] | None = None,
    installation_id: int | None = 424242,
    **pr: Any,
) -> dict[str, Any]:
    """A `pull_request` webhook payload (`action`: opened, synchronize, closed, labeled, ...)."""
    event: dict[str, Any] = {
        "action": action,
        "number": number,
        "pull_request": pull_request(
            full_name,
            number,
            head_sha=head_sha or sha(f"{full_name}#{number}:head"),
            base_sha=base_sha or sha(f"{full_name}:base"),
            **pr,
        ),
    }
    if changes is not None:
        event["changes"] = changes
    if label is not None:
        event["label"] = {"id": 1362934389, "node_id": "MDU6TGFiZWwxMzYyOTM0Mzg5", "url": f"{API}/repos/{full_name}/labels/{label}", "name": label, "color": "d73a4a", "default": False, "description": None}
    event["repository"] = repository(full_name)
    if installation_id is not None:
        event["installation"] = {"id": installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    event["sender"] = user(sender)
    return event


def push_event(
    full_name: str,
    *,
    ref: str = "refs/heads/main",
    after: str | None = None,
    before: str | None = None,
    default_branch: str = "main",
    deleted: bool = False,
    installation_id: int | None = 424242,
) -> dict[str, Any]:
    """A `push` webhook payload with one commit."""
    after = after or sha(f"{full_name}:{ref}:after")
    before = before or sha(f"{full_name}:{ref}:before")
    commit = {
        "id": after,
        "tree_id": sha(f"tree:{after}"),
        "distinct": True,
        "message": "Merge pull request #2 from Codertocat/add-migration",
        "timestamp": "2026-01-15T15:20:41Z",
        "url": f"{WEB}/{full_name}/commit/{after}",
        "author": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat"},
        "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
        "added": ["drizzle/0007_orders_status.sql", "drizzle/meta/0007_snapshot.json"],
        "removed": [],
        "modified": ["drizzle/meta/_journal.json", "src/models/Schema.ts"],
    }
    event: dict[str, Any] = {
        "ref": ref,
        "before": before,
        "after": "0" * 40 if deleted else after,
        "repository": repository(full_name, default_branch, push_event=True),
        "pusher": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com"},
        "sender": user("Codertocat"),
        "created": False,
        "deleted": deleted,
        "forced": False,
        "base_ref": None,
        "compare": f"{WEB}/{full_name}/compare/{before[:12]}...{after[:12]}",
        "commits": [] if deleted else [commit],
        "head_commit": None if deleted else commit,
    }
    if installation_id is not None:
        event["installation"] = {"id": installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    return event
