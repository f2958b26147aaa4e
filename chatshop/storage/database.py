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
import secrets
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import aiosqlite

from chatshop.domain.text import fold
from chatshop.storage.caches import Caches, Changes, RecordsChanges, UnitRecordsChanges

BUSY_TIMEOUT_MS = 5_000
# In WAL mode a reader waits only while the database is recovered after a crash; the
# loop's own connection must never wait long, so it gives up sooner.
LOOKUP_BUSY_TIMEOUT_MS = 500
LOOKUP_CACHE_KIB = 8192  # the lookups connection's page cache (SQLite's default: 2 MB)
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


def sort_key(text: str | None) -> str | None:
    """Alphabetical order as a French reader expects it: « Éclair » between « Ecl » and
    « Ed », not after « Z » (SQL ``ORDER BY sort_key(name)``)."""
    if text is None:
        return None
    return fold(text)


async def connect(path: str | Path, *, shared: bool = False) -> aiosqlite.Connection:
    """A connection with chatshop's pragmas, in autocommit mode (we say BEGIN ourselves).

    ``shared``: usable from the event loop's thread too, not only from its own (the
    writer, whose unit-of-work lookups run on the loop while its thread waits; see
    ``Transaction.lookup``).

    If it cannot be opened, its thread has ended when this raises: the thread's last word
    goes to the event loop, and a loop that closed first made it print « RuntimeError:
    Event loop is closed » after the command's own one-line error.
    """
    conn = aiosqlite.connect(str(path), isolation_level=None, check_same_thread=not shared)
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
        # Searches run here: 8 MB of pages instead of SQLite's 2 MB keep a large
        # catalogue's index and hot product rows in memory (a commune-filtered search at
        # 100 000 products: 2.1 -> 1.3 ms), for at most 8 MB more RSS.
        conn.execute(f"PRAGMA cache_size = -{LOOKUP_CACHE_KIB}")
        conn.create_function("sort_key", 1, sort_key, deterministic=True)
    except BaseException:
        conn.close()
        raise
    return conn


class Connections(Protocol):
    """The database as a repository sees it: ``Database`` (each write its own
    transaction) or a unit of work's ``Transaction`` (every write a part of it)."""

    @property
    def path(self) -> Path: ...
    @property
    def engine(self) -> str:
        """« sqlite » or « postgresql »: where the SQL of the two differs."""
        ...
    @property
    def caches(self) -> Caches:
        """What the repositories may remember (nothing, in a unit of work)."""
        ...

    def write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...
    async def run_write(self, transaction: Callable[[sqlite3.Connection], T]) -> T: ...
    def read(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...
    async def lookup(self, sql: str,
                     params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]: ...
    async def read_briefly(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (),
                           *, budget: float = BRIEF_READ_BUDGET_S) -> list[sqlite3.Row]: ...

    def touched(self, *user_ids: int | None) -> None:
        """Inside a write: these people's rows or teams change (None: someone)."""
        ...

    def touched_shops(self) -> None:
        """Inside a write: a shop or a commune changes."""
        ...

    def saved_state(self, user_id: int, state_json: str) -> None:
        """Inside a write: this person's conversation state becomes ``state_json``."""
        ...


class Database(RecordsChanges):
    """The connections to one SQLite file: one writer, a few readers, one for lookups,
    and what this process caches of it."""

    engine = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection,
                 readers: list[aiosqlite.Connection]) -> None:
        self.path = path
        self._lookups = connect_for_lookups(path)
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self.caches = Caches()
        # What the open write() block changes (one at a time: the lock), and whose it is.
        self._block_changes: Changes | None = None
        self._block_task: asyncio.Task[Any] | None = None
        # What the run_write transaction running in the writer's thread changes.
        self._in_thread = threading.local()
        self._unit_task: asyncio.Task[Any] | None = None  # the task of an open unit
        self._readers = readers
        self._long_reads: dict[str, float] = {}  # sql -> until when it goes to the pool
        self._idle_readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self._idle_readers.put_nowait(reader)
        # Who this Database is, for change_stamp: the lookups connection's data_version
        # starts again with every connection, so a stamp is only ever compared with one
        # of the same boot.
        self._boot = secrets.token_hex(4)

    @classmethod
    async def open(cls, path: str | Path, *, readers: int | None = None) -> Database:
        """Open (creating if needed) the database file; migrations are applied separately.

        Each reader has its own thread, and sqlite3 releases the GIL while a query runs,
        so about one reader per core lets searches run side by side.
        """
        count = readers or min(max(os.cpu_count() or 1, 2), 4)
        opened: list[aiosqlite.Connection] = []
        try:
            for n in range(count + 1):
                opened.append(await connect(path, shared=n == 0))
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
        self._refuse_inside_unit()
        async with self._write_lock:
            if self._writer.in_transaction:  # left open by a task cancelled mid-way
                await self._writer.rollback()
            changes = self._block_changes = Changes()
            self._block_task = asyncio.current_task()
            try:
                try:
                    # Inside the try: if this task is cancelled while BEGIN is queued,
                    # BEGIN still runs in aiosqlite's thread, and the rollback queued
                    # after it ends it.
                    await self._writer.execute("BEGIN IMMEDIATE")
                    yield self._writer
                except BaseException:
                    await self._writer.rollback()
                    raise
            finally:
                self._block_changes = self._block_task = None
            await self._commit(changes)

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
        self._refuse_inside_unit()
        loop = asyncio.get_running_loop()
        local = self._in_thread

        def in_thread() -> T:
            conn = self._writer._conn  # the sqlite3.Connection owned by that thread
            changes = local.changes = Changes()  # what ``touched`` records meanwhile
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = transaction(conn)
                except BaseException:
                    conn.rollback()
                    raise
                self._commit_here(conn, changes, loop)
            finally:
                local.changes = None
            return result

        if not self._write_lock.locked():
            # The writer's thread runs what it is given one after the other, so these
            # whole transactions need no lock among themselves: they queue there, back
            # to back, instead of each waiting for the previous one's answer to reach
            # the event loop (measured: 15 ms per write under load with the lock held
            # across the hop, for 0.03 ms of work). Only a ``write()`` block, whose
            # statements arrive one by one, must not have one slip inside it.
            return await self._in_writer_thread(in_thread)
        async with self._write_lock:
            return await self._in_writer_thread(in_thread)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A unit of work's transaction: the writer is the unit's alone until the block
        ends, in one ``BEGIN IMMEDIATE``, rolled back unless ``commit()`` was awaited
        (and on any exception). Inside, write only through what it lends: a write
        through this ``Database`` would wait for the unit itself, and is refused."""
        self._refuse_inside_unit()
        async with self._write_lock:
            if self._writer.in_transaction:  # left open by a task cancelled mid-way
                await self._writer.rollback()
            unit = Transaction(self, self._writer)
            self._unit_task = asyncio.current_task()
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                yield unit
            finally:
                self._unit_task = None
                if unit.open:
                    await unit.rollback()

    def _changes(self) -> Changes:
        """The changes of the transaction this is called from: a ``run_write`` one (in
        the writer's thread), or the calling task's ``write()`` block."""
        changes: Changes | None = getattr(self._in_thread, "changes", None)
        if changes is not None:
            return changes
        if self._block_changes is None or asyncio.current_task() is not self._block_task:
            raise RuntimeError("a change is recorded inside the write that makes it")
        return self._block_changes

    async def _commit(self, changes: Changes) -> None:
        """Commit the writer's transaction and, right after it, in the writer's thread,
        bring the caches up to date with ``changes`` (done even if the caller was
        cancelled meanwhile: the commit happens anyway)."""
        if not changes:
            await self._writer.commit()
            return
        loop = asyncio.get_running_loop()

        def commit() -> None:
            self._commit_here(self._writer._conn, changes, loop)
        await self._in_writer_thread(commit)

    def _commit_here(self, conn: sqlite3.Connection, changes: Changes,
                     loop: asyncio.AbstractEventLoop) -> None:
        """In the writer's thread: commit, then have the loop apply ``changes`` before
        it hears of the commit (what the thread schedules runs in order)."""
        try:
            conn.commit()
        except BaseException:
            if changes:  # committed or not, nobody knows: forget all it touched
                loop.call_soon_threadsafe(self._apply, changes, False)
            raise
        if changes:
            loop.call_soon_threadsafe(self._apply, changes, True)

    def _apply(self, changes: Changes, committed: bool) -> None:
        changes.apply(self.caches, committed=committed)

    def _in_writer_thread(self, function: Callable[[], T]) -> Awaitable[T]:
        """Run ``function`` in the writer's thread (after what is queued there)."""
        run = cast(Callable[[Callable[[], T]], Awaitable[T]], self._writer._execute)
        return run(function)

    def _refuse_inside_unit(self) -> None:
        if self._unit_task is not None and asyncio.current_task() is self._unit_task:
            raise RuntimeError("inside a unit of work, write through its repositories")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A reader connection of the pool. Each statement sees the last committed state;
        rows written together (a reservation and its lines) are always seen together."""
        reader = await self._idle_readers.get()
        try:
            yield reader
        finally:
            self._idle_readers.put_nowait(reader)

    async def lookup(self, sql: str,
                     params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        """The rows of a small indexed read, run right here on the event loop's thread
        (a coroutine for the protocol's sake: PostgreSQL's goes over the network; this
        one never waits).

        For reads of a handful of rows through an index only (see the module docstring);
        anything that scans, ranks or pages goes through ``read()``.
        """
        return self._lookups.execute(sql, params).fetchall()

    def lookup_now(self, sql: str,
                   params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        """``lookup`` without a coroutine, for the tests and benchmarks' looks at the
        file."""
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

    def change_stamp(self) -> str:
        """A short text that changes whenever anything was committed to the database, by
        this process or another one, since it was last asked: for the shop window's
        ETags (``chatshop.web.http``), so that a page is never answered « not modified »
        after its shop, products, hours, photos or announcement changed.

        It is SQLite's ``PRAGMA data_version`` on the loop's read-only connection (it
        moves when any other connection commits: our writer, or a second process on the
        same file, issue #14) and a token drawn when this Database was opened (so a
        restart, which may bring new templates, never repeats an old stamp). Measured
        1.8 µs a call: no table is read, only the WAL index's header. It moves on every
        commit, a chat message's too, not only on the window's data: while the bot is
        busy, fewer requests end in 304, never a stale page.
        """
        version = self._lookups.execute("PRAGMA data_version").fetchone()[0]
        return f"{self._boot}.{version}"

    @property
    def writer(self) -> aiosqlite.Connection:
        """The writer connection, for migrations only (they manage their own transaction)."""
        return self._writer


class Transaction(UnitRecordsChanges):
    """A unit of work's transaction on the writer connection, lent as ``Connections``.

    Every write is a savepoint inside it (a repository method that raises leaves the
    unit as it was before that call, so a use case may catch a refusal and go on), and
    every read goes to the writer too, so that it sees the unit's own writes; nothing is
    read from or kept in the caches meanwhile, and what the writes record is forgotten
    once ``commit()`` has committed (nothing, on a rollback). Repository calls are
    awaited one at a time: ``lookup`` runs on the event loop's thread, on the writer's
    connection, while the writer's thread waits, and refuses if it does not.
    """

    engine = "sqlite"

    def __init__(self, db: Database, writer: aiosqlite.Connection) -> None:
        self._db = db
        self._writer = writer
        self.path = db.path
        self.caches = Caches.none()
        self.changes = Changes()
        self.open = True
        self._busy = 0  # writes and reads in progress in the writer's thread

    async def commit(self) -> None:
        """Commit everything done in the unit; the caches then forget what it changed."""
        self._check_open()
        self.open = False
        await self._db._commit(self.changes)

    async def rollback(self) -> None:
        """Undo everything done in the unit (the caches keep what they had)."""
        self.open = False
        await self._writer.rollback()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A part of the unit: all of it is kept (until the unit ends), or none of it."""
        async with self._using():
            await self._writer.execute("SAVEPOINT part")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK TO part")
                await self._writer.execute("RELEASE part")
                raise
            await self._writer.execute("RELEASE part")

    async def run_write(self, transaction: Callable[[sqlite3.Connection], T]) -> T:
        """``transaction`` in the writer's thread, as a part of the unit (a savepoint)."""
        def in_thread() -> T:
            conn = self._writer._conn
            conn.execute("SAVEPOINT part")
            try:
                result = transaction(conn)
            except BaseException:
                conn.execute("ROLLBACK TO part")
                conn.execute("RELEASE part")
                raise
            conn.execute("RELEASE part")
            return result
        async with self._using():
            return await self._db._in_writer_thread(in_thread)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer connection: a read in the unit sees what the unit wrote."""
        async with self._using():
            yield self._writer

    async def lookup(self, sql: str,
                     params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        """A small read on the writer's connection, right here on the loop's thread."""
        self._check_open()
        if self._busy:
            raise RuntimeError("a unit of work's repositories are awaited one at a time")
        return self._writer._conn.execute(sql, params).fetchall()

    async def read_briefly(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (),
                           *, budget: float = BRIEF_READ_BUDGET_S) -> list[sqlite3.Row]:
        async with self.read() as conn:
            return list(await conn.execute_fetchall(sql, params))

    @asynccontextmanager
    async def _using(self) -> AsyncIterator[None]:
        self._check_open()
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1

    def _check_open(self) -> None:
        if not self.open:
            raise RuntimeError("this unit of work has ended")
