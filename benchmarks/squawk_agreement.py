"""Does schemawarden flag what squawk flags? Side by side on squawk's own test fixtures.

Runs squawk-cli once over every fixture in `corpus/squawk-fixtures/` and schemawarden's analysis
in this process over the same files, then prints, per squawk rule: the fixtures squawk flags,
how many of those schemawarden flags with the same risk (one of the SW codes the rule maps to),
how many it misses for a reason docs/squawk.md gives, the gaps (misses with no reason), and the
fixtures schemawarden flags for that risk where squawk does not. squawk runs with
--assume-in-transaction because drizzle-orm runs every migration inside a transaction, and
schemawarden judges them so.

Usage: python benchmarks/squawk_agreement.py [--corpus DIR] [--squawk PATH] [--misses]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
FIXTURES = "squawk-fixtures"
PG_VERSION = 16

# squawk rule -> the schemawarden codes that name the same risk.
SAME_RISK: dict[str, tuple[str, ...]] = {
    "adding-field-with-default": ("SW201", "SW202"),
    "adding-foreign-key-constraint": ("SW103",),
    "adding-not-nullable-field": ("SW106",),
    "adding-required-field": ("SW403",),
    "adding-serial-primary-key-field": ("SW105",),
    "ban-char-field": ("SW503",),
    "ban-concurrent-index-creation-in-transaction": ("SW602",),
    "ban-drop-column": ("SW302",),
    "ban-drop-database": ("SW309",),
    "ban-drop-not-null": ("SW405",),
    "ban-drop-table": ("SW301",),
    "ban-drop-type": ("SW304",),
    "ban-drop-schema": ("SW303",),
    "ban-truncate-cascade": ("SW305", "SW306"),
    "changing-column-type": ("SW203", "SW307"),
    "constraint-missing-not-valid": ("SW103", "SW104", "SW105", "SW108", "SW112"),
    "disallowed-unique-constraint": ("SW105",),
    "prefer-bigint-over-int": ("SW501",),
    "prefer-bigint-over-smallint": ("SW501",),
    "prefer-identity": ("SW501", "SW509"),
    "prefer-text-field": ("SW505",),
    "prefer-timestamp-tz": ("SW502",),
    "renaming-column": ("SW401",),
    "renaming-table": ("SW402",),
    "require-concurrent-index-creation": ("SW101",),
    "require-concurrent-index-deletion": ("SW102",),
    "require-concurrent-reindex": ("SW109",),
    "ban-drop-default": ("SW404",),
    "syntax-error": ("SW601",),
    "require-concurrent-partition-detach": ("SW111",),
    "identifier-too-long": ("SW508",),
    "require-lock-timeout": ("SW606",),
    "transaction-nesting": ("SW607",),
    "ban-uncommitted-transaction": ("SW607",),
    "ban-set-schema": ("SW406",),
    "renaming-object": ("SW407",),
    "ban-alter-domain-with-add-constraint": ("SW113",),
}

# squawk rules schemawarden deliberately does not copy -> the section of docs/squawk.md saying why.
DELIBERATE: dict[str, str] = {
    "prefer-robust-stmts": "prefer-robust-stmts",
    "require-statement-timeout": "require-statement-timeout",
    "ban-drop-constraint": "ban-drop-constraint",
    "ban-duplicate-column-assignments": "ban-duplicate-column-assignments",
    "require-enum-value-ordering": "require-enum-value-ordering",
    "ban-create-domain-with-constraint": "ban-create-domain-with-constraint",
}

# squawk rules schemawarden covers on purpose more narrowly: their other hits are explained there.
NARROWER: dict[str, str] = {
    "prefer-bigint-over-int": "integer-columns-that-are-not-keys",
    "prefer-bigint-over-smallint": "integer-columns-that-are-not-keys",
    "require-lock-timeout": "lock-timeouts-before-blocking-locks-only",
}

# Single fixtures where schemawarden deliberately answers differently -> the docs/squawk.md section.
FIXTURE_REASONS: dict[tuple[str, str], str] = {
    ("adding-field-with-default", "adding_field_with_default__default_random_with_args_err.sql"): (
        "functions-called-with-a-signature-that-does-not-exist"
    ),
    ("ban-char-field", "ban_char_field__all_the_types.sql"): "statements-postgresql-cannot-parse",
    ("prefer-identity", "ban_char_field__all_the_types.sql"): "statements-postgresql-cannot-parse",
    ("prefer-timestamp-tz", "prefer_text_field__create_table_with_pgcatalog_varchar_err.sql"): (
        "squawk-false-positives"
    ),
    # Only flagged by squawk outside a transaction (--no-transaction): its own tests call them ok
    # when the file runs in one transaction, as drizzle runs it.
    **{
        (rule, fixture): "tables-created-in-the-same-migration"
        for rule, fixture in (
            (
                "adding-foreign-key-constraint",
                "adding_foreign_key_constraint__alter_table_foreign_key_assume_transaction.sql",
            ),
            (
                "constraint-missing-not-valid",
                "adding_foreign_key_constraint__alter_table_foreign_key_assume_transaction.sql",
            ),
            (
                "constraint-missing-not-valid",
                "constraint_missing_not_valid__new_table_assume_transaction_ok.sql",
            ),
            ("constraint-missing-not-valid", "constraint_missing_not_valid__regression_with_indexing_ok.sql"),
            (
                "constraint-missing-not-valid",
                "disallow_unique_constraint__unique_constraint_after_create_table_with_assume_in_transaction.sql",
            ),
            (
                "disallowed-unique-constraint",
                "disallow_unique_constraint__unique_constraint_after_create_table_with_assume_in_transaction.sql",
            ),
            (
                "require-concurrent-index-creation",
                "require_concurrent_index_creation__new_table_in_assume_transaction_ok.sql",
            ),
        )
    },
}


@dataclass(frozen=True)
class RuleRow:
    """One squawk rule's line of the agreement table."""

    rule: str
    codes: tuple[str, ...]
    squawk: frozenset[str]
    both: frozenset[str]
    explained: frozenset[str]
    only_schemawarden: frozenset[str]
    deliberate: str | None

    @property
    def gaps(self) -> frozenset[str]:
        """Fixtures squawk flags for this rule that schemawarden misses with no documented reason."""
        if self.deliberate is not None:
            return frozenset()
        return self.squawk - self.both - self.explained


@dataclass(frozen=True)
class Agreement:
    """The whole comparison over squawk's hits (a hit: one rule flagging one fixture)."""

    rows: tuple[RuleRow, ...]
    fixtures: int
    in_transaction: bool = True

    def _count(self, attr: str, in_scope: bool = True) -> int:
        return sum(len(getattr(r, attr)) for r in self.rows if (r.deliberate is None) == in_scope)

    @property
    def hits(self) -> int:
        """squawk hits of the rules schemawarden means to cover (all but the deliberate ones)."""
        return self._count("squawk")

    @property
    def same(self) -> int:
        return self._count("both")

    @property
    def explained(self) -> int:
        return self._count("explained")

    @property
    def gaps(self) -> int:
        return self._count("gaps")

    @property
    def deliberate_hits(self) -> int:
        return self._count("squawk", in_scope=False)

    @property
    def rate(self) -> float:
        """Share of in-scope squawk hits where schemawarden flags the same risk."""
        return self.same / self.hits if self.hits else 1.0

    @property
    def accounted(self) -> float:
        """Share of in-scope hits flagged alike or explained in docs/squawk.md."""
        return (self.same + self.explained) / self.hits if self.hits else 1.0

    @property
    def uncovered_rules(self) -> tuple[str, ...]:
        return tuple(r.rule for r in self.rows if r.gaps and not r.codes)


def squawk_hits(
    binary: str, folder: Path, files: list[Path], in_transaction: bool = True
) -> dict[str, set[str]]:
    """fixture file name -> squawk rules that flag it, from one squawk invocation."""
    names = [p.name for p in files]
    transaction = "--assume-in-transaction" if in_transaction else "--no-assume-in-transaction"
    done = subprocess.run(
        [binary, "--reporter", "json", f"--pg-version={PG_VERSION}", transaction, *names],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"squawk failed ({done.returncode}): {done.stderr.strip()[:500]}")
    hits: dict[str, set[str]] = defaultdict(set)
    for violation in json.loads(done.stdout or "[]"):
        hits[Path(violation["file"]).name].add(violation["rule_name"])
    return hits


def schemawarden_hits(files: list[Path]) -> dict[str, set[str]]:
    """fixture file name -> schemawarden codes that flag it (each fixture judged on its own)."""
    from bot.commands.check import Target, judge
    from policies.policy_file import Policy

    targets = [Target(p.name, p.read_text(encoding="utf-8")) for p in files]
    reports = judge(targets, Policy(pg_version=PG_VERSION), PG_VERSION)
    return {report.path: {f.code for f in report.findings} for report in reports}


def compare(
    squawk: Mapping[str, set[str]],
    schemawarden: Mapping[str, set[str]],
    fixtures: list[str],
    in_transaction: bool = True,
) -> Agreement:
    rules = sorted({rule for found in squawk.values() for rule in found})
    rows = []
    for rule in rules:
        codes = SAME_RISK.get(rule, ())
        flagged = frozenset(f for f in fixtures if rule in squawk.get(f, set()))
        ours = frozenset(f for f in fixtures if set(codes) & schemawarden.get(f, set()))
        missed = flagged - ours
        explained = frozenset(f for f in missed if rule in NARROWER or (rule, f) in FIXTURE_REASONS)
        rows.append(
            RuleRow(rule, codes, flagged, flagged & ours, explained, ours - flagged, DELIBERATE.get(rule))
        )
    return Agreement(tuple(rows), len(fixtures), in_transaction)


def doc_anchors() -> set[str]:
    """Every docs/squawk.md section this comparison cites (a test checks they exist)."""
    return set(DELIBERATE.values()) | set(NARROWER.values()) | set(FIXTURE_REASONS.values())


def measure(corpus: Path, binary: str, in_transaction: bool = True) -> Agreement:
    folder = next((corpus / FIXTURES).iterdir())
    files = sorted(folder.glob("*.sql"))
    squawk = squawk_hits(binary, folder, files, in_transaction)
    return compare(squawk, schemawarden_hits(files), [p.name for p in files], in_transaction)


def default_squawk() -> str:
    return shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")


def table(agreement: Agreement) -> str:
    head = f"{'squawk rule':<46}{'SW codes':<32}{'squawk':>7}{'same':>6}{'expl.':>6}{'gap':>5}{'SW only':>8}  note"
    lines = [head, "-" * len(head)]
    for row in agreement.rows:
        if row.deliberate is not None:
            note = f"not copied: docs/squawk.md#{row.deliberate}"
        elif not row.codes:
            note = "GAP: no rule for this risk"
        elif row.rule in NARROWER and row.explained:
            note = f"narrower: docs/squawk.md#{NARROWER[row.rule]}"
        else:
            note = ""
        codes = ",".join(row.codes) or "-"
        lines.append(
            f"{row.rule:<46}{codes:<32}{len(row.squawk):>7}{len(row.both):>6}{len(row.explained):>6}"
            f"{len(row.gaps):>5}{len(row.only_schemawarden):>8}  {note}"
        )
    lines.append("-" * len(head))
    lines.append(
        f"{agreement.fixtures} fixtures, PostgreSQL {PG_VERSION}, squawk "
        f"{'--assume-in-transaction (as drizzle runs them)' if agreement.in_transaction else 'outside a transaction'}. "
        f"squawk hits of rules schemawarden covers: {agreement.hits}; same risk flagged: {agreement.same} "
        f"({agreement.rate:.1%}); explained in docs/squawk.md: {agreement.explained}; "
        f"gaps: {agreement.gaps} ({agreement.accounted:.1%} accounted for). "
        f"Hits of rules not copied on purpose: {agreement.deliberate_hits}."
    )
    if agreement.uncovered_rules:
        lines.append(f"risks with no schemawarden rule yet: {', '.join(agreement.uncovered_rules)}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="schemawarden vs squawk on squawk's own fixtures")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--squawk", default=default_squawk())
    parser.add_argument("--misses", action="store_true", help="list the fixtures behind each gap")
    parser.add_argument(
        "--no-transaction",
        action="store_true",
        help="run squawk without --assume-in-transaction (schemawarden still judges as drizzle runs)",
    )
    args = parser.parse_args()
    agreement = measure(args.corpus, args.squawk, in_transaction=not args.no_transaction)
    print(table(agreement))
    if args.misses:
        for row in agreement.rows:
            for fixture in sorted(row.gaps):
                print(f"gap     {row.rule:<44} {fixture}")
            for fixture in sorted(row.only_schemawarden):
                print(f"SW only {row.rule:<44} {fixture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
