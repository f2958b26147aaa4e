"""Leases on PostgreSQL: a session advisory lock that dies with its process.

``leases.Leases`` for a PostgreSQL database: a lease is a random 63-bit number held as
``pg_advisory_lock(number)`` by a connection of its own, kept open for the lease's life.
The server drops the lock when that session ends: ``release()`` closes it, and a
process killed any way closes it too (its sockets are closed by the kernel; the server
sees it at once). A machine that vanishes without closing anything is seen when TCP's
keepalives give up (about half a minute with the settings below). Another process asks
whether a lease is alive with ``pg_try_advisory_lock`` on its own connection: taken,
the holder is gone (and it is let go again at once); refused, someone holds it.

Advisory locks belong to one database: two territories' leases never meet.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
from typing import Any

import psycopg

# A session that dies unseen (a cable, not a process) is given up after about
# idle + interval x count seconds.
_KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 10,
                               "keepalives_interval": 5, "keepalives_count": 3}


def _connect(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.Connection.connect(dsn, autocommit=True, **_KEEPALIVES)


def _let_go_all(conn: psycopg.Connection[Any]) -> None:
    """End a session whose advisory locks others wait for: unlocked first, so that the
    next process has them at once (rather than once the server has ended the backend)."""
    try:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock_all()")
    except psycopg.Error:
        pass  # a broken session: its end releases them
    finally:
        conn.close()


class PostgresLeases:
    """Where leases are taken and asked about, on one PostgreSQL database."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._checker: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()  # one question at a time on the checker

    def hold(self) -> PostgresLease:
        """A new lease, alive from now (a connection opened for it: a few ms)."""
        conn = _connect(self._dsn)
        try:
            while True:
                number = secrets.randbits(63)
                found = conn.execute("SELECT pg_try_advisory_lock(%s)", (number,)).fetchone()
                if found and found[0]:
                    return PostgresLease(str(number), conn)
        except BaseException:
            conn.close()
            raise

    def alive(self, token: str) -> bool:
        """Whether someone still holds the lease ``token``."""
        try:
            number = int(token)
        except ValueError:
            return False  # not a lease of this kind: nobody holds it
        with self._lock:
            if self._checker is None or self._checker.closed or self._checker.broken:
                self._checker = _connect(self._dsn)
            checker = self._checker
            found = checker.execute("SELECT pg_try_advisory_lock(%s)", (number,)).fetchone()
            if found and found[0]:
                checker.execute("SELECT pg_advisory_unlock(%s)", (number,))
                return False
            return True

    def close(self) -> None:
        with self._lock:
            if self._checker is not None:
                self._checker.close()
                self._checker = None


class PostgresLease:
    """A held advisory lock, on its own session."""

    def __init__(self, token: str, conn: psycopg.Connection[Any]) -> None:
        self._token = token
        self._conn = conn

    @property
    def token(self) -> str:
        return self._token

    def release(self) -> None:
        """Let the lease go now (its session's end would take a few milliseconds)."""
        _let_go_all(self._conn)


ROLE_SPACE = 0x726F6C65  # "role"


class PostgresRoles:
    """``leases.Roles`` on PostgreSQL: a session advisory lock per role, on a connection
    kept for the process's life; it dies with the process, and the next process asking
    takes the role."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: psycopg.Connection[Any] | None = None
        self._held: set[str] = set()
        self._lock = threading.Lock()

    def _take(self, role: str) -> bool:
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = _connect(self._dsn)
                self._held.clear()  # a lost session lost its locks
            if role in self._held:
                return True
            found = self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                       (ROLE_SPACE, _chat_key(role))).fetchone()
            if found and found[0]:
                self._held.add(role)
            return role in self._held

    async def leads(self, role: str) -> bool:
        return await asyncio.to_thread(self._take, role)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                _let_go_all(self._conn)
                self._conn = None
            self._held.clear()


# Chats' advisory locks are two-number keys (this space, the chat's hash): never a
# lease's one-number key.
CHAT_SPACE = 0x63686174  # "chat"
_FIRST_WAIT, _LAST_WAIT = 0.002, 0.05  # seconds between two tries for a busy chat


def _chat_key(key: str) -> int:
    """A chat's 32-bit signed key (two chats sharing one only wait for each other)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big",
                          signed=True)


class PostgresChatLocks:
    """``leases.ChatLocks`` on PostgreSQL: session advisory locks on one connection of
    this process, tried without blocking it (a chat busy in another process is tried
    again a few milliseconds later; that is rare: each chat's updates mostly reach one
    process at a time). The locks die with the process, like its leases."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def _try(self, sql: str, key: str) -> bool:
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = _connect(self._dsn)  # (a lost session lost its locks too)
            found = self._conn.execute(sql, (CHAT_SPACE, _chat_key(key))).fetchone()
            return bool(found and found[0])

    async def hold(self, key: str) -> None:
        wait = _FIRST_WAIT
        while not await asyncio.to_thread(
                self._try, "SELECT pg_try_advisory_lock(%s, %s)", key):
            await asyncio.sleep(wait)
            wait = min(wait * 2, _LAST_WAIT)

    async def let_go(self, key: str) -> None:
        await asyncio.to_thread(self._try, "SELECT pg_advisory_unlock(%s, %s)", key)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                _let_go_all(self._conn)
                self._conn = None


# The next slot of a channel, taken by one statement: the row's lock orders the
# processes, the server's clock is everyone's. Returns how long to wait for it.
_NEXT_SLOT = """INSERT INTO send_budgets AS b (channel, next_at)
    VALUES (%(channel)s, extract(epoch FROM clock_timestamp()) + %(gap)s)
    ON CONFLICT (channel) DO UPDATE
        SET next_at = GREATEST(b.next_at, extract(epoch FROM clock_timestamp())) + %(gap)s
    RETURNING b.next_at - %(gap)s - extract(epoch FROM clock_timestamp())"""


BUDGET_MARGIN = 0.2  # a fifth under the platform's rate


class PostgresSendBudget:
    """``leases.SendBudget`` on PostgreSQL: every message takes the channel's next slot
    in ``send_budgets``, ``1 / per_second`` seconds after the one before, whichever
    process sends it; it then waits for its slot. A process killed between taking a
    slot and sending leaves a slot unused, never two messages in one."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def _slot(self, channel: str, gap: float) -> float:
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = _connect(self._dsn)
            found = self._conn.execute(_NEXT_SLOT, {"channel": channel, "gap": gap}).fetchone()
            return float(found[0]) if found else 0.0

    async def take(self, channel: str, per_second: int) -> None:
        if per_second <= 0:
            return
        # A margin, as the process's own window keeps one: a message leaves a little
        # after its slot, and the platform counts arrivals. A process held up for up to
        # a fifth of a second still keeps under the rate (with a tenth, 7 to 9 of some
        # 3 200 sends were refused in tests/test_crash_processes.py's burst).
        gap = (1.0 + BUDGET_MARGIN) / per_second
        wait = await asyncio.to_thread(self._slot, channel, gap)
        if wait > 0:
            await asyncio.sleep(wait)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
