"""The PostgreSQL database: the same ``Connections`` as SQLite's ``Database``, over psycopg.

Selected by ``CHATSHOP_DATABASE=postgresql://…`` (``storage.open_store``). The
repositories are the same classes on both engines, and so is their SQL (translated by
``postgres_sql``); what differs is here:

- Every write transaction (a ``write()`` block, a ``run_write`` function, a unit of
  work) starts with ``pg_advisory_xact_lock`` on one key of the database: write
  transactions run one at a time, across every process on the database, as SQLite's
  ``BEGIN IMMEDIATE`` makes them do on one file. So a repository's "read, check, then
  write" inside a transaction means on PostgreSQL what it means on SQLite, with no
  retry (``READ COMMITTED``: each statement sees everything committed before it, and
  nothing else writes meanwhile). Reads take no lock and never wait for a write.
- psycopg's connections are synchronous and used from a pool of worker threads: a
  ``run_write`` transaction is one hop to a thread, where it runs whole (as on SQLite,
  where it runs in the writer's thread); a ``write()`` block, a read or a lookup, one
  hop per statement. Why psycopg 3 and not asyncpg, about twice as fast in
  ``bench/pg_drivers.py``: the repositories' hot transactions are plain functions of a
  connection, run whole in a thread; asyncpg has no synchronous connection to give
  them, and every one of them would be written a second time, as coroutines.
- ``lookup`` and ``read_briefly`` are reads on a pooled connection like ``read()``:
  there is no connection on the event loop's own thread.

What a process remembers (``caches``) is forgotten after its own commits, as on
SQLite; another process's writes are seen when the cache's few seconds are up (and by
the window's ETags, ``change_stamp``, within ``STAMP_SECONDS``).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict

from chatshop.storage.caches import Caches, Changes, RecordsChanges, UnitRecordsChanges
from chatshop.storage.postgres_sql import (
    AsyncConnection,
    SyncConnection,
    adapt,
    roll_back,
    row_factory,
    run,
)

T = TypeVar("T")

# The advisory lock every write transaction takes (any number, the same in every
# process; advisory locks belong to one database: two territories never share it).
WRITE_LOCK = 0x63686174  # "chat"
_LOCK = f"SELECT pg_advisory_xact_lock({WRITE_LOCK})"

_PART_UNDONE = "ROLLBACK TO part; RELEASE part"  # a unit's write that failed, undone

# How long a page another process changed may be answered « not modified ».
STAMP_SECONDS = 5.0

_block_changes: contextvars.ContextVar[Changes | None] = contextvars.ContextVar(
    "chatshop_pg_block_changes", default=None)


def is_postgresql(database: str) -> bool:
    """Whether ``CHATSHOP_DATABASE`` names a PostgreSQL database."""
    return database.startswith(("postgresql://", "postgres://"))


def shown(database: str) -> str:
    """A database as messages and logs name it: a PostgreSQL DSN without its password."""
    if not is_postgresql(database):
        return database
    try:
        info = conninfo_to_dict(database)
    except psycopg.ProgrammingError:
        return "postgresql://…"
    user = f"{info['user']}@" if info.get("user") else ""
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{info.get('host', '')}{port}/{info.get('dbname', '')}"


def _connect(dsn: str) -> psycopg.Connection[Any]:
    conn = psycopg.Connection.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor,
                                      row_factory=row_factory)
    adapt(conn)
    run(conn, "SET TIME ZONE 'UTC'")
    return conn


class PostgresDatabase(RecordsChanges):
    """Connections to one PostgreSQL database (one territory), and what this process
    caches of it."""

    engine = "postgresql"

    def __init__(self, dsn: str, writers: list[psycopg.Connection[Any]],
                 readers: list[psycopg.Connection[Any]], executor: ThreadPoolExecutor) -> None:
        self.dsn = dsn
        # No file: the digest's leases and the search vocabulary are PostgreSQL's own.
        self.path = Path(os.devnull)
        self.caches = Caches()
        self._executor = executor
        self._all = writers + readers
        self._writer_count = len(writers)
        self._writers: asyncio.Queue[psycopg.Connection[Any]] = asyncio.Queue()
        self._readers: asyncio.Queue[psycopg.Connection[Any]] = asyncio.Queue()
        for conn in writers:
            self._writers.put_nowait(conn)
        for conn in readers:
            self._readers.put_nowait(conn)
        self._in_thread = threading.local()
        # The tasks inside a unit of work (several at once: each has its connection).
        self._unit_tasks: set[asyncio.Task[Any] | None] = set()
        self._boot = secrets.token_hex(4)
        self._commits = 0

    @classmethod
    async def open(cls, dsn: str, *, writers: int = 3,
                   readers: int | None = None) -> PostgresDatabase:
        count = readers or min(max(os.cpu_count() or 1, 2), 4)
        executor = ThreadPoolExecutor(max_workers=writers + count + 1,
                                      thread_name_prefix="chatshop-pg")
        loop = asyncio.get_running_loop()
        tries = [loop.run_in_executor(executor, _connect, dsn) for _ in range(writers + count)]
        found = await asyncio.gather(*tries, return_exceptions=True)
        opened = [conn for conn in found if isinstance(conn, psycopg.Connection)]
        problem = next((f for f in found if isinstance(f, BaseException)), None)
        if problem is not None:
            for conn in opened:
                conn.close()
            executor.shutdown(wait=False)
            raise problem
        return cls(dsn, opened[:writers], opened[writers:], executor)

    async def close(self) -> None:
        """Close every connection once what runs on it has ended."""
        try:
            idle = []
            for queue, count in ((self._writers, self._writer_count),
                                 (self._readers, len(self._all) - self._writer_count)):
                idle += [await queue.get() for _ in range(count)]
            await asyncio.gather(*(self._hop(conn.close) for conn in idle))
        finally:
            for conn in self._all:  # those replaced after they broke are closed already
                conn.close()
            self._executor.shutdown(wait=True)

    # -- writes -------------------------------------------------------------------------

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[psycopg.Connection[Any]]:
        conn = await self._writers.get()
        try:
            if conn.broken or conn.closed:
                conn = await self._hop(_connect, self.dsn)
            yield conn
        finally:
            self._writers.put_nowait(conn)

    def _hop(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Any]:
        """One write transaction: all of it is committed, or none of it."""
        self._refuse_inside_unit()
        async with self._writer() as conn:
            changes = Changes()
            token = _block_changes.set(changes)
            try:
                await self._hop(_begin, conn)
                try:
                    yield AsyncConnection(conn, self._executor)
                except BaseException:
                    await self._hop(_rollback, conn)
                    raise
            finally:
                _block_changes.reset(token)
            await self._commit(conn, changes)

    async def run_write(self, transaction: Callable[[Any], T]) -> T:
        """``transaction(conn)`` whole in a worker thread, in one transaction (rolled back
        if it raises), and its result."""
        self._refuse_inside_unit()
        loop = asyncio.get_running_loop()
        local = self._in_thread
        async with self._writer() as conn:
            def in_thread() -> T:
                changes = local.changes = Changes()
                try:
                    _begin(conn)
                    try:
                        result = transaction(SyncConnection(conn))
                    except BaseException:
                        _rollback(conn)
                        raise
                    self._commit_here(conn, changes, loop)
                finally:
                    local.changes = None
                return result
            return await self._hop(in_thread)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        """A unit of work's transaction on one connection, rolled back unless
        ``commit()`` was awaited (and on any exception)."""
        self._refuse_inside_unit()
        async with self._writer() as conn:
            await self._hop(_begin, conn)
            unit = PostgresTransaction(self, conn)
            task = asyncio.current_task()
            self._unit_tasks.add(task)
            try:
                yield unit
            finally:
                self._unit_tasks.discard(task)
                if unit.open:
                    await unit.rollback()

    async def _commit(self, conn: psycopg.Connection[Any], changes: Changes) -> None:
        loop = asyncio.get_running_loop()
        await self._hop(self._commit_here, conn, changes, loop)

    def _commit_here(self, conn: psycopg.Connection[Any], changes: Changes,
                     loop: asyncio.AbstractEventLoop) -> None:
        """In a worker thread: commit, then have the loop apply ``changes`` before it
        hears of the commit."""
        try:
            run(conn, "COMMIT")
        except BaseException:
            if changes:
                loop.call_soon_threadsafe(self._apply, changes, False)
            raise
        loop.call_soon_threadsafe(self._apply, changes, True)

    def _apply(self, changes: Changes, committed: bool) -> None:
        self._commits += 1
        if changes:
            changes.apply(self.caches, committed=committed)

    def _changes(self) -> Changes:
        changes: Changes | None = getattr(self._in_thread, "changes", None)
        if changes is None:
            changes = _block_changes.get()
        if changes is None:
            raise RuntimeError("a change is recorded inside the write that makes it")
        return changes

    def _refuse_inside_unit(self) -> None:
        if asyncio.current_task() in self._unit_tasks:
            raise RuntimeError("inside a unit of work, write through its repositories")

    # -- reads --------------------------------------------------------------------------

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Any]:
        """A pooled connection, outside any transaction: each statement sees what was
        committed before it."""
        conn = await self._readers.get()
        try:
            if conn.broken or conn.closed:
                conn = await self._hop(_connect, self.dsn)
            yield AsyncConnection(conn, self._executor)
        finally:
            self._readers.put_nowait(conn)

    async def lookup(self, sql: str,
                     params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        async with self.read() as conn:
            found: list[Any] = await conn.execute_fetchall(sql, params)
            return found

    async def read_briefly(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (),
                           *, budget: float = 0.0) -> list[Any]:
        return await self.lookup(sql, params)

    def lookup_now(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        """A read right here, the event loop waiting for the server: for the tests' and
        benchmarks' looks at the database only (as SQLite's ``lookup_now``)."""
        with psycopg.Connection.connect(self.dsn, autocommit=True,
                                        cursor_factory=psycopg.ClientCursor,
                                        row_factory=row_factory) as conn:
            adapt(conn)
            return run(conn, sql, params).fetchall()

    def change_stamp(self) -> str:
        """Changes at every commit of this process, and every ``STAMP_SECONDS`` whatever
        happens (the window's ETags): a commit of another process on the database is
        not seen here, so a page it changed is answered « not modified » for at most
        that long, as long as this process's caches may keep what another one
        changed. No round trip to the server: the window asks on every request."""
        return f"{self._boot}.{self._commits}.{int(time.monotonic() // STAMP_SECONDS)}"


def _begin(conn: psycopg.Connection[Any]) -> None:
    """BEGIN and the write lock in one round trip (a reservation's statements are each
    one; measured 0.7-1.3 ms apiece on a loaded machine, the lock held through them)."""
    try:
        run(conn, f"BEGIN; {_LOCK}")
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: psycopg.Connection[Any]) -> None:
    if not conn.closed:
        roll_back(conn)


class PostgresTransaction(UnitRecordsChanges):
    """A unit of work's transaction on one connection, lent as ``Connections``: every
    write a savepoint inside it, every read on it (it sees the unit's own writes);
    nothing read from or kept in the caches meanwhile."""

    engine = "postgresql"

    def __init__(self, db: PostgresDatabase, conn: psycopg.Connection[Any]) -> None:
        self._db = db
        self._conn = conn
        self.path = db.path
        self.caches = Caches.none()
        self.changes = Changes()
        self.open = True

    async def commit(self) -> None:
        self._check_open()
        self.open = False
        await self._db._commit(self._conn, self.changes)

    async def rollback(self) -> None:
        self.open = False
        await self._db._hop(_rollback, self._conn)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Any]:
        self._check_open()
        conn = AsyncConnection(self._conn, self._db._executor)
        await conn.execute("SAVEPOINT part")
        try:
            yield conn
        except BaseException:
            await self._db._hop(roll_back, self._conn, _PART_UNDONE)
            raise
        await conn.execute("RELEASE part")

    async def run_write(self, transaction: Callable[[Any], T]) -> T:
        self._check_open()
        conn = self._conn

        def in_thread() -> T:
            run(conn, "SAVEPOINT part")
            try:
                result = transaction(SyncConnection(conn))
            except BaseException:
                roll_back(conn, _PART_UNDONE)
                raise
            run(conn, "RELEASE part")
            return result
        return await self._db._hop(in_thread)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Any]:
        self._check_open()
        yield AsyncConnection(self._conn, self._db._executor)

    async def lookup(self, sql: str,
                     params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        self._check_open()
        found: list[Any] = await AsyncConnection(
            self._conn, self._db._executor).execute_fetchall(sql, params)
        return found

    async def read_briefly(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (),
                           *, budget: float = 0.0) -> list[Any]:
        return await self.lookup(sql, params)

    def _check_open(self) -> None:
        if not self.open:
            raise RuntimeError("this unit of work has ended")
