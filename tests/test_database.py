"""The database's connections: the loop's lookup connection sees what was committed,
never writes, and the shop cache never brings back a shop as it was before a change."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatshop.domain.models import ShopDetails
from chatshop.storage import Store, rows
from chatshop.storage.database import Database
from chatshop.storage.shops import RecentShops
from tests.conftest import Territory


async def test_a_lookup_sees_what_a_write_transaction_committed(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "lookups.db")
    try:
        async with db.write() as conn:
            await conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
            await conn.execute("INSERT INTO notes (text) VALUES ('Miel de châtaignier')")
        assert [tuple(r) for r in db.lookup("SELECT id, text FROM notes")] == [
            (1, "Miel de châtaignier")]
    finally:
        await db.close()


async def test_the_lookup_connection_refuses_to_write(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "lookups.db")
    try:
        async with db.write() as conn:
            await conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        with pytest.raises(sqlite3.OperationalError):
            db.lookup("INSERT INTO notes (text) VALUES ('intrus')")
        assert db.lookup("SELECT count(*) FROM notes")[0][0] == 0
    finally:
        await db.close()


async def test_a_shop_change_is_seen_at_once_by_the_next_read(territory: Territory,
                                                              store: Store) -> None:
    shops = store.shops
    shop = territory.shop
    assert (await shops.get(shop.id)) == shop  # now remembered
    await shops.update_shop(shop.id, ShopDetails(phone="+33555000000"))
    again = await shops.get(shop.id)
    assert again is not None
    assert again.phone == "+33555000000"


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


@given(st.datetimes(min_value=datetime(1001, 1, 1), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, ZoneInfo("Europe/Paris"),
                                               ZoneInfo("Pacific/Kiritimati")])))
def test_times_are_stored_as_fixed_width_utc_text(moment: datetime) -> None:
    text = rows.to_db_time(moment)
    assert text == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert len(text) == 27
    # In UTC: an aware time in a DST gap or fold never compares equal across zones.
    assert rows.from_db_time(text) == moment.astimezone(UTC)
