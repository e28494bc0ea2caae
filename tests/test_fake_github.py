"""The fake GitHub itself: it holds requests to GitHub's OpenAPI description, authenticates as
GitHub does, hashes objects as git does, and its webhook payloads keep GitHub's shapes."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from bot.fake_github import FakeGitHub, make_app_identity
from bot.fake_github.webhooks import delivery, example, pull_request_event, push_event


def _jwt(fake: FakeGitHub, key: str | None = None, lifetime: int = 300) -> str:
    now = int(time.time())
    return jwt.encode({"iat": now - 60, "exp": now + lifetime, "iss": str(fake.app_identity.id)},
                      key or fake.app_identity.private_key_pem, algorithm="RS256")


def test_a_request_outside_githubs_description_is_answered_as_github_would_and_fails_the_test(
    fake_github: FakeGitHub,
) -> None:
    state = fake_github.state
    state.create_repository("acme/app")
    token = state.issue_token()
    auth = {"Authorization": f"token {token}"}
    typo = requests.get(f"{fake_github.url}/repos/acme/app/pull/1", headers=auth, timeout=5)
    wrong_method = requests.put(f"{fake_github.url}/repos/acme/app/check-runs", headers=auth, json={}, timeout=5)
    wrong_body = requests.post(f"{fake_github.url}/repos/acme/app/check-runs", headers=auth,
                               json={"name": "schemawarden", "head_sha": 42}, timeout=5)
    bad_enum = requests.post(f"{fake_github.url}/repos/acme/app/statuses/{'a' * 40}", headers=auth,
                             json={"state": "passed"}, timeout=5)
    assert (typo.status_code, wrong_method.status_code, wrong_body.status_code, bad_enum.status_code) == (
        404, 404, 422, 422)
    assert len(state.violations) == 4
    assert "head_sha" in state.violations[2] and "is not of type 'string'" in state.violations[2]
    assert "'passed' is not one of" in state.violations[3]
    state.violations.clear()  # this test meant to break the description; any other test would fail here


def test_answers_follow_githubs_description(fake_github: FakeGitHub) -> None:
    """Every answer is validated by the server; a scenario touching each read endpoint leaves no
    violation (the fixture would fail the test), and the answers carry what the scenario set."""
    state = fake_github.state
    state.create_repository("acme/app", {"db/0000_init.sql": "create table t (id int);"})
    head = state.push("acme/app", "feature", {"db/0001_more.sql": "alter table t add column x int;"})
    pull = state.open_pull_request("acme/app", "feature", title="Add x")
    auth = {"Authorization": f"token {state.issue_token()}"}
    get = lambda path: requests.get(f"{fake_github.url}{path}", headers=auth, timeout=5)  # noqa: E731
    assert get("/repos/acme/app").json()["default_branch"] == "main"
    assert get("/repos/acme/app/pulls/1").json()["head"]["sha"] == head == pull.head_sha
    assert get("/repos/acme/app/git/ref/heads/feature").json()["object"]["sha"] == head
    assert get(f"/repos/acme/app/commits/{head}").json()["sha"] == head
    assert [f["filename"] for f in get("/repos/acme/app/pulls/1/files").json()] == ["db/0001_more.sql"]
    assert get("/repos/acme/app/contents/db/0000_init.sql?ref=main").json()["type"] == "file"
    assert get("/user").json()["login"] == "ci-bot"
    assert get(f"/repos/acme/app/collaborators/{'someone'}/permission").json()["role_name"] == "read"
    assert state.violations == []


def test_app_endpoints_take_only_a_jwt_signed_with_the_apps_key(fake_github: FakeGitHub) -> None:
    state = fake_github.state
    state.create_repository("acme/app")
    url = f"{fake_github.url}/app/installations/{state.INSTALLATION_ID}/access_tokens"
    good = requests.post(url, headers={"Authorization": f"Bearer {_jwt(fake_github)}"}, timeout=5)
    other_key = make_app_identity().private_key_pem
    forged = requests.post(url, headers={"Authorization": f"Bearer {_jwt(fake_github, other_key)}"}, timeout=5)
    too_long = requests.post(url, headers={"Authorization": f"Bearer {_jwt(fake_github, lifetime=3600)}"},
                             timeout=5)
    with_token = requests.post(url, headers={"Authorization": f"token {state.issue_token()}"}, timeout=5)
    assert good.status_code == 201 and good.json()["token"].startswith("ghs_")
    assert (forged.status_code, too_long.status_code, with_token.status_code) == (401, 401, 401)


def test_installation_tokens_expire_and_only_an_app_creates_check_runs(fake_github: FakeGitHub) -> None:
    state = fake_github.state
    state.create_repository("acme/app")
    sha = state.repos["acme/app"].refs["heads/main"]
    installation, _ = state.issue_installation_token(state.INSTALLATION_ID)
    body = {"name": "schemawarden", "head_sha": sha}
    url = f"{fake_github.url}/repos/acme/app/check-runs"
    by_token = requests.post(url, headers={"Authorization": f"token {state.issue_token()}"}, json=body, timeout=5)
    by_app = requests.post(url, headers={"Authorization": f"token {installation}"}, json=body, timeout=5)
    state.expire_tokens()
    expired = requests.post(url, headers={"Authorization": f"token {installation}"}, json=body, timeout=5)
    assert (by_token.status_code, by_token.json()["message"]) == (403, "You must authenticate via a GitHub App.")
    assert by_app.status_code == 201
    assert (expired.status_code, expired.json()["message"]) == (401, "Bad credentials")


def test_object_ids_are_gits(fake_github: FakeGitHub, tmp_path: Path) -> None:
    files = {"migrations/0000_init.sql": b"create table t (id int);\n", "README.md": b"# app\n",
             "migrations/meta/_journal.json": b"{}\n"}
    state = fake_github.state
    state.create_repository("acme/app", files)
    tree = state.git.commits[state.repos["acme/app"].refs["heads/main"]].tree
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    git_tree = subprocess.run(["git", "-C", str(tmp_path), "write-tree"], check=True, capture_output=True,
                              text=True).stdout.strip()
    assert tree == git_tree


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return "list"  # a list's length is a value (labels, commits)
    return "scalar"


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened", "edited", "ready_for_review",
                                    "labeled", "unlabeled"])
def test_pull_request_payloads_keep_githubs_shape_with_the_scenarios_values(
    fake_github: FakeGitHub, action: str
) -> None:
    state = fake_github.state
    state.create_repository("acme/app")
    head = state.push("acme/app", "feature", {"a.sql": "select 1;"})
    state.open_pull_request("acme/app", "feature", user="alice")
    state.add_label("acme/app", 1, "deploy:production")
    payload = pull_request_event(state, "acme/app", 1, action, label="deploy:production")
    assert _shape(payload) == _shape(example(f"pull_request.{action}"))
    assert payload["action"] == action and payload["number"] == 1
    assert payload["pull_request"]["head"]["sha"] == head
    assert payload["repository"]["full_name"] == "acme/app"
    assert payload["installation"]["id"] == state.INSTALLATION_ID


def test_closed_and_push_payloads(fake_github: FakeGitHub) -> None:
    state = fake_github.state
    state.create_repository("acme/app")
    before = state.repos["acme/app"].refs["heads/main"]
    state.push("acme/app", "feature", {"a.sql": "select 1;"})
    state.open_pull_request("acme/app", "feature")
    unmerged = pull_request_event(state, "acme/app", 1, "closed")
    after = state.merge_pull_request("acme/app", 1)
    merged = pull_request_event(state, "acme/app", 1, "closed")
    push = push_event(state, "acme/app", "main", before, after)
    assert (unmerged["pull_request"]["merged"], merged["pull_request"]["merged"]) == (False, True)
    assert _shape(merged) == _shape(example("pull_request.closed.merged"))
    assert _shape(push) == _shape(example("push"))
    assert (push["ref"], push["before"], push["after"]) == ("refs/heads/main", before, after)
    body, headers = delivery("push", push, "s3cret")
    assert headers["X-Hub-Signature-256"].startswith("sha256=") and b'"after"' in body
