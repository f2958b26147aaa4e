"""Rate limiting for outgoing messages, so that chatshop never bursts above a platform's limits.

Three layers, from generic to Telegram-specific:

* :class:`SlidingWindow` — at most ``rate`` acquisitions in *any* window of ``period`` seconds
  (the timestamps of the last ``rate`` acquisitions are kept, there is no burst allowance), FIFO
  across concurrent callers, and can be paused after the platform answered "too many requests".
  Senders that are not python-telegram-bot use it directly: the weekly digest broadcast at
  25 msg/s, WhatsApp at 80 msg/s per number.
* :class:`PerKeyWindows` — one :class:`SlidingWindow` per key (a chat), created on demand and
  forgotten once idle, so that 100 000 chats do not mean 100 000 windows kept for ever.
* :class:`TelegramRateLimiter` — python-telegram-bot's ``BaseRateLimiter``, given to
  ``ApplicationBuilder().rate_limiter(...)``: every call that sends or edits a message passes the
  per-chat, per-group and overall windows; a 429 (``RetryAfter``) pauses every such call of the
  bot and the call is retried a few times before the error reaches the caller (the outbox keeps
  the message for later).

A rate of ``0`` or ``None`` means "unlimited" everywhere (benchmarks, tests).
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import math
import time
import warnings
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Generic, TypeVar

from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
JSONDict = dict[str, Any]
ApiResult = bool | JSONDict | list[JSONDict]

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

SENDING_PREFIXES = ("send", "edit", "copy", "forward")
"""Bot API methods whose name starts with one of these send or change a message and count
against Telegram's flood limits (sendMessage, sendPhoto, sendMediaGroup, editMessageText,
copyMessage, forwardMessages, ...; sendChatAction too, as the fake Bot API of the tests counts
it). Each call counts once, even a media group. Everything else (getUpdates,
answerCallbackQuery, getFile, setMyCommands, getMe, ...) is never delayed."""

# Per chat, Telegram asks for "no more than about one message per second" but "may allow short
# bursts". A customer's tap usually produces two messages in the same chat (the edited screen and
# a notification), so we allow bursts of two while keeping the long-run average at exactly one
# per second: at most 2 messages in any 2 seconds. A strict 1 per second would make every such
# second message lag a full second behind, visibly.
DEFAULT_PER_CHAT_RATE = 2
DEFAULT_PER_CHAT_PERIOD = 2.0


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
        if rate is not None and rate < 0:
            raise ValueError(f"rate must be positive, 0 or None (unlimited), not {rate}")
        if period <= 0 or margin < 0:
            raise ValueError(f"period must be > 0 and margin >= 0, not {period} and {margin}")
        self.rate: int | None = None if rate is None or rate == 0 else int(rate)
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
        if rate is not None and rate < 0:
            raise ValueError(f"rate must be positive, 0 or None (unlimited), not {rate}")
        self.rate: int | None = None if rate is None or rate == 0 else int(rate)
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


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds.

    In python-telegram-bot 22 ``RetryAfter.retry_after`` is an ``int`` (a ``float`` when not
    whole) and warns that it will become a ``datetime.timedelta``; it already is one when the
    environment sets ``PTB_TIMEDELTA=true``. Both are accepted, and the warning silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = error.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"unexpected RetryAfter.retry_after: {value!r}")


def chat_key(data: JSONDict) -> int | str | None:
    """The chat a Bot API call writes to, from its parameters: an int id, an ``@username`` of a
    channel or supergroup, or None (inline-message edits have no chat)."""
    chat_id = data.get("chat_id")
    if chat_id is None:
        return None
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id)
    try:
        return int(text)  # an id passed as a string is the same chat as the int
    except ValueError:
        return text


def _is_group(chat: int | str) -> bool:
    # Private chats have positive ids; groups, supergroups and channels negative ones, and only
    # the latter two can be addressed by @username.
    return isinstance(chat, str) or chat < 0


class TelegramRateLimiter(BaseRateLimiter[int]):
    """python-telegram-bot's rate limiter for chatshop::

        ApplicationBuilder().token(token).rate_limiter(TelegramRateLimiter()).build()

    Calls that send or edit messages (see :data:`SENDING_PREFIXES`) wait for three windows:
    their chat's (``per_chat_rate`` per ``per_chat_period`` s), their group's or channel's
    (``per_group_rate`` per ``per_group_period`` s, Telegram's 20 a minute) and the bot's overall
    one (``overall_rate`` per second, Telegram's 30). Other calls are never delayed.

    On ``RetryAfter`` (HTTP 429) every sending call of the bot pauses for the time Telegram
    asked (Telegram's flood control is per bot), and the call is retried up to ``max_retries``
    times; then the error is raised for the caller to keep the message for later.
    ``rate_limit_args`` (an int), when given, replaces ``max_retries`` for that call; note that
    python-telegram-bot drops a falsy value, so ``rate_limit_args=0`` passed through a ``Bot``
    method arrives as ``None`` (default retries) — only a direct :meth:`process_request` sees 0.

    A rate of 0 or ``None`` disables that window (``overall_rate=None, per_chat_rate=None,
    per_group_rate=None``: no throttling at all, for benchmarks); 429s are still honoured.
    """

    def __init__(
        self,
        overall_rate: int | None = FloodLimit.MESSAGES_PER_SECOND,
        per_chat_rate: int | None = DEFAULT_PER_CHAT_RATE,
        per_chat_period: float = DEFAULT_PER_CHAT_PERIOD,
        max_retries: int = 3,
        *,
        per_group_rate: int | None = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        per_group_period: float = 60.0,
        margin: float = DEFAULT_MARGIN,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, not {max_retries}")
        self.max_retries = max_retries
        self._margin = margin
        self._overall = SlidingWindow(overall_rate, 1.0, margin=margin, clock=clock, sleep=sleep)
        self._per_chat: PerKeyWindows[int | str] = PerKeyWindows(
            per_chat_rate, per_chat_period, margin=margin, clock=clock, sleep=sleep
        )
        self._per_group: PerKeyWindows[int | str] = PerKeyWindows(
            per_group_rate, per_group_period, margin=margin, clock=clock, sleep=sleep
        )

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> ApiResult:
        """Make the call when the limits allow it, retrying after a 429 (see the class)."""
        if not endpoint.startswith(SENDING_PREFIXES):
            return await callback(*args, **kwargs)
        retries = self.max_retries if rate_limit_args is None else max(0, rate_limit_args)
        chat = chat_key(data)
        attempt = 0
        while True:
            await self._wait_turn(chat)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = retry_after_seconds(error)
                self._overall.pause(seconds + self._margin)
                if attempt >= retries:
                    log.warning(
                        "Telegram flood control on %s: retry after %s s, given up after %d retries",
                        endpoint,
                        seconds,
                        attempt,
                    )
                    raise
                attempt += 1
                log.warning(
                    "Telegram flood control on %s: retry after %s s, retry %d of %d",
                    endpoint,
                    seconds,
                    attempt,
                    retries,
                )

    async def _wait_turn(self, chat: int | str | None) -> None:
        # The chat's and group's windows are held while waiting for the overall one, and all are
        # recorded at the moment the overall one lets the call through: the time it is sent.
        async with AsyncExitStack() as held:
            if chat is not None:
                await held.enter_async_context(self._per_chat.slot(chat))
                if _is_group(chat):
                    await held.enter_async_context(self._per_group.slot(chat))
            await self._overall.acquire()
