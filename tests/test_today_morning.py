"""The staff's morning message (#12 §2): « Aujourd'hui : 4 retraits, 2 réservations à
préparer, 1 en retard » to each person of the team of a shop that asked for it, once, at
its first opening of the day; never on a day it is closed (its weekday, its holidays, a
public holiday unless it opens then); not again after a second sweep or a restart."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from chatshop.conversation.router import Conversation
from chatshop.delivery.runtime import Delivery
from chatshop.domain.codes import reservation_code
from chatshop.domain.models import (
    Contact,
    OpeningInterval,
    PickupOrder,
    Product,
    ReservationSource,
    Role,
    ShopDetails,
)
from chatshop.services import Services
from chatshop.storage import Store
from tests.conftest import FakeClock, Territory
from tests.world import Collecting, runtime_of

PARIS = ZoneInfo("Europe/Paris")


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November–December 2026 in Paris (UTC+1 then), as UTC."""
    return datetime(2026, month, day, hour - 1, minute, tzinfo=UTC)


@pytest.fixture
def telegram() -> Collecting:
    return Collecting("telegram")


@pytest.fixture
def delivery(services: Services, conversation: Conversation,
             telegram: Collecting) -> Delivery:
    return runtime_of(services, conversation, telegram)


async def mornings(delivery: Delivery, telegram: Collecting) -> list[tuple[str, str]]:
    """What one morning sweep sends, once the outbox delivered it: (to whom, text)."""
    await delivery.send_mornings()
    await delivery.outbox.deliver("telegram")
    sent, telegram.sent[:] = list(telegram.sent), []
    return [(message.reply.to.user_id if message.reply.to else "", plain(message.reply.text))
            for message in sent]


async def opted_in(territory: Territory, *, morning: bool = True,
                   holidays: bool = False) -> Product:
    """The Épicerie opens Tuesday to Saturday 9 h – 12 h and 14 h – 18 h."""
    services = territory.services
    await services.shops.set_hours(territory.owner, territory.shop.id, [
        OpeningInterval(weekday=day, opens=opens, closes=closes)
        for day in range(1, 6) for opens, closes in ((time(9), time(12)), (time(14), time(18)))])
    await services.shops.update_shop(territory.owner, territory.shop.id, ShopDetails(
        morning_message=morning, opens_on_public_holidays=holidays))
    return await territory.product("Miel de châtaignier", 850, on_hand=100)


async def phoned(territory: Territory, store: Store, clock: FakeClock, product: Product,
                 key: str, deadline: datetime) -> None:
    await store.orders.reserve(
        territory.owner_user.id, key,
        [PickupOrder(shop_id=territory.shop.id, deadline_at=deadline,
                     items=((product.id, 1),))], clock(), reservation_code,
        from_basket=False, source=ReservationSource.PHONE, contact=Contact(name=key))


async def a_day(territory: Territory, store: Store, clock: FakeClock, product: Product,
                month: int, day: int) -> None:
    """Two reservations to hand over on that day, one to prepare for later."""
    await phoned(territory, store, clock, product, "a", paris(month, day, 17))
    await phoned(territory, store, clock, product, "b", paris(month, day, 16))
    await phoned(territory, store, clock, product, "c", paris(12, 31, 17))


async def test_the_team_hears_the_day_once_at_opening(
        territory: Territory, services: Services, store: Store, clock: FakeClock,
        delivery: Delivery, telegram: Collecting, conversation: Conversation) -> None:
    honey = await opted_in(territory)
    invite = await services.shops.invite(territory.owner, territory.shop.id, Role.STAFF)
    tom = await territory.person("5000", "Tom")
    await services.shops.accept_invite(tom.id, invite.code)
    clock.now = paris(12, 1, 8, 30)  # Tuesday 1st December, before opening
    await a_day(territory, store, clock, honey, 12, 1)
    assert await mornings(delivery, telegram) == []
    clock.now = paris(12, 1, 9, 5)
    told = await mornings(delivery, telegram)
    text = "☀️ Épicerie du Château — Aujourd'hui : 2 retraits, 1 réservation à préparer"
    assert sorted(told) == [("2000", text), ("5000", text)]
    assert not [r for r in await mornings(delivery, telegram)]  # a second sweep: nothing
    clock.now = paris(12, 1, 14, 5)  # the afternoon's opening is not the first
    again = runtime_of(services, conversation, telegram)  # a restart
    assert await mornings(again, telegram) == []
    clock.now = paris(12, 2, 9, 1)  # the next day: told again
    assert len(await mornings(delivery, telegram)) == 2


async def test_the_message_has_the_list_a_tap_away(
        territory: Territory, services: Services, store: Store, clock: FakeClock,
        delivery: Delivery, telegram: Collecting) -> None:
    honey = await opted_in(territory)
    clock.now = paris(12, 1, 9, 0)
    await a_day(territory, store, clock, honey, 12, 1)
    await delivery.send_mornings()
    await delivery.outbox.deliver("telegram")
    (message,) = telegram.sent
    assert [b.label for b in message.reply.all_buttons] == ["📋 Aujourd’hui", "🏠 Menu"]


async def test_late_ones_are_counted(
        territory: Territory, services: Services, store: Store, clock: FakeClock,
        delivery: Delivery, telegram: Collecting, conversation: Conversation) -> None:
    honey = await opted_in(territory)
    customer = await territory.person("3000", "Jeanne")
    clock.now = paris(11, 30, 10, 0)  # Monday: closed
    made = await services.reservations.reserve_now(customer.id, honey.id, 1, "k")
    await store.pickups.choose(made.id, customer.id, paris(11, 30, 8), paris(11, 30, 9),
                               reminded_at=None)
    assert await mornings(delivery, telegram) == []  # Monday: no opening
    clock.now = paris(12, 1, 9, 0)
    (told,) = await mornings(delivery, telegram)
    assert told[1].endswith("Aujourd'hui : 1 en retard")


async def test_not_for_shops_that_did_not_ask_nor_on_closed_days(
        territory: Territory, store: Store, clock: FakeClock,
        delivery: Delivery, telegram: Collecting) -> None:
    honey = await opted_in(territory, morning=False)
    clock.now = paris(12, 1, 9, 0)
    await a_day(territory, store, clock, honey, 12, 1)
    assert await mornings(delivery, telegram) == []
    await territory.services.shops.update_shop(territory.owner, territory.shop.id,
                                               ShopDetails(morning_message=True))
    clock.now = paris(12, 6, 9, 30)  # Sunday: closed
    assert await mornings(delivery, telegram) == []
    await territory.services.shops.update_shop(territory.owner, territory.shop.id,
                                               ShopDetails(on_holiday=True))
    clock.now = paris(12, 8, 9, 30)  # Tuesday, but closed for the holidays
    assert await mornings(delivery, telegram) == []


async def test_not_on_christmas_unless_the_shop_opens_then(
        territory: Territory, store: Store, clock: FakeClock,
        delivery: Delivery, telegram: Collecting) -> None:
    honey = await opted_in(territory)  # Friday 25 December is a weekday it opens
    clock.now = paris(12, 24, 17, 0)
    await a_day(territory, store, clock, honey, 12, 25)
    clock.now = paris(12, 25, 9, 10)
    assert await mornings(delivery, telegram) == []
    await territory.services.shops.update_shop(territory.owner, territory.shop.id,
                                               ShopDetails(opens_on_public_holidays=True))
    clock.now = paris(12, 25, 9, 20)
    (told,) = await mornings(delivery, telegram)
    assert "2 retraits" in told[1]


async def test_nothing_to_say_sends_nothing_and_is_not_weighed_again(
        territory: Territory, store: Store, clock: FakeClock,
        delivery: Delivery, telegram: Collecting) -> None:
    honey = await opted_in(territory)
    clock.now = paris(12, 1, 9, 0)
    assert await mornings(delivery, telegram) == []
    await a_day(territory, store, clock, honey, 12, 1)
    clock.now = paris(12, 1, 9, 30)  # the day was told (as nothing): not recomputed
    assert await mornings(delivery, telegram) == []


def test_the_morning_job_is_scheduled(delivery: Delivery) -> None:
    assert [job.name for job in delivery.jobs()].count("mornings") == 1
