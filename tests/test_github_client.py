"""The GitHub client against the fake GitHub over HTTP: what it reads, what it writes, and how many
requests that takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.fake_github import FakeGitHub
from bot.github import MARKER, Annotation, GitHubConfig, GitHubNotFound, Verdict
from bot.github.client import PyGitHubClient

REPO = "acme/app"
Client = Callable[..., PyGitHubClient]


def _migrations(count: int) -> dict[str, str]:
    files = {f"migrations/{i:04d}_step.sql": f"create table t{i} (id int);\n" for i in range(count)}
    files["migrations/meta/_journal.json"] = '{"entries": []}\n'
    files["src/schema.ts"] = "export {}\n"
    return files


def test_pull_request_and_its_changed_files_across_pages(fake_github: FakeGitHub, app_client: Client) -> None:
    state = fake_github.state
    state.create_repository(REPO, {"README.md": "x"})
    changes: dict[str, bytes | str | None] = {f"docs/{i:03d}.md": f"{i}" for i in range(230)}
    changes["README.md"] = None
    head = state.push(REPO, "feature", changes)
    state.open_pull_request(REPO, "feature", title="Docs", user="alice")
    state.add_label(REPO, 1, "deploy:staging")
    client = app_client()
    info = client.pull_request(REPO, 1)
    files = client.changed_files(REPO, 1)
    assert (info.head_sha, info.author, info.labels, info.from_fork) == (head, "alice", ("deploy:staging",), False)
    assert len(files) == 231 and {f.status for f in files} == {"added", "removed"}
    assert len(state.requests_to("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")) == 3


def test_a_pull_request_from_a_fork_says_so(fake_github: FakeGitHub, app_client: Client) -> None:
    state = fake_github.state
    state.create_repository(REPO)
    state.create_repository("mallory/app", installed=False)
    state.push("mallory/app", "evil", {"migrations/0001_x.sql": "drop table users;"})
    state.open_pull_request(REPO, "evil", head_repo="mallory/app")
    info = app_client().pull_request(REPO, 1)
    assert info.from_fork and info.head_repo == "mallory/app"


def test_a_folder_of_200_migrations_is_read_in_a_bounded_number_of_calls(
    fake_github: FakeGitHub, app_client: Client
) -> None:
    state = fake_github.state
    first = state.create_repository(REPO, _migrations(200)).refs["heads/main"]
    client = app_client()
    client.folder_files(REPO, first, "src")  # authenticate first: count only the folder's own reads
    before = len(state.requests)
    files = client.folder_files(REPO, first, "migrations", include=lambda p: p.endswith((".sql", ".json")))
    first_read = state.requests[before:]
    assert len(files) == 201 and files["0007_step.sql"] == b"create table t7 (id int);\n"
    assert [r.operation or r.path.split("/")[1] for r in first_read] == [
        "GET /repos/{owner}/{repo}/git/trees/{tree_sha}", "GET /repos/{owner}/{repo}/tarball/{ref}", "_codeload"]

    second = state.push(REPO, "main", {"migrations/0150_step.sql": "create table changed (id int);\n"})
    before = len(state.requests)
    again = client.folder_files(REPO, second, "migrations")
    second_read = [r.operation for r in state.requests[before:]]
    assert again["0150_step.sql"] == b"create table changed (id int);\n" and len(again) == 201
    assert second_read == ["GET /repos/{owner}/{repo}/git/trees/{tree_sha}",
                           "GET /repos/{owner}/{repo}/git/blobs/{file_sha}"]
    before = len(state.requests)
    assert client.folder_files(REPO, second, "migrations") == again
    assert state.requests[before:] == []  # a commit's listing and its blobs are both cached


def test_a_truncated_tree_is_walked_down_the_folders_own_subtrees(fake_github: FakeGitHub,
                                                                    app_client: Client) -> None:
    state = fake_github.state
    files = {f"vendor/lib{i}/f.txt": "x" for i in range(40)}
    files.update({f"db/migrations/{i:04d}.sql": f"select {i};" for i in range(5)})
    files["db/migrations/meta/_journal.json"] = "{}"
    sha = state.create_repository(REPO, files).refs["heads/main"]
    state.tree_entry_limit = 30
    read = app_client(blob_fetch_limit=100).folder_files(REPO, sha, "db/migrations")
    assert sorted(read) == ["0000.sql", "0001.sql", "0002.sql", "0003.sql", "0004.sql", "meta/_journal.json"]
    trees = state.requests_to("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}")
    assert [dict(r.query).get("recursive") for r in trees] == ["1", None, None, "1"]


def test_one_file_at_a_ref_large_or_missing(fake_github: FakeGitHub, app_client: Client) -> None:
    state = fake_github.state
    big = b"-- padding\n" * 200_000  # over 1 MB: the contents API leaves the content out
    state.create_repository(REPO, {"schemawarden.toml": "[migrations]\n", "big.sql": big})
    client = app_client()
    assert client.file(REPO, "main", "schemawarden.toml") == b"[migrations]\n"
    assert client.file(REPO, "main", "big.sql") == big
    assert client.file(REPO, "main", "missing.toml") is None


def test_the_sticky_comment_is_updated_in_place_and_a_quoting_reply_is_left_alone(
    fake_github: FakeGitHub, app_client: Client
) -> None:
    state = fake_github.state
    state.create_repository(REPO)
    state.push(REPO, "feature", {"a.sql": "select 1;"})
    state.open_pull_request(REPO, "feature")
    quoting = state.add_comment(REPO, 1, f"> risky, says the bot\n> {MARKER}\nI disagree", user="alice")
    client = app_client()
    first = client.upsert_comment(REPO, 1, f"{MARKER}\n1 error")
    second = client.upsert_comment(REPO, 1, f"{MARKER}\n0 errors")
    unchanged = client.upsert_comment(REPO, 1, f"{MARKER}\n0 errors")
    comments = state.comments_on(REPO, 1)
    assert (first.created, second.created, first.id == second.id == unchanged.id) == (True, False, True)
    assert [(c.user, c.body) for c in comments] == [
        ("alice", quoting.body), (fake_github.app_identity.bot_login, f"{MARKER}\n0 errors")]
    assert len(state.requests_to("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")) == 1


def test_a_comment_over_githubs_limit_is_cut_not_refused(fake_github: FakeGitHub, app_client: Client) -> None:
    state = fake_github.state
    state.create_repository(REPO)
    state.push(REPO, "feature", {"a.sql": "select 1;"})
    state.open_pull_request(REPO, "feature")
    app_client().upsert_comment(REPO, 1, "x" * 70_000)
    (comment,) = state.comments_on(REPO, 1)
    assert len(comment.body) <= 65536 and comment.body.rstrip().endswith(MARKER) and "cut here" in comment.body


def _verdict(annotations: int, conclusion: Any = "failure") -> Verdict:
    notes = tuple(Annotation("migrations/0001_x.sql", i + 1, i + 1, "warning", f"finding {i}")
                  for i in range(annotations))
    return Verdict("schemawarden", "pr-1:abc", conclusion, f"{annotations} findings", "summary", annotations=notes)


def test_a_check_run_is_found_by_external_id_and_annotated_in_batches_of_50(
    fake_github: FakeGitHub, app_client: Client
) -> None:
    state = fake_github.state
    state.create_repository(REPO)
    head = state.push(REPO, "feature", {"a.sql": "select 1;"})
    client = app_client()
    in_progress = client.publish_verdict(REPO, head, _verdict(0, conclusion=None))
    done = client.publish_verdict(REPO, head, _verdict(120))
    again = client.publish_verdict(REPO, head, _verdict(120))
    (run,) = state.check_runs(REPO, head)
    assert in_progress.id == done.id == again.id == run.id and (run.status, run.conclusion) == ("completed", "failure")
    assert [a["message"] for a in run.annotations] == [f"finding {i}" for i in range(120)]
    sizes = [len(((r.body or {}).get("output") or {}).get("annotations", []))
             for r in state.requests if r.method in ("POST", "PATCH") and "check-runs" in r.path]
    assert max(sizes) == 50 and sum(sizes) == 120


def test_token_mode_sets_a_commit_status(fake_github: FakeGitHub) -> None:
    state = fake_github.state
    state.create_repository(REPO)
    head = state.push(REPO, "feature", {"a.sql": "select 1;"})
    client = PyGitHubClient(GitHubConfig.build(api_url=fake_github.url, token=state.issue_token("ci-bot"),
                                                       seconds_between_writes=0))
    try:
        client.publish_verdict(REPO, head, _verdict(3))
    finally:
        client.close()
    (status,) = state.statuses(REPO, head)
    assert (status.state, status.context, status.description, status.creator) == (
        "failure", "schemawarden", "3 findings", "ci-bot")
    assert state.check_runs(REPO) == []
    assert state.requests_to("POST", "/repos/{owner}/{repo}/check-runs") == []


def test_permission_is_githubs_role_name(fake_github: FakeGitHub, app_client: Client) -> None:
    state = fake_github.state
    state.create_repository(REPO, private=True)
    state.set_permission(REPO, "mia", "maintain")
    client = app_client()
    assert client.permission(REPO, "mia") == "maintain"  # GitHub's legacy `permission` says "write"
    assert client.permission(REPO, "stranger") == "none"


def test_a_label_is_removed_once(fake_github: FakeGitHub, app_client: Client) -> None:
    state = fake_github.state
    state.create_repository(REPO)
    state.push(REPO, "feature", {"a.sql": "select 1;"})
    state.open_pull_request(REPO, "feature")
    state.add_label(REPO, 1, "deploy:production")
    client = app_client()
    assert client.remove_label(REPO, 1, "deploy:production") is True
    assert client.remove_label(REPO, 1, "deploy:production") is False
    assert state.pulls[(REPO, 1)].labels == []


def test_a_deployment_and_its_status(fake_github: FakeGitHub, app_client: Client) -> None:
    state = fake_github.state
    head = state.create_repository(REPO).refs["heads/main"]
    client = app_client()
    made = client.create_deployment(REPO, head, "production", "pr-1:production", description="3 migrations",
                                    production=True)
    same = client.create_deployment(REPO, head, "production", "pr-1:production", description="3 migrations",
                                    production=True)
    client.set_deployment_status(REPO, made.id, "success", description="applied",
                                 log_url="https://schemawarden.example/runs/1")
    (deployment,) = state.deployments(REPO)
    assert (made.created, same.created, same.id) == (True, False, deployment.id)
    assert (deployment.environment, deployment.production_environment, deployment.payload) == (
        "production", True, {"schemawarden": "pr-1:production"})
    assert [s["state"] for s in deployment.statuses] == ["success"]


def test_an_app_not_installed_on_the_repository_says_what_to_do(fake_github: FakeGitHub,
                                                                  app_client: Client) -> None:
    fake_github.state.create_repository(REPO, installed=False)
    with pytest.raises(GitHubNotFound, match=r"GitHub App is not installed on acme/app .*install it there"):
        app_client().pull_request(REPO, 1)
