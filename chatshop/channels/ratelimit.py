"""Telegram's flood limits, as python-telegram-bot's rate limiter.

:class:`TelegramRateLimiter` is python-telegram-bot's ``BaseRateLimiter``, given to
``ApplicationBuilder().rate_limiter(...)``: every call that sends or edits a message passes the
per-chat, per-group and overall windows; a 429 (``RetryAfter``) pauses every such call of the
bot and the call is retried a few times before the error reaches the caller (the outbox keeps
the message for later). The windows themselves are generic and live in
``chatshop.delivery.pace``, which senders that are not python-telegram-bot use directly.

A rate of ``0`` or ``None`` means "unlimited" everywhere (benchmarks, tests).
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from typing import Any

from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from chatshop.delivery.pace import DEFAULT_MARGIN, Clock, PerKeyWindows, Sleep, SlidingWindow

__all__ = [
    "DEFAULT_PER_CHAT_PERIOD",
    "DEFAULT_PER_CHAT_RATE",
    "SENDING_PREFIXES",
    "TelegramRateLimiter",
    "chat_key",
    "retry_after_seconds",
]

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
ApiResult = bool | JSONDict | list[JSONDict]

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
        shared: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, not {max_retries}")
        self.max_retries = max_retries
        self._margin = margin
        # The overall rate across the processes of the database (``shared`` waits for
        # this call's slot in it), on top of this process's own window.
        self._shared = shared
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
            if self._shared is not None:
                await self._shared()
