"""Pacing: sliding windows that never let a burst through, and per-chat windows that are
forgotten when idle. Every scenario runs on virtual time (``tests.virtual_time``)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

from chatshop.delivery.pace import DEFAULT_MARGIN, PerKeyWindows, SlidingWindow
from tests.virtual_time import VirtualTime, most_in_any_window, virtual_time


@pytest.fixture
def virtual() -> Iterator[VirtualTime]:
    yield from virtual_time()


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
