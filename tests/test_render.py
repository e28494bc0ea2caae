"""Every output format's shape, from the same file reports: the contract other tools rely on."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

import pytest

from bot.render import FORMATS, markdown, render, summarize
from bot.render.links import rule_anchor
from policies.report import (
    Category,
    FileReport,
    Finding,
    LockRef,
    Rollback,
    RollbackStatus,
    SaferKind,
    Severity,
    StatementReport,
)
from policies.rules import rule_by_code

INDEX = Finding(
    code="SW101",
    name="non-concurrent-index",
    category=Category.LOCK,
    severity=Severity.ERROR,
    line=3,
    message='CREATE INDEX on "orders" blocks writes for the whole build',
    safer='CREATE INDEX CONCURRENTLY "orders_user_idx" ON "orders" ("user_id");',
)
JSON_TYPE = Finding(
    code="SW140",
    name="prefer-jsonb",
    category=Category.DESIGN,
    severity=Severity.WARNING,
    line=1,
    message="json, with a comma: and a colon\nand a newline, 100% sure",
    safer="ALTER TABLE t ALTER COLUMN c TYPE jsonb;",
)
FILE_LEVEL = Finding(
    code="SW900",
    name="edited-migration",
    category=Category.PROCESS,
    severity=Severity.INFO,
    line=None,
    message="this migration existed on the base",
    safer="",
)


def reports() -> list[FileReport]:
    first = FileReport(
        path="migrations/0001_orders.sql",
        migration="0001_orders",
        statements=(
            StatementReport(
                line=1, sql='CREATE TABLE "t" ("c" json)', operations=({"kind": "create_table"},)
            ),
            StatementReport(
                line=3,
                sql='CREATE INDEX "orders_user_idx" ON "orders" ("user_id") WHERE a || b = \'x|y\'',
                operations=({"kind": "create_index", "table": "orders"},),
                locks=(LockRef("orders", "SHARE"),),
                scans=("orders",),
            ),
        ),
        findings=(INDEX, JSON_TYPE),
    )
    second = FileReport(path="migrations/0000_init.sql", migration=None, findings=(FILE_LEVEL,))
    clean = FileReport(
        path="sql/clean.sql",
        migration=None,
        statements=(StatementReport(line=1, sql="SELECT 1"),),
    )
    return [first, second, clean]


def test_summary_counts_and_fails_at_or_above_the_failing_severity() -> None:
    summary = summarize(reports(), Severity.ERROR)
    assert (summary.files, summary.statements) == (3, 3)
    assert (summary.errors, summary.warnings, summary.infos) == (1, 1, 1)
    assert summary.failed
    assert not summarize(reports()[1:], Severity.WARNING).failed
    assert summarize(reports()[1:], Severity.INFO).failed


def test_json_follows_the_contract() -> None:
    doc = json.loads(render("json", reports(), Severity.WARNING))
    assert set(doc) == {"version", "files", "summary"}
    assert doc["version"] == 1
    assert [f["path"] for f in doc["files"]] == [r.path for r in reports()]
    first = doc["files"][0]
    assert set(first) == {"path", "migration", "statements", "findings", "rollback"}
    assert first["migration"] == "0001_orders"
    assert first["rollback"] is None  # only `check --prove` proves a rollback
    statement = first["statements"][1]
    assert set(statement) == {
        "line", "sql", "operations", "locks", "rewrites", "scans", "traced_locks", "traced_rewrites",
        "trace_contradictions",
    }
    assert statement["traced_locks"] is None and statement["traced_rewrites"] is None
    assert statement["locks"] == [{"relation": "orders", "mode": "SHARE"}]
    assert statement["scans"] == ["orders"]
    assert statement["operations"][0]["kind"] == "create_index"
    finding = first["findings"][0]
    assert set(finding) == {"code", "name", "category", "severity", "line", "message", "safer", "safer_kind"}
    assert finding["code"] == "SW101" and finding["category"] == "lock" and finding["line"] == 3
    assert doc["files"][1]["findings"][0]["line"] is None
    assert doc["summary"] == {
        "files": 3,
        "statements": 3,
        "findings": {"error": 1, "warning": 1, "info": 1},
        "fail_on": "warning",
        "failed": True,
    }


def test_json_is_each_reports_to_json_in_order() -> None:
    """The renderer lets orjson write the report dataclasses directly; that must be their to_json()."""
    doc = json.loads(render("json", reports()))
    assert doc["files"] == [report.to_json() for report in reports()]
    assert [list(f) for f in doc["files"]] == [list(r.to_json()) for r in reports()]  # key order too
    statement = doc["files"][0]["statements"][1]
    assert list(statement) == list(reports()[0].statements[1].to_json())
    assert list(doc["files"][0]["findings"][0]) == list(INDEX.to_json())


def test_json_of_nothing_is_still_the_contract() -> None:
    doc = json.loads(render("json", []))
    assert doc == {
        "version": 1,
        "files": [],
        "summary": {
            "files": 0,
            "statements": 0,
            "findings": {"error": 0, "warning": 0, "info": 0},
            "fail_on": "error",
            "failed": False,
        },
    }


def _require(obj: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if k not in obj]
    assert not missing, f"SARIF object lacks required {missing}: {obj}"


def test_sarif_has_the_2_1_0_required_structure_for_code_scanning() -> None:
    log = json.loads(render("sarif", reports()))
    _require(log, "version", "runs", "$schema")
    assert log["version"] == "2.1.0"
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    _require(run, "tool", "results")
    driver = run["tool"]["driver"]
    _require(driver, "name", "rules")
    assert driver["name"] == "schemawarden"
    rules = driver["rules"]
    assert [r["id"] for r in rules] == ["SW140", "SW101", "SW900"]  # first-seen order, no repeats
    for rule in rules:
        _require(rule, "id", "shortDescription", "defaultConfiguration")
        assert "helpUri" not in rule  # SARIF needs an absolute URI, and none is configured
        assert rule["defaultConfiguration"]["level"] in {"none", "note", "warning", "error"}
    assert len(run["results"]) == 3
    for result in run["results"]:
        _require(result, "message", "ruleId", "ruleIndex", "level", "locations")
        assert result["message"]["text"]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in {"none", "note", "warning", "error"}
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("migrations/")
        assert isinstance(location["region"]["startLine"], int) and location["region"]["startLine"] >= 1
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["SW101"]["level"] == "error"
    assert by_rule["SW101"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert by_rule["SW140"]["level"] == "warning"
    assert by_rule["SW900"]["level"] == "note"  # info maps to SARIF's note


def test_a_configured_docs_url_links_sarif_rules_and_markdown_findings_to_their_sections() -> None:
    base = "https://docs.example.org/schemawarden/rules.md"
    log = json.loads(render("sarif", reports(), docs_url=base))
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        url = urlparse(rule["helpUri"])
        assert (url.scheme, url.netloc, url.path) == ("https", "docs.example.org", "/schemawarden/rules.md")
        assert url.fragment == rule_anchor(rule["id"], rule["name"])
    assert f"[SW101 non-concurrent-index]({base}#sw101-non-concurrent-index)" in render(
        "markdown", reports(), docs_url=base
    )


def test_rule_anchor_is_githubs_heading_slug() -> None:
    assert rule_anchor("SW101", "non-concurrent-index") == "sw101-non-concurrent-index"
    assert rule_anchor("SW102", "Drop column (data loss)") == "sw102-drop-column-data-loss"


GITHUB_LINE = re.compile(r"^::(error|warning|notice) file=([^,:]+)(,line=\d+)?,title=([^,:]+)::(.*)$")


def test_github_annotations_are_workflow_commands_with_escaped_values() -> None:
    out = render("github", reports()).splitlines()
    commands = [line for line in out if line.startswith("::")]
    assert len(commands) == 3
    for line in commands:
        assert GITHUB_LINE.match(line), line
    first = GITHUB_LINE.match(commands[0])
    assert first is not None
    # Findings are in file order: line 1 (warning) before line 3 (error).
    assert first.group(1) == "warning"
    assert first.group(2) == "migrations/0001_orders.sql"
    assert first.group(3) == ",line=1"
    assert first.group(4) == "SW140 prefer-jsonb"
    assert "%0Aand a newline, 100%25 sure" in first.group(5)
    error = GITHUB_LINE.match(commands[1])
    assert error is not None and error.group(1) == "error" and error.group(3) == ",line=3"
    assert "%0ASafer: CREATE INDEX CONCURRENTLY" in error.group(5)
    file_level = GITHUB_LINE.match(commands[2])
    assert file_level is not None and file_level.group(1) == "notice" and file_level.group(3) is None
    assert out[-1].startswith("schemawarden: 3 files, 3 statements")


def test_markdown_has_a_statement_table_and_collapsed_safer_ways() -> None:
    out = render("markdown", reports())
    assert out.startswith("## schemawarden\n")
    assert "**Fails**" in out
    assert "### `migrations/0001_orders.sql` (migration `0001_orders`)" in out
    rows = [line for line in out.splitlines() if line.startswith("| 3 |")]
    assert len(rows) == 1
    row = rows[0]
    # The SQL's pipes are escaped so the row keeps exactly four cells.
    assert row.count("|") == 5
    assert "&#124;&#124;" in row
    assert "SHARE on <code>orders</code>" in row and "scans <code>orders</code>" in row
    # No docs_url configured: the rule is named, not linked (docs/rules.md is not in the user's repository).
    assert "**error** SW101 non-concurrent-index (lock, line 3)" in out
    assert "<details><summary>Safer way</summary>" in out
    assert "```sql" in out and "CREATE INDEX CONCURRENTLY" in out
    assert "### `sql/clean.sql`" in out and "No findings." in out


def test_markdown_passes_when_nothing_reaches_the_failing_severity() -> None:
    out = render("markdown", reports()[2:])
    assert "**Passes**" in out and "no findings" in out


def test_text_is_compiler_style_and_coloured_only_on_request() -> None:
    plain = render("text", reports())
    assert "\033[" not in plain
    assert "migrations/0001_orders.sql:3: error   SW101 non-concurrent-index: CREATE INDEX" in plain
    assert "    safer: CREATE INDEX CONCURRENTLY" in plain
    assert "migrations/0000_init.sql: info    SW900 edited-migration" in plain
    assert plain.rstrip().endswith("failed (findings at or above error)")
    coloured = render("text", reports(), color=True)
    assert "\033[31m" in coloured and "\033[0m" in coloured


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_no_reports(fmt: str) -> None:
    assert render(fmt, []).endswith("\n")  # type: ignore[arg-type]


def _with_kind(finding: Finding, kind: SaferKind, safer: str) -> Finding:
    return replace(finding, safer_kind=kind, safer=safer)


def kinds_reports() -> list[FileReport]:
    """One finding of each `safer_kind`: a recipe, the rule's example, no recipe (said and not)."""
    example = _with_kind(INDEX, SaferKind.EXAMPLE, 'CREATE INDEX CONCURRENTLY "t_a_idx" ON "t" ("a");')
    none_said = replace(
        _with_kind(JSON_TYPE, SaferKind.NONE, "the table is partitioned: <no> CONCURRENTLY on a parent"),
        line=5,
    )
    none_empty = replace(_with_kind(INDEX, SaferKind.NONE, ""), line=7)
    return [
        FileReport(
            path="migrations/0002_kinds.sql",
            migration="0002_kinds",
            findings=(replace(INDEX, line=1), example, none_said, none_empty),
        )
    ]


def test_markdown_without_docs_url_names_the_rule_and_gives_its_rationale() -> None:
    out = render("markdown", reports())
    assert "docs/rules.md" not in out
    assert "](" not in out  # no link at all
    rule = rule_by_code("SW101")
    assert rule is not None
    assert "<details><summary>Why</summary>" in out
    assert html.escape(rule.rationale.strip(), quote=False).splitlines()[0] in out
    # SW140 is not in the rulebook: no Why for it, and nothing made up.
    assert out.count("<summary>Why</summary>") == 1


def test_markdown_with_docs_url_links_there_and_leaves_the_rationale_to_the_reference() -> None:
    base = "https://docs.example.org/schemawarden/rules.md"
    out = render("markdown", reports(), docs_url=base)
    links = re.findall(r"\]\(([^)]*)\)", out)
    assert links and all(link.startswith(base + "#") for link in links)
    assert f"({base}#sw140-prefer-jsonb)" in out
    assert "<summary>Why</summary>" not in out


def test_no_output_links_a_relative_rules_page() -> None:
    for fmt in FORMATS:
        out = render(fmt, reports())  # type: ignore[arg-type]
        assert "docs/rules.md" not in out, fmt


def test_markdown_labels_examples_and_missing_recipes() -> None:
    out = render("markdown", kinds_reports())
    assert out.count("<details><summary>Safer way</summary>") == 1  # the recipe only
    assert out.count("<details><summary>Example (not written for this statement)</summary>") == 1
    assert 'CREATE INDEX CONCURRENTLY "t_a_idx"' in out
    assert "  No safe recipe: the table is partitioned: &lt;no&gt; CONCURRENTLY on a parent\n" in out
    assert out.count("No safe recipe") == 1  # an empty `none` says nothing


def test_text_labels_examples_and_missing_recipes() -> None:
    out = render("text", kinds_reports())
    assert '    safer: CREATE INDEX CONCURRENTLY "orders_user_idx"' in out
    assert '    example: CREATE INDEX CONCURRENTLY "t_a_idx"' in out
    assert "    no safe recipe: the table is partitioned" in out
    assert out.count("safer:") == 1 and out.count("no safe recipe:") == 1
    multi = [replace(INDEX, safer_kind=SaferKind.EXAMPLE, safer="BEGIN;\nCOMMIT;")]
    lines = render("text", [FileReport("m.sql", None, findings=tuple(multi))]).splitlines()
    assert lines[1:3] == ["    example: BEGIN;", "             COMMIT;"]  # continuation aligned


def test_github_annotations_label_examples_and_missing_recipes() -> None:
    commands = [line for line in render("github", kinds_reports()).splitlines() if line.startswith("::")]
    assert len(commands) == 4
    assert "%0ASafer: CREATE INDEX CONCURRENTLY" in commands[0]
    assert "%0AExample (not written for this statement): CREATE INDEX CONCURRENTLY" in commands[1]
    assert "%0ANo safe recipe: the table is partitioned" in commands[2]
    assert "%0A" not in commands[3]  # nothing to say
    assert "Safer:" not in "".join(commands[1:])


# --- The comment fits GitHub: folding ---------------------------------------------------------


def big_history(files: int = 300, statements: int = 30) -> list[FileReport]:
    """`files` migrations of `statements` statements each, every file with an error, two warnings
    and five infos, all with the why and a safer way to fold: megabytes of comment unfolded."""
    out = []
    for i in range(files):
        table = f"t{i:03}"
        stmts = tuple(
            StatementReport(
                line=j + 1,
                sql=f'ALTER TABLE "{table}" ADD COLUMN "c{j}" integer DEFAULT 1 -- <b>a|b</b> & more',
                locks=(LockRef(table, "ACCESS EXCLUSIVE" if j % 3 == 0 else "ACCESS SHARE"),),
                scans=(table,) if j % 10 == 0 else (),
            )
            for j in range(statements)
        )
        findings = [
            replace(INDEX, line=1, message=f'CREATE INDEX on "{table}" <blocks> writes & reads'),
            replace(JSON_TYPE, line=2, message=f'"{table}"."c1" is json'),
            replace(JSON_TYPE, code="SW506", name="foreign-key-without-index", line=3, message="no index"),
            *(replace(FILE_LEVEL, line=4 + k, message=f"info {k}", safer="SELECT 1;") for k in range(5)),
        ]
        out.append(FileReport(f"drizzle/{i:04}_m.sql", f"{i:04}_m", stmts, tuple(findings)))
    return out


def _sections(out: str) -> dict[str, str]:
    """Each file's section of a comment, by path: its heading's, or its line in short form."""
    parts = out.split("\n### `")[1:]
    sections = {part.split("`", 1)[0]: part for part in parts}
    short = {m.group(1): m.group(2) for m in re.finditer(r"^- `([^`]+)`: (.*)$", out, re.MULTILINE)}
    assert not set(sections) & set(short), "a file shown twice"
    return sections | short


def _note_count(out: str, pattern: str) -> int:
    found = re.search(rf"(\d+) {pattern}", out.split("\n### ", 1)[0])
    return int(found.group(1)) if found else 0


def _assert_whole(out: str) -> None:
    """Nothing cut in the middle: tags balanced, fences paired, entities whole."""
    assert out.count("<details>") == out.count("</details>")
    assert out.count("<code>") == out.count("</code>")
    assert sum(1 for line in out.splitlines() if line.strip().startswith("```")) % 2 == 0
    assert not re.search(r"&(?!(amp|lt|gt|#124);)", out)


def _assert_folded_honestly(reports: list[FileReport], out: str) -> None:
    """Every error and warning of a shown file is there (whole or in short form); what is not shown
    is counted, correctly, in the note under the verdict and the tail."""
    sections = _sections(out)
    shown_infos = hidden_infos = 0
    for report in reports:
        section = sections.get(report.path)
        if section is None:
            continue
        for finding in report.findings:
            if finding.severity is Severity.INFO:
                shown = f"(process, line {finding.line}): {finding.message}\n" in section
                shown_infos += shown
                hidden_infos += not shown
                continue
            whole = markdown._finding_head(finding, None) in section
            icon = "🛑" if finding.severity is Severity.ERROR else "⚠️"
            short = re.search(
                rf"{icon} {finding.code} [\w-]+ (file, )?lines? [\d, ]*\b{finding.line}\b", section
            )
            assert whole or short, (report.path, finding)
    assert _note_count(out, r"info findings?") == hidden_infos
    hidden = [r for r in reports if r.path not in sections]
    if hidden:
        errors = sum(1 for r in hidden for f in r.findings if f.severity is Severity.ERROR)
        tail = out.rstrip().splitlines()[-1]
        assert tail.startswith(f"{len(hidden)} more file"), tail
        assert f"with {sum(len(r.findings) for r in hidden)} findings ({errors} error" in tail, tail
    else:
        assert "more file" not in out


def test_a_huge_history_folds_under_githubs_limit_and_keeps_every_error() -> None:
    history = big_history()
    out = render("markdown", history)
    assert markdown.comment_length(f"{markdown.STICKY_MARKER}\n{out}") <= markdown.GITHUB_COMMENT_LIMIT
    assert out.startswith(
        "## schemawarden\n\n300 files, 9000 statements: 300 errors, 600 warnings, 1500 infos."
    )
    assert "**Fails**" in out
    assert "**Folded to fit a GitHub comment**" in out
    _assert_whole(out)
    # 300 errors and 600 warnings do fit, the short ones as rule and lines: no file is left out.
    assert len(_sections(out)) == 300
    _assert_folded_honestly(history, out)
    assert _note_count(out, "statement tables") == 300
    assert _note_count(out, "info findings") == 1500
    assert _note_count(out, r"error and warning findings in short form") > 0
    assert re.search(r"the details \(why, safer way\) of \d+ findings not shown", out)
    assert "- and 5 info findings not shown" in out
    assert "&lt;blocks&gt; writes &amp; reads" in out  # escaped, folded or not
    assert render("markdown", history) == out  # deterministic


@pytest.mark.parametrize("limit", [3_000, 8_000, 20_000, 40_000])
def test_folding_degrades_by_whole_sections_at_any_limit(limit: int) -> None:
    history = big_history(files=40, statements=12)
    out = markdown.render(history, limit=limit)
    assert markdown.comment_length(out) <= limit - len(markdown.STICKY_MARKER)
    _assert_whole(out)
    _assert_folded_honestly(history, out)
    assert "**Fails**" in out and "40 files, 480 statements: 40 errors, 80 warnings, 200 infos" in out


def test_files_left_out_are_counted_at_the_end() -> None:
    history = big_history(files=100, statements=2)
    out = markdown.render(history, limit=6_000)
    shown = len(_sections(out))
    assert 0 < shown < 100
    assert _note_count(out, r"files? left out") == 100 - shown
    tail = out.rstrip().splitlines()[-1]
    left = 100 - shown
    assert tail == (
        f"{left} more files with {8 * left} findings ({left} errors, {2 * left} warnings, {5 * left} infos): "
        "run `schemawarden check` locally or see the check run."
    )
    # The files kept are the first ones, in order.
    assert list(_sections(out)) == [r.path for r in history[:shown]]


def test_the_steps_go_in_order_tables_then_infos_then_details() -> None:
    history = big_history(files=10, statements=30)
    full = markdown.render(history, limit=10**9)
    assert "Folded" not in full
    sizes = [markdown.comment_length(full)]
    seen = []
    for limit in range(sizes[0], 2_000, -2_000):
        out = markdown.render(history, limit=limit)
        seen.append(
            (
                _note_count(out, "statement tables?") > 0,
                _note_count(out, "info findings?") > 0,
                "the details (why, safer way)" in out,
            )
        )
    # Once a later step is taken, every earlier one has been taken in full.
    for tables, infos, details in seen:
        assert (not infos or tables) and (not details or infos)
    assert seen[-1] == (True, True, True)


def test_an_input_that_fits_renders_as_before() -> None:
    out = render("markdown", reports())
    assert out == markdown.render(reports(), limit=10**9)
    assert "Folded" not in out and "not shown" not in out and "more file" not in out


def test_a_long_statement_table_is_collapsed_keeping_what_locks_in_the_open() -> None:
    reads = [
        StatementReport(line=i, sql=f"SELECT {i}", locks=(LockRef("t", "ACCESS SHARE"),))
        for i in range(1, 12)
    ]
    statements = (
        *reads,
        StatementReport(line=20, sql="ALTER TABLE t ADD c int", locks=(LockRef("t", "ACCESS EXCLUSIVE"),)),
        StatementReport(line=21, sql="UPDATE t SET c = 1", scans=("t",)),
    )
    report = FileReport("m.sql", None, statements, (replace(INDEX, line=5),))
    out = render("markdown", [report])
    opened, collapsed = out.split(
        "<details><summary>13 statements: 1 takes a blocking lock, 1 scans a table</summary>"
    )
    open_rows = [
        line.split(" | ")[0] for line in opened.splitlines() if line.startswith("| ") and "line" not in line
    ]
    assert open_rows == ["| 5", "| 20", "| 21"]  # the finding's statement, the lock, the scan
    closed_rows = [line for line in collapsed.split("</details>")[0].splitlines() if line.startswith("| ")]
    assert len(closed_rows) == 1 + 13  # the header and every statement
    # Ten statements or fewer: the table stays open, whole.
    short = render("markdown", [FileReport("m.sql", None, statements[:10])])
    assert "<details>" not in short and short.count("| SELECT") == 0 and short.count("<code>SELECT") == 10


def proven() -> list[FileReport]:
    """The first report as `check --prove` gives it: a rollback and what the scratch database traced."""
    first = reports()[0]
    traced = replace(
        first.statements[1],
        traced_locks=(LockRef("orders", "SHARE"),),
        traced_rewrites=(),
        trace_contradictions=('the model predicts no rewrite of "orders"; PostgreSQL rewrote it',),
    )
    rollback = Rollback(
        RollbackStatus.IRREVERSIBLE,
        'DROP INDEX "orders_user_idx";\nCREATE TABLE "t" ("c" json);\n',
        reason='data dropped: table "t"',
        notes=('column "c" of "t" was re-added at the end (position 1 before)',),
    )
    return [replace(first, statements=(first.statements[0], traced), rollback=rollback)]


def test_json_of_a_proof_has_the_rollback_and_the_traced_locks() -> None:
    doc = json.loads(render("json", proven()))
    file = doc["files"][0]
    assert file["rollback"] == {
        "status": "irreversible",
        "sql": 'DROP INDEX "orders_user_idx";\nCREATE TABLE "t" ("c" json);\n',
        "reason": 'data dropped: table "t"',
        "notes": ['column "c" of "t" was re-added at the end (position 1 before)'],
    }
    statement = file["statements"][1]
    assert statement["traced_locks"] == [{"relation": "orders", "mode": "SHARE"}]
    assert statement["traced_rewrites"] == []
    assert statement["trace_contradictions"] == ['the model predicts no rewrite of "orders"; PostgreSQL rewrote it']
    assert file["statements"][0]["traced_locks"] is None  # a statement the proof did not reach


def test_text_shows_the_rollback_status_reason_notes_and_sql() -> None:
    out = render("text", proven())
    assert 'migrations/0001_orders.sql: rollback irreversible: data dropped: table "t"' in out
    assert "    note: column \"c\" of \"t\" was re-added at the end" in out
    assert '    DROP INDEX "orders_user_idx";' in out
    assert "migrations/0001_orders.sql:3: lock model contradicted by the trace: the model predicts no rewrite" in out


def test_markdown_shows_the_rollback_sql_collapsed_and_the_trace_beside_the_prediction() -> None:
    out = render("markdown", proven())
    assert '**Rollback**: ⚠️ irreversible: data dropped: table "t"' in out
    assert "<details><summary>Rollback SQL</summary>" in out
    assert '```sql\nDROP INDEX "orders_user_idx";\nCREATE TABLE "t" ("c" json);\n```' in out
    assert "| traced in a scratch database |" in out
    assert "The lock model's prediction differs from what PostgreSQL did" in out
    verified = replace(proven()[0], rollback=Rollback(RollbackStatus.VERIFIED, 'DROP TABLE "t";\n'))
    assert "✅ verified (run in a scratch database" in render("markdown", [verified])


def test_markdown_folds_the_rollback_sql_before_the_rollback_status() -> None:
    """A large change folds the SQL (with the other details) but keeps every file's rollback status."""
    many = [replace(proven()[0], path=f"migrations/{n:04}_x.sql") for n in range(60)]
    whole = markdown.render(many, Severity.ERROR, limit=10**7)
    assert whole.count("Rollback SQL") == 60
    out = markdown.render(many, Severity.ERROR, limit=len(whole) // 2)
    assert len(out) <= len(whole) // 2
    assert out.count("### `migrations/") == 60
    assert out.count("**Rollback**: ⚠️ irreversible") == 60
    assert 0 < out.count("Rollback SQL") < 60
