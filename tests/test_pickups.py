"""« Quand passez-vous ? » (#12 §4), through the chat: a customer of a shop that asks
chooses one of its next opening slots (never a closed time, never past the hold's
deadline) or « Je ne sais pas encore », changes it from « Mes réservations », the shop's
team hears it, and the morning of that day one reminder goes, once. Forged and stale
buttons store nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import ADD_TO_BASKET, PICKUP_SLOT, PICKUP_UNSURE
from chatshop.delivery.runtime import Delivery
from chatshop.domain.models import (
    Contact,
    OpeningInterval,
    PickupOrder,
    Product,
    Reservation,
    ReservationSource,
    ShopDetails,
)
from chatshop.services import Services
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory
from tests.world import Collecting, runtime_of

QUESTION = "Quand passez-vous"
NBSP = "\u00a0"
PARIS = ZoneInfo("Europe/Paris")


def plain(text: str) -> str:
    return text.replace(NBSP, " ").replace("\u202f", " ").replace("’", "'")


@pytest.fixture
async def people(territory: Territory, conversation: Conversation,
                 postbox: Postbox) -> tuple[Chat, Chat]:
    """Jeanne the customer and Léa, owner of the Épicerie du Château."""
    return (Chat(conversation, "3000", "Jeanne", postbox),
            Chat(conversation, "2000", "Léa", postbox))


async def asking_shop(territory: Territory, *, asks: bool = True, hold_hours: int = 48
                      ) -> Product:
    """The Épicerie opens Tuesday to Saturday 9 h – 12 h and 14 h – 18 h, asks when
    customers come, and sells honey."""
    services = territory.services
    await services.shops.set_hours(territory.owner, territory.shop.id, [
        OpeningInterval(weekday=day, opens=opens, closes=closes)
        for day in range(1, 6) for opens, closes in ((time(9), time(12)), (time(14), time(18)))])
    await services.shops.update_shop(territory.owner, territory.shop.id, ShopDetails(
        asks_pickup_time=asks, hold_hours=hold_hours))
    return await territory.product("Miel de châtaignier", 850, on_hand=10)


async def reserves(jeanne: Chat, product: Product) -> None:
    await jeanne.send(f"/start p_{product.id}")
    await jeanne.press("Réserver 1")


async def mine(territory: Territory) -> Reservation:
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    return made


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November–December 2026 in Paris (UTC+1 then), as UTC."""
    month, day = (11, day) if day <= 30 else (12, day - 30)
    return datetime(2026, month, day, hour - 1, minute, tzinfo=UTC)


async def test_jeanne_is_asked_when_she_comes_and_lea_hears_her_choice(
        territory: Territory, people: tuple[Chat, Chat], postbox: Postbox) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await reserves(jeanne, honey)  # Thursday 26 November, 10 h in Paris
    made = await mine(territory)
    assert made.code in jeanne.text  # the proof first
    assert QUESTION in jeanne.text
    # The hold ends Saturday 10 h: its morning is cut there; today's morning from now.
    assert [plain(label) for label in jeanne.labels] == [
        "Ce matin (10 h – 12 h)", "Cet après-midi (14 h – 18 h)",
        "Demain matin (9 h – 12 h)", "Demain après-midi (14 h – 18 h)",
        "Samedi 28 novembre, matin (9 h – 10 h)", "❔ Je ne sais pas encore", "🏠 Menu"]
    postbox.inbox.clear()
    await jeanne.press("Demain matin")
    assert "C'est noté : vous passerez chez Épicerie du Château demain matin (9 h – 12 h)" \
        in plain(jeanne.text)
    assert {"🕒 Changer l'heure", "📋 Mes réservations"} <= {plain(x) for x in jeanne.labels}
    chosen = await mine(territory)
    assert (chosen.pickup_from, chosen.pickup_until) == (paris(27, 9), paris(27, 12))
    told = [plain(reply.text) for reply in postbox.inbox["2000"]]
    assert told == [f"🕒 Jeanne passera pour la réservation {made.code} demain matin "
                    "(9 h – 12 h)."]


async def test_a_shop_that_does_not_ask_only_confirms(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory, asks=False)
    await reserves(jeanne, honey)
    assert (await mine(territory)).code in jeanne.text
    assert QUESTION not in jeanne.text
    assert not [label for label in jeanne.labels if "Je ne sais pas" in label]


async def test_a_basket_confirmation_asks_too(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await jeanne.forge(ADD_TO_BASKET.payload(product=honey.id, quantity=2))
    await jeanne.send("/panier")
    await jeanne.press("Réserver chez")
    assert (await mine(territory)).code in jeanne.text
    assert QUESTION in jeanne.text
    await jeanne.press("Cet après-midi")
    assert (await mine(territory)).pickup_from == paris(26, 14)


async def test_i_do_not_know_yet_stores_no_time_and_drops_one_chosen_before(
        territory: Territory, people: tuple[Chat, Chat], postbox: Postbox) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await reserves(jeanne, honey)
    await jeanne.press("Je ne sais pas encore")
    assert "Très bien : passez quand cela vous arrange, avant le samedi 28 novembre à 10:00." \
        in plain(jeanne.text)
    made = await mine(territory)
    assert (made.pickup_from, made.pickup_until) == (None, None)
    await jeanne.press("Dire quand je passe")
    await jeanne.press("Demain après-midi")
    assert (await mine(territory)).pickup_from == paris(27, 14)
    postbox.inbox.clear()
    await jeanne.forge(PICKUP_UNSURE.payload(reservation=made.id))
    assert (await mine(territory)).pickup_from is None
    assert "ne sait plus quand" in postbox.inbox["2000"][0].text


async def test_the_time_is_changed_from_my_reservations(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await reserves(jeanne, honey)
    await jeanne.press("Demain matin")
    await jeanne.send("/reservations")
    assert "Passage prévu : demain matin (9 h – 12 h)" in plain(jeanne.text)
    code = (await mine(territory)).code
    await jeanne.press(f"Changer l’heure {code}")
    assert "Passage prévu : demain matin (9 h – 12 h)" in plain(jeanne.text)
    assert QUESTION in jeanne.text
    await jeanne.press("Demain après-midi")
    made = await mine(territory)
    assert (made.pickup_from, made.pickup_until) == (paris(27, 14), paris(27, 18))


async def test_an_opening_already_started_is_offered_from_the_next_quarter_hour(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    clock.now = paris(26, 10, 7)
    await reserves(jeanne, honey)
    assert plain(jeanne.labels[0]) == "Ce matin (10 h 15 – 12 h)"
    clock.now = paris(26, 11, 40)  # 20 minutes left: not worth offering
    await jeanne.send("/reservations")
    await jeanne.press("Dire quand je passe")
    assert plain(jeanne.labels[0]) == "Cet après-midi (14 h – 18 h)"


async def test_a_slot_cut_at_a_deadline_with_seconds_is_chosen_all_the_same(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    clock.now = paris(26, 10, 0) + timedelta(seconds=37, microseconds=5)
    await reserves(jeanne, honey)  # held until Saturday 10:00:37
    assert plain(jeanne.labels[0]) == "Ce matin (10 h 15 – 12 h)"
    await jeanne.press("Samedi 28 novembre, matin")
    made = await mine(territory)
    assert (made.pickup_from, made.pickup_until) == (paris(28, 9), made.deadline_at)


async def test_a_shop_that_stopped_asking_says_so(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await reserves(jeanne, honey)
    offered = list(jeanne.last)
    await territory.services.shops.update_shop(territory.owner, territory.shop.id,
                                               ShopDetails(asks_pickup_time=False))
    jeanne.last = offered
    await jeanne.press("Demain matin")
    assert "Épicerie du Château ne demande pas quand vous passez" in plain(jeanne.text)
    assert (await mine(territory)).pickup_from is None
    await jeanne.send("/reservations")
    assert not [label for label in jeanne.labels if "heure" in label or "quand" in label]


async def test_at_most_six_slots_are_offered_and_closed_days_never(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory, hold_hours=24 * 10)
    await reserves(jeanne, honey)
    slots = [plain(label) for label in jeanne.labels if "(" in label]
    assert len(slots) == 6
    # Thursday, Friday, Saturday; never Sunday 29 or Monday 30 (closed).
    assert slots[-2:] == ["Samedi 28 novembre, matin (9 h – 12 h)",
                          "Samedi 28 novembre, après-midi (14 h – 18 h)"]


async def test_a_forged_or_stale_slot_stores_nothing(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock,
        conversation: Conversation, postbox: Postbox) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await reserves(jeanne, honey)
    offered = list(jeanne.last)
    made = await mine(territory)
    paul = Chat(conversation, "4000", "Paul", postbox)
    noon = int(paris(27, 12).timestamp()) // 60
    await paul.forge(PICKUP_SLOT.payload(reservation=made.id, until=noon))  # not his
    assert "pas trouvé" in paul.text
    await jeanne.forge(PICKUP_SLOT.payload(reservation=made.id, until=noon + 7))  # no slot
    assert "Ce créneau n'est plus proposé" in plain(jeanne.text)
    await jeanne.forge(PICKUP_SLOT.payload(reservation=made.id, until=10**17))  # absurd
    assert "pas trouvé" in jeanne.text
    clock.now = paris(26, 12, 30)  # this morning is over
    jeanne.last = offered
    await jeanne.press("Ce matin")
    assert "Ce créneau n'est plus proposé" in plain(jeanne.text)
    assert "Cet après-midi (14 h – 18 h)" in [plain(x) for x in jeanne.labels]
    assert (await mine(territory)).pickup_from is None


async def test_a_closed_reservation_has_no_time_to_choose(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await reserves(jeanne, honey)
    offered = list(jeanne.last)
    made = await mine(territory)
    await territory.services.reservations.cancel_by_customer(territory.customer.id, made.id)
    jeanne.last = offered
    await jeanne.press("Demain matin")
    assert "Cette réservation est close" in plain(jeanne.text)
    assert (await mine(territory)).pickup_from is None


# -- the morning of that day --------------------------------------------------------------


@pytest.fixture
def telegram() -> Collecting:
    return Collecting("telegram")


@pytest.fixture
def delivery(services: Services, conversation: Conversation,
             telegram: Collecting) -> Delivery:
    return runtime_of(services, conversation, telegram)


async def reminded(delivery: Delivery, telegram: Collecting) -> list[str]:
    """What one reminder sweep sends, once the outbox delivered it."""
    await delivery.remind_pickups()
    await delivery.outbox.deliver("telegram")
    sent, telegram.sent[:] = list(telegram.sent), []
    return [plain(message.reply.text) for message in sent]


async def test_the_reminder_goes_once_the_morning_of_the_chosen_day(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock,
        delivery: Delivery, telegram: Collecting) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await reserves(jeanne, honey)
    await jeanne.press("Demain après-midi")
    code = (await mine(territory)).code
    assert await reminded(delivery, telegram) == []  # not today
    clock.now = paris(27, 7, 50)
    assert await reminded(delivery, telegram) == []  # before 8 h
    clock.now = paris(27, 8, 0)  # the shop opens at 9 h: the reminder goes at 8 h
    assert await reminded(delivery, telegram) == [
        f"⏰ Rappel : vous passez aujourd'hui chez Épicerie du Château, 14 h – 18 h, "
        f"code {code}. Paiement en boutique."]
    clock.now = paris(27, 9, 0)
    assert await reminded(delivery, telegram) == []  # once
    assert (await mine(territory)).pickup_reminded_at == paris(27, 8, 0)


async def test_two_sweeps_at_once_remind_once(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock,
        delivery: Delivery, telegram: Collecting) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await reserves(jeanne, honey)
    await jeanne.press("Demain matin")
    clock.now = paris(27, 8, 0)
    first, second = await asyncio.gather(delivery.remind_pickups(), delivery.remind_pickups())
    assert len(first) + len(second) == 1
    await delivery.outbox.deliver("telegram")
    assert len(telegram.sent) == 1


async def test_a_time_chosen_for_today_is_not_reminded_at_once(
        territory: Territory, people: tuple[Chat, Chat], delivery: Delivery,
        telegram: Collecting) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await reserves(jeanne, honey)  # 10 h: this morning's reminder time has passed
    await jeanne.press("Cet après-midi")
    assert await reminded(delivery, telegram) == []


async def test_a_new_day_chosen_after_the_reminder_is_reminded_again(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock,
        delivery: Delivery, telegram: Collecting) -> None:
    jeanne, _lea = people
    honey = await asking_shop(territory)
    await reserves(jeanne, honey)
    await jeanne.press("Demain matin")
    clock.now = paris(27, 8, 0)
    assert len(await reminded(delivery, telegram)) == 1
    await jeanne.send("/reservations")
    await jeanne.press("Changer l’heure")
    await jeanne.press("Demain matin")  # Saturday, until the hold ends at 10 h
    clock.now = paris(28, 8, 0)
    assert len(await reminded(delivery, telegram)) == 1


async def phone_reservation(territory: Territory, store: Store, clock: FakeClock,
                            product: Product, key: str = "phone-1") -> Reservation:
    """Léa takes an order for Mme Dupont on the phone (as the counter does, in storage)."""
    deadline = territory.shop.pickup_deadline(clock(), PARIS)
    (made,) = await store.orders.reserve(
        territory.owner_user.id, key,
        [PickupOrder(shop_id=territory.shop.id, deadline_at=deadline,
                     items=((product.id, 1),))], clock(), lambda: "TEL" + key[-2:].upper(),
        from_basket=False, source=ReservationSource.PHONE, contact=Contact(name="Mme Dupont"))
    return made


async def test_a_phone_reservation_is_never_asked_nor_reminded(
        territory: Territory, clock: FakeClock, delivery: Delivery, store: Store,
        telegram: Collecting, conversation: Conversation, postbox: Postbox) -> None:
    honey = await asking_shop(territory)
    made = await phone_reservation(territory, store, clock, honey)
    assert made.by_phone
    lea = Chat(conversation, "2000", "Léa", postbox)
    noon = int(paris(27, 12).timestamp()) // 60
    await lea.forge(PICKUP_SLOT.payload(reservation=made.id, until=noon))
    assert "pas trouvé" in lea.text
    await store.pickups.choose(made.id, made.user_id, paris(27, 9), paris(27, 12),
                               reminded_at=None)  # even if storage were asked
    clock.now = paris(27, 8, 0)
    assert await reminded(delivery, telegram) == []
