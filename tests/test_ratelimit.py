"""python-telegram-bot's rate limiter: Telegram's overall, per-chat and per-group windows,
and a 429 waited out and retried.

Every scenario runs on virtual time (``tests.virtual_time``): the limiters get that loop's
clock, and ``asyncio.sleep`` on that loop is the fake sleep that moves it.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import warnings
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from chatshop.channels.ratelimit import TelegramRateLimiter, chat_key, retry_after_seconds
from chatshop.delivery.pace import DEFAULT_MARGIN
from tests.fakes.bot_api import FakeBotAPI
from tests.virtual_time import VirtualTime, most_in_any_window, virtual_time

T = TypeVar("T")
JSONDict = dict[str, Any]


@pytest.fixture
def virtual() -> Iterator[VirtualTime]:
    yield from virtual_time()


# ------------------------------------------------------------------------------- a fake Telegram


@dataclass
class Call:
    endpoint: str
    chat: object
    at: float


class FakeTelegram:
    """The far side of the limiter (python-telegram-bot's request callback): records when each
    call arrives and answers 429 to a chat's next calls when told to."""

    def __init__(self, virtual: VirtualTime) -> None:
        self.virtual = virtual
        self.calls: list[Call] = []
        self._floods: dict[object, list[int | dtm.timedelta]] = {}

    def flood(self, chat: object, *retry_afters: int | dtm.timedelta) -> None:
        """The next calls to ``chat`` get ``RetryAfter`` with these waits, one each."""
        self._floods.setdefault(chat, []).extend(retry_afters)

    def times(self, chat: object = None, endpoint: str | None = None) -> list[float]:
        return [
            c.at
            for c in self.calls
            if (chat is None or c.chat == chat) and (endpoint is None or c.endpoint == endpoint)
        ]

    async def post(self, endpoint: str, data: JSONDict) -> JSONDict:
        chat = data.get("chat_id")
        self.calls.append(Call(endpoint, chat, self.virtual.now()))
        if self._floods.get(chat):
            raise retry_after(self._floods[chat].pop(0))
        return {"endpoint": endpoint, **data}


def retry_after(wait: int | dtm.timedelta) -> RetryAfter:
    """Telegram's 429, as python-telegram-bot raises it (its constructor warns about the future
    type of ``retry_after`` on its own; that is not what these tests look at)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return RetryAfter(wait)


async def call(
    limiter: TelegramRateLimiter,
    telegram: FakeTelegram,
    endpoint: str,
    rate_limit_args: int | None = None,
    **data: Any,
) -> Any:
    """A Bot API call through the limiter, the way ExtBot makes it."""
    return await limiter.process_request(
        callback=telegram.post,
        args=(endpoint, data),
        kwargs={},
        endpoint=endpoint,
        data=data,
        rate_limit_args=rate_limit_args,
    )


async def later(delay: float, coroutine: Coroutine[Any, Any, T]) -> T:
    await asyncio.sleep(delay)
    return await coroutine


# -------------------------------------------------------------------------- TelegramRateLimiter


def test_no_more_than_thirty_messages_in_any_second_across_chats(virtual: VirtualTime) -> None:
    async def scenario() -> FakeTelegram:
        telegram = FakeTelegram(virtual)
        limiter = TelegramRateLimiter(clock=virtual.now)
        await asyncio.gather(
            *(
                call(limiter, telegram, "sendMessage", chat_id=chat, text="Nouveautés")
                for chat in range(1, 301)
            )
        )
        return telegram

    telegram = virtual.run(scenario())

    times = telegram.times()
    assert len(times) == 300
    assert most_in_any_window(times, 1.0) == 30
    assert max(times) <= 9.0 / 0.95


def test_chats_do_not_slow_each_other_down(virtual: VirtualTime) -> None:
    async def scenario() -> FakeTelegram:
        telegram = FakeTelegram(virtual)
        limiter = TelegramRateLimiter(clock=virtual.now)  # 2 messages per 2 s in a chat
        await asyncio.gather(
            *(
                call(limiter, telegram, endpoint, chat_id=chat, text="…")
                for endpoint in ("editMessageText", "sendMessage", "sendPhoto")
                for chat in (1001, 1002)
            )
        )
        return telegram

    telegram = virtual.run(scenario())

    # The edit and the notification a tap produces go out at once; a third message waits.
    for chat in (1001, 1002):
        assert telegram.times(chat) == pytest.approx([0.0, 0.0, 2.0 + DEFAULT_MARGIN])


def test_a_chat_is_spaced_from_when_its_message_was_sent_not_when_it_started_waiting(
    virtual: VirtualTime,
) -> None:
    async def scenario() -> list[float]:
        telegram = FakeTelegram(virtual)
        limiter = TelegramRateLimiter(
            overall_rate=2, per_chat_rate=1, per_chat_period=1.0, clock=virtual.now
        )
        await asyncio.gather(
            call(limiter, telegram, "sendMessage", chat_id=1, text="a"),
            call(limiter, telegram, "sendMessage", chat_id=2, text="b"),
            call(limiter, telegram, "sendMessage", chat_id=3, text="c1"),  # waits for overall
            call(limiter, telegram, "sendMessage", chat_id=3, text="c2"),
        )
        return telegram.times(3)

    first, second = virtual.run(scenario())

    assert first == pytest.approx(1.0 + DEFAULT_MARGIN)
    assert second - first >= 1.0


def test_groups_and_channels_get_twenty_messages_a_minute(virtual: VirtualTime) -> None:
    async def scenario() -> FakeTelegram:
        telegram = FakeTelegram(virtual)
        limiter = TelegramRateLimiter(per_chat_rate=None, clock=virtual.now)
        await asyncio.gather(
            *(
                call(limiter, telegram, "sendMessage", chat_id=chat, text="Annonce")
                for chat in (4242, -100123, "@mairie_rochechouart")
                for _ in range(21)
            )
        )
        return telegram

    telegram = virtual.run(scenario())

    for group in (-100123, "@mairie_rochechouart"):
        times = telegram.times(group)
        assert most_in_any_window(times, 60.0) == 20
        assert 60.0 <= times[-1] - times[0] <= 60.0 + 2 * DEFAULT_MARGIN
    assert max(telegram.times(4242)) < 1.0  # a private chat is no group


def test_retry_after_is_waited_out_and_the_message_goes_through(
    virtual: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> tuple[Any, FakeTelegram]:
        telegram = FakeTelegram(virtual)
        telegram.flood(1001, 2, 2)
        limiter = TelegramRateLimiter(clock=virtual.now)
        result, *_ = await asyncio.gather(
            call(limiter, telegram, "sendMessage", chat_id=1001, text="Réservé ✅"),
            later(0.5, call(limiter, telegram, "sendMessage", chat_id=2002, text="pendant")),
            later(2.5, call(limiter, telegram, "editMessageText", chat_id=3003, text="aussi")),
        )
        return result, telegram

    with caplog.at_level(logging.WARNING, logger="chatshop.channels.ratelimit"):
        result, telegram = virtual.run(scenario())

    assert result["text"] == "Réservé ✅"
    tries = telegram.times(1001)
    assert len(tries) == 3
    assert tries[1] - tries[0] >= 2.0
    assert tries[2] - tries[1] >= 2.0
    # Telegram's flood control is per bot: calls made during a pause wait for its end.
    assert telegram.times(2002)[0] >= 2.0
    assert telegram.times(3003)[0] >= 4.0
    floods = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(floods) == 2
    assert all("sendMessage" in text and "retry after 2" in text for text in floods)


def test_after_max_retries_the_error_reaches_the_caller(virtual: VirtualTime) -> None:
    async def scenario() -> FakeTelegram:
        telegram = FakeTelegram(virtual)
        telegram.flood(1001, *[1] * 10)
        limiter = TelegramRateLimiter(max_retries=3, clock=virtual.now)
        with pytest.raises(RetryAfter):
            await call(limiter, telegram, "sendMessage", chat_id=1001, text="x")
        return telegram

    assert len(virtual.run(scenario()).times(1001)) == 4


def test_rate_limit_args_sets_the_retries_of_one_call(virtual: VirtualTime) -> None:
    async def scenario() -> FakeTelegram:
        telegram = FakeTelegram(virtual)
        telegram.flood(1001, *[1] * 10)
        telegram.flood(2002, *[1] * 10)
        limiter = TelegramRateLimiter(clock=virtual.now)
        with pytest.raises(RetryAfter):
            await call(limiter, telegram, "sendMessage", rate_limit_args=0, chat_id=1001)
        with pytest.raises(RetryAfter):
            await call(limiter, telegram, "sendMessage", rate_limit_args=1, chat_id=2002)
        return telegram

    telegram = virtual.run(scenario())

    assert len(telegram.times(1001)) == 1
    assert len(telegram.times(2002)) == 2


def test_retry_after_as_a_timedelta_is_understood(
    virtual: VirtualTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # python-telegram-bot's future behaviour

    async def scenario() -> list[float]:
        telegram = FakeTelegram(virtual)
        telegram.flood(1001, dtm.timedelta(seconds=1.5))
        limiter = TelegramRateLimiter(clock=virtual.now)
        await call(limiter, telegram, "sendMessage", chat_id=1001, text="x")
        return telegram.times(1001)

    first, second = virtual.run(scenario())

    assert 1.5 <= second - first < 2.0


def test_retry_after_seconds_reads_both_representations(monkeypatch: pytest.MonkeyPatch) -> None:
    assert retry_after_seconds(retry_after(7)) == 7.0
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    assert retry_after_seconds(retry_after(dtm.timedelta(seconds=2.5))) == 2.5


def test_updates_and_answers_are_never_delayed(virtual: VirtualTime) -> None:
    async def scenario() -> FakeTelegram:
        telegram = FakeTelegram(virtual)
        telegram.flood(1001, 30)  # the bot is paused for 30 s...
        limiter = TelegramRateLimiter(clock=virtual.now)
        busy = [
            asyncio.create_task(call(limiter, telegram, "sendMessage", chat_id=c, text="x"))
            for c in range(1001, 1100)
        ]  # ...and has a queue of messages to send
        await asyncio.sleep(1.0)
        for endpoint in ("getUpdates", "answerCallbackQuery", "getMe", "getFile", "setMyCommands"):
            await call(limiter, telegram, endpoint, chat_id=1001)
        await asyncio.gather(*busy)
        return telegram

    telegram = virtual.run(scenario())

    for endpoint in ("getUpdates", "answerCallbackQuery", "getMe", "getFile", "setMyCommands"):
        assert telegram.times(endpoint=endpoint) == [1.0]


def test_unlimited_mode_never_waits(virtual: VirtualTime) -> None:
    async def scenario() -> FakeTelegram:
        telegram = FakeTelegram(virtual)
        limiter = TelegramRateLimiter(
            overall_rate=None, per_chat_rate=0, per_group_rate=None, clock=virtual.now
        )
        await asyncio.gather(
            *(
                call(limiter, telegram, "sendMessage", chat_id=chat, text="bench")
                for chat in (1001, -100123)
                for _ in range(500)
            )
        )
        return telegram

    telegram = virtual.run(scenario())

    assert len(telegram.calls) == 1000
    assert set(telegram.times()) == {0.0}


def test_the_chat_is_found_in_the_call_parameters() -> None:
    assert chat_key({"chat_id": 1001, "text": "x"}) == 1001
    assert chat_key({"chat_id": "1001"}) == 1001
    assert chat_key({"chat_id": "@mairie"}) == "@mairie"
    assert chat_key({"inline_message_id": "AAQ", "text": "x"}) is None


# ------------------------------------------------------------- with python-telegram-bot itself


# python-telegram-bot's RetryAfter warns about its future type when it is raised.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_a_real_bot_through_the_limiter_is_never_refused(virtual: VirtualTime) -> None:
    async def scenario() -> FakeBotAPI:
        api = FakeBotAPI(clock=virtual.now, global_per_second=30, per_chat_per_second=2)
        users = [api.user(5000 + n, started=True) for n in range(60)]
        bot = ExtBot(
            "123:ABC",
            request=api.request(),
            get_updates_request=api.request(),
            rate_limiter=TelegramRateLimiter(clock=virtual.now),
        )
        async with bot:
            api.fail_next(429, method="sendMessage", retry_after=1)  # one 429, as in real life
            await asyncio.gather(
                *(bot.send_message(user.id, f"Message {k}") for user in users for k in range(2))
            )
        return api

    api = virtual.run(scenario())

    sent = [c for c in api.calls if c.method == "sendMessage"]
    assert len(sent) == 121  # 120 messages, one of them twice
    assert api.rejections == []  # the fake's own windows never had to refuse a call
    assert sum(len(api.messages(5000 + n)) for n in range(60)) == 120
