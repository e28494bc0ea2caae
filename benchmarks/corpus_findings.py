"""How noisy is the rulebook on real migrations? Findings of `schemawarden check` over the shared corpus.

Runs the installed `schemawarden check --format json` (the console script next to this
interpreter, or `--schemawarden PATH`) once per folder, as a user would judge it:

* each project folder of the corpus (`corpus/<group>/<project>/`: a drizzle folder with
  `meta/_journal.json` or a folder of SQL files; `check` decides which), and
* each whole drizzle folder of the shared histories (`drizzle-histories/<name>/`).

Prints, per source (the corpus in total, the corpus without squawk's own test fixtures, and each
history): files judged, statements, warnings+errors per file (mean, median, p90, max), total
errors / warnings / infos, the 15 most frequent rule codes split by severity, and the unknown
share: statements with an operation of kind `unknown` or `parse_error`, over all statements.
A folder that fails to load (exit code 2, or output that is not the JSON report) is reported and
left out of the figures; exit code 1 only means findings.

`--json OUT` saves every folder's per-file figures; `--compare BASELINE.json` then prints, per
source, the figures before and after, the counts per code that changed, and the files whose
warnings+errors changed most. `--load RESULT.json` uses a saved result instead of running `check`
(to compare two saved runs). Nothing here is a test: it asserts nothing.

Usage: python benchmarks/corpus_findings.py [--corpus DIR] [--histories DIR] [--schemawarden PATH]
           [--pg-version N] [--json OUT] [--compare BASELINE.json] [--load RESULT.json]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# `shared/` beside the checkout, or beside one of its parents (a worktree under wt/ of the main one)
SHARED = next(
    (p / "shared" for p in ROOT.parents if (p / "shared" / "corpus").is_dir()), ROOT.parent / "shared"
)
DEFAULT_CORPUS = SHARED / "corpus"
DEFAULT_HISTORIES = SHARED / "drizzle-histories"
FIXTURES_GROUP = "squawk-fixtures"
SEVERITIES = ("error", "warning", "info")
UNKNOWN_KINDS = frozenset({"unknown", "parse_error"})
TOP_CODES = 15
FORMAT_VERSION = 1
CODE_NAMES: dict[str, str] = {}  # rule code -> its name, as the reports give it


@dataclass
class FileResult:
    """One judged file: its statements, how many of them are unknown, findings per code and severity."""

    path: str
    statements: int
    unknown: int
    findings: dict[str, dict[str, int]]  # code -> severity -> count

    def count(self, severities: Iterable[str] = ("error", "warning")) -> int:
        return sum(by.get(s, 0) for by in self.findings.values() for s in severities)


@dataclass
class FolderRun:
    """One `check` of one folder: `ok` False when it did not load (then `error` says why)."""

    source: str  # "corpus" or "history"
    name: str  # "<group>/<project>" or the history's name
    path: str
    kind: str  # "drizzle" (has meta/_journal.json) or "sql-folder"
    exit_code: int | None = None
    seconds: float = 0.0
    error: str | None = None
    files: list[FileResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


# --- running check -------------------------------------------------------------------------------


def default_schemawarden() -> str:
    beside = Path(sys.executable).parent / "schemawarden"
    return str(beside) if beside.exists() else shutil.which("schemawarden") or str(beside)


def folders(corpus: Path, histories: Path) -> list[tuple[str, str, Path]]:
    """(source, name, folder) of every corpus project and every history, sorted."""
    found: list[tuple[str, str, Path]] = []
    if corpus.is_dir():
        for group in sorted(p for p in corpus.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for project in sorted(p for p in group.iterdir() if p.is_dir() and not p.name.startswith(".")):
                found.append(("corpus", f"{group.name}/{project.name}", project))
    if histories.is_dir():
        for history in sorted(p for p in histories.iterdir() if p.is_dir() and not p.name.startswith(".")):
            found.append(("history", history.name, history))
    return found


def judge_folder(binary: str, source: str, name: str, folder: Path, pg_version: int | None) -> FolderRun:
    kind = "drizzle" if (folder / "meta" / "_journal.json").is_file() else "sql-folder"
    run = FolderRun(source=source, name=name, path=str(folder), kind=kind)
    command = [binary, "check", "--format", "json", "."]
    if pg_version is not None:
        command[2:2] = ["--pg-version", str(pg_version)]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=folder, capture_output=True, check=False, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        run.error = f"could not run {binary}: {exc}"
        return run
    run.seconds = time.perf_counter() - start
    run.exit_code = done.returncode
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode not in (0, 1):
        run.error = f"exit {done.returncode}: {stderr[:500] or '(no message)'}"
        return run
    try:
        report = json.loads(done.stdout)
        run.files = [_file_result(f) for f in report["files"]]
    except (ValueError, KeyError, TypeError) as exc:
        run.error = f"unreadable JSON report ({exc.__class__.__name__}: {exc}); stderr: {stderr[:300]}"
        run.files = []
        return run
    summary = report.get("summary", {})
    statements = sum(f.statements for f in run.files)
    if summary.get("statements") not in (None, statements):  # the summary is the CLI's own count
        print(
            f"note: {name}: summary says {summary['statements']} statements, files hold {statements}",
            file=sys.stderr,
        )
    return run


def _file_result(entry: dict[str, Any]) -> FileResult:
    statements = entry.get("statements") or []
    unknown = sum(
        1 for s in statements if any(op.get("kind") in UNKNOWN_KINDS for op in s.get("operations") or [])
    )
    findings: dict[str, dict[str, int]] = {}
    for finding in entry.get("findings") or []:
        code = str(finding.get("code", "?"))
        CODE_NAMES.setdefault(code, str(finding.get("name", "")))
        by = findings.setdefault(code, {})
        severity = str(finding.get("severity", "?"))
        by[severity] = by.get(severity, 0) + 1
    return FileResult(
        path=str(entry.get("path", "?")), statements=len(statements), unknown=unknown, findings=findings
    )


# --- figures -------------------------------------------------------------------------------------


@dataclass
class Summary:
    folders: int
    failed: list[str]
    files: int
    statements: int
    unknown: int
    per_file: list[int]  # warnings+errors of each file
    totals: dict[str, int]  # severity -> count
    codes: dict[str, dict[str, int]]  # code -> severity -> count

    def unknown_share(self) -> float:
        return self.unknown / self.statements if self.statements else 0.0

    def distribution(self) -> dict[str, float]:
        values = sorted(self.per_file)
        if not values:
            return {"mean": 0.0, "median": 0.0, "p90": 0.0, "max": 0.0}
        return {
            "mean": statistics.fmean(values),
            "median": float(statistics.median(values)),
            "p90": float(values[max(0, math.ceil(0.9 * len(values)) - 1)]),  # nearest rank
            "max": float(values[-1]),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "folders": self.folders,
            "failed": self.failed,
            "files": self.files,
            "statements": self.statements,
            "unknown_statements": self.unknown,
            "unknown_share": self.unknown_share(),
            "warnings_errors_per_file": self.distribution(),
            "totals": self.totals,
            "codes": self.codes,
        }


def summarise(runs: list[FolderRun]) -> Summary:
    codes: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter({s: 0 for s in SEVERITIES})
    files = [f for r in runs if r.ok for f in r.files]
    for f in files:
        for code, by in f.findings.items():
            codes.setdefault(code, Counter()).update(by)
            totals.update(by)
    return Summary(
        folders=len(runs),
        failed=[r.name for r in runs if not r.ok],
        files=len(files),
        statements=sum(f.statements for f in files),
        unknown=sum(f.unknown for f in files),
        per_file=[f.count() for f in files],
        totals=dict(totals),
        codes={code: dict(by) for code, by in sorted(codes.items())},
    )


def sources(runs: list[FolderRun]) -> dict[str, list[FolderRun]]:
    """The groups the figures are printed for, in order."""
    corpus = [r for r in runs if r.source == "corpus"]
    grouped: dict[str, list[FolderRun]] = {}
    if corpus:
        grouped["corpus (total)"] = corpus
        real = [r for r in corpus if not r.name.startswith(FIXTURES_GROUP + "/")]
        if len(real) != len(corpus):
            grouped[f"corpus without {FIXTURES_GROUP}"] = real
    for r in runs:
        if r.source == "history":
            grouped[f"history {r.name}"] = [r]
    return grouped


def _code_order(codes: dict[str, dict[str, int]]) -> list[str]:
    return sorted(codes, key=lambda c: (-sum(codes[c].values()), c))


def _sev(by: dict[str, int]) -> str:
    return f"{by.get('error', 0):>6}{by.get('warning', 0):>6}{by.get('info', 0):>6}{sum(by.values()):>7}"


def _dist(d: dict[str, float]) -> str:
    return f"mean {d['mean']:.2f}, median {d['median']:g}, p90 {d['p90']:g}, max {d['max']:g}"


def print_report(runs: list[FolderRun]) -> None:
    failed = [r for r in runs if not r.ok]
    for r in failed:
        print(f"FAILED to load {r.source} {r.name} ({r.kind}): {r.error}")
    if failed:
        print()
    corpus = [r for r in runs if r.source == "corpus" and r.ok]
    if corpus:
        print("corpus projects (one `check` per folder)")
        print(
            f"  {'project':<44}{'kind':<11}{'files':>6}{'stmts':>7}{'W+E/file':>10}{'E':>6}{'W':>6}{'I':>6}{'unknown':>9}{'s':>7}"
        )
        for r in corpus:
            s = summarise([r])
            print(
                f"  {r.name:<44}{r.kind:<11}{s.files:>6}{s.statements:>7}{s.distribution()['mean']:>10.2f}"
                f"{s.totals['error']:>6}{s.totals['warning']:>6}{s.totals['info']:>6}"
                f"{s.unknown_share():>9.2%}{r.seconds:>7.2f}"
            )
        print()
    for label, group in sources(runs).items():
        s = summarise(group)
        print(f"== {label}: {s.folders - len(s.failed)} of {s.folders} folders loaded")
        if s.failed:
            print(f"   not loaded: {', '.join(s.failed)}")
        if not s.files:
            print()
            continue
        print(f"   files judged {s.files}, statements {s.statements}")
        print(f"   warnings+errors per file: {_dist(s.distribution())}")
        print(
            f"   totals: {s.totals['error']} errors, {s.totals['warning']} warnings, {s.totals['info']} infos"
        )
        print(
            f"   unknown share: {s.unknown}/{s.statements} statements = {s.unknown_share():.3%} (unknown or parse_error)"
        )
        print(f"   top codes{'':<37}{'error':>6}{'warn':>6}{'info':>6}{'total':>7}")
        for code in _code_order(s.codes)[:TOP_CODES]:
            print(f"     {code:<7}{CODE_NAMES.get(code, '')[:36]:<37}{_sev(s.codes[code])}")
        if len(s.codes) > TOP_CODES:
            print(f"     ({len(s.codes) - TOP_CODES} more codes)")
        print()


# --- saving, loading, comparing ------------------------------------------------------------------


def to_document(runs: list[FolderRun], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        **meta,
        "code_names": dict(sorted(CODE_NAMES.items())),
        "summaries": {label: summarise(group).to_json() for label, group in sources(runs).items()},
        "runs": [
            {
                "source": r.source,
                "name": r.name,
                "path": r.path,
                "kind": r.kind,
                "exit_code": r.exit_code,
                "seconds": round(r.seconds, 3),
                "error": r.error,
                "files": [
                    {"path": f.path, "statements": f.statements, "unknown": f.unknown, "findings": f.findings}
                    for f in r.files
                ],
            }
            for r in runs
        ],
    }


def from_document(document: dict[str, Any]) -> list[FolderRun]:
    for code, name in document.get("code_names", {}).items():
        CODE_NAMES.setdefault(code, name)
    runs = []
    for r in document.get("runs", []):
        run = FolderRun(
            source=r["source"],
            name=r["name"],
            path=r.get("path", ""),
            kind=r.get("kind", "?"),
            exit_code=r.get("exit_code"),
            seconds=r.get("seconds", 0.0),
            error=r.get("error"),
        )
        run.files = [
            FileResult(f["path"], f["statements"], f["unknown"], f["findings"]) for f in r.get("files", [])
        ]
        runs.append(run)
    return runs


def print_comparison(before: list[FolderRun], after: list[FolderRun], label_before: str) -> None:
    print(f"##### compared with {label_before} (before -> after)")
    b_sources, a_sources = sources(before), sources(after)
    for label in [*a_sources, *(k for k in b_sources if k not in a_sources)]:
        b, a = summarise(b_sources.get(label, [])), summarise(a_sources.get(label, []))
        print(f"== {label}")
        if not b.files and not a.files:
            print(
                f"   nothing judged (not loaded: {', '.join(b.failed) or '-'} -> {', '.join(a.failed) or '-'})"
            )
            print()
            continue
        if b.failed != a.failed:
            print(f"   not loaded: {', '.join(b.failed) or '-'} -> {', '.join(a.failed) or '-'}")
        print(f"   files {b.files} -> {a.files}, statements {b.statements} -> {a.statements}")
        bd, ad = b.distribution(), a.distribution()
        print(
            "   warnings+errors per file: "
            + ", ".join(
                f"{k} {bd[k]:.2f} -> {ad[k]:.2f}" if k == "mean" else f"{k} {bd[k]:g} -> {ad[k]:g}"
                for k in bd
            )
        )
        print(
            "   totals: " + ", ".join(f"{s} {b.totals.get(s, 0)} -> {a.totals.get(s, 0)}" for s in SEVERITIES)
        )
        print(
            f"   unknown share: {b.unknown_share():.3%} -> {a.unknown_share():.3%} ({b.unknown} -> {a.unknown})"
        )
        codes = sorted(set(b.codes) | set(a.codes))
        changed = [c for c in codes if b.codes.get(c, {}) != a.codes.get(c, {})]
        changed.sort(
            key=lambda c: (-abs(sum(a.codes.get(c, {}).values()) - sum(b.codes.get(c, {}).values())), c)
        )
        if changed:
            print(
                f"   codes changed ({len(changed)} of {len(codes)}), error warning info total, before -> after"
            )
            for c in changed:
                print(
                    f"     {c:<7}{CODE_NAMES.get(c, '')[:36]:<37}{_sev(b.codes.get(c, {}))}  ->{_sev(a.codes.get(c, {}))}"
                )
        else:
            print(f"   no code's counts changed ({len(codes)} codes)")
        moved, only_before, only_after = _file_changes(b_sources.get(label, []), a_sources.get(label, []))
        if only_before or only_after:
            print(f"   files judged only before: {only_before}, only after: {only_after}")
        if moved:
            print(f"   files whose warnings+errors changed: {len(moved)}; most changed:")
            for name, path, x, y in moved[:10]:
                print(f"     {x:>4} -> {y:<4} {name}: {path}")
        print()


def _file_changes(
    before: list[FolderRun], after: list[FolderRun]
) -> tuple[list[tuple[str, str, int, int]], int, int]:
    """Files whose warnings+errors changed (most changed first), and how many files only one side has."""

    def index(runs: list[FolderRun]) -> dict[tuple[str, str], int]:
        return {(r.name, f.path): f.count() for r in runs if r.ok for f in r.files}

    b, a = index(before), index(after)
    moved = [
        (k[0], k[1], b.get(k, 0), a.get(k, 0)) for k in sorted(set(b) | set(a)) if b.get(k, 0) != a.get(k, 0)
    ]
    moved.sort(key=lambda m: -abs(m[3] - m[2]))
    return moved, len(set(b) - set(a)), len(set(a) - set(b))


def _meta(binary: str, corpus: Path, histories: Path, pg_version: int | None) -> dict[str, Any]:
    def out(command: list[str], cwd: Path | None = None) -> str | None:
        try:
            done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0:
            return None
        return done.stdout.strip() or None

    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "schemawarden": binary,
        "schemawarden_version": out([binary, "--version"]),
        "git_commit": out(["git", "rev-parse", "HEAD"], ROOT),
        "corpus": str(corpus),
        "histories": str(histories),
        "pg_version": pg_version,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--histories", type=Path, default=DEFAULT_HISTORIES)
    parser.add_argument(
        "--schemawarden", default=default_schemawarden(), help="the CLI to run (default: this venv's)"
    )
    parser.add_argument(
        "--pg-version", type=int, default=None, help="passed to check (default: the policy's)"
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="save every figure here")
    parser.add_argument(
        "--compare", type=Path, metavar="BASELINE", help="a saved --json result to compare with"
    )
    parser.add_argument(
        "--load", type=Path, metavar="RESULT", help="use a saved --json result instead of running check"
    )
    args = parser.parse_args()

    if args.load:
        document = json.loads(args.load.read_text())
        runs = from_document(document)
        print(f"loaded {args.load} ({document.get('created')}, commit {document.get('git_commit')})")
    else:
        corpus, histories = args.corpus.resolve(), args.histories.resolve()
        targets = folders(corpus, histories)
        if not targets:
            print(f"no folders under {corpus} or {histories}", file=sys.stderr)
            return 2
        meta = _meta(args.schemawarden, corpus, histories, args.pg_version)
        print(
            f"{meta['schemawarden_version'] or args.schemawarden} (commit {meta['git_commit']}); {len(targets)} folders"
        )
        runs = [judge_folder(args.schemawarden, *t, args.pg_version) for t in targets]
        document = to_document(runs, meta)
    print()
    print_report(runs)
    if args.json:
        args.json.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
        print(f"saved {args.json}")
    if args.compare:
        baseline = json.loads(args.compare.read_text())
        print()
        print_comparison(
            from_document(baseline),
            runs,
            f"{args.compare} ({baseline.get('created')}, commit {baseline.get('git_commit')})",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
