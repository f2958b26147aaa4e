"""The rate limiter: sliding windows that never let a burst through, per-chat windows that are
forgotten when idle, and python-telegram-bot's limiter that retries after a 429.

Every scenario runs on an event loop whose clock jumps straight to the next timer instead of
waiting for it (:class:`VirtualTime`), so minutes of waiting take milliseconds and the times a
test reads are exact. The limiters get that loop's clock; ``asyncio.sleep`` on that loop is the
fake sleep that moves it.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import itertools
import logging
import selectors
import warnings
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from chatshop.channels.ratelimit import (
    DEFAULT_MARGIN,
    PerKeyWindows,
    SlidingWindow,
    TelegramRateLimiter,
    chat_key,
    retry_after_seconds,
)
from tests.fakes.bot_api import FakeBotAPI

T = TypeVar("T")
JSONDict = dict[str, Any]


# ------------------------------------------------------------------------------------ virtual time


class _JumpingSelector(selectors.DefaultSelector):
    """A selector that never blocks: where the loop would wait ``timeout`` seconds for its next
    timer, the virtual clock moves forward by ``timeout`` instead."""

    now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("deadlock: every task is waiting and no timer is set")
        self.now += max(0.0, timeout)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: it starts at 0 and jumps to each timer when idle."""

    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


@dataclass
class VirtualTime:
    loop: VirtualTimeLoop = field(default_factory=VirtualTimeLoop)

    def now(self) -> float:
        return self.loop.time()

    def run(self, scenario: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(scenario)


@pytest.fixture
def virtual() -> Iterator[VirtualTime]:
    time = VirtualTime()
    yield time
    time.run(_cancel_leftovers())  # a failed scenario may leave tasks behind
    time.loop.run_until_complete(time.loop.shutdown_asyncgens())
    time.loop.close()


async def _cancel_leftovers() -> None:
    leftovers = asyncio.all_tasks() - {asyncio.current_task()}
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


def most_in_any_window(times: Sequence[float], period: float) -> int:
    """The largest number of ``times`` inside one window ``[t, t + period)``, over every t."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - period:
            start += 1
        most = max(most, end - start + 1)
    return most


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


# -------------------------------------------------------------------------------- SlidingWindow


def test_no_second_ever_holds_more_than_the_rate_and_the_rate_is_nearly_reached(
    virtual: VirtualTime,
) -> None:
    async def scenario() -> list[float]:
        window = SlidingWindow(25, clock=virtual.now)
        stamps: list[float] = []

        async def one() -> None:
            await window.acquire()
            stamps.append(virtual.now())

        await asyncio.gather(*(one() for _ in range(100)))
        return stamps

    stamps = virtual.run(scenario())

    assert len(stamps) == 100
    assert most_in_any_window(stamps, 1.0) == 25
    # 100 at 25/s: four full windows, the last one opening 3 s after the first.
    assert 3.0 <= stamps[-1] - stamps[0] <= 3.0 / 0.95


def test_a_window_can_be_used_by_a_sender_one_call_at_a_time(virtual: VirtualTime) -> None:
    async def scenario() -> list[float]:
        window = SlidingWindow(80, clock=virtual.now)  # WhatsApp's rate, one sender loop
        stamps = []
        for _ in range(400):
            await window.acquire()
            stamps.append(virtual.now())
        return stamps

    stamps = virtual.run(scenario())

    assert most_in_any_window(stamps, 1.0) == 80
    assert stamps[-1] - stamps[0] <= 4.0 / 0.95


def test_concurrent_waiters_are_served_in_the_order_they_came(virtual: VirtualTime) -> None:
    async def scenario() -> list[tuple[int, float]]:
        window = SlidingWindow(1, clock=virtual.now)
        served: list[tuple[int, float]] = []

        async def customer(number: int) -> None:
            await window.acquire()
            served.append((number, virtual.now()))

        tasks = []
        for number in range(8):
            tasks.append(asyncio.create_task(customer(number)))
            await asyncio.sleep(0.001)  # each one arrives a little after the previous
        await asyncio.gather(*tasks)
        return served

    served = virtual.run(scenario())

    assert [number for number, _ in served] == list(range(8))
    times = [at for _, at in served]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


def test_a_pause_holds_back_callers_already_waiting(virtual: VirtualTime) -> None:
    async def scenario() -> float:
        window = SlidingWindow(1, clock=virtual.now)
        await window.acquire()  # t=0; the next one may go at 1.02
        waiting = asyncio.create_task(window.acquire())
        await asyncio.sleep(0.5)
        window.pause(3.0)  # told at 0.5: nothing before 3.5
        await waiting
        return virtual.now()

    assert virtual.run(scenario()) == pytest.approx(3.5)


def test_an_unlimited_window_never_waits(virtual: VirtualTime) -> None:
    async def scenario() -> float:
        for rate in (None, 0):
            window = SlidingWindow(rate, clock=virtual.now)
            await asyncio.gather(*(window.acquire() for _ in range(1000)))
        return virtual.now()

    assert virtual.run(scenario()) == 0.0


# -------------------------------------------------------------------------------- PerKeyWindows


def test_each_key_has_its_own_window(virtual: VirtualTime) -> None:
    async def scenario() -> dict[str, list[float]]:
        windows: PerKeyWindows[str] = PerKeyWindows(1, clock=virtual.now)
        stamps: dict[str, list[float]] = {"anne": [], "bruno": []}

        async def one(key: str) -> None:
            await windows.acquire(key)
            stamps[key].append(virtual.now())

        await asyncio.gather(*(one(key) for _ in range(3) for key in ("anne", "bruno")))
        return stamps

    stamps = virtual.run(scenario())

    expected = [0.0, 1.0 + DEFAULT_MARGIN, 2 * (1.0 + DEFAULT_MARGIN)]
    assert stamps["anne"] == pytest.approx(expected)
    assert stamps["bruno"] == pytest.approx(expected)


def test_idle_windows_are_forgotten_and_busy_ones_kept(virtual: VirtualTime) -> None:
    async def scenario() -> tuple[int, int, int, float]:
        windows: PerKeyWindows[int] = PerKeyWindows(1, clock=virtual.now)
        await asyncio.gather(*(windows.acquire(chat) for chat in range(10_000)))
        everyone = len(windows)
        await asyncio.sleep(1.5)  # a second and a half later, nobody has written again
        await windows.acquire(42)
        after_a_while = len(windows)

        async def held_while_waiting_for_something_else() -> None:
            async with windows.slot(7):  # as while waiting for the overall window
                await asyncio.sleep(5.0)

        holder = asyncio.create_task(held_while_waiting_for_something_else())  # t=1.5 to 6.5
        await asyncio.sleep(3.0)
        await windows.acquire(99)  # t=4.5: chat 42 is idle, chat 7 is not
        while_held = len(windows)
        await windows.acquire(7)  # still the same window: after the holder, and spaced
        next_in_chat_7 = virtual.now()
        await holder
        return everyone, after_a_while, while_held, next_in_chat_7

    everyone, after_a_while, while_held, next_in_chat_7 = virtual.run(scenario())

    assert everyone == 10_000
    assert after_a_while == 1
    assert while_held == 2
    assert next_in_chat_7 >= 6.5 + 1.0


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
