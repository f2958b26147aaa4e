"""The database's connections: the loop's lookup connection sees what was committed,
never writes, and neither the shop cache nor the recent sessions ever bring back a shop
or a person as they were before a change."""

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatshop.domain.models import Role, ShopDetails, StaffMember, User
from chatshop.storage import Store, rows
from chatshop.storage.caches import RecentSessions, RecentShops
from chatshop.storage.database import Database
from chatshop.storage.grouped import GroupedWrites
from tests.conftest import Territory


@pytest.fixture
async def notes(tmp_path: Path) -> AsyncIterator[Database]:
    """A database with an empty ``notes`` table."""
    db = await Database.open(tmp_path / "notes.db")
    async with db.write() as conn:
        await conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    yield db
    await db.close()


async def test_a_lookup_sees_what_a_write_transaction_committed(notes: Database) -> None:
    async with notes.write() as conn:
        await conn.execute("INSERT INTO notes (text) VALUES ('Miel de châtaignier')")
    assert [tuple(r) for r in notes.lookup_now("SELECT id, text FROM notes")] == [
        (1, "Miel de châtaignier")]


SLOW_COUNT = """WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c
                                       WHERE x < 2000000)
                SELECT count(*) FROM c"""


async def test_a_brief_read_gives_its_rows(notes: Database) -> None:
    async with notes.write() as conn:
        await conn.execute("INSERT INTO notes (text) VALUES ('Miel'), ('Savon')")
    found = await notes.read_briefly("SELECT text FROM notes WHERE id > :id ORDER BY id",
                                     {"id": 0})
    assert [r["text"] for r in found] == ["Miel", "Savon"]


async def test_a_read_past_its_budget_is_finished_in_the_pool_leaving_the_loop_free(
        tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "lookups.db")
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.001)
            ticks += 1

    try:
        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        found = await db.read_briefly(SLOW_COUNT, budget=0.001)
        done.set()
        await ticking
        assert found[0][0] == 2_000_000
        # Had it run to its end on the loop's connection, nothing else would have run
        # meanwhile (it takes a few hundred ms).
        assert ticks >= 5
        # The budget was for that read only: the loop's connection reads in full again.
        assert db.lookup_now(SLOW_COUNT)[0][0] == 2_000_000
    finally:
        await db.close()


async def test_a_brief_read_that_fails_raises_and_is_not_tried_again(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "lookups.db")
    try:
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await db.read_briefly("SELECT * FROM nowhere")
    finally:
        await db.close()


class HeldPool:
    """Every reader of the pool taken (the database is opened with one)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._release = asyncio.Event()
        self._holding: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "HeldPool":
        taken = asyncio.Event()

        async def hold() -> None:
            async with self._db.read():
                taken.set()
                await self._release.wait()
        self._holding = asyncio.create_task(hold())
        await taken.wait()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._release.set()
        assert self._holding is not None
        await self._holding


async def test_a_quick_brief_read_stays_on_the_loop_s_connection(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "brief.db", readers=1)
    try:
        async with HeldPool(db):  # a read sent to the pool would wait here for ever
            found = await asyncio.wait_for(db.read_briefly("SELECT 6 * 7"), 1)
            assert found[0][0] == 42
            with pytest.raises(sqlite3.OperationalError, match="no such table"):
                await asyncio.wait_for(db.read_briefly("SELECT * FROM nowhere"), 1)
    finally:
        await db.close()


async def test_a_read_that_ran_past_its_budget_goes_to_the_pool_for_a_while(
        tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "brief.db", readers=1)
    try:
        assert (await db.read_briefly(SLOW_COUNT, budget=0.001))[0][0] == 2_000_000
        async with HeldPool(db):
            # Even with all the time in the world, it waits for a reader this time.
            again = asyncio.ensure_future(db.read_briefly(SLOW_COUNT, budget=60))
            await asyncio.sleep(0.2)
            assert not again.done()
        assert (await again)[0][0] == 2_000_000
        # Another read is not concerned.
        async with HeldPool(db):
            assert (await asyncio.wait_for(db.read_briefly("SELECT 1"), 1))[0][0] == 1
    finally:
        await db.close()


async def test_one_bad_item_among_grouped_writes_fails_only_its_own_caller(
        notes: Database) -> None:
    def write(conn: sqlite3.Connection, texts: list[object]) -> list[int]:
        return [conn.execute("INSERT INTO notes (text) VALUES (?) RETURNING id",
                             (text,)).fetchone()[0] for text in texts]
    grouped: GroupedWrites[object, int] = GroupedWrites(notes, write)

    outcomes = await asyncio.gather(grouped.add("Miel"), grouped.add({"pas": "un texte"}),
                                    grouped.add("Savon"), return_exceptions=True)
    assert isinstance(outcomes[1], sqlite3.Error)
    assert all(isinstance(outcome, int) for outcome in (outcomes[0], outcomes[2]))
    assert [r["text"] for r in notes.lookup_now("SELECT text FROM notes ORDER BY id")] == [
        "Miel", "Savon"]


async def test_the_lookup_connection_refuses_to_write(notes: Database) -> None:
    with pytest.raises(sqlite3.OperationalError):
        notes.lookup_now("INSERT INTO notes (text) VALUES ('intrus')")
    assert notes.lookup_now("SELECT count(*) FROM notes")[0][0] == 0


async def test_a_shop_change_is_seen_at_once_by_the_next_read(territory: Territory,
                                                              store: Store) -> None:
    shops = store.shops
    shop = territory.shop
    assert (await shops.get(shop.id)) == shop  # now remembered
    await shops.update_shop(shop.id, ShopDetails(phone="+33555000000"))
    again = await shops.get(shop.id)
    assert again is not None
    assert again.phone == "+33555000000"


async def test_a_commune_whose_last_shop_closes_leaves_the_search_choices_at_once(
        territory: Territory, store: Store) -> None:
    shops = store.shops
    assert [c.id for c in await shops.communes_with_shops()] == [territory.commune.id]
    await shops.update_shop(territory.shop.id, ShopDetails(active=False))
    assert await shops.communes_with_shops() == []  # not the remembered list
    await shops.update_shop(territory.shop.id, ShopDetails(active=True))
    assert [c.id for c in await shops.communes_with_shops()] == [territory.commune.id]


def test_a_read_that_started_before_a_change_is_not_remembered() -> None:
    now = [0.0]
    recent = RecentShops(ttl=5.0, now=lambda: now[0])
    started = recent.generation
    recent.forget()  # a write committed while the read was running
    recent.keep_communes({}, started)
    assert recent.communes() is None


def test_what_is_remembered_is_read_again_after_a_few_seconds() -> None:
    now = [0.0]
    recent = RecentShops(ttl=5.0, now=lambda: now[0])
    recent.keep_communes({}, recent.generation)
    assert recent.communes() == {}
    now[0] = 5.5
    assert recent.communes() is None


async def _session_of(store: Store, user: User) -> tuple[str | None, list[int], dict[str, object]]:
    """(phone, shops run, state) as the conversation reads them on an event."""
    session = await store.conversations.session(user.channel, user.external_id)
    assert session is not None
    return (session.user.phone, [m.shop_id for m in session.memberships],
            dict(session.state))


async def test_every_change_to_a_person_is_in_their_next_session_at_once(
        territory: Territory, store: Store) -> None:
    services, shop, customer = territory.services, territory.shop, territory.customer
    assert await _session_of(store, customer) == (None, [], {})  # now remembered
    await services.customers.set_phone(customer.id, "+33612345678")
    assert await _session_of(store, customer) == ("+33612345678", [], {})
    invite = await services.shops.invite(territory.operator, shop.id, Role.STAFF)
    await services.shops.accept_invite(customer.id, invite.code)
    assert await _session_of(store, customer) == ("+33612345678", [shop.id], {})
    await services.shops.remove_staff(territory.owner, shop.id, customer.id)
    assert await _session_of(store, customer) == ("+33612345678", [], {})
    await store.conversations.save(customer.id, {"awaiting": "search"}, services.clock())
    assert await _session_of(store, customer) == ("+33612345678", [], {"awaiting": "search"})
    await services.customers.blocked_the_bot("telegram", customer.external_id)
    session = await store.conversations.session("telegram", customer.external_id)
    assert session is not None
    assert session.user.unreachable_at is not None
    await services.customers.seen("telegram", customer.external_id, "Jeanne M.")
    session = await store.conversations.session("telegram", customer.external_id)
    assert session is not None
    assert (session.user.display_name, session.user.unreachable_at) == ("Jeanne M.", None)
    await services.customers.erase(customer.id)
    assert await store.conversations.session("telegram", customer.external_id) is None


async def test_every_change_to_a_shop_team_is_in_the_next_reservation_news_at_once(
        territory: Territory, store: Store) -> None:
    services, shop, customer = territory.services, territory.shop, territory.customer

    async def told() -> list[tuple[str, str | None]]:
        return [(u.display_name, u.phone) for u in await services.shops.people_to_notify(shop.id)]

    assert await told() == [("Léa", None)]  # now remembered
    invite = await services.shops.invite(territory.operator, shop.id, Role.STAFF)
    await services.shops.accept_invite(customer.id, invite.code)
    assert await told() == [("Léa", None), ("Jeanne", None)]
    await services.customers.set_phone(customer.id, "+33612345678")
    assert await told() == [("Léa", None), ("Jeanne", "+33612345678")]
    await services.shops.remove_staff(territory.owner, shop.id, customer.id)
    assert await told() == [("Léa", None)]
    await services.customers.erase(territory.owner_user.id)
    assert await told() == []


async def test_a_write_whose_caller_is_cancelled_is_forgotten_once_it_has_committed(
        territory: Territory, store: Store) -> None:
    """The writer's thread finishes a transaction its caller gave up on (shutdown): the
    session must be read again after that commit, not only when the caller left."""
    customer, now = territory.customer, territory.services.clock()
    await store.conversations.save(customer.id, {"step": "old"}, now)
    assert (await _session_of(store, customer))[2] == {"step": "old"}  # remembered
    busy = asyncio.Event()
    loop = asyncio.get_running_loop()

    def hold_the_writer(_conn: sqlite3.Connection) -> None:
        loop.call_soon_threadsafe(busy.set)
        time.sleep(0.2)

    holding = asyncio.create_task(store.db.run_write(hold_the_writer))  # type: ignore[attr-defined]
    await busy.wait()
    saving = asyncio.create_task(store.conversations.save(customer.id, {"step": "new"}, now))
    await asyncio.sleep(0.01)
    saving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await saving
    await _session_of(store, customer)  # read while the save still waits its turn
    await holding
    await asyncio.sleep(0.05)  # the save commits in the writer's thread
    assert await store.conversations.load(customer.id) == {"step": "new"}
    assert (await _session_of(store, customer))[2] == {"step": "new"}


async def test_a_handler_changing_its_copy_of_the_state_changes_no_later_session(
        territory: Territory, store: Store) -> None:
    customer = territory.customer
    await store.conversations.save(customer.id, {"search": "miel"},
                                   territory.services.clock())
    session = await store.conversations.session("telegram", customer.external_id)
    assert session is not None
    session.state["search"] = "bougie"  # never saved
    session.memberships.append(StaffMember(shop_id=territory.shop.id, user_id=customer.id,
                                           role=Role.OWNER,
                                           added_at=territory.services.clock()))
    assert await _session_of(store, customer) == (None, [], {"search": "miel"})


async def test_a_change_by_another_process_is_seen_after_a_few_seconds(
        territory: Territory, store: Store) -> None:
    now = [0.0]
    store.db.caches.sessions = RecentSessions(ttl=5.0, now=lambda: now[0])  # type: ignore[attr-defined]
    customer = territory.customer
    assert await _session_of(store, customer) == (None, [], {})
    other = sqlite3.connect(store.db.path)  # type: ignore[attr-defined]
    with other:
        other.execute("UPDATE users SET phone = '+33600000000' WHERE id = ?", (customer.id,))
    other.close()
    assert await _session_of(store, customer) == (None, [], {})  # remembered...
    now[0] = 5.5
    assert await _session_of(store, customer) == ("+33600000000", [], {})  # ...not long


def test_the_recent_sessions_stay_within_their_limit(territory: Territory) -> None:
    now = [0.0]
    sessions = RecentSessions(ttl=5.0, now=lambda: now[0], limit=3)
    people = [territory.customer.model_copy(update={"id": n, "external_id": str(n)})
              for n in range(1, 6)]
    for person in people[:3]:
        sessions.keep(person, (), None)
    now[0] = 6.0  # the first three are old
    for person in people[3:]:
        sessions.keep(person, (), None)
    assert len(sessions) == 2
    assert sessions.get("telegram", "5") is not None
    assert sessions.get("telegram", "1") is None


@given(st.datetimes(min_value=datetime(1001, 1, 1), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, ZoneInfo("Europe/Paris"),
                                               ZoneInfo("Pacific/Kiritimati")])))
def test_times_are_stored_as_fixed_width_utc_text(moment: datetime) -> None:
    text = rows.to_db_time(moment)
    assert text == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert len(text) == 27
    # In UTC: an aware time in a DST gap or fold never compares equal across zones.
    assert rows.from_db_time(text) == moment.astimezone(UTC)
