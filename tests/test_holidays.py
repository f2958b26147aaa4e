"""French public holidays (#12 §5) are closed days unless the shop says it opens on
them: a hold that would end on 25 décembre runs to the next opening, no pickup slot
falls on one, and « ouvert maintenant » says no on 1er mai, in the chat's shop card and
in the web window alike. A shop that opens on them is open."""

from __future__ import annotations

from datetime import UTC, datetime, time

import httpx
import pytest

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import SHOP, SHOP_RULES
from chatshop.domain.models import OpeningInterval, Reservation, ShopDetails
from chatshop.domain.opening import DoorState, opening
from chatshop.web.app import window_app
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory
from tests.test_pickups import PARIS, plain
from tests.test_web_pages import make_window, visible


@pytest.fixture
async def people(territory: Territory, conversation: Conversation,
                 postbox: Postbox) -> tuple[Chat, Chat]:
    """Jeanne the customer and Léa, owner of the Épicerie du Château."""
    return (Chat(conversation, "3000", "Jeanne", postbox),
            Chat(conversation, "2000", "Léa", postbox))


async def tuesday_to_saturday(territory: Territory, **rules: object) -> None:
    """The Épicerie opens Tuesday to Saturday, 9 h – 12 h and 14 h – 18 h."""
    await territory.services.shops.set_hours(territory.owner, territory.shop.id, [
        OpeningInterval(weekday=day, opens=opens, closes=closes)
        for day in range(1, 6) for opens, closes in ((time(9), time(12)), (time(14), time(18)))])
    await territory.services.shops.update_shop(territory.owner, territory.shop.id,
                                               ShopDetails.model_validate(rules))


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A moment in Paris, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


async def reserved(territory: Territory, jeanne: Chat) -> Reservation:
    honey = await territory.product("Miel de châtaignier", 850, on_hand=10)
    await jeanne.send(f"/start p_{honey.id}")
    await jeanne.press("Réserver 1")
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    return made


async def test_a_hold_that_would_end_on_christmas_runs_to_the_next_opening(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock) -> None:
    jeanne, _lea = people
    await tuesday_to_saturday(territory, hold_hours=48)
    clock.now = local(2026, 12, 23, 10, 0)  # Wednesday: 48 h later is Christmas Day, 10 h
    made = await reserved(territory, jeanne)
    assert made.deadline_at == local(2026, 12, 26, 12, 0)  # Saturday's morning, to its end
    assert "samedi 26 décembre à 12:00" in plain(jeanne.text)


async def test_a_shop_open_on_public_holidays_holds_until_christmas_day_itself(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock) -> None:
    jeanne, _lea = people
    await tuesday_to_saturday(territory, hold_hours=48, opens_on_public_holidays=True)
    clock.now = local(2026, 12, 23, 10, 0)
    made = await reserved(territory, jeanne)
    assert made.deadline_at == local(2026, 12, 25, 10, 0)


async def test_no_pickup_slot_falls_on_a_public_holiday(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock) -> None:
    jeanne, _lea = people
    await tuesday_to_saturday(territory, hold_hours=24 * 4, asks_pickup_time=True)
    clock.now = local(2026, 12, 24, 10, 0)  # Thursday 24: Friday 25 is Christmas
    await reserved(territory, jeanne)
    slots = [plain(label) for label in jeanne.labels if "(" in label]
    # (The hold ends on Monday 28, closed: it runs to Tuesday's morning.)
    assert slots == ["Ce matin (10 h – 12 h)", "Cet après-midi (14 h – 18 h)",
                     "Samedi 26 décembre, matin (9 h – 12 h)",
                     "Samedi 26 décembre, après-midi (14 h – 18 h)",
                     "Mardi 29 décembre, matin (9 h – 12 h)"]


async def test_the_shop_card_is_closed_on_the_first_of_may_unless_it_opens_then(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock) -> None:
    jeanne, lea = people
    await tuesday_to_saturday(territory)
    clock.now = local(2027, 5, 1, 10, 0)  # Saturday 1er mai, 10 h
    await jeanne.forge(SHOP.payload(shop=territory.shop.id))
    assert "🔴 Fermé en ce moment" in jeanne.text
    # Léa says her shop opens on public holidays, from her rules screen.
    await lea.forge(SHOP_RULES.payload(shop=territory.shop.id))
    await lea.press("Ouvert les jours fériés")
    assert "🎉 Ouvert les jours fériés : oui" in plain(lea.text)
    await jeanne.forge(SHOP.payload(shop=territory.shop.id))
    assert "🟢 Ouvert en ce moment" in jeanne.text
    clock.now = local(2027, 5, 2, 10, 0)  # a Sunday stays a Sunday
    await jeanne.forge(SHOP.payload(shop=territory.shop.id))
    assert "🔴 Fermé en ce moment" in jeanne.text


async def test_the_web_window_says_closed_on_the_first_of_may(
        territory: Territory, clock: FakeClock) -> None:
    await tuesday_to_saturday(territory)
    clock.now = local(2027, 5, 1, 10, 0)
    shop = await territory.services.shops.get(territory.shop.id)
    assert opening(shop, clock(), PARIS).state is DoorState.CLOSED
    assert not shop.is_open_at(clock(), PARIS)
    app = window_app(territory.services, make_window(clock, public_url="https://v.example.fr"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://vitrine.test") as client:
        page = await client.get(f"/boutique/{shop.slug}")
        assert page.status_code == 200
        text = visible(page.text)
        assert "Fermé · ouvre mardi à 9 h" in text  # 1er mai Saturday, then Sunday, Monday
        assert "Ouvert maintenant" not in text
        clock.now = local(2027, 5, 4, 10, 0)  # Tuesday: open again (a new page)
        assert "Ouvert maintenant · jusqu’à 12 h" in visible(
            (await client.get(f"/boutique/{shop.slug}")).text)


async def test_a_shop_that_opens_on_public_holidays_is_open_on_them(
        territory: Territory, clock: FakeClock) -> None:
    await tuesday_to_saturday(territory, opens_on_public_holidays=True)
    shop = await territory.services.shops.get(territory.shop.id)
    assert shop.is_open_at(local(2027, 5, 1, 10, 0), PARIS)
    assert opening(shop, local(2027, 5, 1, 10, 0), PARIS).state is DoorState.OPEN
    assert shop.is_open_at(local(2026, 12, 25, 15, 0), PARIS)
