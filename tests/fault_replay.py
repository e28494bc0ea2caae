"""Fault-injection replay of the shared drizzle histories (issue 8, "Done when").

For each history in ../shared/drizzle-histories:

* reference: one clean `schemawarden apply` into a fresh database; its end state is captured
  (`pg_dump --schema-only` without the `schemawarden` audit schema, normalised; the history rows);
* faulted passes: a fresh database, then rounds of `schemawarden apply` (a subprocess, as a user
  runs it), each with ONE fault chosen by `random.Random`:
    - kill: SIGKILL of the client process only (the server is never told: a crash kills only the
      client), either once migration N is recorded (+ a random few ms), or while one of its
      statements waits on a lock held by another session;
    - lock: another session holds a lock (a reader's ACCESS SHARE or a writer's ROW EXCLUSIVE) on a
      table the next pending migration touches, for a random time, sometimes longer than the
      environment's lock_timeout x retries, then releases it;
    - fail: an object that a pending migration creates is created beforehand (a decoy table of the
      same name), so that statement fails; the decoy is dropped after the run;
  until the budget of the pass is spent or the history is complete; then clean applies resume;
* checks: the dump and the history rows equal the reference's, `schemawarden.apply_progress` is
  empty, no backend of the run is left (bounded wait), no invalid index, and every apply exited 0,
  1 (only in a round whose fault took effect) or by our SIGKILL, never with a traceback.

The fault sequence depends only on the seed, the history and the database's state (not on the
budget), so `python tests/fault_replay.py --seed N --history NAME` replays a failure as far as
timing allows. Run as a script, or through tests/test_fault_replay.py (marker `faults`).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from drizzle_harness import missing_extensions, node_database_url, schema_dump, schemawarden_command

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = Path(os.environ.get("SCHEMAWARDEN_SHARED_DIR") or ROOT.parent / "shared") / "drizzle-histories"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_BUDGET_S = 300.0
SEED_ENV = "SCHEMAWARDEN_FAULT_SEED"
BUDGET_ENV = "SCHEMAWARDEN_FAULT_BUDGET_S"
ENV_NAME = "faults"
KINDS = ("kill", "lock", "fail")

# The environment's settings for the run: small, so that a held lock resolves within a second.
LOCK_TIMEOUT_S = 0.2
LOCK_RETRIES = 1
RETRY_BACKOFF_S = 0.1
CONFIG_TOML = f"""\
[environments.{ENV_NAME}]
gate = "auto"
lock_timeout = "{int(LOCK_TIMEOUT_S * 1000)}ms"
statement_timeout = "60s"
lock_retries = {LOCK_RETRIES}
retry_backoff = "{int(RETRY_BACKOFF_S * 1000)}ms"
"""

# Bounds of every wait (seconds) and of every loop.
APPLY_TIMEOUT_S = 180.0  # one apply subprocess
POLL_S = 0.005  # polling period while waiting for a kill point or a blocked statement
POINT_DEADLINE_S = 60.0  # the longest wait for a kill point / a blocked statement
BACKENDS_GONE_S = 30.0  # the longest wait for the run's backends to end after the last apply
MAX_ROUNDS_PER_PASS = 400
MAX_PASSES = 25
STALL_ROUNDS = 4  # rounds without a new history row before a pass stops injecting
RESUME_APPLIES = 3  # clean applies after the faults, until the history is complete
FAULTS_PER_HISTORY_SPAN = 40  # faults spread over a history: target offset range = n / this
OBSERVER_APP = "fault_replay observer"


# ---------------------------------------------------------------------------------------------
# The history on disk, read without the code under test


@dataclass(frozen=True)
class Migration:
    """One journal entry: its tag, `when`, SQL text and drizzle's chunks of it."""

    idx: int
    tag: str
    when: int
    text: str
    hash: str

    @property
    def chunks(self) -> list[str]:
        return self.text.split("--> statement-breakpoint")


def load_history(folder: Path) -> list[Migration]:
    """The journal's migrations in order; a missing file raises FileNotFoundError."""
    entries: list[dict[str, Any]] = json.loads((folder / "meta" / "_journal.json").read_text())["entries"]
    out: list[Migration] = []
    for i, entry in enumerate(entries):
        data = (folder / f"{entry['tag']}.sql").read_bytes()
        out.append(
            Migration(
                i,
                str(entry["tag"]),
                int(entry["when"]),
                data.decode(errors="replace"),
                hashlib.sha256(data).hexdigest(),
            )
        )
    return out


def history_names() -> list[str]:
    """Every shared history with a journal, smallest first."""
    names = [p.name for p in sorted(HISTORIES.iterdir()) if (p / "meta" / "_journal.json").is_file()]

    def size(name: str) -> int:
        entries = json.loads((HISTORIES / name / "meta" / "_journal.json").read_text())["entries"]
        return len(entries)

    return sorted(names, key=lambda n: (size(n), n))


# ---------------------------------------------------------------------------------------------
# Databases


def db_url(admin_url: str, name: str) -> str:
    info = {k: v for k, v in psycopg.conninfo.conninfo_to_dict(admin_url).items() if v is not None}
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo("", **info)


@contextmanager
def fresh_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new empty database, dropped (with whoever is left in it) when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield db_url(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, application_name=OBSERVER_APP)


def history_rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """(hash, created_at[, name]) of every history row, in id order; [] before the table exists."""
    if conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations')").fetchone() == (None,):
        return []
    has_name = conn.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = 'drizzle' "
        "AND table_name = '__drizzle_migrations' AND column_name = 'name'"
    ).fetchone()
    cols = "hash, created_at, name" if has_name else "hash, created_at"
    return [tuple(r) for r in conn.execute(f"SELECT {cols} FROM drizzle.__drizzle_migrations ORDER BY id")]


def recorded_count(conn: psycopg.Connection[Any]) -> int:
    """How many history rows exist (cheap enough to poll every few milliseconds)."""
    if conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations')").fetchone() == (None,):
        return 0
    row = conn.execute("SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone()
    return int(row[0]) if row else 0


def run_backends(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """(pid, state, wait event, seconds in state, query) of schemawarden's backends in this database."""
    return [
        tuple(r)
        for r in conn.execute(
            "SELECT pid, state, coalesce(wait_event_type || ':' || wait_event, ''), "
            "round(extract(epoch FROM now() - state_change)::numeric, 2), left(query, 120) "
            "FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'schemawarden%' "
            "ORDER BY pid"
        )
    ]


def invalid_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    return [
        str(r[0])
        for r in conn.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid")
    ]


def progress_rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    if conn.execute("SELECT to_regclass('schemawarden.apply_progress')").fetchone() == (None,):
        return []
    return [tuple(r) for r in conn.execute("SELECT * FROM schemawarden.apply_progress")]


def dump_diff(want: list[str], got: list[str], limit: int = 60) -> str:
    diff = list(difflib.unified_diff(want, got, "clean apply", "after faults", lineterm="", n=2))
    more = f"\n... {len(diff) - limit} more diff lines" if len(diff) > limit else ""
    return "\n".join(diff[:limit]) + more


# ---------------------------------------------------------------------------------------------
# One apply subprocess


@dataclass
class ApplyRun:
    round_no: int
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    killed: bool  # we sent it SIGKILL

    def describe(self) -> str:
        return (
            f"apply (round {self.round_no}) -> exit {self.returncode}{' (SIGKILL by the harness)' if self.killed else ''}"
            f" in {self.wall_s:.2f}s\n  stderr: {self.stderr.strip()[-1500:] or '(empty)'}"
            f"\n  stdout (problems and errors): {json_errors(self.stdout)}"
        )


def json_errors(stdout: str) -> str:
    """The plan's problems and the failed outcomes of `apply --format json`, or its raw tail."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return stdout.strip()[-800:] or "(empty)"
    problems = [str(p.get("message", p)) for p in doc.get("plan", {}).get("problems", [])]
    failed = [
        f"{o.get('tag')}: {o.get('error')}" for o in doc.get("outcomes", []) if o.get("status") != "applied"
    ]
    return "; ".join(problems + failed)[:1500] or "(none)"


class ApplyProcess:
    """`schemawarden apply --env faults --migrations FOLDER --format json`, output into files."""

    def __init__(
        self, workdir: Path, folder: Path, url: str, round_no: int, extra: tuple[str, ...] = ()
    ) -> None:
        self.round_no = round_no
        self.killed = False
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMAWARDEN_ENV_")}
        env[f"SCHEMAWARDEN_ENV_{ENV_NAME.upper()}_URL"] = node_database_url(url)
        self._out = (workdir / f"apply-{round_no}.out").open("w+")
        self._err = (workdir / f"apply-{round_no}.err").open("w+")
        args = [
            "apply",
            "--env",
            ENV_NAME,
            "--migrations",
            str(folder),
            "--config",
            str(workdir / "schemawarden.toml"),
            *extra,
        ]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [*schemawarden_command(), *args, "--format", "json", "--actor", "fault-replay"],
            cwd=workdir,
            env=env,
            stdout=self._out,
            stderr=self._err,
        )

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> bool:
        """SIGKILL the client process only; False if it had already ended."""
        if self.proc.poll() is not None:
            return False
        self.proc.send_signal(signal.SIGKILL)
        self.killed = True
        return True

    def wait(self) -> ApplyRun:
        try:
            rc = self.proc.wait(timeout=APPLY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            rc = -999
        wall = time.monotonic() - self.started
        self._out.seek(0)
        self._err.seek(0)
        out, err = self._out.read(), self._err.read()
        self._out.close()
        self._err.close()
        if rc == -999:
            err += f"\n[fault replay] apply did not end within {APPLY_TIMEOUT_S:.0f}s and was killed"
        return ApplyRun(self.round_no, rc, out, err, wall, self.killed)


def poll_until(condition: Callable[[], Any], proc: ApplyProcess, deadline_s: float = POINT_DEADLINE_S) -> Any:
    """Poll `condition` until it returns something truthy; None if apply ended or the deadline passed."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and proc.running():
        found = condition()
        if found:
            return found
        time.sleep(POLL_S)
    return None


# ---------------------------------------------------------------------------------------------
# What a migration touches and creates, read from its SQL text


_QUOTED = re.compile(r'"((?:[^"]|"")+)"')
_BARE = re.compile(
    r"\b(?:TABLE|ON|REFERENCES|INTO|UPDATE|FROM|JOIN)\s+(?:ONLY\s+)?(?:\w+\.)?([a-z_][a-z0-9_]*)",
    re.IGNORECASE,
)
_CREATES = re.compile(
    r"^\s*CREATE\s+(?:UNIQUE\s+)?(TABLE|INDEX|TYPE|SEQUENCE|VIEW|MATERIALIZED\s+VIEW)\s+"
    r"(?!IF\s+NOT\s+EXISTS)(?:CONCURRENTLY\s+)?"
    r'(?:"?([\w-]+)"?\.)?"([\w$-]+)"',
    re.IGNORECASE | re.MULTILINE,
)

_ADD_VALUE = re.compile(r"\bADD\s+VALUE\b", re.IGNORECASE)
_INDEX_ON = re.compile(r'\s+ON\s+(?:ONLY\s+)?(?:"?([\w-]+)"?\.)?"?[\w-]+"?', re.IGNORECASE)


def mentioned_names(text: str) -> set[str]:
    return {m.group(1).replace('""', '"') for m in _QUOTED.finditer(text)} | {
        m.group(1) for m in _BARE.finditer(text)
    }


def existing_tables(conn: psycopg.Connection[Any], names: set[str]) -> list[tuple[str, str]]:
    """(schema, table) of the user tables among `names`, sorted (deterministic choices)."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'drizzle', 'schemawarden') "
        "AND n.nspname NOT LIKE 'pg_toast%%' AND c.relname = ANY(%s) ORDER BY 1, 2",
        (sorted(names),),
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


@dataclass(frozen=True)
class Creation:
    """A statement that creates a named object (no IF NOT EXISTS, not inside a DO block)."""

    kind: str
    schema: str
    name: str
    chunk: int


def creations(migration: Migration) -> list[Creation]:
    found: list[Creation] = []
    for i, chunk in enumerate(migration.chunks):
        if re.search(r"\bDO\s+\$", chunk, re.IGNORECASE):
            continue  # drizzle's `DO $$ ... EXCEPTION WHEN duplicate_object` would swallow the failure
        for m in _CREATES.finditer(chunk):
            kind, schema = " ".join(m.group(1).upper().split()), m.group(2)
            if kind == "INDEX":  # an index lives in its table's schema
                on = _INDEX_ON.match(chunk, m.end())
                if on is None:
                    continue
                schema = on.group(1)
            found.append(Creation(kind, schema or "public", m.group(3), i))
    return found


# ---------------------------------------------------------------------------------------------
# Reports


@dataclass
class FaultRecord:
    kind: str
    history: str
    pass_no: int
    round_no: int
    detail: str
    injected: bool = False  # the fault really happened: kill point reached, apply blocked, statement failed
    exit_code: int | None = None
    problems: list[str] = field(default_factory=list)
    survived: bool = False  # injected, no problem in its round, and the pass ended in the reference state

    def line(self) -> str:
        status = "survived" if self.survived else ("NOT SURVIVED" if self.injected else "not injected")
        return f"{self.history} pass {self.pass_no} round {self.round_no}: {self.kind}: {self.detail} -> exit {self.exit_code}, {status}"


@dataclass
class HistoryReport:
    name: str
    seed: int
    budget_s: float
    migrations: int = 0
    passes: int = 0
    faults: list[FaultRecord] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0
    applies: int = 0
    orphans_seen: int = 0  # kills after which a backend of the dead client was still active

    def replay_command(self) -> str:
        return f"python tests/fault_replay.py --seed {self.seed} --history {self.name} --budget-s {self.budget_s:.0f}"

    def count(self, kind: str) -> tuple[int, int, int]:
        mine = [f for f in self.faults if f.kind == kind]
        return len(mine), sum(f.injected for f in mine), sum(f.survived for f in mine)

    def summary(self) -> str:
        if self.skipped:
            return f"{self.name}: skipped: {self.skipped}"
        per_kind = ", ".join(f"{k} {a}/{b}/{c}" for k in KINDS for a, b, c in [self.count(k)])
        verdict = "OK" if not self.failures else f"{len(self.failures)} FAILURE(S)"
        return (
            f"{self.name}: {self.migrations} migrations, {self.passes} pass(es), {self.applies} applies, "
            f"{self.seconds:.1f}s; faults chosen/injected/survived: {per_kind}; "
            f"{self.orphans_seen} kill(s) left a still-active backend; {verdict}"
        )

    def failure_text(self) -> str:
        head = f"[seed {self.seed}] {self.name}: replay with: {self.replay_command()}"
        return "\n".join([head, *(f"- {f}" for f in self.failures)])


@dataclass
class ReplayReport:
    seed: int
    budget_s: float
    histories: list[HistoryReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(not h.failures for h in self.histories)

    def summary(self) -> str:
        lines = [f"fault replay: seed {self.seed}, budget {self.budget_s:.0f}s"]
        lines += [f"  {h.summary()}" for h in self.histories]
        totals = []
        for kind in KINDS:
            a = sum(h.count(kind)[0] for h in self.histories)
            b = sum(h.count(kind)[1] for h in self.histories)
            c = sum(h.count(kind)[2] for h in self.histories)
            totals.append(f"{kind} {a}/{b}/{c}")
        lines.append(f"  total chosen/injected/survived: {', '.join(totals)}")
        return "\n".join(lines)

    def failure_text(self) -> str:
        return "\n\n".join(h.failure_text() for h in self.histories if h.failures)


# ---------------------------------------------------------------------------------------------
# The replay of one history


@dataclass(frozen=True)
class Reference:
    dump: list[str]
    rows: list[tuple[Any, ...]]
    wall_s: float


class HistoryReplay:
    """Reference apply, then faulted passes, of one history."""

    def __init__(
        self, admin_url: str, name: str, seed: int, budget_s: float, log: Callable[[str], None]
    ) -> None:
        self.admin_url = admin_url
        self.name = name
        self.folder = HISTORIES / name
        self.seed = seed
        self.budget_s = budget_s
        self.log = log
        self.report = HistoryReport(name, seed, budget_s)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"fault-replay-{name}-"))
        (self.workdir / "schemawarden.toml").write_text(CONFIG_TOML)
        self.migrations: list[Migration] = []
        self.backends_gone_s = BACKENDS_GONE_S

    def fail(self, message: str) -> None:
        self.report.failures.append(message)
        self.log(f"[seed {self.seed}] {self.name}: FAILURE: {message}")

    def run(self) -> HistoryReport:
        started = time.monotonic()
        try:
            self._run(started)
        finally:
            self.report.seconds = time.monotonic() - started
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.report

    def _run(self, started: float) -> None:
        try:
            self.migrations = load_history(self.folder)
        except FileNotFoundError as exc:
            self.report.skipped = (
                f"malformed folder, schemawarden refuses it (journal entry without its file: {exc.filename})"
            )
            return
        self.report.migrations = len(self.migrations)
        reference = self.reference()
        if reference is None:
            return
        deadline = started + self.budget_s
        for pass_no in range(1, MAX_PASSES + 1):
            if pass_no > 1 and time.monotonic() >= deadline:
                break
            self.report.passes = pass_no
            self.faulted_pass(pass_no, reference, deadline)
            if self.report.failures:
                break  # the first failing pass is the one to replay

    def reference(self) -> Reference | None:
        with fresh_database(self.admin_url, "sw_faults_ref") as url:
            missing = missing_extensions(url, self.folder)
            if missing:
                self.report.skipped = f"needs extension(s) {', '.join(missing)}, not available on this server"
                return None
            proc = ApplyProcess(self.workdir, self.folder, url, 0)
            run = proc.wait()
            self.report.applies += 1
            if run.returncode != 0:
                self.fail(f"the clean reference apply failed:\n{run.describe()}")
                return None
            with connect(url) as conn:
                rows = history_rows(conn)
                progress = progress_rows(conn)
            want = [(m.hash, m.when) for m in self.migrations]
            if [r[:2] for r in rows] != want:
                self.fail(
                    f"the clean reference apply wrote history rows {rows[:3]}... unlike the files' {want[:3]}..."
                )
                return None
            if progress:
                self.fail(f"the clean reference apply left apply_progress rows: {progress}")
            return Reference(schema_dump(url), rows, run.wall_s)

    # -- one pass ---------------------------------------------------------------------------

    def faulted_pass(self, pass_no: int, reference: Reference, deadline: float) -> None:
        rng = random.Random(f"{self.seed}:{self.name}:{pass_no}")
        n = len(self.migrations)
        span = max(1, math.ceil(n / FAULTS_PER_HISTORY_SPAN))
        # Pass 1 starts from empty; later passes first apply a random prefix cleanly (`--to TAG`), so
        # that the faults of successive passes cover the whole history, not only its beginning.
        start = rng.randrange(n) if pass_no > 1 else 0
        pass_faults: list[FaultRecord] = []
        with fresh_database(self.admin_url, "sw_faults") as url, connect(url) as conn:
            round_no = 0
            progress_at: list[int] = []
            if start > 0:
                tag = self.migrations[start - 1].tag
                run = self.start_apply(conn, url, 0, ("--to", tag)).wait()
                self.report.applies += 1
                if run.returncode != 0 or recorded_count(conn) != start:
                    self.fail(
                        f"pass {pass_no}: the clean `apply --to {tag}` did not apply {start} migrations:\n{run.describe()}"
                    )
                    return
            while round_no < MAX_ROUNDS_PER_PASS and time.monotonic() < deadline:
                applied = self.applied_count(conn, f"before round {round_no + 1}")
                if applied is None or applied >= n:
                    break
                round_no += 1
                if round_no > STALL_ROUNDS and progress_at[-STALL_ROUNDS] == applied:
                    self.log(
                        f"  {self.name} pass {pass_no}: no progress in {STALL_ROUNDS} rounds at {applied}/{n}: no more faults"
                    )
                    break
                progress_at.append(applied)
                fault = self.one_faulted_round(rng, conn, url, pass_no, round_no, applied, span)
                pass_faults.append(fault)
                self.report.faults.append(fault)
                if any(f.problems for f in pass_faults[-1:]) and not self.consistent_prefix(conn):
                    break  # the history is no longer a prefix of the journal: resuming cannot fix it
            ok_end = self.resume_and_check(conn, url, reference, pass_no, round_no)
        for fault in pass_faults:
            fault.survived = fault.injected and not fault.problems and ok_end
            self.log(f"  {fault.line()}")
        injected = sum(f.injected for f in pass_faults)
        self.log(
            f"[seed {self.seed}] {self.name} pass {pass_no}: {len(pass_faults)} rounds, {injected} faults injected, "
            f"end state {'equals the clean apply' if ok_end else 'DIFFERS'}"
        )

    def applied_count(self, conn: psycopg.Connection[Any], when: str) -> int | None:
        """How many journal entries are recorded; None (and a failure) unless the rows are a prefix."""
        rows = history_rows(conn)
        want = [(m.hash, m.when) for m in self.migrations[: len(rows)]]
        if [r[:2] for r in rows] != want:
            self.fail(
                f"{when}: the history rows are not the journal's first {len(rows)} entries (duplicate or skipped migration): {self._row_diff(rows)}"
            )
            return None
        return len(rows)

    def consistent_prefix(self, conn: psycopg.Connection[Any]) -> bool:
        rows = history_rows(conn)
        return [r[:2] for r in rows] == [(m.hash, m.when) for m in self.migrations[: len(rows)]]

    def _row_diff(self, rows: list[tuple[Any, ...]]) -> str:
        tags = {(m.hash, m.when): m.tag for m in self.migrations}
        named = [tags.get((r[0], r[1]), f"unknown {r[1]}") for r in rows]
        want = [m.tag for m in self.migrations[: len(rows)]]
        for i, (a, b) in enumerate(zip(named, want, strict=False)):
            if a != b:
                return f"row {i + 1} is {a}, expected {b}"
        return f"{len(rows)} rows"

    def one_faulted_round(
        self,
        rng: random.Random,
        conn: psycopg.Connection[Any],
        url: str,
        pass_no: int,
        round_no: int,
        applied: int,
        span: int,
    ) -> FaultRecord:
        # Every draw is made in a fixed order whatever happens, so that the seed fixes the sequence.
        kind = rng.choice(KINDS)
        offset = rng.randrange(span * 2)
        variant = rng.random()
        delay = rng.uniform(0.0, 0.03)
        hold_long = rng.random() < 0.4
        hold_s = rng.uniform(0.8, 2.0) if hold_long else rng.uniform(0.02, 0.25)
        pick = rng.random()
        target = min(applied + offset, len(self.migrations) - 1)
        fault = FaultRecord(kind, self.name, pass_no, round_no, "")
        run: ApplyRun | None
        if kind == "kill" and variant < 0.35:
            run = self.kill_after(conn, url, fault, target, delay)
        elif kind == "kill" and variant >= 0.75:
            run = self.kill_after_step(conn, url, fault, applied, target, delay)
        elif kind == "kill":
            run = self.kill_while_waiting(conn, url, fault, applied, target, pick, delay * 5)
        elif kind == "lock":
            run = self.lock_held(conn, url, fault, applied, target, pick, variant, hold_s)
        else:
            run = self.statement_fails(conn, url, fault, applied, target, pick)
        if run is None:  # that fault is impossible here (no existing table, no name to take first)
            fault.kind = "kill"
            run = self.kill_after(conn, url, fault, target, delay, f"{fault.detail}, so instead: ")
        self.report.applies += 1
        fault.exit_code = run.returncode
        self.judge_round(conn, fault, run)
        return fault

    def judge_round(self, conn: psycopg.Connection[Any], fault: FaultRecord, run: ApplyRun) -> None:
        if "Traceback (most recent call last)" in run.stderr:
            fault.problems.append(f"a traceback in stderr:\n{run.describe()}")
        if run.killed and run.returncode == 0:
            # it finished on its own between the harness's last look and the signal (a zombie
            # ignores SIGKILL): no fault happened, and a clean exit is what that run owed
            fault.injected = False
            fault.detail += " (the apply had already finished when the signal was sent)"
        elif run.killed:
            if run.returncode != -signal.SIGKILL:
                fault.problems.append(f"killed but exit {run.returncode}")
        elif run.returncode == 1 and not fault.injected:
            fault.problems.append(f"exit 1 although the fault did not take effect:\n{run.describe()}")
        elif run.returncode not in (0, 1):
            fault.problems.append(f"unexpected exit code:\n{run.describe()}")
        if not self.consistent_prefix(conn):
            fault.problems.append(
                f"after this round the history is not a prefix of the journal: {self._row_diff(history_rows(conn))}"
            )
        for problem in fault.problems:
            self.fail(f"round {fault.round_no} ({fault.kind}: {fault.detail}): {problem}")

    # -- the faults -------------------------------------------------------------------------

    def kill_after(
        self,
        conn: psycopg.Connection[Any],
        url: str,
        fault: FaultRecord,
        target: int,
        delay: float,
        prefix: str = "",
    ) -> ApplyRun:
        """SIGKILL once migrations before `target` are recorded, `delay` later (inside `target`, mostly)."""
        point = (
            "apply connects"
            if target == 0
            else f"apply connects and {self.migrations[target - 1].tag} is recorded"
        )
        fault.detail = f"{prefix}SIGKILL {delay * 1000:.0f}ms after {point}"
        proc = self.start_apply(conn, url, fault.round_no)

        def reached() -> bool:  # by this run: it has connected, and recorded the migrations before target
            return bool(run_backends(conn)) and recorded_count(conn) >= target

        if poll_until(reached, proc):
            time.sleep(delay)  # the random moment of the crash, not a wait for a state
            fault.injected = proc.kill()
        if not fault.injected:
            fault.detail += " (apply ended before the kill point)"
        run = proc.wait()
        self.note_orphans(conn, fault, run)
        return run

    def kill_after_step(
        self,
        conn: psycopg.Connection[Any],
        url: str,
        fault: FaultRecord,
        applied: int,
        target: int,
        delay: float,
    ) -> ApplyRun | None:
        """SIGKILL once a step of a migration cut into several steps (ADD VALUE committed before its
        use) is recorded in schemawarden.apply_progress: the resume must start at the next step."""
        candidates = [
            i for i in self.search_order(applied, target) if _ADD_VALUE.search(self.migrations[i].text)
        ]
        if not candidates:
            fault.detail = "kill after a step: no pending migration adds an enum value"
            return None
        fault.detail = f"SIGKILL {delay * 1000:.0f}ms after a step is recorded in apply_progress (a migration with ADD VALUE pending, e.g. {self.migrations[candidates[0]].tag})"
        proc = self.start_apply(conn, url, fault.round_no)
        if poll_until(lambda: bool(progress_rows(conn)), proc):
            time.sleep(delay)  # the random moment of the crash, not a wait for a state
            fault.injected = proc.kill()
            fault.detail += f"; progress then: {progress_rows(conn)}"
        if not fault.injected:
            fault.detail += " (no step was recorded before apply ended)"
        run = proc.wait()
        self.note_orphans(conn, fault, run)
        return run

    def kill_while_waiting(
        self,
        conn: psycopg.Connection[Any],
        url: str,
        fault: FaultRecord,
        applied: int,
        target: int,
        pick: float,
        release_after: float,
    ) -> ApplyRun | None:
        """SIGKILL while a statement waits on a lock held by another session, which is released after."""
        found = self.touched_table(conn, applied, target, pick)
        if found is None:
            fault.detail = "kill while waiting: no pending migration touches an existing table"
            return None
        idx, (schema, table) = found
        fault.detail = (
            f"SIGKILL while {self.migrations[idx].tag} waits on ACCESS EXCLUSIVE held on {schema}.{table}"
        )
        with self.holder(url, schema, table, "ACCESS EXCLUSIVE") as holder_pid:
            if holder_pid is None:
                fault.detail += " (could not take the lock)"
                run = self.start_apply(conn, url, fault.round_no).wait()
                return run
            proc = self.start_apply(conn, url, fault.round_no)
            if poll_until(lambda: self.blocked_by(conn, holder_pid), proc):
                fault.injected = proc.kill()
            if not fault.injected:
                fault.detail += " (apply never waited on it)"
            time.sleep(release_after)  # the other session commits a moment after the crash
        run = proc.wait()
        self.note_orphans(conn, fault, run)
        return run

    def lock_held(
        self,
        conn: psycopg.Connection[Any],
        url: str,
        fault: FaultRecord,
        applied: int,
        target: int,
        pick: float,
        variant: float,
        hold_s: float,
    ) -> ApplyRun | None:
        mode = "ACCESS SHARE" if variant < 0.5 else "ROW EXCLUSIVE"
        found = self.touched_table(conn, applied, target, pick)
        if found is None:
            fault.detail = "lock: no pending migration touches an existing table"
            return None
        idx, (schema, table) = found
        window = LOCK_TIMEOUT_S * (LOCK_RETRIES + 1) + RETRY_BACKOFF_S
        fault.detail = (
            f"{mode} held on {schema}.{table} (touched by {self.migrations[idx].tag}) for {hold_s:.2f}s "
            f"after apply starts waiting ({'longer' if hold_s > window else 'shorter'} than the ~{window:.1f}s of timeouts and retries)"
        )
        with self.holder(url, schema, table, mode) as holder_pid:
            if holder_pid is None:
                fault.detail += " (could not take the lock)"
                return self.start_apply(conn, url, fault.round_no).wait()
            proc = self.start_apply(conn, url, fault.round_no)
            if poll_until(lambda: self.blocked_by(conn, holder_pid), proc):
                fault.injected = True
                time.sleep(hold_s)  # how long the other session keeps its transaction open
            else:
                fault.detail += " (apply never waited on it)"
        return proc.wait()

    def statement_fails(
        self,
        conn: psycopg.Connection[Any],
        url: str,
        fault: FaultRecord,
        applied: int,
        target: int,
        pick: float,
    ) -> ApplyRun | None:
        """A decoy table named like an object a pending migration creates makes that statement fail."""
        found = self.creation_to_break(conn, applied, target, pick)
        if found is None:
            fault.detail = "fail: no pending statement creates a name that can be taken first"
            return None
        idx, creation = found
        migration = self.migrations[idx]
        decoy = sql.SQL("{}.{}").format(sql.Identifier(creation.schema), sql.Identifier(creation.name))
        fault.detail = (
            f"{creation.schema}.{creation.name} exists before {migration.tag} (chunk {creation.chunk + 1}/{len(migration.chunks)}) "
            f"runs CREATE {creation.kind} of it"
        )
        conn.execute(sql.SQL("CREATE TABLE {} (fault_replay_decoy int)").format(decoy))
        try:
            run = self.start_apply(conn, url, fault.round_no).wait()
        finally:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(decoy))
        recorded = len(history_rows(conn))
        fault.injected = run.returncode == 1 and recorded == idx
        if not fault.injected:
            fault.problems.append(
                f"expected apply to stop at {migration.tag} (exit 1, {idx} rows), got exit {run.returncode} and {recorded} rows:\n{run.describe()}"
            )
        return run

    # -- helpers of the faults ---------------------------------------------------------------

    def start_apply(
        self, conn: psycopg.Connection[Any], url: str, round_no: int, extra: tuple[str, ...] = ()
    ) -> ApplyProcess:
        """Start apply, as an operator would resume: no override. A pending migration whose `when` is not
        above the newest recorded one, but which was in the folder then (kan has two), is not a late
        merge and must not be refused."""
        return ApplyProcess(self.workdir, self.folder, url, round_no, extra)

    def search_order(self, applied: int, target: int) -> list[int]:
        """Pending migrations to look at for a fault's target: a window from `target` on, then
        the ones before it (so faults stay spread over the history instead of jumping ahead)."""
        window = max(4, math.ceil(len(self.migrations) / FAULTS_PER_HISTORY_SPAN) * 4)
        return list(range(target, min(len(self.migrations), target + window))) + list(range(applied, target))

    def touched_table(
        self, conn: psycopg.Connection[Any], applied: int, target: int, pick: float
    ) -> tuple[int, tuple[str, str]] | None:
        """The first pending migration from `target` on (then from `applied`) that names an existing table."""
        for idx in self.search_order(applied, target):
            tables = existing_tables(conn, mentioned_names(self.migrations[idx].text))
            if tables:
                return idx, tables[int(pick * len(tables))]
        return None

    def creation_to_break(
        self, conn: psycopg.Connection[Any], applied: int, target: int, pick: float
    ) -> tuple[int, Creation] | None:
        """A CREATE in a pending migration whose name no earlier pending migration mentions and whose
        schema exists (so the decoy changes nothing before that statement)."""
        schemas = {str(r[0]) for r in conn.execute("SELECT nspname FROM pg_namespace")}
        for idx in self.search_order(applied, target):
            before = " ".join(m.text for m in self.migrations[applied:idx])
            usable = [
                c
                for c in creations(self.migrations[idx])
                if c.schema in schemas
                and c.name not in before
                and conn.execute(
                    "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s "
                    "UNION ALL SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = %s AND t.typname = %s",
                    (c.schema, c.name, c.schema, c.name),
                ).fetchone()
                is None
            ]
            if usable:
                return idx, usable[int(pick * len(usable))]
        return None

    @contextmanager
    def holder(self, url: str, schema: str, table: str, mode: str) -> Iterator[int | None]:
        """Another session holding `mode` on the table in an open transaction; rolled back at the end."""
        with psycopg.connect(url, application_name="fault_replay lock holder") as other:
            try:
                other.execute("SET lock_timeout = '5s'")
                other.execute(
                    sql.SQL("LOCK TABLE {}.{} IN {} MODE").format(
                        sql.Identifier(schema), sql.Identifier(table), sql.SQL(mode)
                    )
                )
            except psycopg.errors.LockNotAvailable:
                other.rollback()
                yield None
                return
            pid = other.info.backend_pid
            try:
                yield pid
            finally:
                other.rollback()

    @staticmethod
    def blocked_by(conn: psycopg.Connection[Any], holder_pid: int) -> bool:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name LIKE 'schemawarden%%' AND %s = ANY(pg_blocking_pids(pid))",
            (holder_pid,),
        ).fetchone()
        return bool(row and row[0])

    def note_orphans(self, conn: psycopg.Connection[Any], fault: FaultRecord, run: ApplyRun) -> None:
        """After a kill: schemawarden backends still active (the client is dead, the server works on)."""
        if not run.killed:
            return
        active = [b for b in run_backends(conn) if b[1] not in ("idle", None)]
        if active:
            self.report.orphans_seen += 1
            fault.detail += f"; right after the kill {len(active)} backend(s) still active: {active}"

    # -- the end of a pass ------------------------------------------------------------------

    def resume_and_check(
        self, conn: psycopg.Connection[Any], url: str, reference: Reference, pass_no: int, rounds: int
    ) -> bool:
        before = len(self.report.failures)
        n = len(self.migrations)
        for attempt in range(1, RESUME_APPLIES + 1):
            recorded = len(history_rows(conn))
            if recorded >= n and attempt > 1:
                break
            run = self.start_apply(conn, url, rounds + attempt).wait()
            self.report.applies += 1
            if "Traceback (most recent call last)" in run.stderr or run.returncode != 0:
                self.fail(
                    f"pass {pass_no}: clean resume apply {attempt} after the faults did not succeed:\n{run.describe()}"
                )
            else:
                break
        # No backend of the run left behind (bounded wait: the server may need a moment after the last exit).
        deadline = time.monotonic() + self.backends_gone_s
        left = run_backends(conn)
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = run_backends(conn)
        if left:
            self.fail(
                f"pass {pass_no}: schemawarden backends still alive {self.backends_gone_s:.0f}s after the last apply: {left}"
            )
        invalid = invalid_indexes(conn)
        if invalid:
            self.fail(f"pass {pass_no}: invalid indexes left: {invalid}")
        progress = progress_rows(conn)
        if progress:
            self.fail(f"pass {pass_no}: schemawarden.apply_progress is not empty at the end: {progress}")
        rows = history_rows(conn)
        if rows != reference.rows:
            self.fail(
                f"pass {pass_no}: history rows differ from the clean apply: {len(rows)} rows vs {len(reference.rows)}; {self._row_diff(rows)}"
            )
        dump = schema_dump(url)
        if dump != reference.dump:
            self.fail(
                f"pass {pass_no}: the schema differs from the clean apply's:\n{dump_diff(reference.dump, dump)}"
            )
        return len(self.report.failures) == before


# ---------------------------------------------------------------------------------------------
# The whole replay


def budget_shares(names: list[str], budget_s: float) -> dict[str, float]:
    """Budget per history, by the square root of its number of migrations."""
    weights: dict[str, float] = {}
    for name in names:
        try:
            entries = json.loads((HISTORIES / name / "meta" / "_journal.json").read_text())["entries"]
        except (OSError, ValueError):
            entries = []
        weights[name] = math.sqrt(max(1, len(entries)))
    total = sum(weights.values()) or 1.0
    return {name: budget_s * w / total for name, w in weights.items()}


def replay_history(
    admin_url: str, name: str, seed: int, budget_s: float, log: Callable[[str], None] = print
) -> HistoryReport:
    return HistoryReplay(admin_url, name, seed, budget_s, log).run()


def replay(
    admin_url: str,
    seed: int,
    budget_s: float,
    names: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> ReplayReport:
    chosen = names or history_names()
    unknown = [n for n in chosen if not (HISTORIES / n / "meta" / "_journal.json").is_file()]
    if unknown:
        raise SystemExit(f"no such shared history with a journal: {', '.join(unknown)} (in {HISTORIES})")
    report = ReplayReport(seed, budget_s)
    for name, share in budget_shares(chosen, budget_s).items():
        log(f"[seed {seed}] {name}: budget {share:.0f}s")
        history = replay_history(admin_url, name, seed, share, log)
        log(f"[seed {seed}] {history.summary()}")
        report.histories.append(history)
    return report


def seed_from_env() -> int:
    value = os.environ.get(SEED_ENV)
    return int(value) if value else random.SystemRandom().randrange(1, 2**31)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, help=f"random seed (default: ${SEED_ENV}, else a random one)")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=float(os.environ.get(BUDGET_ENV, DEFAULT_BUDGET_S)),
        help=f"time budget in seconds, spread over the histories (default: ${BUDGET_ENV} or {DEFAULT_BUDGET_S:.0f})",
    )
    parser.add_argument("--history", action="append", help="replay only this history (repeatable)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("SCHEMAWARDEN_TEST_DATABASE_URL", DEFAULT_URL),
        help="admin URL of the PostgreSQL server to create the databases on",
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else seed_from_env()
    print(f"fault replay seed {seed} (replay with --seed {seed})", flush=True)
    started = time.monotonic()
    report = replay(args.database_url, seed, args.budget_s, args.history, lambda s: print(s, flush=True))
    print(report.summary())
    print(f"wall time {time.monotonic() - started:.1f}s")
    if not report.ok:
        print("\n" + report.failure_text(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
