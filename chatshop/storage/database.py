"""The SQLite database: one writer connection serialised by a lock, one reader.

SQLite allows one writer at a time. Every write transaction takes ``write()``, which
holds an ``asyncio.Lock`` and starts with ``BEGIN IMMEDIATE`` so the write lock is taken
up front (no "read, then upgrade" deadlocks); it commits when the block ends normally
and rolls back on any exception, domain refusals included. Reads use their own
connection, so browsing never waits behind a write (WAL).
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

BUSY_TIMEOUT_MS = 5_000


def sort_key(text: str | None) -> str | None:
    """Alphabetical order as a French reader expects it: « Éclair » between « Ecl » and
    « Ed », not after « Z » (SQL ``ORDER BY sort_key(name)``)."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


async def connect(path: str | Path) -> aiosqlite.Connection:
    """A connection with chatshop's pragmas, in autocommit mode (we say BEGIN ourselves)."""
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL is durable against application crashes; a power cut may lose
        # the last transactions but never corrupts the database.
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.create_function("sort_key", 1, sort_key, deterministic=True)
    except BaseException:
        await conn.close()  # else its thread keeps the process alive
        raise
    return conn


class Database:
    """The pair of connections to one SQLite file."""

    def __init__(self, path: Path, writer: aiosqlite.Connection,
                 reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) the database file; migrations are applied separately."""
        writer = await connect(path)
        try:
            reader = await connect(path)
        except BaseException:
            await writer.close()
            raise
        return cls(Path(path), writer, reader)

    async def close(self) -> None:
        """Close both connections, waiting for the transaction in progress."""
        async with self._write_lock:
            await self._writer.close()
        async with self._read_lock:
            await self._reader.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: all of it is committed, or none of it."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.rollback()
                raise
            await self._writer.commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """The reader connection. Each statement sees the last committed state; rows
        written together (a reservation and its lines) are always seen together."""
        async with self._read_lock:
            yield self._reader

    @property
    def writer(self) -> aiosqlite.Connection:
        """The writer connection, for migrations only (they manage their own transaction)."""
        return self._writer
