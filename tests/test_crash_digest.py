"""Crash tests of the weekly digest: the real ``chatshop digest send`` (and ``chatshop
run``) on a database file, killed with SIGKILL while it delivers and run again at once,
at chatshop's real timeouts, against the fake Bot API served on the loopback address
(the machinery is test_crash.py's).

- Killed 20 times while it delivers, then run again at once: the rerun takes over what
  the dead senders had taken (their leases died with them), finishes the run, reports
  nothing waiting and exits 0. Every subscriber got the digest; a message Telegram took
  just before a kill, not yet recorded as sent, goes again (at most one per kill:
  Telegram has no idempotency key); the figure is printed.
- Killed once, then ``chatshop run`` started: its scheduled digest finishes the run at
  once.
- Two live senders: the second never takes what the first holds, says how many still
  wait and exits with status 1; once the first is killed, a rerun reaches them at once,
  each subscriber exactly once.

The moments are drawn from a seeded random generator (``CHATSHOP_CRASH_SEED``). Run with
``-s`` to see the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI, FakeCall
from tests.fakes.bot_api_http import BotAPIServer
from tests.test_crash import (
    KILLS,
    OWNERS,
    SEED,
    STEP,
    BotProcess,
    read_database,
    seed,
    sent_texts,
)

pytestmark = pytest.mark.usefixtures("clean_environment")

STILL_WAITING = "relancez « chatshop digest send »"  # what to do, in French


def plain(text: str) -> str:
    """French typography's no-break spaces as plain ones, to compare with."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
async def server() -> AsyncIterator[BotAPIServer]:
    async with BotAPIServer(FakeBotAPI()) as running:
        yield running


@pytest.fixture
async def bot(tmp_path: Path, server: BotAPIServer) -> AsyncIterator[BotProcess]:
    process = BotProcess(tmp_path, tmp_path / "chatshop.db", server)
    try:
        yield process
    finally:
        if process.running:
            await process.kill()
        assert server.failures == []


async def subscribed(bot: BotProcess, subscribers: Sequence[int]) -> None:
    """A shop with news, and ``subscribers`` (Telegram ids) to the whole territory."""
    await seed(bot.database, {OWNERS[0]: [("Savon lavande", 6), ("Miel de montagne", 4)]},
               subscribers)
    for external_id in subscribers:
        bot.api.user(external_id, f"Abonné {external_id}", started=True)


def digests_received(api: FakeBotAPI, subscribers: Sequence[int]) -> Counter[int]:
    return Counter({s: sum(1 for t in sent_texts(api, s) if t.startswith("📰"))
                    for s in subscribers})


def deliveries(bot: BotProcess) -> tuple[Counter[str], int]:
    """The deliveries' statuses, and how many runs are not finished."""
    with contextlib.closing(read_database(bot.database)) as db:
        statuses = Counter(row[0] for row in db.execute(
            "SELECT status FROM digest_deliveries"))
        unfinished = db.execute(
            "SELECT count(*) FROM digest_runs WHERE finished_at IS NULL").fetchone()[0]
    return statuses, int(unfinished)


def _reached_or_exited(reached: asyncio.Event, process: asyncio.subprocess.Process) -> bool:
    return reached.is_set() or process.returncode is not None


async def _send_and_kill(bot: BotProcess, server: BotAPIServer, wanted: int, *,
                         worst: bool, after: float = 0.0) -> bool:
    """``chatshop digest send``, killed once ``wanted`` digests went out: at the worst
    moment (Telegram has taken the last one and the sender has not heard it yet: the
    answer is never written) or ``after`` seconds later. Whether it was killed while
    sending (and not after it had finished)."""
    sent: list[FakeCall] = []
    reached = asyncio.Event()

    def answered(call: FakeCall) -> None:
        if call.method == "sendMessage" and call.ok:
            sent.append(call)
            if len(sent) == wanted:
                if worst:
                    bot.kill_now()
                reached.set()

    server.answered = answered
    try:
        await bot.start("digest", "send")
        process = bot.process
        assert process is not None
        await bot.api.wait_for(functools.partial(_reached_or_exited, reached, process),
                               timeout=STEP)
        if reached.is_set() and not worst:
            await asyncio.sleep(after)
        await bot.kill()
    finally:
        server.answered = None
    return reached.is_set()


async def test_a_digest_run_killed_20_times_is_finished_by_a_rerun_at_once(
        server: BotAPIServer, bot: BotProcess) -> None:
    api = server.api
    rng = random.Random(SEED + 1)
    subscribers = list(range(5000, 5200))
    await subscribed(bot, subscribers)

    began = time.monotonic()
    attempts = in_flight = 0
    while bot.kills < KILLS:
        attempts += 1
        assert attempts < 3 * KILLS, "the run ended before it could be killed 20 times"
        # Killed once a few digests went out (1 to 5): half of the time at the worst
        # moment, else up to 40 ms later, anywhere. Started again at once each time.
        worst = rng.random() < 0.5
        reached = await _send_and_kill(bot, server, rng.randint(1, 5), worst=worst,
                                       after=rng.uniform(0.0, 0.04))
        in_flight += worst and reached
    killed, starts = time.monotonic() - began, bot.starts

    # Run again at once, as an operator does after a crash: this run is finished now.
    await bot.start("digest", "send")
    assert await bot.wait(STEP) == 0, bot.tail()
    report = plain(bot.output())
    elapsed = time.monotonic() - began

    statuses, unfinished = deliveries(bot)
    assert (statuses, unfinished) == ({"sent": len(subscribers)}, 0)
    assert f"envoyées {len(subscribers)} ;" in report, report
    assert "encore en attente 0." in report, report
    assert STILL_WAITING not in report
    received = digests_received(api, subscribers)
    assert min(received.values()) >= 1, [s for s, n in received.items() if n == 0]
    duplicates = sum(n - 1 for n in received.values())
    # Exactly once is impossible for the message in flight when the process dies (sent,
    # not yet recorded as sent): at most one duplicate per kill.
    # A kill at the worst moment always makes one.
    assert in_flight <= duplicates <= bot.kills
    print(f"\ndigest run (seed {SEED}): {bot.kills} kills ({in_flight} at the worst moment),"
          f" {starts} starts in {killed:.0f} s, then one rerun: finished"
          f" {elapsed - killed:.1f} s later; {len(subscribers)} subscribers, each reached;"
          f" {duplicates} duplicates (in flight at a kill), at most"
          f" {max(received.values())} for one subscriber")


async def test_the_scheduled_digest_of_a_restarted_bot_finishes_a_killed_run_at_once(
        server: BotAPIServer, bot: BotProcess) -> None:
    api = server.api
    subscribers = list(range(5300, 5340))  # all taken by the first sender's first batch
    await subscribed(bot, subscribers)
    assert await _send_and_kill(bot, server, 3, worst=True)

    began = time.monotonic()
    await bot.start("run")

    def finished() -> bool:
        return deliveries(bot) == (Counter({"sent": len(subscribers)}), 0)
    await api.wait_for(finished, timeout=STEP)  # the digest job looks 5 s after start
    elapsed = time.monotonic() - began
    assert await bot.stop() == 0, bot.tail()

    received = digests_received(api, subscribers)
    assert min(received.values()) == 1
    assert sum(received.values()) == len(subscribers) + 1  # the one in flight at the kill
    print(f"\nrestarted bot: the killed run finished {elapsed:.1f} s after the start")


async def test_a_second_sender_leaves_what_a_live_one_holds_and_exits_1_saying_so(
        tmp_path: Path, server: BotAPIServer, bot: BotProcess) -> None:
    api = server.api
    subscribers = list(range(5400, 5480))  # the first sender takes 50 of them at once
    await subscribed(bot, subscribers)
    # Its first message meets Telegram's flood control: it waits, holding its 50.
    api.fail_next(status=429, retry_after=600, method="sendMessage")
    await bot.start("digest", "send")
    await api.wait_for(lambda: any(c.method == "sendMessage" and c.status == 429
                                   for c in api.calls), timeout=STEP)

    second = BotProcess(tmp_path, bot.database, server, name="second")
    try:
        await second.start("digest", "send")
        assert await second.wait(STEP) == 1, second.tail()
        report = plain(second.output())
        assert bot.running  # the first one still holds its subscribers
        assert "envoyées 30 ;" in report, report
        assert "encore en attente 50." in report, report
        assert f"50 abonnés attendent encore les nouvelles de la semaine : {STILL_WAITING}" \
            in report, report
        assert sum(digests_received(api, subscribers).values()) == 30

        await bot.kill()  # then at once, the rerun the sentence asks for
        await second.start("digest", "send")
        assert await second.wait(STEP) == 0, second.tail()
        assert "encore en attente 0." in plain(second.output())
    finally:
        if second.running:
            await second.kill()

    assert deliveries(bot) == (Counter({"sent": len(subscribers)}), 0)
    # The message refused with a 429 was not sent: nobody got anything twice.
    assert set(digests_received(api, subscribers).values()) == {1}
