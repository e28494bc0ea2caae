"""Is `schemawarden check` fast enough to run on every push, next to squawk?

Judges the whole shared corpus (~3,560 real migration files) with one `schemawarden check`
process and with one `squawk` process (one invocation, a glob over every file), several times
each, interleaved, and prints the median wall and CPU times, statements per second (both over the
same statements: schemawarden's count of them) and the ratio (target: schemawarden's wall time
within 3x of squawk's, one process each). squawk's one process judges files on every core in
parallel threads while schemawarden's Python work runs on one, so each is timed twice: as it runs,
and pinned to a single core (the like-for-like figure, and the one that does not change with the
machine's number of cores). Both emit JSON, so both pay for output. The analysis alone (no interpreter
start-up, no rendering) is also timed in this process, to tell start-up cost from work, and one
typical file is checked on its own, as a pull request's CI job or a pre-commit hook does.

Usage: python benchmarks/check_throughput.py [--corpus DIR] [--squawk PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
TARGET_RATIO = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--squawk", default=shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    corpus: Path = args.corpus.resolve()
    files = sorted(p for p in corpus.rglob("*.sql") if p.is_file())
    if not files:
        print(f"no SQL files under {corpus}", file=sys.stderr)
        return 2

    compile_bytecode()
    sw_command = [sys.executable, "-m", "bot.cli", "check", "--format", "json", "--fail-on", "error", "."]
    sq_command = [args.squawk, "--reporter", "json", "--pg-version=16", "**/*.sql"]
    statements, sw_findings = _schemawarden_counts(sw_command, corpus)
    sq_findings = _squawk_count(sq_command, corpus)

    # squawk's one process runs on every core (its rules in parallel threads); schemawarden's Python
    # work runs on one. So each is timed as it runs and pinned to one core, interleaved so that a
    # noisy neighbour hurts both alike.
    runs: dict[tuple[str, bool], list[tuple[float, float]]] = {}
    for _ in range(args.repeat):
        for one_core in (False, True):
            for tool, command in (("schemawarden", sw_command), ("squawk", sq_command)):
                runs.setdefault((tool, one_core), []).append(_timed(command, corpus, one_core))
    analysis = _in_process_analysis(files)
    startup = min(_wall([sys.executable, "-m", "bot.cli", "check", "--help"], corpus) for _ in range(3))
    one = _median_sized(files).relative_to(corpus).as_posix()
    sw_one = statistics.median(_wall([*sw_command[:-1], one], corpus) for _ in range(5))
    sq_one = statistics.median(_wall([*sq_command[:-1], one], corpus) for _ in range(5))

    def wall(tool: str, one_core: bool) -> float:
        return statistics.median(w for w, _ in runs[(tool, one_core)])

    def cpu(tool: str, one_core: bool) -> float:
        return statistics.median(c for _, c in runs[(tool, one_core)])

    print(f"corpus: {corpus} ({len(files)} files, {statements} statements), medians of {args.repeat} runs")
    print(f"{'':<34}{'as it runs (' + str(os.cpu_count()) + ' cores)':>34}{'pinned to one core':>28}")
    print(f"{'tool':<34}{'wall s':>10}{'cpu s':>10}{'statements/s':>14}{'wall s':>14}{'statements/s':>14}{'findings':>10}")
    labels = {
        "schemawarden": ("schemawarden check (1 process)", sw_findings),
        "squawk": (f"squawk-cli {_squawk_version(args.squawk)} (1 process)", sq_findings),
    }
    for tool, (label, found) in labels.items():
        print(
            f"{label:<34}{wall(tool, False):>10.3f}{cpu(tool, False):>10.3f}{statements / wall(tool, False):>14,.0f}"
            f"{wall(tool, True):>14.3f}{statements / wall(tool, True):>14,.0f}{found:>10}"
        )
    for one_core, how in ((False, "as they run"), (True, "one core each")):
        ratio = wall("schemawarden", one_core) / wall("squawk", one_core)
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(f"ratio schemawarden / squawk wall time, {how}: {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x: {verdict})")
    print(
        f"schemawarden breakdown: start-up (check --help) {startup:.3f} s; "
        f"analysis alone {analysis:.3f} s ({statements / analysis:,.0f} statements/s)"
    )
    print(f"one file, as a pull request's check runs it ({one}): schemawarden {sw_one:.3f} s, squawk {sq_one:.3f} s")
    for (tool, one_core), timings in runs.items():
        print(f"runs, {tool}{' on one core' if one_core else ''} (wall s): {_fmt([w for w, _ in timings])}")
    return 0


def compile_bytecode() -> None:
    """Write the project's `.pyc` files, as installing a wheel does.

    Where PYTHONDONTWRITEBYTECODE is set (as on these machines) an editable checkout is otherwise
    compiled from source at every start, some 40 ms that no installed copy pays.
    """
    for package in ("bot", "policies", "reconciler"):
        compileall.compile_dir(ROOT / package, quiet=1)


def _timed(command: list[str], cwd: Path, one_core: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run, optionally pinned to a single core."""
    pin = (lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})) if one_core else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, preexec_fn=pin
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _wall(command: list[str], cwd: Path) -> float:
    return _timed(command, cwd)[0]


def _median_sized(files: list[Path]) -> Path:
    """A typical migration: the file of median size."""
    return sorted(files, key=lambda p: (p.stat().st_size, p))[len(files) // 2]


def _schemawarden_counts(command: list[str], cwd: Path) -> tuple[int, int]:
    """Statements and findings from one run's JSON summary (also checks the run worked)."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"schemawarden check failed ({done.returncode}): {done.stderr.strip()}")
    summary = json.loads(done.stdout)["summary"]
    return summary["statements"], sum(summary["findings"].values())


def _squawk_count(command: list[str], cwd: Path) -> int:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"squawk failed ({done.returncode}): {done.stderr.strip()[:500]}")
    return len(json.loads(done.stdout or "[]"))


def _in_process_analysis(files: list[Path]) -> float:
    """Seconds to analyse every file here, texts already in memory: the work without start-up
    (the best of three runs; the first also pays for warming caches)."""
    from bot.commands.check import Target, judge
    from policies.policy_file import Policy

    targets = [Target(p.name, p.read_bytes().decode("utf-8", "replace")) for p in files]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        judge(targets, Policy.defaults(), 16)
        best = min(best, time.perf_counter() - start)
    return best


def _squawk_version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().removeprefix("squawk ").strip()


def _fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times)


if __name__ == "__main__":
    sys.exit(main())
