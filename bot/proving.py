"""Proofs in scratch databases for the CLI (`check --prove`, `rollback-sql`, `revert`) and the PR bot.

Both front ends hand in the same plain data: groups of migrations to prove, each a base (the
migrations already merged, whose schema is the starting point) and the new migrations with the
path the user sees. `prove_groups` runs `reconciler.prove.prove_migrations` for each group on one
scratch server; the result gives PostgreSQL's refusals (`failures`, which the analysis reports as
SW611) and `attach` adds the rollbacks and lock traces to the analysis's file reports.

The scratch server is the one `SCHEMAWARDEN_SCRATCH_URL` names, else the embedded PostgreSQL; it
is refused when it leads to an environment's database (`open_scratch_server`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from policies.context import ScratchFailure
from policies.proof import with_proof
from policies.report import FileReport, StatementReport
from reconciler.database.connect import Target, target_of
from reconciler.database.embedded import EmbeddedPostgres
from reconciler.database.scratch import ScratchServer
from reconciler.environments import EnvironmentConfig
from reconciler.migrations import Migration
from reconciler.prove import MigrationProof, prove_migrations


@dataclass(frozen=True)
class ProofGroup:
    """Migrations proven together: `new` (path as shown, migration) in order, on the schema `base` leaves."""

    base: tuple[Migration, ...]
    new: tuple[tuple[str, Migration], ...]


@dataclass(frozen=True)
class Proven:
    """The proofs of every group, by the path of the migration as shown; `pg_major` is the scratch
    server's major version (the lock traces are that version's)."""

    proofs: Mapping[str, MigrationProof] = field(default_factory=dict)
    pg_major: int | None = None

    @property
    def failures(self) -> dict[str, ScratchFailure]:
        """Path -> how PostgreSQL refused the migration on the schema before it (SW611), or how its
        rollback failed to prove (SW612, `ScratchFailure.in_rollback`)."""
        found = {path: proof.failure or proof.rollback_failure for path, proof in self.proofs.items()}
        return {path: failure for path, failure in found.items() if failure is not None}


def environment_targets(environments: Iterable[EnvironmentConfig]) -> dict[str, Target]:
    """Each environment with a URL, by name, and where its URL leads (what a scratch server must not be)."""
    found: dict[str, Target] = {}
    for env in environments:
        if env.url is None:
            continue
        try:
            found[env.name] = target_of(env.url.get_secret_value())
        except ValueError:
            continue  # an unparsable URL leads nowhere a scratch server could be
    return found


def open_scratch_server(
    scratch_url: SecretStr | None, data_dir: Path, environments: Mapping[str, Target]
) -> ScratchServer:
    """The scratch server: `scratch_url`, else the embedded PostgreSQL in `data_dir`.

    Raises ConfigurationError (the URL leads to an environment's database, or does not log in as a
    superuser) and ScratchServerUnreachable (exit 3).
    """
    url = scratch_url.get_secret_value() if scratch_url is not None else EmbeddedPostgres(data_dir).admin_url()
    return ScratchServer(url, environment_targets=environments)


def prove_groups(
    server: ScratchServer,
    groups: Sequence[ProofGroup],
    pg_version: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Proven:
    """Prove each group on `server` (see `reconciler.prove.prove_migrations`), rollbacks written for
    PostgreSQL `pg_version` (the policy's target). `progress(path)` is told each migration as its
    proof starts. Raises what `prove_migrations` raises."""
    proofs: dict[str, MigrationProof] = {}
    shown = {id(migration): path for group in groups for path, migration in group.new}

    def told(migration: Migration) -> None:
        if progress is not None:
            progress(shown[id(migration)])

    for group in groups:
        results = prove_migrations(
            server, group.base, [m for _, m in group.new], pg_version=pg_version, progress=told
        )
        for (path, _), proof in zip(group.new, results, strict=True):
            proofs[path] = proof
    return Proven(proofs, server.pg_major)


def attach(
    reports: Sequence[FileReport], proven: Proven, predicted: Sequence[FileReport] | None = None
) -> list[FileReport]:
    """`reports` with each proven migration's rollback and lock traces (`policies.proof.with_proof`).

    `predicted`: the same files judged for the scratch server's major version, when the reports
    are for another target version (the lock model is compared with what that server did).
    """
    by_path: dict[str, Sequence[StatementReport]] = {r.path: r.statements for r in predicted or ()}
    out: list[FileReport] = []
    for report in reports:
        proof = proven.proofs.get(report.path)
        if proof is None:
            out.append(report)
            continue
        out.append(with_proof(report, proof.rollback, proof.traces, by_path.get(report.path)))
    return out


def progress_on_stderr(path: str) -> None:
    """A front end's progress line: which migration is being proven (stderr, so output stays clean)."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\rproving {path}\033[K")
        sys.stderr.flush()


def progress_done() -> None:
    """Clear the progress line."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
