"""Backups of a territory on SQLite, and their restore (issue #15, « Backups that
restore »).

A backup is ``VACUUM INTO`` a hidden name beside the final one (``.NAME.partial``): one
read transaction of the live database, so a consistent copy while the bot goes on
writing (WAL: the writers do not wait for it), where SQLite's page-stepping backup starts
again whenever another connection writes and may never end during a burst. The copy is
then checked (``check_backup``: ``PRAGMA integrity_check``, the schema version, every
table's rows counted, the stock ledger) and only then renamed to its final name: a
backup killed halfway leaves a hidden partial file (removed by the next one), never a
half file under the final name, and no earlier backup is touched. The images are rows
of the database (``media``): they are in the copy.

A restore checks the file the same way, copies it beside the database under a hidden
name, moves the database it replaces aside (with its ``-wal``/``-shm`` files if the bot
did not close it cleanly), then renames the copy into place.

On PostgreSQL, backups are ``pg_dump``'s and the server's WAL archiving (the README's
« Backups »): this module is SQLite's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SHADOW = ("product_search_",)  # FTS5's own tables, counted through the index itself


@dataclass(frozen=True)
class BackupCheck:
    """What a checked copy holds: its schema version, its rows, its size in bytes."""

    version: int
    rows: dict[str, int]
    size: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


class BackupRefused(Exception):
    """A copy that is not a sound chatshop database: ``kind`` says what was found
    (``missing``, ``not-sqlite``, ``damaged``, ``not-chatshop``, ``ledger``: ``count``
    products off, ``version``: the copy's is not its source's), ``detail`` as SQLite
    said it."""

    def __init__(self, path: Path, kind: str, detail: str = "", count: int = 0) -> None:
        super().__init__(f"{path}: {kind} {detail}".strip())
        self.path = path
        self.kind = kind
        self.detail = detail
        self.count = count


def partial_name(target: Path) -> Path:
    """Where a backup to ``target`` is written until checked."""
    return target.with_name(f".{target.name}.partial")


def check_backup(path: Path) -> BackupCheck:
    """Open ``path`` read-only and check it whole; ``BackupRefused`` if it is not a
    sound chatshop database (not SQLite, damaged, no shops table, a ledger that does
    not add up)."""
    if not path.is_file():
        raise BackupRefused(path, "missing")
    try:
        with contextlib.closing(_read_only(path)) as conn:
            found = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
            if found != ["ok"]:
                raise BackupRefused(path, "damaged", "; ".join(found[:3]))
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = [str(r[0]) for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            if "shops" not in tables or "stock_movements" not in tables or version < 1:
                raise BackupRefused(path, "not-chatshop")
            rows = {table: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
                    for table in tables if not table.startswith(_SHADOW)}
            off = int(conn.execute(
                "SELECT count(*) FROM products p WHERE p.on_hand <> (SELECT COALESCE(SUM("
                "m.delta), 0) FROM stock_movements m WHERE m.product_id = p.id)"
            ).fetchone()[0])
            if off:
                raise BackupRefused(path, "ledger", count=off)
    except sqlite3.DatabaseError as problem:
        raise BackupRefused(path, "not-sqlite", str(problem)) from None
    return BackupCheck(version, rows, path.stat().st_size)


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def take_backup(database: Path, target: Path) -> BackupCheck:
    """A checked copy of ``database`` (running or not) at ``target``, which must not
    exist yet; the copy is renamed there only once checked."""
    partial = partial_name(target)
    partial.unlink(missing_ok=True)  # (a backup killed halfway before)
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=30.0,
                                                isolation_level=None)) as conn:
            conn.execute("PRAGMA busy_timeout = 30000")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute("VACUUM INTO ?", (str(partial),))
        check = check_backup(partial)
        if check.version != version:
            raise BackupRefused(partial, "version", f"{check.version}, not {version}")
        _sync(partial)
        os.replace(partial, target)
        _sync(target.parent)
        return check
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def restore_backup(backup: Path, database: Path, aside: Path) -> BackupCheck:
    """Put the checked copy ``backup`` in place of ``database`` (the bot stopped): the
    database replaced, if any, is moved to ``aside`` first."""
    check = check_backup(backup)
    incoming = database.with_name(f".{database.name}.restoring")
    try:
        shutil.copyfile(backup, incoming)
        _sync(incoming)
        if database.exists():
            os.replace(database, aside)
            for suffix in ("-wal", "-shm"):
                left = Path(f"{database}{suffix}")
                if left.exists():
                    os.replace(left, Path(f"{aside}{suffix}"))
        os.replace(incoming, database)
        _sync(database.parent)
    finally:
        incoming.unlink(missing_ok=True)
    return check


def _sync(path: Path) -> None:
    """Make ``path`` (a file, or a folder's entries) durable before going on."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
