"""The running lock of ``chatshop.running`` on PostgreSQL: a session advisory lock on a
fixed key, held shared by each ``chatshop run`` on a connection of its own (the server
releases it when that connection ends: the process gone, or killed), exclusively by a
copy (``chatshop db copy``) while it runs. Whether a bot holds it is read in
``pg_locks``, for a holder of that key on the same database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg

RUNNING_LOCK = 0x72756E6E  # "runn": held (shared) by every ``chatshop run`` process


def hold_shared(dsn: str, waiting: Callable[[], None]) -> psycopg.Connection[Any]:
    """The connection holding the lock shared, once a copy holding it has ended
    (``waiting`` told first if one does); ``ConnectionError`` when the database cannot
    be reached."""
    try:
        conn = psycopg.Connection.connect(dsn, autocommit=True)
    except psycopg.OperationalError as why:  # (an OSError: said as the database's)
        raise ConnectionError(" ".join(str(why).split())) from why
    try:
        row = conn.execute("SELECT pg_try_advisory_lock_shared(%s)",
                           (RUNNING_LOCK,)).fetchone()
        if not (row and row[0]):
            waiting()
            conn.execute("SELECT pg_advisory_lock_shared(%s)", (RUNNING_LOCK,))
    except BaseException:
        conn.close()
        raise
    return conn


def release_shared(conn: psycopg.Connection[Any]) -> None:
    """Released at once (the server would release it only once it has seen the
    connection end, a moment after ``close``)."""
    try:
        with suppress(psycopg.Error):  # (the connection gone already, and its lock)
            conn.execute("SELECT pg_advisory_unlock_shared(%s)", (RUNNING_LOCK,))
    finally:
        conn.close()


def bots_holding(dsn: str) -> int:
    """How many bots hold the lock on the database ``dsn`` now."""
    with psycopg.Connection.connect(dsn, autocommit=True) as conn:
        return postgresql_holders(conn)


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
def held_exclusively(dsn: str) -> Iterator[bool]:
    """The lock held exclusively for the block, if no one holds it: whether it is."""
    with psycopg.Connection.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (RUNNING_LOCK,)).fetchone()
        if not (row and row[0]):
            yield False
            return
        try:
            yield True
        finally:  # at once, not once the server has seen the connection end
            with suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (RUNNING_LOCK,))
