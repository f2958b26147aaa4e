"""Pacing what leaves chatshop, so that it never bursts above a platform's limits.

* :class:`SlidingWindow` — at most ``rate`` acquisitions in *any* window of ``period`` seconds
  (the timestamps of the last ``rate`` acquisitions are kept, there is no burst allowance), FIFO
  across concurrent callers, and can be paused after the platform answered "too many requests".
  The weekly digest broadcast paces itself with one (25 msg/s), WhatsApp with another (80 msg/s
  per number).
* :class:`PerKeyWindows` — one :class:`SlidingWindow` per key (a chat), created on demand and
  forgotten once idle, so that 100 000 chats do not mean 100 000 windows kept for ever.
* :class:`Pace` — what a sender needs of a pace: wait for its turn.

A rate of ``0`` or ``None`` means "unlimited" everywhere (benchmarks, tests). Nothing here knows
a platform: it must not import ``telegram``, ``pywa`` or any channel (the Telegram limiter built
on these windows is ``chatshop.channels.ratelimit``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Generic, Protocol, TypeVar

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

K = TypeVar("K", bound=Hashable)

DEFAULT_MARGIN = 0.02
"""Seconds added to every window's period. Our timestamps are taken when a request leaves, but
the platform counts arrivals: two requests sent exactly one period apart can arrive a little less
than a period apart when the first one was slower on the network. Monotonic clocks can also be
coarse (about 16 ms on Windows). 20 ms covers both for a warm connection and costs 2 % of the
throughput of a one-second window, far less than one 429 (which stalls the whole bot for seconds).
"""

_RESOLUTION = 1e-6
"""A wait shorter than this is no wait: clocks and asyncio's timers are not finer, and sleeping
for a rounding error could spin for ever on a clock that does not move by itself."""


def limit(rate: int | None) -> int | None:
    """A rate as given (a count per period; 0 or None: unlimited) as kept: None when
    unlimited; a negative one is refused."""
    if rate is not None and rate < 0:
        raise ValueError(f"rate must be positive, 0 or None (unlimited), not {rate}")
    return None if rate is None or rate == 0 else int(rate)


class Pace(Protocol):
    """Something a sender waits on before each message (a :class:`SlidingWindow`)."""

    async def acquire(self) -> None:
        """Wait until one more message may go, and count it."""
        ...


class SlidingWindow:
    """At most ``rate`` acquisitions in any window of ``period`` seconds (plus ``margin``).

    This is a true sliding window over the times of the last ``rate`` acquisitions, not a token
    bucket: an observer counting calls in any window of ``period`` seconds never sees more than
    ``rate`` of them. Concurrent callers are served in the order they arrived. ``rate`` of 0 or
    ``None``: unlimited (only :meth:`pause` makes callers wait).
    """

    def __init__(
        self,
        rate: int | None,
        period: float = 1.0,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if period <= 0 or margin < 0:
            raise ValueError(f"period must be > 0 and margin >= 0, not {period} and {margin}")
        self.rate = limit(rate)
        self.period = period
        self._span = period + margin
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque(maxlen=self.rate or 0)
        self._paused_until = -math.inf
        # Waiting happens while holding the lock, so that callers queue in arrival order (an
        # asyncio.Lock wakes its waiters first in, first out) and none overtakes another.
        self._lock = asyncio.Lock()
        self._users = 0  # callers inside slot(), waiting or not: such a window is not idle

    def delay(self) -> float:
        """Seconds before an acquisition would be allowed (0: right now)."""
        ready = self._paused_until
        if self.rate is not None and len(self._stamps) >= self.rate:
            ready = max(ready, self._stamps[0] + self._span)
        return max(0.0, ready - self._clock())

    def pause(self, seconds: float) -> None:
        """Allow no acquisition for ``seconds`` from now (the platform said "retry after");
        never shortens a pause already in force. Callers already waiting respect it too."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def idle(self) -> bool:
        """True when nobody uses the window and forgetting it would change nothing."""
        return (
            self._users == 0
            and (not self._stamps or self._stamps[-1] + self._span <= self._clock())
            and self._paused_until <= self._clock()
        )

    async def acquire(self) -> None:
        """Wait until an acquisition is allowed, and record it."""
        async with self.slot():
            pass

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait until an acquisition is allowed and keep the window to ourselves until the block
        exits; the acquisition is recorded then (not if the block raises).

        This lets a caller wait for several windows in turn and record them all at the same
        moment, the one when the last window let it through::

            async with per_chat.slot():
                await overall.acquire()
            await send()
        """
        self._users += 1
        try:
            async with self._lock:
                # Loop: a pause may have been set while we slept.
                while (delay := self.delay()) > _RESOLUTION:
                    await self._sleep(delay)
                yield
                if self.rate is not None:
                    self._stamps.append(self._clock())
        finally:
            self._users -= 1


class PerKeyWindows(Generic[K]):
    """A :class:`SlidingWindow` per key (a chat id), created when first needed and forgotten
    once idle (unused for longer than its period), so memory follows the active chats only.
    ``rate`` of 0 or ``None``: unlimited, no window is ever kept."""

    def __init__(
        self,
        rate: int | None,
        period: float = 1.0,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = limit(rate)
        self.period = period
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        # Least recently used first: forgetting idle windows only ever looks at the front.
        self._windows: OrderedDict[K, SlidingWindow] = OrderedDict()

    def __len__(self) -> int:
        """How many windows are kept right now."""
        return len(self._windows)

    async def acquire(self, key: K) -> None:
        """Wait until ``key`` may have one more acquisition, and record it."""
        async with self.slot(key):
            pass

    @asynccontextmanager
    async def slot(self, key: K) -> AsyncIterator[None]:
        """:meth:`SlidingWindow.slot` of ``key``'s window."""
        if self.rate is None:
            yield
            return
        self._forget_idle()
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = SlidingWindow(
                self.rate, self.period, margin=self._margin, clock=self._clock, sleep=self._sleep
            )
        else:
            self._windows.move_to_end(key)
        async with window.slot():
            yield

    def _forget_idle(self) -> None:
        # Amortised O(1): each window is dropped once; stop at the first one still in use (it
        # was used later than those before it, and the ones behind it will go on a later call).
        while self._windows:
            key, window = next(iter(self._windows.items()))
            if not window.idle():
                return
            del self._windows[key]
