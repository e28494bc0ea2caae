"""Migrations folders: reading migration sets (drizzle-kit 0.x journal and 1.x folder layouts).

* `sets`: a folder read exactly as drizzle-orm's migrator reads it (`load_migration_set`,
  `load_migration_files`), its migrations with their hashes, and where drizzle-kit keeps snapshots.

The history table (`reconciler.history`) and the plan (`reconciler.plan`) stay beside this package.
"""

from reconciler.migrations.sets import (
    JOURNAL,
    KNOWN_JOURNAL_VERSIONS,
    POSTGRES_DIALECTS,
    SAMPLE_PROJECT,
    V1_FOLDER,
    Layout,
    Migration,
    MigrationSet,
    load_migration_files,
    load_migration_set,
    read_snapshot,
    snapshot_path,
    unlisted_warning,
)

__all__ = [
    "JOURNAL",
    "KNOWN_JOURNAL_VERSIONS",
    "POSTGRES_DIALECTS",
    "SAMPLE_PROJECT",
    "V1_FOLDER",
    "Layout",
    "Migration",
    "MigrationSet",
    "load_migration_files",
    "load_migration_set",
    "read_snapshot",
    "snapshot_path",
    "unlisted_warning",
]
