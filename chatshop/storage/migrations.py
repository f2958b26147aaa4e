"""Numbered SQL migrations, applied in order, each atomically with its schema version.

Files are ``migrations/NNNN_name.sql`` numbered from 0001 without gaps. Each one runs
in a single ``BEGIN IMMEDIATE ... COMMIT`` together with ``PRAGMA user_version = N``
(``executescript`` would commit an open transaction first, so the transaction is part
of the script itself); a failure rolls that file back and leaves the previous version
intact. A database whose version is newer than the newest file is refused: an older
chatshop must not write to a schema it does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from chatshop.errors import MigrationError
from chatshop.resources import migrations_dir

_FILE_NAME = re.compile(r"(?P<number>[0-9]{4})_(?P<name>[a-z0-9_]+)\.sql")


# A statement that would end the migration's transaction early (trigger bodies' BEGIN ...
# END are fine: their BEGIN ends a line and their END is not followed by TRANSACTION).
_TRANSACTION_CONTROL = re.compile(
    r"^\s*(?:(?:COMMIT|ROLLBACK|END\s+TRANSACTION|SAVEPOINT|RELEASE)\b"
    r"|BEGIN\s*(?:DEFERRED|IMMEDIATE|EXCLUSIVE|TRANSACTION)?\s*;)",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


@dataclass
class MigrationReport:
    """What ``migrate`` found and did."""

    before: int
    after: int
    applied: list[Migration] = field(default_factory=list)


def discover(folder: Path | None = None) -> list[Migration]:
    """The migrations in ``folder``, checked: well named, numbered 1..N, no duplicates."""
    folder = folder or migrations_dir()
    if not folder.is_dir():
        raise MigrationError(f"dossier des migrations introuvable / migrations folder not "
                             f"found: {folder}")
    found: dict[int, Migration] = {}
    # Any case of ".sql": a "0003_x.SQL" must be refused, not silently never applied.
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() == ".sql"):
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"une migration se nomme NNNN_nom.sql / migration file name "
                                 f"must be NNNN_name.sql: {path.name}")
        version = int(match["number"])
        if version == 0:
            raise MigrationError(f"les migrations sont numérotées à partir de 0001 / "
                                 f"migrations are numbered from 0001: {path.name}")
        if version in found:
            raise MigrationError(
                f"deux migrations ont le numéro / two migrations have number {version:04d}: "
                f"{found[version].path.name}, {path.name}"
            )
        found[version] = Migration(version, match["name"], path)
    expected = list(range(1, len(found) + 1))
    if sorted(found) != expected:
        missing = sorted(set(range(1, max(found, default=0) + 1)) - set(found))
        raise MigrationError(
            "les migrations sont numérotées de 0001 sans trou / migrations must be numbered "
            "from 0001 without gaps; missing: " + ", ".join(f"{n:04d}" for n in missing)
        )
    return [found[v] for v in expected]


def target_version(migrations: list[Migration], target: int | None) -> int:
    """The version to reach: the newest known, or ``target`` (checked)."""
    newest = len(migrations)
    goal = newest if target is None else target
    if not 0 <= goal <= newest:
        raise MigrationError(f"target version {goal} is not between 0 and {newest}")
    return goal


def refuse_newer(version: int, newest: int) -> None:
    """A database newer than this chatshop's migrations is not opened (either engine)."""
    if version > newest:
        raise MigrationError(
            f"la base de données est en version {version}, plus récente que ce chatshop "
            f"(qui connaît jusqu'à la version {newest}) : mettez chatshop à jour plutôt "
            f"que de l'ouvrir avec une version plus ancienne / the database is at schema "
            f"version {version}, newer than this chatshop (which knows up to {newest}); "
            f"upgrade chatshop instead of opening it with an older version"
        )


def migration_text(migration: Migration) -> str:
    """The file's SQL, refused if it would end the transaction it runs in."""
    sql = migration.path.read_text(encoding="utf-8")
    if _TRANSACTION_CONTROL.search(sql):
        raise MigrationError(
            f"{migration.path.name} : pas de BEGIN, COMMIT ni ROLLBACK, chaque migration "
            f"a déjà sa transaction / {migration.path.name} must not BEGIN, COMMIT or "
            "ROLLBACK: each migration already runs in its own transaction")
    return sql


def failed(migration: Migration, version: int, exc: Exception) -> MigrationError:
    return MigrationError(
        f"la migration {migration.path.name} a échoué et a été annulée (la base "
        f"reste en version {version}) / migration {migration.path.name} failed "
        f"and was rolled back (the database stays at version {version}): {exc}")


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection, folder: Path | None = None,
                  *, target: int | None = None) -> MigrationReport:
    """Bring the database to the newest version (or ``target``), one file at a time."""
    migrations = discover(folder)
    newest = len(migrations)
    goal = target_version(migrations, target)
    before = await schema_version(conn)
    refuse_newer(before, newest)
    report = MigrationReport(before=before, after=before)
    for migration in migrations[before:goal]:
        sql = migration_text(migration)
        script = (
            f"BEGIN IMMEDIATE;\n{sql}\n;\n"
            f"PRAGMA user_version = {migration.version};\nCOMMIT;"
        )
        try:
            await conn.executescript(script)
            if conn.in_transaction or await schema_version(conn) != migration.version:
                # e.g. an unterminated /* comment swallowed the version bump and COMMIT
                raise MigrationError("the file does not end cleanly (unterminated comment?)")
        except Exception as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise failed(migration, report.after, exc) from exc
        report.after = migration.version
        report.applied.append(migration)
    return report
