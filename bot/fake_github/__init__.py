"""A fake GitHub: a test double, never a place to point a real deployment at.

A real HTTP server (uvicorn on a loopback port) speaking the REST shapes of the operations the
bot uses, holding repositories with real git objects, pull requests, comments, check runs,
statuses and deployments in memory (see `server.py`). The tests use it through the `fake_github`
fixture (tests/fake_github/plugin.py), which checks every request and answer against GitHub's
OpenAPI description; `schemawarden demo` serves it to show the PR bot without a GitHub account.
`url` is the API base URL to give the client, `state` arranges scenarios and reads back what the
bot did, `app_identity` holds the App's id and private key.
"""

from .server import FakeGitHub
from .state import AppIdentity, FakeGitHubState, make_app_identity

__all__ = ["AppIdentity", "FakeGitHub", "FakeGitHubState", "make_app_identity"]
