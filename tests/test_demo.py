"""`schemawarden demo`, the README's main command: the apply, then the PR bot's comment printed."""

from __future__ import annotations

from pathlib import Path

from drizzle_harness import run_schemawarden

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_applies_the_sample_and_prints_the_bots_comment(tmp_path: Path) -> None:
    # the tests' embedded server (started if needed); the demo makes its own databases there
    result = run_schemawarden(["demo", "--data-dir", str(ROOT / ".pytest-pgdata")], env_urls={}, cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    out = result.stdout
    assert "ok, 11 applied, 0 failed" in out
    assert "The PR bot: pull request #1 of acme/todo-app adds 0011_drop_user_about" in out
    assert "check run: failure (1 file, 2 statements: 2 errors" in out
    comment = out.split("The comment it posted:", 1)[1]
    assert "### `migrations/0011_drop_user_about.sql` (migration `0011_drop_user_about`)" in comment
    assert "SW101 require-concurrent-index-creation (lock, line 1)" in comment
    assert "SW302 drop-column (data-loss, line 2)" in comment
    assert "| `staging` | auto (on merge) | `0010_backfill_todo_status` | pending (1) | — |" in comment
    assert "Traceback" not in result.stderr
