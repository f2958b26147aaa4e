"""Several processes on one database (issue #14): two stores opened on it are two
processes (each holds its own lease); closing one is its process ending. What one holds
the other leaves alone while it lives and takes over once it is gone; the work one
process does for the database (the webhook, the digest) is one process's; a chat is one
process's at a time; a platform's rate is the bot's, whatever the processes.

The outbox and the inbox run on both engines (two processes on one SQLite file are the
bot and ``chatshop digest send``); the rest is PostgreSQL's (on SQLite, one process
serves the chats)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from chatshop.storage import Store, open_store

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def location(store: Store) -> str:
    """What another process opens: the SQLite file, or the PostgreSQL database."""
    if getattr(store, "engine", "sqlite") == "postgresql":
        return str(store.db.dsn)  # type: ignore[attr-defined]
    return str(store.db.path)  # type: ignore[attr-defined]


@pytest.fixture
async def other(store: Store) -> AsyncIterator[Store]:
    """A second process on the same database."""
    opened = await open_store(location(store))
    yield opened
    await opened.close()


def postgresql_only(store: Store) -> None:
    if getattr(store, "engine", "sqlite") != "postgresql":
        pytest.skip("one process serves an SQLite file's chats")


async def queue(store: Store, count: int) -> list[int]:
    (ids,) = [await store.outbox.add(
        [("telegram", str(100 + n), json.dumps({"text": f"Message {n}"}), None)
         for n in range(count)], NOW)]
    return ids


async def test_two_processes_never_take_the_same_message(store: Store, other: Store) -> None:
    await queue(store, 30)
    mine, theirs = await asyncio.gather(store.outbox.due("telegram", NOW, limit=20),
                                        other.outbox.due("telegram", NOW, limit=20))
    assert not {m.id for m in mine} & {m.id for m in theirs}
    assert len(mine) + len(theirs) == 30
    # Each keeps what it took: asking again gives the same, never the other's.
    assert {m.id for m in await store.outbox.due("telegram", NOW)} == {m.id for m in mine}
    assert {m.id for m in await other.outbox.due("telegram", NOW)} == {m.id for m in theirs}


async def test_the_messages_of_a_process_that_died_are_taken_over_at_once(
        store: Store) -> None:
    await queue(store, 5)
    dying = await open_store(location(store))
    taken = await dying.outbox.due("telegram", NOW)
    assert len(taken) == 5
    assert await store.outbox.due("telegram", NOW) == []  # its process is alive
    await dying.outbox.sent(taken[0].id, NOW)
    await dying.close()  # the process ends with four messages claimed, unsent
    again = await store.outbox.due("telegram", NOW)
    assert [m.id for m in again] == [m.id for m in taken[1:]]


async def test_a_message_to_try_again_is_anyone_s(store: Store, other: Store) -> None:
    (only,) = await queue(store, 1)
    (taken,) = await store.outbox.due("telegram", NOW)
    await store.outbox.retry_at(taken.id, NOW, "Telegram en panne")
    assert [m.id for m in await other.outbox.due("telegram", NOW)] == [only]


async def test_events_written_down_by_a_process_that_died_are_taken_over(
        store: Store, other: Store) -> None:
    events = [(str(n), json.dumps({"update_id": n})) for n in range(3)]
    dying = await open_store(location(store))
    assert await dying.inbox.receive("telegram", events, NOW) == {"0", "1", "2"}
    assert await store.inbox.take_over("telegram") == []  # it is alive: they are its own
    await dying.inbox.handled("telegram", "0", NOW)
    await dying.close()  # killed after Telegram had its 200 for 1 and 2
    taken, none = await asyncio.gather(store.inbox.take_over("telegram"),
                                       other.inbox.take_over("telegram"))
    assert sorted([e.event_id for e in taken] + [e.event_id for e in none]) == ["1", "2"]
    assert not (taken and none)  # one transaction takes them all: the other finds none
    assert await store.inbox.take_over("telegram") == []  # now held by a live process


async def test_one_process_registers_the_webhook_and_sends_the_digest(
        store: Store, other: Store) -> None:
    postgresql_only(store)
    assert await store.roles.leads("telegram:webhook")
    assert await store.roles.leads("telegram:webhook")  # kept
    assert not await other.roles.leads("telegram:webhook")
    dying = await open_store(location(store))
    assert await dying.roles.leads("digest:telegram")  # another role: free
    assert not await other.roles.leads("digest:telegram")
    await dying.close()  # the digest's process is gone: the next one to ask has it
    assert await other.roles.leads("digest:telegram")
    assert not await store.roles.leads("digest:telegram")



async def test_a_chat_is_one_process_s_at_a_time(store: Store, other: Store) -> None:
    postgresql_only(store)
    await store.chat_locks.hold("telegram:2000")
    waiting = asyncio.ensure_future(other.chat_locks.hold("telegram:2000"))
    await other.chat_locks.hold("telegram:3000")  # someone else: at once
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await store.chat_locks.let_go("telegram:2000")
    await asyncio.wait_for(waiting, 5)
    await other.chat_locks.let_go("telegram:2000")
    await other.chat_locks.let_go("telegram:3000")


async def test_a_chat_held_by_a_process_that_died_is_free_at_once(store: Store) -> None:
    postgresql_only(store)
    dying = await open_store(location(store))
    await dying.chat_locks.hold("telegram:2000")
    await dying.close()
    await asyncio.wait_for(store.chat_locks.hold("telegram:2000"), 5)
    await store.chat_locks.let_go("telegram:2000")


async def test_the_rate_is_the_bot_s_whatever_the_processes(store: Store,
                                                             other: Store) -> None:
    postgresql_only(store)
    per_second, each = 50, 15

    async def send(process: Store) -> None:
        for _ in range(each):
            await process.send_budget.take("telegram", per_second)

    began = time.monotonic()
    await asyncio.gather(send(store), send(other))
    # 30 messages at 50 a second: the last one's slot is 29 gaps after the first.
    assert time.monotonic() - began >= (2 * each - 1) / per_second * 0.95
