"""One person's events handled one at a time, in the order they came; different
people's side by side. Used by the conversation and by the channels, which must also
send one person's replies in order. With several processes on one database (PostgreSQL)
the channels' turns also take the chat's lock across processes (``across``), once the
process's own turn is theirs: one update of a person at a time, whichever process
received it."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from chatshop.storage.leases import ChatLocks

K = TypeVar("K", bound=Hashable)


class Turns(Generic[K]):
    """A lock per key with work in flight (asyncio's locks are first come, first
    served), forgotten when nobody holds or waits for it."""

    def __init__(self, across: ChatLocks | None = None, name: str = "") -> None:
        self._locks: dict[K, tuple[asyncio.Lock, int]] = {}
        self._across = across
        self._name = name  # what the keys are of, across processes ("telegram")

    def of(self, key: K) -> Turn[K]:
        """``async with turns.of(key):`` waits for ``key``'s turn; the block runs alone
        for that key. (A plain class, not a generator: it is entered twice per update.)"""
        return Turn(self, key)

    def _join(self, key: K) -> asyncio.Lock:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        return lock

    def _leave(self, key: K) -> None:
        lock, users = self._locks[key]
        if users == 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Turn(Generic[K]):
    __slots__ = ("_key", "_lock", "_turns")

    def __init__(self, turns: Turns[K], key: K) -> None:
        self._turns = turns
        self._key = key
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        lock = self._turns._join(self._key)
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting: no longer in the queue
            self._turns._leave(self._key)
            raise
        self._lock = lock
        across = self._turns._across
        if across is not None:
            try:
                await across.hold(self._across_key())
            except BaseException:
                lock.release()
                self._turns._leave(self._key)
                raise

    def _across_key(self) -> str:
        return f"{self._turns._name}:{self._key}"

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        assert self._lock is not None
        try:
            if self._turns._across is not None:
                await self._turns._across.let_go(self._across_key())
        finally:
            self._lock.release()
            self._turns._leave(self._key)
