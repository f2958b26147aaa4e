"""Waiting, in a test, for a fake platform's state to change: the fakes call ``notify``
after every request they serve and every payload they build, and a test waits with
``until`` for a condition instead of sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class Changes:
    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        """Something changed: wake whoever waits (from any thread or loop)."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            loop = waiter.get_loop()
            if not waiter.done() and not loop.is_closed():
                loop.call_soon_threadsafe(_wake, waiter)

    async def wait(self, seconds: float) -> None:
        """Until the next change, ``seconds`` at most."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait([waiter], timeout=seconds)
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def until(self, predicate: Callable[[], Any], timeout: float,  # noqa: ASYNC109
                    recent: Callable[[], str]) -> Any:
        """Wait until ``predicate()`` is truthy and return its value. Re-checked at every
        change and every 20 ms (for state outside the fake). A predicate that raises
        counts as false; on timeout its last error is raised, with ``recent()`` saying
        what the fake saw last."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last_error: Exception | None = None
        while True:
            try:
                value = predicate()
            except Exception as exc:
                value, last_error = None, exc
            else:
                last_error = None
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                message = f"condition not met within {timeout} s ({recent()})"
                if last_error is not None:
                    raise AssertionError(message) from last_error
                raise AssertionError(message)
            await self.wait(min(remaining, 0.02))


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
