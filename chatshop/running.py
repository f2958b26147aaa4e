"""Whether the bot runs on a database: ``chatshop run`` holds a lock for the life of its
process (``bot_running_on``), which ``chatshop db copy`` tests (``bot_is_running``)
without taking it.

- SQLite: a shared ``flock`` on a file beside the database (``<db>.running``, the
  database's real path, as SQLite finds it through a symbolic link). The kernel releases
  it when the process ends, however it ends. The test tries an exclusive lock without
  waiting and gives it back at once.
- PostgreSQL: a shared session advisory lock on a fixed key, held on a connection of its
  own; the server releases it when that connection ends (the process gone, or killed).
  The test reads ``pg_locks`` for a holder of that key on the same database. Its
  statements are ``chatshop.storage.postgres_running``'s.

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
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path

from chatshop.storage.postgres import is_postgresql
from chatshop.storage.postgres_running import (
    bots_holding,
    held_exclusively,
    hold_shared,
    release_shared,
)

_WAITING = "a copy of the database (chatshop db copy) is under way: waiting for its end"
log = logging.getLogger(__name__)


class BotRunning(Exception):
    """A bot runs on the database named by the exception's argument."""


def lock_file(database: str | Path) -> Path:
    """The file beside a SQLite database that ``chatshop run`` locks."""
    text = str(database)
    path = text.removeprefix("sqlite://") if text.startswith("sqlite:///") else text
    return Path(os.path.realpath(path) + ".running")


@asynccontextmanager
async def bot_running_on(database: str | Path) -> AsyncIterator[None]:
    """Say, for as long as the block lasts, that the bot runs on ``database``."""
    if is_postgresql(str(database)):
        conn = await asyncio.to_thread(hold_shared, str(database), _waiting)
        try:
            yield
        finally:
            await asyncio.to_thread(release_shared, conn)
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
        _waiting()
        fcntl.flock(descriptor, fcntl.LOCK_SH)


def _waiting() -> None:
    log.warning(_WAITING)


def bot_is_running(database: str | Path) -> bool:
    """Whether a ``chatshop run`` holds its lock on ``database`` now (on SQLite, a copy
    holding it says so too: one file lock cannot tell them apart)."""
    if is_postgresql(str(database)):
        return bots_holding(str(database)) > 0
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
    if is_postgresql(database):
        with held_exclusively(database) as taken:
            if not taken:
                raise BotRunning(database)
            yield
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
