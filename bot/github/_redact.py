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
_QUERY_TOKEN = re.compile(r"(token=)[^&\s\"']+")
MASK = "[secret removed]"


class SecretFilter(logging.Filter):
    """Replaces every known secret (and any `token=` query value) in a record's message."""

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
        return _QUERY_TOKEN.sub(rf"\g<1>{MASK}", text)

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
