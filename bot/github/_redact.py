"""Keeps credentials out of log records written by the libraries under the client.

PyGithub logs each response body at DEBUG (`github.Requester`), which for a new installation
token is the token itself; urllib3 logs each URL, and an archive's redirect URL carries a
`token=` query parameter. A `SecretFilter` on those loggers rewrites such records before any
handler sees them. Each client installs its own filter and removes it on `close()`.
"""

from __future__ import annotations

import logging
import re
import threading

LOGGERS = ("github.Requester", "github.GithubRetry", "urllib3.connectionpool", "bot.github")
_PATTERNS = (
    re.compile(r"(token=)[^&\s\"']+"),  # an archive URL's query
    re.compile(r"(\"token\"\s*:\s*\")[^\"]+"),  # the body GitHub answers a new installation token with
    re.compile(r"()\bgh[pousr]_[A-Za-z0-9_]{16,}"),  # GitHub's token formats
    re.compile(r"()\bgithub_pat_[A-Za-z0-9_]{16,}"),
    re.compile(r"()\beyJ[\w-]+\.[\w-]+\.[\w-]+"),  # a JSON web token
    re.compile(r"()-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL),
)
MASK = "[secret removed]"


class SecretFilter(logging.Filter):
    """Replaces every known secret, and whatever has the form of one (a GitHub token, a JWT, a
    private key, a `token=` query value, a token field of JSON), in a record's message."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = {s for s in secrets if s}

    def add(self, secret: str) -> None:
        with self._lock:
            self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(rf"\g<1>{MASK}", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True

    def install(self) -> None:
        for name in LOGGERS:
            logging.getLogger(name).addFilter(self)

    def remove(self) -> None:
        for name in LOGGERS:
            logging.getLogger(name).removeFilter(self)
