"""PostgreSQL's migrations: ``migrations/postgresql/NNNN_name.sql``, the same numbers and
names as SQLite's (``migrations/NNNN_name.sql``), each bringing the schema to the same
state in PostgreSQL's SQL.

The version is the one row of ``chatshop_schema`` (SQLite keeps it in ``PRAGMA
user_version``). Each file runs in one transaction with its version bump: PostgreSQL's
DDL is transactional, so a failing file leaves the previous version intact. The
transaction first takes an advisory lock and reads the version again, so two processes
starting at once migrate one after the other and the second finds nothing to do. A
database newer than the newest file is refused, as on SQLite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from chatshop.resources import migrations_dir
from chatshop.storage.migrations import (
    MigrationReport,
    discover,
    failed,
    migration_text,
    refuse_newer,
    target_version,
)

MIGRATION_LOCK = 0x6D696772  # "migr": held by the transaction of each migration
_VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS chatshop_schema ("
                  " version INTEGER NOT NULL, only_row INTEGER PRIMARY KEY DEFAULT 1"
                  " CHECK (only_row = 1))")


def postgresql_migrations_dir() -> Path:
    return migrations_dir() / "postgresql"


def schema_version(conn: psycopg.Connection[Any]) -> int:
    """The database's version (0 for an empty database)."""
    found = conn.execute("SELECT to_regclass('chatshop_schema') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return 0
    row = conn.execute("SELECT version FROM chatshop_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(dsn: str, folder: Path | None = None, *,
            target: int | None = None) -> MigrationReport:
    """Bring the database to the newest version (or ``target``), one file at a time (run
    in a worker thread: psycopg's connection here is synchronous)."""
    migrations = discover(folder or postgresql_migrations_dir())
    goal = target_version(migrations, target)
    with psycopg.Connection.connect(dsn, autocommit=True) as conn:
        before = schema_version(conn)
        refuse_newer(before, len(migrations))
        report = MigrationReport(before=before, after=before)
        for migration in migrations[before:goal]:
            sql = migration_text(migration)
            try:
                with conn.transaction():
                    conn.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                    conn.execute(_VERSION_TABLE)
                    now = schema_version(conn)
                    refuse_newer(now, len(migrations))
                    if now >= migration.version:  # another process did it meanwhile
                        report.after = now
                        continue
                    conn.execute(sql.encode())  # bytes: no placeholders, % as it is
                    conn.execute("INSERT INTO chatshop_schema (version) VALUES (%s)"
                                 " ON CONFLICT (only_row) DO UPDATE SET version = %s",
                                 (migration.version, migration.version))
            except psycopg.Error as exc:
                raise failed(migration, report.after, exc) from exc
            report.after = migration.version
            report.applied.append(migration)
    return report
