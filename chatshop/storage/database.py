"""The SQLite database: one writer connection serialised by a lock, a pool of readers.

SQLite allows one writer at a time. Every write transaction takes ``write()``, which
holds an ``asyncio.Lock`` and starts with ``BEGIN IMMEDIATE`` so the write lock is taken
up front (no "read, then upgrade" deadlocks); it commits when the block ends normally
and rolls back on any exception, domain refusals included. Reads use their own
connections, so browsing never waits behind a write (WAL):

- ``read()`` lends a connection of a pool, each with its own thread (aiosqlite), for
  reads that may take a while (search, listings, exports);
- ``lookup()`` runs a read of a few rows found through an index (who is writing, a
  product card) on a connection of the event loop's own thread. Such a read takes tens
  of microseconds, less than the two thread switches a pooled read costs; measured on
  the conversation benchmark it is +35 % events/s. It must stay that small: while it
  runs, nothing else on the loop does.
- ``read_briefly()`` is for a read that is quick nearly always but not by construction
  (a search ranks every hit: under 1 ms for 10 000 products, more for a broad word in a
  far larger catalogue). It runs on the loop's connection with a budget; past it,
  SQLite interrupts it and it is run again in the pool. Under load a pooled read waits
  for the GIL at each of its hops (the loop's thread holds it up to the 5 ms switch
  interval): measured 5.5 ms for a 0.05 ms search at 1 000 Telegram updates/s.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import aiosqlite

BUSY_TIMEOUT_MS = 5_000
# In WAL mode a reader waits only while the database is recovered after a crash; the
# loop's own connection must never wait long, so it gives up sooner.
LOOKUP_BUSY_TIMEOUT_MS = 500
# How long a ``read_briefly`` may work on the event loop's thread before it moves to the
# pool (the thread's CPU time: waiting for the GIL is not the read's doing), at most
# BRIEF_READ_WALL_TIMES that long on the clock (a read waiting for the disk), and how
# many SQLite instructions run between two looks at the clocks (~10-50 µs). A read that
# ran past it goes straight to the pool for BRIEF_READ_POOL_FOR_S (a backlog in the
# outbox after an outage would otherwise pay the budget on every look).
BRIEF_READ_BUDGET_S = 0.002
BRIEF_READ_WALL_TIMES = 4
BRIEF_READ_CHECK_EVERY = 1_000
BRIEF_READ_POOL_FOR_S = 10.0
# Errors after which a brief read is tried again in the pool.
_TRY_IN_POOL = frozenset({sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_BUSY})

T = TypeVar("T")
Item = TypeVar("Item")
Result = TypeVar("Result")


def sort_key(text: str | None) -> str | None:
    """Alphabetical order as a French reader expects it: « Éclair » between « Ecl » and
    « Ed », not after « Z » (SQL ``ORDER BY sort_key(name)``)."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


async def connect(path: str | Path) -> aiosqlite.Connection:
    """A connection with chatshop's pragmas, in autocommit mode (we say BEGIN ourselves).

    If it cannot be opened, its thread has ended when this raises: the thread's last word
    goes to the event loop, and a loop that closed first made it print « RuntimeError:
    Event loop is closed » after the command's own one-line error.
    """
    conn = aiosqlite.connect(str(path), isolation_level=None)
    try:
        await conn
    except BaseException:
        await _thread_ended(conn)
        raise
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


async def _thread_ended(conn: aiosqlite.Connection) -> None:
    """Wait for the thread of a connection that failed to open: aiosqlite stops it but
    does not wait for it (``_thread`` is private; pyproject pins aiosqlite, see
    ``Database.run_write``)."""
    thread = conn._thread
    if thread.is_alive():
        await asyncio.to_thread(thread.join)


def connect_for_lookups(path: str | Path) -> sqlite3.Connection:
    """A read-only connection used from the event loop's thread (see ``lookup``)."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {LOOKUP_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = ON")
        conn.create_function("sort_key", 1, sort_key, deterministic=True)
    except BaseException:
        conn.close()
        raise
    return conn


class Database:
    """The connections to one SQLite file: one writer, a few readers, one for lookups."""

    def __init__(self, path: Path, writer: aiosqlite.Connection,
                 readers: list[aiosqlite.Connection]) -> None:
        self.path = path
        self._lookups = connect_for_lookups(path)
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._readers = readers
        self._long_reads: dict[str, float] = {}  # sql -> until when it goes to the pool
        self._idle_readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self._idle_readers.put_nowait(reader)

    @classmethod
    async def open(cls, path: str | Path, *, readers: int | None = None) -> Database:
        """Open (creating if needed) the database file; migrations are applied separately.

        Each reader has its own thread, and sqlite3 releases the GIL while a query runs,
        so about one reader per core lets searches run side by side.
        """
        count = readers or min(max(os.cpu_count() or 1, 2), 4)
        opened: list[aiosqlite.Connection] = []
        try:
            for _ in range(count + 1):
                opened.append(await connect(path))
            return cls(Path(path), opened[0], opened[1:])
        except BaseException:
            for conn in opened:  # else their threads outlive the event loop
                await conn.close()
            raise

    async def close(self) -> None:
        """Close every connection, waiting for the transaction and reads in progress (the
        readers and the loop's connection too if closing the writer failed)."""
        try:
            async with self._write_lock:
                await self._writer.close()
        finally:
            try:
                for _ in self._readers:
                    reader = await self._idle_readers.get()
                    await reader.close()
            finally:
                self._lookups.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: all of it is committed, or none of it."""
        async with self._write_lock:
            if self._writer.in_transaction:  # left open by a task cancelled mid-way
                await self._writer.rollback()
            try:
                # Inside the try: if this task is cancelled while BEGIN is queued, BEGIN
                # still runs in aiosqlite's thread, and the rollback queued after it ends it.
                await self._writer.execute("BEGIN IMMEDIATE")
                yield self._writer
            except BaseException:
                await self._writer.rollback()
                raise
            await self._writer.commit()

    async def run_write(self, transaction: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``transaction`` synchronously in the writer's thread, inside one
        ``BEGIN IMMEDIATE ... COMMIT`` (rolled back if it raises), and return its result.

        For the hot paths (reserving stock): the whole transaction is one hop to the
        writer's thread instead of one per statement, so the write lock is held for the
        time SQLite needs and no longer, and no ``await`` can fall inside it. aiosqlite
        has no public way to run a function in its thread, so this uses its
        ``_execute``/``_conn``; pyproject pins aiosqlite below 0.23 for that reason, and
        every reservation test goes through here.
        """

        def in_thread() -> T:
            conn = self._writer._conn  # the sqlite3.Connection owned by that thread
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = transaction(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            return result

        run_in_thread = cast(Callable[[Callable[[], T]], Awaitable[T]], self._writer._execute)
        if not self._write_lock.locked():
            # The writer's thread runs what it is given one after the other, so these
            # whole transactions need no lock among themselves: they queue there, back
            # to back, instead of each waiting for the previous one's answer to reach
            # the event loop (measured: 15 ms per write under load with the lock held
            # across the hop, for 0.03 ms of work). Only a ``write()`` block, whose
            # statements arrive one by one, must not have one slip inside it.
            return await run_in_thread(in_thread)
        async with self._write_lock:
            return await run_in_thread(in_thread)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A reader connection of the pool. Each statement sees the last committed state;
        rows written together (a reservation and its lines) are always seen together."""
        reader = await self._idle_readers.get()
        try:
            yield reader
        finally:
            self._idle_readers.put_nowait(reader)

    def lookup(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        """The rows of a small indexed read, run right here on the event loop's thread.

        For reads of a handful of rows through an index only (see the module docstring);
        anything that scans, ranks or pages goes through ``read()``.
        """
        return self._lookups.execute(sql, params).fetchall()

    async def read_briefly(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (),
                           *, budget: float = BRIEF_READ_BUDGET_S) -> list[sqlite3.Row]:
        """The rows of a read that is quick nearly always (a search): run on the loop's
        connection for at most ``budget`` seconds; if it needs longer, SQLite interrupts
        it and it runs again in the pool, where it may take its time (and so does the
        same read for the next ``BRIEF_READ_POOL_FOR_S``)."""
        now = time.perf_counter()
        if self._long_reads.get(sql, 0.0) <= now:
            self._long_reads.pop(sql, None)
            wall_deadline = now + budget * BRIEF_READ_WALL_TIMES
            deadline = time.thread_time() + budget

            def past_budget() -> bool:
                return time.thread_time() > deadline or time.perf_counter() > wall_deadline

            conn = self._lookups
            conn.set_progress_handler(past_budget, BRIEF_READ_CHECK_EVERY)
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as problem:
                if problem.sqlite_errorcode & 0xFF not in _TRY_IN_POOL:
                    raise
                self._long_reads[sql] = time.perf_counter() + BRIEF_READ_POOL_FOR_S
            finally:
                conn.set_progress_handler(None, 0)
        async with self.read() as reader:
            return list(await reader.execute_fetchall(sql, params))

    @property
    def writer(self) -> aiosqlite.Connection:
        """The writer connection, for migrations only (they manage their own transaction)."""
        return self._writer


class GroupedWrites(Generic[Item, Result]):
    """Small writes that many tasks make at once (marking updates handled, writing
    webhook events down), gathered into as few transactions as possible: while one
    transaction runs, the items that arrive wait and then go together in the next (a
    "group commit"). Each caller returns only once its item is committed, with its own
    result, so nothing is less durable than one transaction per item; under load, the
    writer's thread does one transaction for dozens of items instead of one each. An
    item that fails (a payload SQLite cannot store) fails only its own caller: its group
    is then written again item by item.

    ``write`` gets the items in order and returns one result per item.
    """

    def __init__(self, db: Database,
                 write: Callable[[sqlite3.Connection, list[Item]], list[Result]]) -> None:
        self._db = db
        self._write = write
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def add(self, item: Item) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await asyncio.shield(done)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            if not await self._commit(batch):
                # One item that fails makes its whole group fail: each goes again in a
                # transaction of its own, so that only its own caller hears of it.
                for one in batch:
                    await self._commit([one])

    async def _commit(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> bool:
        """Write ``batch`` in one transaction and give each caller its result; False,
        telling nobody, if a group of several failed."""
        items = [item for item, _done in batch]

        def transaction(conn: sqlite3.Connection) -> list[Result]:
            return self._write(conn, items)
        try:
            results = await self._db.run_write(transaction)
        except BaseException as problem:
            if isinstance(problem, Exception) and len(batch) > 1:
                return False
            for _item, done in batch:
                if not done.done():
                    done.set_exception(problem)
            if not isinstance(problem, Exception):
                raise
            return True
        for (_item, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)
        return True
