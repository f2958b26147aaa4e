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

Several ``chatshop run`` on one database all hold the shared lock at once.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg

RUNNING_LOCK = 0x72756E6E  # "runn": held (shared) by every ``chatshop run`` process


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
        # Waits only the instant a ``bot_is_running`` test holds it.
        await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)  # (releases the lock)


def _hold_advisory_lock(dsn: str) -> psycopg.Connection[Any]:
    conn = psycopg.Connection.connect(dsn, autocommit=True)
    try:
        conn.execute("SELECT pg_advisory_lock_shared(%s)", (RUNNING_LOCK,))
    except BaseException:
        conn.close()
        raise
    return conn


def _release_advisory_lock(conn: psycopg.Connection[Any]) -> None:
    """Released at once (the server would release it only once it has seen the
    connection end, a moment after ``close``)."""
    try:
        conn.execute("SELECT pg_advisory_unlock_shared(%s)", (RUNNING_LOCK,))
    except psycopg.Error:
        pass  # the connection is gone already, and its lock with it
    finally:
        conn.close()


def bot_is_running(database: str | Path) -> bool:
    """Whether a ``chatshop run`` holds its lock on ``database`` now."""
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
    """How many sessions hold the running lock on the database of ``conn``."""
    # A bigint key shows in pg_locks as classid (high 32 bits), objid (low), objsubid 1.
    row = conn.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
        f" AND l.classid = {RUNNING_LOCK >> 32} AND l.objid = {RUNNING_LOCK & 0xFFFFFFFF}"
        " AND l.objsubid = 1").fetchone()
    return int(row[0]) if row else 0
