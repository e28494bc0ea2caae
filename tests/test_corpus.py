"""The analysis over ../shared/corpus (3,700 real migration files): no crash, everything classified."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import outline, run_every_rule_on_every_migration
from policies import Context, analyze_sql
from policies.parsing import _parse_whole_file, parse_migration, parse_statement
from policies.statements import split_statements

# Measured: 0 unknown statements out of 17,257 (0.0%); the budget (0.1%, about 17) leaves room for
# corpus growth without letting a whole statement family slip to `unknown` unnoticed.
UNKNOWN_BUDGET = 0.001
# The two statements the corpus README names as invalid SQL.
EXPECTED_PARSE_ERRORS = 2


@pytest.mark.shared
def test_corpus_is_analysed_without_crash_and_nearly_everything_is_classified(shared_dir: Path) -> None:
    files = sorted((shared_dir / "corpus").rglob("*.sql"))
    assert len(files) > 3000
    statements = unknown = parse_errors = 0
    unknown_shapes: dict[str, int] = {}
    for path in files:
        report = analyze_sql(str(path), path.read_text(encoding="utf-8", errors="replace"), Context())
        for statement in report.statements:
            statements += 1
            assert statement.operations, f"{path}:{statement.line} has no operation"
            kinds = [op["kind"] for op in statement.operations]
            if kinds == ["parse_error"]:
                parse_errors += 1
            elif all(kind == "unknown" for kind in kinds):
                unknown += 1
                for op in statement.operations:
                    assert op["shape"], f"{path}:{statement.line}: unknown without its shape"
                    unknown_shapes[op["shape"]] = unknown_shapes.get(op["shape"], 0) + 1
    assert parse_errors == EXPECTED_PARSE_ERRORS
    assert unknown / statements <= UNKNOWN_BUDGET, f"{unknown}/{statements} unknown: {unknown_shapes}"


@pytest.mark.shared
def test_corpus_reads_the_same_with_one_parser_call_per_file_as_split(shared_dir: Path) -> None:
    """The fast way of reading a file (one parser call) must give what splitting gives, on real files."""
    files = sorted((shared_dir / "corpus").rglob("*.sql"))
    whole_file_reads = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        split = [parsed for statement in split_statements(text) for parsed in parse_statement(statement)]
        assert outline(parse_migration(text)) == outline(split), path
        whole_file_reads += _parse_whole_file(text) is not None
    assert whole_file_reads > len(files) * 0.9  # the fast way is the usual one


@pytest.mark.shared
def test_corpus_findings_are_the_same_when_every_rule_runs_on_every_file(
    shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Skipping a rule for a file without the operation kinds it `needs` loses no finding."""
    texts = [
        (str(path), path.read_text(encoding="utf-8", errors="replace"))
        for path in sorted((shared_dir / "corpus").rglob("*.sql"))
    ]
    gated = [analyze_sql(path, text, Context()).findings for path, text in texts]
    run_every_rule_on_every_migration(monkeypatch)
    assert [analyze_sql(path, text, Context()).findings for path, text in texts] == gated
