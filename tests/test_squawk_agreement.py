"""schemawarden against squawk on squawk's own fixtures: the agreement must not get worse.

The figures are measured by benchmarks/squawk_agreement.py and documented in docs/squawk.md;
raise the floors here when a new rule closes a gap.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Measured with squawk-cli 2.70.0, --assume-in-transaction, PostgreSQL 16.
SAME_RISK_AT_LEAST = 324
GAPS_AT_MOST = 0


def load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "squawk_agreement", ROOT / "benchmarks" / "squawk_agreement.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown page."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"^#{1,6}\s+(.*)$", line)
        if match:
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


def test_every_reason_the_comparison_cites_is_a_section_of_docs_squawk() -> None:
    bench = load_benchmark()
    anchors = heading_anchors((ROOT / "docs" / "squawk.md").read_text(encoding="utf-8"))
    missing = bench.doc_anchors() - anchors
    assert not missing, f"docs/squawk.md lacks sections for {sorted(missing)}"


def test_mapped_codes_are_real_rules() -> None:
    from policies.rules import all_rules

    bench = load_benchmark()
    known = {rule.code for rule in all_rules()}
    mapped = {code for codes in bench.SAME_RISK.values() for code in codes}
    assert mapped <= known, f"unknown codes in the squawk mapping: {sorted(mapped - known)}"


@pytest.mark.shared
def test_schemawarden_agrees_with_squawk_no_less_than_measured(shared_dir: Path) -> None:
    squawk = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if not Path(squawk).exists():
        pytest.fail("squawk-cli is not installed: pip install -e '.[bench]'")
    bench = load_benchmark()
    agreement = bench.measure(shared_dir / "corpus", squawk)
    table = bench.table(agreement)
    assert agreement.fixtures == 251, table
    assert agreement.same >= SAME_RISK_AT_LEAST, table
    assert agreement.gaps <= GAPS_AT_MOST, table
