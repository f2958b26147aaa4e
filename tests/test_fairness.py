"""Fairness (#12 §5), through the chat: one customer cannot lock a shop's stock — at most
5 units of one product (the shop's ``max_units_per_product``) and 10 open reservations
(``max_open_reservations``) at that shop, each refused with a clear sentence and nothing
held; phone reservations are the staff's to judge (no cap), and another shop's
reservations do not count. Reservations let expire are counted for the staff:
« ⚠️ 2 réservations non retirées » on the customer's next one."""

from __future__ import annotations

from functools import partial

import pytest

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import ADD_TO_BASKET, RESERVE_NOW
from chatshop.domain.models import (
    Contact,
    PickupOrder,
    Product,
    ReservationSource,
    ShopDetails,
)
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory
from tests.test_pickups import PARIS, plain


@pytest.fixture
async def people(territory: Territory, conversation: Conversation,
                 postbox: Postbox) -> tuple[Chat, Chat]:
    """Jeanne the customer and Léa, owner of the Épicerie du Château."""
    return (Chat(conversation, "3000", "Jeanne", postbox),
            Chat(conversation, "2000", "Léa", postbox))


async def reserve(jeanne: Chat, product: Product, quantity: int, nonce: str) -> None:
    """The stepper's « ✅ Réserver {quantity} » on the product's card."""
    await jeanne.forge(RESERVE_NOW.payload(product=product.id, quantity=quantity, nonce=nonce))


async def held(territory: Territory, product: Product) -> int:
    return (await territory.services.catalogue.product(product.id)).reserved


async def test_six_of_one_product_are_refused_when_the_shop_keeps_five(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    soap = await territory.product("Savon lavande", 450, on_hand=20)
    await reserve(jeanne, soap, 6, "a")
    assert "La boutique garde au plus 5 « Savon lavande » par client." in plain(jeanne.text)
    assert "🏠 Menu" in jeanne.labels
    assert await held(territory, soap) == 0
    assert await territory.services.reservations.of_customer(territory.customer.id) == []
    # In two goes too: 3, then 3 more.
    await reserve(jeanne, soap, 3, "b")
    await jeanne.forge(ADD_TO_BASKET.payload(product=soap.id, quantity=3))
    await jeanne.send("/panier")
    await jeanne.press("Réserver chez")
    assert "La boutique garde au plus 5 « Savon lavande » par client. Vous en avez déjà 3 " \
        "de réservés." in plain(jeanne.text)
    assert await held(territory, soap) == 3


async def test_the_shops_own_cap_is_the_one_kept(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    await territory.services.shops.update_shop(territory.owner, territory.shop.id,
                                               ShopDetails(max_units_per_product=8))
    soap = await territory.product("Savon lavande", 450, on_hand=20)
    await reserve(jeanne, soap, 8, "a")
    assert await held(territory, soap) == 8


async def test_the_eleventh_open_reservation_is_refused(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    await territory.services.shops.update_shop(territory.owner, territory.shop.id,
                                               ShopDetails(max_units_per_product=50))
    soap = await territory.product("Savon lavande", 450, on_hand=50)
    for n in range(10):
        await reserve(jeanne, soap, 1, f"n{n}")
    assert len(await territory.services.reservations.of_customer(territory.customer.id)) == 10
    await reserve(jeanne, soap, 1, "n10")
    assert "Vous avez déjà 10 réservations en attente chez Épicerie du Château" \
        in plain(jeanne.text)
    assert len(await territory.services.reservations.of_customer(territory.customer.id)) == 10
    assert await held(territory, soap) == 10
    # Collected or cancelled ones free a place.
    first = (await territory.services.reservations.of_customer(territory.customer.id))[0]
    await territory.services.reservations.mark_collected(territory.owner, first.id)
    await reserve(jeanne, soap, 1, "n11")
    assert len(await territory.services.reservations.of_customer(
        territory.customer.id, live_only=True)) == 10


async def test_phone_reservations_are_not_capped(
        territory: Territory, store: Store, clock: FakeClock) -> None:
    soap = await territory.product("Savon lavande", 450, on_hand=50)
    deadline = territory.shop.pickup_deadline(clock(), PARIS)
    for n in range(12):
        await store.orders.reserve(
            territory.owner_user.id, f"phone-{n}",
            [PickupOrder(shop_id=territory.shop.id, deadline_at=deadline,
                         items=((soap.id, 3),))], clock(), partial(str, f"TEL{n:02d}"),
            from_basket=False, source=ReservationSource.PHONE,
            contact=Contact(name="Mme Dupont"))
    assert await held(territory, soap) == 36


async def test_another_shops_reservations_do_not_count(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    other, owner = await territory.open_shop("Ferme des Combes", "5000")
    await territory.services.shops.update_shop(owner, other.id,
                                               ShopDetails(max_units_per_product=50))
    eggs = await territory.product("Œufs", 300, on_hand=50, shop=other, owner=owner)
    soap = await territory.product("Savon lavande", 450, on_hand=50)
    for n in range(10):
        await reserve(jeanne, eggs, 1, f"e{n}")
    await reserve(jeanne, eggs, 5, "e-five")
    assert "réservations en attente chez Ferme des Combes" in plain(jeanne.text)
    await reserve(jeanne, soap, 5, "s")
    assert await held(territory, soap) == 5


async def test_the_staff_see_the_reservations_a_customer_let_expire(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock,
        postbox: Postbox) -> None:
    jeanne, _lea = people
    soap = await territory.product("Savon lavande", 450, on_hand=50)
    other, owner = await territory.open_shop("Ferme des Combes", "5000")
    eggs = await territory.product("Œufs", 300, on_hand=50, shop=other, owner=owner)

    def news_for_lea() -> str:
        return plain(postbox.inbox["2000"][-1].text)

    await reserve(jeanne, soap, 1, "a")
    assert "non retirée" not in news_for_lea()  # nothing to say: no line at all
    await reserve(jeanne, eggs, 1, "e")  # at another shop: never counted here
    clock.advance(days=5)
    await territory.services.reservations.expire_overdue()
    await reserve(jeanne, soap, 1, "b")
    assert "⚠️ 1 réservation non retirée" in news_for_lea()
    collected = (await territory.services.reservations.of_customer(territory.customer.id,
                                                                   live_only=True))[0]
    await territory.services.reservations.mark_collected(territory.owner, collected.id)
    await reserve(jeanne, soap, 1, "c")
    clock.advance(days=5)
    await territory.services.reservations.expire_overdue()
    await reserve(jeanne, soap, 1, "d")
    assert "⚠️ 2 réservations non retirées" in news_for_lea()
    assert "non retirée" not in plain(postbox.inbox["5000"][-1].text)
