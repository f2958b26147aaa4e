"""The unit of work: several writes in one transaction, kept only if committed, and the
use cases that need one (erasing a customer, a reminder with its message).

What is checked is what is stored (and what the next read of a session says), never
how: a failure in the middle is a real one, an SQLite trigger refusing the write.
"""

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence

import pytest

from chatshop.domain.models import Channel, Reservation, ReservationStatus, User
from chatshop.errors import WrongState
from chatshop.services import build_services
from chatshop.storage import Store, open_store
from chatshop.storage.rows import INTEGRITY_ERRORS
from tests.conftest import OPERATOR, FakeClock, Territory

Outgoing = tuple[Channel, str, str, int | None]


def raw(store: Store) -> sqlite3.Connection:
    """A connection of its own to the store's file: what another process would see."""
    return sqlite3.connect(store.db.path)  # type: ignore[attr-defined]


def on_postgresql(store: Store) -> bool:
    return getattr(store, "engine", "sqlite") == "postgresql"


def location(store: Store) -> str:
    """What another process opens: the SQLite file, or the PostgreSQL database."""
    return str(store.db.dsn if on_postgresql(store) else store.db.path)  # type: ignore[attr-defined]


def run_raw(store: Store, sql: str) -> list[tuple[object, ...]]:
    """``sql`` on a connection of its own (another process's view), either engine."""
    if on_postgresql(store):
        import psycopg

        with psycopg.Connection.connect(store.db.dsn, autocommit=True) as conn:  # type: ignore[attr-defined]
            cursor = conn.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []
    with raw(store) as conn:
        return list(conn.execute(sql))


def refuse(store: Store, table: str, operation: str = "INSERT") -> None:
    """From now on, the database refuses any ``operation`` on ``table`` (a failure
    mid-way): a trigger raising a constraint error."""
    if on_postgresql(store):
        run_raw(store, f"""CREATE FUNCTION refused_{table}() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RAISE EXCEPTION 'refused for the test'
                  USING ERRCODE = 'integrity_constraint_violation'; END $$;
            CREATE TRIGGER refused_{table} BEFORE {operation} ON {table}
            FOR EACH ROW EXECUTE FUNCTION refused_{table}()""")
        return
    run_raw(store, f"CREATE TRIGGER refused_{table} BEFORE {operation} ON {table}"
                   " BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")


def allow(store: Store, table: str) -> None:
    if on_postgresql(store):
        run_raw(store, f"DROP TRIGGER refused_{table} ON {table};"
                       f" DROP FUNCTION refused_{table}()")
        return
    run_raw(store, f"DROP TRIGGER refused_{table}")


def message(text: str) -> str:
    """A message as the outbox keeps it (a JSON reply)."""
    return json.dumps({"text": text}, ensure_ascii=False)


def reminders_about(store: Store) -> list[int]:
    """The reservations the outbox's messages are about, in order of id."""
    return sorted(regarding for _to, _text, regarding in outbox(store) if regarding)


def outbox(store: Store) -> list[tuple[str, str, int | None]]:
    """(recipient, text, regarding) of every message kept, in order."""
    return [(str(recipient), json.loads(str(kept))["text"],
             None if regarding is None else int(str(regarding)))
            for recipient, kept, regarding in run_raw(
                store, "SELECT recipient, message, regarding FROM outbox ORDER BY id")]


async def phone_of(store: Store, user: User) -> str | None:
    """The phone number in this person's session, as the conversation reads it."""
    session = await store.conversations.session(user.channel, user.external_id)
    assert session is not None
    return session.user.phone


# -- the unit itself ------------------------------------------------------------------


async def test_what_a_unit_writes_is_kept_once_committed(territory: Territory,
                                                          store: Store) -> None:
    customer = territory.customer
    async with store.unit_of_work() as uow:
        await uow.users.set_phone(customer.id, "+33612345678")
        await uow.conversations.save(customer.id, {"step": "phone"}, territory.services.clock())
        # Inside, a read sees the unit's own writes; outside, nothing has happened yet.
        inside = await uow.conversations.session("telegram", customer.external_id)
        assert inside is not None
        assert (inside.user.phone, inside.state) == ("+33612345678", {"step": "phone"})
        assert await phone_of(store, customer) is None
        await uow.commit()
    assert await phone_of(store, customer) == "+33612345678"
    assert await store.conversations.load(customer.id) == {"step": "phone"}


async def test_a_unit_left_without_commit_leaves_nothing(territory: Territory,
                                                         store: Store) -> None:
    customer = territory.customer
    async with store.unit_of_work() as uow:
        await uow.users.set_phone(customer.id, "+33612345678")
        await uow.outbox.add([("telegram", "3000", message("Bonjour"), None)],
                             territory.services.clock())
    assert (await store.users.get(customer.id)).phone is None  # type: ignore[union-attr]
    assert outbox(store) == []


async def test_a_unit_is_rolled_back_on_any_exception(territory: Territory,
                                                      store: Store) -> None:
    customer = territory.customer

    async def failing() -> None:
        async with store.unit_of_work() as uow:
            await uow.users.set_phone(customer.id, "+33612345678")
            raise ZeroDivisionError  # a bug between the write and the commit
            await uow.commit()

    with pytest.raises(ZeroDivisionError):
        await failing()
    assert (await store.users.get(customer.id)).phone is None  # type: ignore[union-attr]
    # The writer is free again: a write outside any unit goes through.
    await store.users.set_phone(customer.id, "+33600000000")
    assert await phone_of(store, customer) == "+33600000000"


async def test_a_refused_call_inside_a_unit_undoes_only_itself(territory: Territory,
                                                               store: Store) -> None:
    """A use case may catch a refusal and go on: the rest of the unit stands."""
    customer, honey = territory.customer, await territory.product("Miel", 850, on_hand=5)
    made = await territory.services.reservations.reserve_now(customer.id, honey.id, 1, "a")
    now = territory.services.clock()
    async with store.unit_of_work() as uow:
        await uow.users.set_phone(customer.id, "+33612345678")
        await uow.orders.transition(made.id, ReservationStatus.READY,
                                    (ReservationStatus.PENDING,), now)
        with pytest.raises(WrongState):
            await uow.orders.transition(made.id, ReservationStatus.READY,
                                        (ReservationStatus.PENDING,), now)
        await uow.commit()
    assert (await store.orders.get(made.id)).status is ReservationStatus.READY  # type: ignore[union-attr]
    assert await phone_of(store, customer) == "+33612345678"


async def test_writing_outside_the_unit_from_inside_it_is_refused_not_a_deadlock(
        territory: Territory, store: Store) -> None:
    async def inside() -> None:
        async with store.unit_of_work():
            with pytest.raises(RuntimeError, match="unit of work"):
                await store.users.set_phone(territory.customer.id, "+33612345678")
    await asyncio.wait_for(inside(), 5)  # the unit's own task, or it would not know


async def test_a_committed_unit_is_in_the_next_session_at_once(territory: Territory,
                                                               store: Store) -> None:
    customer = territory.customer
    assert await phone_of(store, customer) is None  # now remembered
    async with store.unit_of_work() as uow:
        await uow.users.set_phone(customer.id, "+33612345678")
        # Read by someone else meanwhile: the old one, remembered again...
        assert await phone_of(store, customer) is None
        await uow.commit()
    # ...and forgotten by the commit.
    assert await phone_of(store, customer) == "+33612345678"


async def test_a_unit_rolled_back_forgets_nothing(territory: Territory, store: Store) -> None:
    customer = territory.customer
    assert await phone_of(store, customer) is None  # now remembered
    async with store.unit_of_work() as uow:
        await uow.users.set_phone(customer.id, "+33612345678")
        await uow.rollback()
    # Still remembered: the person's session is not read again.
    assert store.db.caches.sessions.get("telegram", customer.external_id) is not None  # type: ignore[attr-defined]
    assert await phone_of(store, customer) is None


async def test_a_unit_whose_task_is_cancelled_while_committing_is_forgotten_once_committed(
        territory: Territory, store: Store) -> None:
    """The writer's thread finishes a commit its task gave up on (shutdown): the
    session must be read again after that commit, not only when the task left."""
    customer = territory.customer
    assert await phone_of(store, customer) is None  # remembered
    committing = asyncio.Event()
    loop = asyncio.get_running_loop()

    def hold_the_writer(conn: sqlite3.Connection) -> None:
        loop.call_soon_threadsafe(committing.set)
        if on_postgresql(store):  # the unit's connection is busy, not only its thread
            conn.execute("SELECT pg_sleep(0.2)")
        else:
            time.sleep(0.2)

    async def unit() -> None:
        async with store.unit_of_work() as uow:
            await uow.users.set_phone(customer.id, "+33612345678")
            holding = asyncio.ensure_future(uow.db.run_write(hold_the_writer))  # type: ignore[attr-defined]
            await committing.wait()
            await uow.commit()  # queued behind the held writer
            await holding

    task = asyncio.create_task(unit())
    await asyncio.wait_for(committing.wait(), 5)
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await phone_of(store, customer) is None  # read while the commit waits its turn
    await asyncio.sleep(0.4)  # the commit is done in the writer's thread
    assert (await store.users.get(customer.id)).phone == "+33612345678"  # type: ignore[union-attr]
    assert await phone_of(store, customer) == "+33612345678"


# -- erasing a customer ---------------------------------------------------------------


async def test_erasing_that_fails_in_the_middle_leaves_the_person_as_they_were(
        territory: Territory, store: Store) -> None:
    services, customer = territory.services, territory.customer
    honey = await territory.product("Miel", 850, on_hand=5)
    jam = await territory.product("Confiture", 450, on_hand=5)
    first = await services.reservations.reserve_now(customer.id, honey.id, 2, "a")
    second = await services.reservations.reserve_now(customer.id, jam.id, 1, "b")
    await services.delivery.queue([
        ("telegram", "3000", message("Votre réservation"), first.id),
        ("telegram", "2000", message("Nouvelle réservation"), second.id),
        ("telegram", "2000", message("Bonjour Léa"), None)])
    stock = [honey.id, jam.id]

    async def held() -> list[tuple[int, int]]:
        return [((p := await services.catalogue.product(each)).on_hand, p.reserved)
                for each in stock]

    refuse(store, "users", "UPDATE")  # the reservations are cancelled, then this fails
    with pytest.raises(INTEGRITY_ERRORS, match="refused for the test"):
        await services.customers.erase(customer.id)
    allow(store, "users")
    assert [r.status for r in await services.reservations.of_customer(customer.id)] == [
        ReservationStatus.PENDING, ReservationStatus.PENDING]
    assert await held() == [(5, 2), (5, 1)]
    assert len(outbox(store)) == 3
    person = await store.users.get(customer.id)
    assert person is not None
    assert (person.display_name, person.external_id) == ("Jeanne", "3000")

    # Asked again, it goes through, all of it.
    cancelled = await services.customers.erase(customer.id)
    assert sorted(r.id for r in cancelled) == [first.id, second.id]
    assert {r.status for r in cancelled} == {ReservationStatus.CANCELLED_BY_CUSTOMER}
    assert await held() == [(5, 0), (5, 0)]
    assert outbox(store) == [("2000", "Bonjour Léa", None)]  # only what was not theirs
    gone = await store.users.get(customer.id)
    assert gone is not None
    assert (gone.display_name, gone.external_id) == ("", f"erased:{customer.id}")
    assert await store.conversations.session("telegram", "3000") is None


# -- reminders ------------------------------------------------------------------------


async def reminder(reservation: Reservation) -> Sequence[Outgoing]:
    """The reminder's message, composed as slowly as a real one may be (it awaits)."""
    await asyncio.sleep(0)
    return [("telegram", str(reservation.user_id), message(f"Rappel {reservation.code}"),
             reservation.id)]


async def due_soon(territory: Territory, clock: FakeClock, count: int = 3) -> list[Reservation]:
    honey = await territory.product("Miel", 850, on_hand=10)
    made = [await territory.services.reservations.reserve_now(
        territory.customer.id, honey.id, 1, f"key-{n}") for n in range(count)]
    clock.advance(hours=43)  # 5 hours before the 48-hour deadline
    return made


async def test_a_reminder_is_claimed_and_queued_together(territory: Territory,
                                                         clock: FakeClock, store: Store) -> None:
    made = await due_soon(territory, clock, 1)
    reminded = await territory.services.reservations.send_reminders(reminder)
    assert [r.id for r in reminded] == [made[0].id]
    assert outbox(store) == [(str(territory.customer.id), f"Rappel {made[0].code}",
                              made[0].id)]
    assert await territory.services.reservations.send_reminders(reminder) == []
    assert len(outbox(store)) == 1


async def test_two_sweeps_at_once_remind_each_reservation_once(
        territory: Territory, clock: FakeClock, store: Store) -> None:
    made = await due_soon(territory, clock)
    sweeps = await asyncio.gather(territory.services.reservations.send_reminders(reminder),
                                  territory.services.reservations.send_reminders(reminder))
    assert sorted(r.id for sweep in sweeps for r in sweep) == [r.id for r in made]
    assert reminders_about(store) == [
        r.id for r in made]


async def test_two_processes_on_one_file_remind_each_reservation_once(
        territory: Territory, clock: FakeClock, store: Store) -> None:
    made = await due_soon(territory, clock)
    other = await open_store(location(store))
    try:
        elsewhere = build_services(other, operators=frozenset({OPERATOR}), clock=clock)
        sweeps = await asyncio.gather(
            territory.services.reservations.send_reminders(reminder),
            elsewhere.reservations.send_reminders(reminder))
    finally:
        await other.close()
    assert sorted(r.id for sweep in sweeps for r in sweep) == [r.id for r in made]
    assert reminders_about(store) == [
        r.id for r in made]


async def test_a_reminder_whose_message_cannot_be_queued_is_not_claimed(
        territory: Territory, clock: FakeClock, store: Store) -> None:
    made = await due_soon(territory, clock, 1)
    refuse(store, "outbox")
    with pytest.raises(INTEGRITY_ERRORS, match="refused for the test"):
        await territory.services.reservations.send_reminders(reminder)
    allow(store, "outbox")
    # Not marked reminded: the next sweep reminds it.
    assert [r.id for r in await territory.services.reservations.send_reminders(reminder)
            ] == [made[0].id]
    assert len(outbox(store)) == 1


async def test_a_reservation_closed_meanwhile_is_not_reminded(
        territory: Territory, clock: FakeClock, store: Store) -> None:
    made = await due_soon(territory, clock, 2)

    async def closing_one(reservation: Reservation) -> Sequence[Outgoing]:
        if reservation.id == made[0].id:  # the customer cancels while the sweep writes
            await territory.services.reservations.cancel_by_customer(
                territory.customer.id, reservation.id)
        return await reminder(reservation)

    reminded = await territory.services.reservations.send_reminders(closing_one)
    assert [r.id for r in reminded] == [made[1].id]
    assert [regarding for _to, _text, regarding in outbox(store)] == [made[1].id]


KILLED_AFTER_THE_SWEEP = textwrap.dedent("""
    import asyncio, json, os, signal, sys
    from datetime import datetime
    from chatshop.services import build_services
    from chatshop.storage import open_store

    async def reminder(reservation):
        return [("telegram", str(reservation.user_id), json.dumps({"text": "Rappel"}),
                 reservation.id)]

    async def main():
        try:
            store = await open_store(sys.argv[1])
            now = datetime.fromisoformat(sys.argv[2])
            services = build_services(store, operators=frozenset(), clock=lambda: now)
            reminded = await services.reservations.send_reminders(reminder)
            print(len(reminded), flush=True)
        finally:
            os.kill(os.getpid(), signal.SIGKILL)  # before anything is sent or closed

    asyncio.run(main())
""")


async def test_a_kill_right_after_the_sweep_loses_no_reminder(
        territory: Territory, clock: FakeClock, store: Store) -> None:
    made = await due_soon(territory, clock, 2)
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", KILLED_AFTER_THE_SWEEP,
                         location(store), clock.now.isoformat()],
        capture_output=True, text=True, timeout=60, env={**os.environ})
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.strip() == "2"
    assert reminders_about(store) == [
        r.id for r in made]
    assert await territory.services.reservations.send_reminders(reminder) == []
