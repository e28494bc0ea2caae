"""The product's proof (`reconciler.prove.prove_migrations`) over every migration of real drizzle
histories (issue 10), and an independent re-check of its `verified` verdicts with pg_dump.

Each history (the sample project, ../shared/drizzle-histories/*) is proven as one chain, as
`schemawarden check --prove` proves a folder: on a scratch server, from an empty base, each
migration on the schema the ones before it leave (its proof runs the migration, its rollback and
the migration again in one clone). Each migration ends `verified`, `irreversible` (with what is
lost) or `failed`; a failure is put in one of these causes (`cause`):

* `history`: PostgreSQL refuses the migration itself on the schema before it (a broken migration,
  an extension the server does not ship): the history's, not ours;
* `scratch`: "not proven", a refusal that is the scratch server's (`policies.outside.scratch_only`);
* `stopped`: "not proven", an earlier migration of the chain failed;
* `ours`: anything else (the rollback does not run, the schema does not come back, the migration
  does not apply again or gives another schema): a fault of the introspection, the differ or its DDL.

`recheck` does not trust the model: it builds the schema before a migration by replaying the ones
before it (not through the chain), and compares `pg_dump --schema-only` of it with that of a clone
where the migration and the proof's rollback SQL ran.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from drizzle_harness import pg_dump_for
from policies.errors import MigrationSetError
from policies.report import RollbackStatus
from reconciler.database.run import run_migration, run_sql
from reconciler.database.scratch import ScratchServer
from reconciler.migrations import Migration, load_migration_set
from reconciler.prove import MigrationProof, base_template, prove_migrations

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SCHEMAWARDEN_SHARED_DIR") or ROOT.parent / "shared")
HISTORIES = SHARED / "drizzle-histories"
SAMPLE = SHARED / "drizzle-sample" / "migrations"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

HISTORY_REFUSED = "the migration does not apply on the schema before it"
"""How `reconciler.prove` starts the reason of a migration PostgreSQL refuses."""


def names() -> list[str]:
    """The sample, then every folder of ../shared/drizzle-histories (midday included: its journal
    names a file it lacks, which the loader refuses; reported, not proven)."""
    return ["sample", *sorted(p.name for p in HISTORIES.iterdir() if p.is_dir())]


def folder_of(name: str) -> Path:
    return SAMPLE if name == "sample" else HISTORIES / name


def cause(proof: MigrationProof) -> str | None:
    """Why a failed proof failed (see the module's doc); None when it did not fail."""
    rollback = proof.rollback
    if rollback.status != RollbackStatus.FAILED:
        return None
    reason = rollback.reason or ""
    if reason.startswith("not proven: the proof stopped at"):
        return "stopped"
    if reason.startswith("not proven"):
        return "scratch"
    if reason.startswith(HISTORY_REFUSED) and proof.failure is not None:
        return "history"
    return "ours"


@dataclass
class HistoryProofs:
    """One history's proofs (`refused`: why the loader refused the folder; then there are none)."""

    name: str
    migrations: tuple[Migration, ...]
    proofs: list[MigrationProof]
    seconds: float
    refused: str | None = None

    def counts(self) -> Counter[str]:
        return Counter(p.rollback.status.value for p in self.proofs)

    def causes(self) -> Counter[str]:
        return Counter(c for p in self.proofs if (c := cause(p)) is not None)

    def good(self) -> int:
        """verified or irreversible (with its reason)."""
        return sum(1 for p in self.proofs if p.rollback.status != RollbackStatus.FAILED)

    def summary(self, *, reasons: bool = False) -> str:
        if self.refused is not None:
            return f"{self.name}: not proven, the loader refuses the folder: {self.refused}"
        counts = self.counts()
        total = len(self.proofs)
        share = 100.0 * self.good() / total if total else 100.0
        parts = ", ".join(f"{s.value} {counts.get(s.value, 0)}" for s in RollbackStatus)
        causes = ", ".join(f"{c} {n}" for c, n in sorted(self.causes().items()))
        lines = [
            f"{self.name}: {total} migrations: {parts}; verified or irreversible {share:.1f}%"
            + (f"; failed by cause: {causes}" if causes else "")
            + f"; {self.seconds:.1f} s"
        ]
        for proof in self.proofs:
            status = proof.rollback.status
            if status == RollbackStatus.FAILED and cause(proof) != "stopped":
                lines.append(f"  {proof.migration.tag}: failed ({cause(proof)}): {proof.rollback.reason}")
            elif reasons and status == RollbackStatus.IRREVERSIBLE:
                lines.append(f"  {proof.migration.tag}: irreversible: {proof.rollback.reason}")
        stopped = [p.migration.tag for p in self.proofs if cause(p) == "stopped"]
        if stopped:
            lines.append(
                f"  not proven after the failure above: {len(stopped)} ({stopped[0]} .. {stopped[-1]})"
            )
        return "\n".join(lines)


def prove_history(server: ScratchServer, name: str) -> HistoryProofs:
    """Every migration of history `name`, proven as one chain from an empty base."""
    try:
        migrations = load_migration_set(folder_of(name)).migrations
    except MigrationSetError as error:
        return HistoryProofs(name, (), [], 0.0, refused=str(error))
    started = time.perf_counter()
    proofs = prove_migrations(server, [], migrations)
    return HistoryProofs(name, migrations, proofs, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------
# The independent re-check with pg_dump

EXCLUDED_SCHEMAS = ("drizzle", "schemawarden")
"""Left out of the dumps as out of the proof's model: drizzle's history table (the scratch run
records no history there, but a migration set may name the schema) and schemawarden's own (the
scratch helper's table of extension statements, written only in the clone that ran a migration)."""

_NOISE = re.compile(r"^(--.*|\\(un)?restrict .*)$")
"""Lines that differ between two dumps of the same schema: comments (`-- Name: ...; Owner: ...`
carry nothing the statements do not; the header names no database) and pg_dump's `\\restrict KEY`
/ `\\unrestrict KEY` lines (a random key per run, PostgreSQL 17.6/16.10/15.14 and later)."""

_ORDER_NOTE = re.compile(r"columns of (?P<table>\S+) (?:end|are) in the order")


def schema_dump(url: str) -> list[str]:
    """`pg_dump --schema-only` with owners and privileges, without the schemas of
    `EXCLUDED_SCHEMAS`, its noise lines and blank lines removed (`_NOISE`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    done = subprocess.run(
        [pg_dump_for(url), "--schema-only", *(f"--exclude-schema={s}" for s in EXCLUDED_SCHEMAS), "-d", url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump of {conninfo_to_dict(url).get('dbname')} failed: {done.stderr[-2000:]}")
    return [line for line in done.stdout.splitlines() if line.strip() and not _NOISE.match(line)]


def reordered_tables(proof: MigrationProof) -> set[str]:
    """The tables whose column order the proof says no ALTER restores (its notes)."""
    return {m.group("table").strip('"') for note in proof.rollback.notes if (m := _ORDER_NOTE.search(note))}


def columns_sorted(dump: list[str], tables: set[str]) -> list[str]:
    """`dump` with the column lines of `CREATE TABLE` of `tables` sorted (and their trailing commas
    dropped): the one normalisation, for the tables whose order the proof's notes say is not restored."""
    out: list[str] = []
    block: list[str] | None = None
    for line in dump:
        if block is not None:
            if line.startswith(")"):
                out += sorted(column.rstrip(",") for column in block)
                out.append(line)
                block = None
            else:
                block.append(line)
            continue
        out.append(line)
        found = re.match(r"CREATE (?:UNLOGGED )?TABLE (\S+) \($", line)
        if found and {_bare(found.group(1)), _bare(found.group(1)).split(".")[-1]} & tables:
            block = []
    return out


def _bare(qualified: str) -> str:
    return qualified.replace('"', "")


@dataclass(frozen=True)
class Recheck:
    tag: str
    equal: bool
    normalised: tuple[str, ...]
    """The tables whose column lines were compared sorted (the proof's order notes name them)."""
    difference: str
    equal_as_dumped: bool
    """The two dumps equal without the normalisation (False where a note's column order holds)."""


def recheck(server: ScratchServer, migrations: Sequence[Migration], proof: MigrationProof) -> Recheck:
    """pg_dump of the schema before `proof.migration` (the ones before it replayed into a template,
    cloned) and of a clone where the migration and then the proof's rollback SQL ran: equal?"""
    position = [m.tag for m in migrations].index(proof.migration.tag)
    template = base_template(server, migrations[:position])
    with server.database(template=template) as before_db:
        before = schema_dump(before_db.url)
    with server.database(template=template) as trip:
        run_migration(trip, proof.migration)
        if proof.rollback.sql:
            run_sql(trip, proof.rollback.sql, source=f"the rollback of {proof.migration.tag}")
        trip.close()
        after = schema_dump(trip.url)
    tables = reordered_tables(proof)
    as_dumped = before == after
    if tables:
        before = columns_sorted(before, tables)
        after = columns_sorted(after, tables)
    return Recheck(
        proof.migration.tag, before == after, tuple(sorted(tables)), dump_diff(before, after), as_dumped
    )


def dump_diff(want: list[str], got: list[str], limit: int = 40) -> str:
    import difflib

    lines = list(difflib.unified_diff(want, got, "before", "after migration + rollback", lineterm="", n=1))
    return "\n".join(lines[:limit])
