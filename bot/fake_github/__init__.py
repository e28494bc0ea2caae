"""A fake GitHub for tests: a real HTTP server speaking GitHub's REST shapes (see `server.py`).

Tests get it from the `fake_github` fixture (`plugin.py`): `fake_github.url` is the API base URL
to give the client, `fake_github.state` arranges scenarios and reads back what the bot did,
`fake_github.app_identity` holds the App id and the test private key.
"""

from .server import FakeGitHub
from .state import AppIdentity, FakeGitHubState

__all__ = ["AppIdentity", "FakeGitHub", "FakeGitHubState"]
