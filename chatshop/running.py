"""Whether the bot runs on a database: ``chatshop run`` holds a lock for the life of its
process (``bot_running_on``), which ``chatshop db copy`` tests (``bot_is_running``)
without taking it.

- SQLite: a shared ``flock`` on a file beside the database (``<db>.running``, the
  database's real path, as SQLite finds it through a symbolic link). The kernel releases
  it when the process ends, however it ends. The test tries an exclusive lock without
  waiting and gives it back at once.
- PostgreSQL: a shared session advisory lock on a fixed key, held on a connection of its
  own; the server releases it when that connection ends (the process gone, or killed).
  The test reads ``pg_locks`` for a holder of that key on the same database.

Several ``chatshop run`` on one database all hold the shared lock at once. A copy holds
the same lock exclusively while it runs (``copying``), taken only if no bot holds it: a
``chatshop run`` started meanwhile waits for the copy to end before it opens the
database (and says so).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg

RUNNING_LOCK = 0x72756E6E  # "runn": held (shared) by every ``chatshop run`` process
_WAITING = "a copy of the database (chatshop db copy) is under way: waiting for its end"
log = logging.getLogger(__name__)


class BotRunning(Exception):
    """A bot runs on the database named by the exception's argument."""


def _is_postgresql(database: str) -> bool:
    return database.startswith(("postgresql://", "postgres://"))


def lock_file(database: str | Path) -> Path:
    """The file beside a SQLite database that ``chatshop run`` locks."""
    text = str(database)
    path = text.removeprefix("sqlite://") if text.startswith("sqlite:///") else text
    return Path(os.path.realpath(path) + ".running")


@asynccontextmanager
async def bot_running_on(database: str | Path) -> AsyncIterator[None]:
    """Say, for as long as the block lasts, that the bot runs on ``database``."""
    if _is_postgresql(str(database)):
        conn = await asyncio.to_thread(_hold_advisory_lock, str(database))
        try:
            yield
        finally:
            await asyncio.to_thread(_release_advisory_lock, conn)
        return
    if str(database) == ":memory:":
        yield
        return
    descriptor = os.open(lock_file(database), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        await asyncio.to_thread(_flock_shared, descriptor)
        yield
    finally:
        os.close(descriptor)  # (releases the lock)


def _flock_shared(descriptor: int) -> None:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:  # a copy, or the instant a ``bot_is_running`` test takes
        log.warning(_WAITING)
        fcntl.flock(descriptor, fcntl.LOCK_SH)


def _hold_advisory_lock(dsn: str) -> psycopg.Connection[Any]:
    try:
        conn = psycopg.Connection.connect(dsn, autocommit=True)
    except psycopg.OperationalError as why:  # (an OSError: said as the database's)
        raise ConnectionError(" ".join(str(why).split())) from why
    try:
        row = conn.execute("SELECT pg_try_advisory_lock_shared(%s)",
                           (RUNNING_LOCK,)).fetchone()
        if not (row and row[0]):
            log.warning(_WAITING)
            conn.execute("SELECT pg_advisory_lock_shared(%s)", (RUNNING_LOCK,))
    except BaseException:
        conn.close()
        raise
    return conn


def _release_advisory_lock(conn: psycopg.Connection[Any]) -> None:
    """Released at once (the server would release it only once it has seen the
    connection end, a moment after ``close``)."""
    try:
        with suppress(psycopg.Error):  # (the connection gone already, and its lock)
            conn.execute("SELECT pg_advisory_unlock_shared(%s)", (RUNNING_LOCK,))
    finally:
        conn.close()


def bot_is_running(database: str | Path) -> bool:
    """Whether a ``chatshop run`` holds its lock on ``database`` now (on SQLite, a copy
    holding it says so too: one file lock cannot tell them apart)."""
    if _is_postgresql(str(database)):
        with psycopg.Connection.connect(str(database), autocommit=True) as conn:
            return postgresql_holders(conn) > 0
    path = lock_file(database)
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False  # no bot ever ran here (nor one that could run now)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # (releases the lock if it was taken)
    return False


def postgresql_holders(conn: psycopg.Connection[Any]) -> int:
    """How many bots hold the running lock on the database of ``conn`` (shared; a copy
    holds it exclusively)."""
    # A bigint key shows in pg_locks as classid (high 32 bits), objid (low), objsubid 1.
    row = conn.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
        f" AND l.classid = {RUNNING_LOCK >> 32} AND l.objid = {RUNNING_LOCK & 0xFFFFFFFF}"
        " AND l.objsubid = 1 AND l.mode = 'ShareLock'").fetchone()  # (not a copy's)
    return int(row[0]) if row else 0


@contextmanager
def copying(*databases: str) -> Iterator[None]:
    """Hold the running lock of each database (existing ones) exclusively for the block,
    a copy's: ``BotRunning`` when a bot holds one."""
    with ExitStack() as held:
        for database in databases:
            held.enter_context(_exclusive(database))
        yield


@contextmanager
def _exclusive(database: str) -> Iterator[None]:
    if _is_postgresql(database):
        with psycopg.Connection.connect(database, autocommit=True) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (RUNNING_LOCK,)).fetchone()
            if not (row and row[0]):
                raise BotRunning(database)
            try:
                yield
            finally:  # at once, not once the server has seen the connection end
                with suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s)", (RUNNING_LOCK,))
        return
    descriptor = os.open(lock_file(database), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BotRunning(database) from None
        yield
    finally:
        os.close(descriptor)
