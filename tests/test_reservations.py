"""Reservations: all-or-none stock holds, codes, deadlines, states, expiry, reminders."""

import asyncio
from datetime import timedelta

import pytest

from chatshop.domain.codes import RESERVATION_ALPHABET
from chatshop.domain.models import PickupOrder, ProductChanges, ReservationStatus, ShopDetails
from chatshop.errors import (
    EmptyBasket,
    InvalidInput,
    NoLongerOffered,
    NotAllowed,
    NotFound,
    OutOfStock,
    ShopUnavailable,
    WrongState,
)
from chatshop.storage import Store
from tests.conftest import FakeClock, Territory


async def held(territory: Territory, product_id: int) -> tuple[int, int]:
    product = await territory.services.catalogue.product(product_id)
    return product.on_hand, product.reserved


async def test_confirming_a_basket_makes_one_reservation_per_pickup_shop(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    bakery, baker = await territory.open_shop("Boulangerie Martin", "2300")
    bread = await territory.product("Pain", 320, on_hand=5, shop=bakery, owner=baker)
    me = territory.customer.id
    await services.baskets.add(me, honey.id, 2)
    await services.baskets.add(me, bread.id, 1)
    made = await services.reservations.confirm_basket(me, "confirm-1")
    by_shop = {r.shop_id: r for r in made}
    assert set(by_shop) == {territory.shop.id, bakery.id}
    at_grocer = by_shop[territory.shop.id]
    assert at_grocer.total_cents == 1700
    assert [(li.name, li.unit_price_cents, li.quantity) for li in at_grocer.lines] == [
        ("Miel", 850, 2)]
    assert at_grocer.deadline_at == clock.now + timedelta(hours=48)
    assert len(at_grocer.code) == 5
    assert set(at_grocer.code) <= set(RESERVATION_ALPHABET)
    assert await held(territory, honey.id) == (5, 2)
    assert await held(territory, bread.id) == (5, 1)
    assert await services.baskets.baskets(me) == []


async def test_a_short_line_reserves_nothing_and_names_what_is_left(
        territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    jam = await territory.product("Confiture", 550, on_hand=3)
    me = territory.customer.id
    await services.baskets.add(me, honey.id, 2)
    await services.baskets.add(me, jam.id, 3)
    # Someone else takes two jars of jam first.
    other = await territory.person("3100")
    await services.reservations.reserve_now(other.id, jam.id, 2, "other")
    with pytest.raises(OutOfStock) as refused:
        await services.reservations.confirm_basket(me, "confirm-1")
    assert (refused.value.product_name, refused.value.available) == ("Confiture", 1)
    assert "Confiture" in refused.value.message()
    assert "1" in refused.value.message()
    assert await held(territory, honey.id) == (5, 0)
    assert await held(territory, jam.id) == (3, 2)
    assert await services.reservations.of_customer(me) == []
    (basket,) = await services.baskets.baskets(me)
    assert basket.item_count == 5  # the basket is kept to try again


async def test_a_repeated_confirmation_returns_the_same_reservation(
        territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    me = territory.customer.id
    await services.baskets.add(me, honey.id, 2)
    first = await services.reservations.confirm_basket(me, "tap-42")
    again = await services.reservations.confirm_basket(me, "tap-42")
    assert again == first
    now = await services.reservations.reserve_now(me, honey.id, 1, "card-7")
    assert await services.reservations.reserve_now(me, honey.id, 1, "card-7") == now
    assert await held(territory, honey.id) == (5, 3)
    assert len(await services.reservations.of_customer(me)) == 2


async def test_an_empty_basket_cannot_be_confirmed(territory: Territory) -> None:
    with pytest.raises(EmptyBasket):
        await territory.services.reservations.confirm_basket(territory.customer.id, "k")


async def test_reserving_from_the_product_card_leaves_the_basket_alone(
        territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    me = territory.customer.id
    await services.baskets.add(me, honey.id, 1)
    reservation = await services.reservations.reserve_now(me, honey.id, 2, "card")
    assert reservation.total_cents == 1700
    (basket,) = await services.baskets.baskets(me)
    assert basket.item_count == 1


async def test_a_shop_on_holiday_takes_no_reservation(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    await services.shops.set_holiday(territory.owner, territory.shop.id, True,
                                     "Retour le 2 janvier.")
    with pytest.raises(ShopUnavailable) as refused:
        await services.reservations.reserve_now(territory.customer.id, honey.id, 1, "k")
    assert "Retour le 2 janvier." in refused.value.message()
    assert await held(territory, honey.id) == (5, 0)


async def test_a_hidden_product_in_a_basket_is_refused_at_confirmation(
        territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    await services.baskets.add(territory.customer.id, honey.id, 1)
    await services.catalogue.update_product(territory.owner, honey.id,
                                            ProductChanges(hidden=True))
    with pytest.raises(NoLongerOffered) as refused:
        await services.reservations.confirm_basket(territory.customer.id, "k")
    assert "Miel" in refused.value.message()
    assert await held(territory, honey.id) == (5, 0)


async def test_the_reservation_transaction_itself_refuses_what_is_no_longer_offered(
        territory: Territory, store: Store, clock: FakeClock) -> None:
    """Checked again inside the transaction: a product hidden, or a shop closed, between
    the service's checks and the write is still refused and nothing is held."""
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    jam = await territory.product("Confiture", 550, on_hand=5)
    order = PickupOrder(shop_id=territory.shop.id, items=((honey.id, 1), (jam.id, 1)),
                        deadline_at=clock.now + timedelta(hours=48))
    await services.catalogue.update_product(territory.owner, jam.id,
                                            ProductChanges(hidden=True))
    with pytest.raises(NoLongerOffered):
        await store.orders.reserve(territory.customer.id, "k1", [order], clock.now,
                                   lambda: "ABCDE", from_basket=False)
    await services.catalogue.update_product(territory.owner, jam.id,
                                            ProductChanges(hidden=False))
    await services.shops.set_holiday(territory.owner, territory.shop.id, True)
    with pytest.raises(ShopUnavailable):
        await store.orders.reserve(territory.customer.id, "k2", [order], clock.now,
                                   lambda: "ABCDE", from_basket=False)
    assert await held(territory, honey.id) == (5, 0)
    assert await held(territory, jam.id) == (5, 0)


async def test_the_shop_prepares_then_hands_over_a_reservation(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    made = await services.reservations.reserve_now(territory.customer.id, honey.id, 2, "k")
    found = await services.reservations.find_by_code(territory.owner, made.code.lower())
    assert found.id == made.id
    ready = await services.reservations.mark_ready(territory.owner, made.id)
    assert ready.status is ReservationStatus.READY
    assert ready.ready_at is not None
    done = await services.reservations.mark_collected(territory.owner, made.id)
    assert done.status is ReservationStatus.COLLECTED
    assert done.closed_at is not None
    assert await held(territory, honey.id) == (3, 0)
    ledger = await services.catalogue.stock_history(territory.owner, honey.id)
    assert (ledger[-1].delta, ledger[-1].reason.value, ledger[-1].reservation_id) == (
        -2, "collected", made.id)
    with pytest.raises(WrongState):
        await services.reservations.cancel_by_shop(territory.owner, made.id, "Erreur")
    assert await held(territory, honey.id) == (3, 0)


async def test_cancellations_give_the_stock_back(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    mine = await services.reservations.reserve_now(territory.customer.id, honey.id, 2, "a")
    theirs = await services.reservations.reserve_now(territory.customer.id, honey.id, 1, "b")
    cancelled = await services.reservations.cancel_by_customer(territory.customer.id, mine.id)
    assert cancelled.status is ReservationStatus.CANCELLED_BY_CUSTOMER
    with pytest.raises(InvalidInput):
        await services.reservations.cancel_by_shop(territory.owner, theirs.id, "   ")
    by_shop = await services.reservations.cancel_by_shop(
        territory.owner, theirs.id, "Le dernier pot est tombé, désolée !")
    assert by_shop.cancel_reason == "Le dernier pot est tombé, désolée !"
    assert await held(territory, honey.id) == (5, 0)
    with pytest.raises(WrongState):
        await services.reservations.cancel_by_customer(territory.customer.id, mine.id)


async def test_nobody_else_can_handle_a_reservation(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    made = await services.reservations.reserve_now(territory.customer.id, honey.id, 1, "k")
    _, other_owner = await territory.open_shop("Boulangerie Martin", "2300")
    stranger = await territory.person("3100")
    with pytest.raises(NotAllowed):
        await services.reservations.mark_collected(other_owner, made.id)
    with pytest.raises(NotFound):  # another shop cannot even look a code up
        await services.reservations.find_by_code(other_owner, made.code)
    with pytest.raises(NotFound):  # another customer cannot cancel it
        await services.reservations.cancel_by_customer(stranger.id, made.id)
    with pytest.raises(NotAllowed):
        await services.reservations.for_shop(other_owner, territory.shop.id)
    assert [r.id for r in await services.reservations.for_shop(
        territory.owner, territory.shop.id)] == [made.id]
    assert await held(territory, honey.id) == (5, 1)


async def test_overdue_reservations_expire_and_give_their_stock_back(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    old = await services.reservations.reserve_now(territory.customer.id, honey.id, 2, "a")
    clock.advance(hours=47)
    recent = await services.reservations.reserve_now(territory.customer.id, honey.id, 1, "b")
    assert await services.reservations.expire_overdue() == []
    clock.advance(hours=1)
    (expired,) = await services.reservations.expire_overdue()
    assert (expired.id, expired.status) == (old.id, ReservationStatus.EXPIRED)
    assert await held(territory, honey.id) == (5, 1)
    assert await services.reservations.expire_overdue() == []
    assert (await services.reservations.of_customer(territory.customer.id,
                                                    live_only=True))[0].id == recent.id


async def test_the_deadline_follows_the_shops_hold_duration(territory: Territory,
                                                             clock: FakeClock) -> None:
    services = territory.services
    await services.shops.update_shop(territory.owner, territory.shop.id,
                                     ShopDetails(hold_hours=24))
    honey = await territory.product("Miel", 850, on_hand=5)
    made = await services.reservations.reserve_now(territory.customer.id, honey.id, 1, "a")
    assert made.deadline_at == clock.now + timedelta(hours=24)


async def test_a_hosted_reservation_is_collected_at_the_host_and_tells_both_shops(
        territory: Territory) -> None:
    services = territory.services
    maker, artisan = await territory.open_shop("Poteries de Marie", "2200")
    bowl = await territory.product("Bol en grès", 2500, on_hand=4, shop=maker, owner=artisan)
    await services.shops.ask_hosting(artisan, maker.id, territory.shop.id)
    await services.shops.accept_hosting(territory.owner, territory.shop.id, maker.id)
    await services.catalogue.place(artisan, bowl.id, territory.shop.id)
    honey = await territory.product("Miel", 850, on_hand=5)
    me = territory.customer.id
    await services.baskets.add(me, bowl.id)
    await services.baskets.add(me, honey.id)
    (made,) = await services.reservations.confirm_basket(me, "k")
    assert made.shop_id == territory.shop.id
    assert made.shops_to_notify == {territory.shop.id, maker.id}
    assert {li.maker_shop_id for li in made.lines} == {territory.shop.id, maker.id}
    # The host hands it over; the maker's stock goes down.
    await services.reservations.mark_collected(territory.owner, made.id)
    assert await held(territory, bowl.id) == (3, 0)


async def test_live_codes_are_unique(territory: Territory, store: Store) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=500)
    # One customer makes them all: the shop lifts its caps for it.
    await store.shops.update_shop(territory.shop.id, ShopDetails(
        max_open_reservations=999, max_units_per_product=999))
    made = [await services.reservations.reserve_now(territory.customer.id, honey.id, 1,
                                                    f"k{n}") for n in range(200)]
    assert len({r.code for r in made}) == 200


async def test_a_replayed_confirmation_still_gets_its_reservation_once_sold_out(
        territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=1)
    first = await services.reservations.reserve_now(territory.customer.id, honey.id, 1, "tap")
    # The last unit is gone and the product is hidden, yet the redelivered tap is answered
    # with the reservation it already made, and nothing more is held.
    await services.catalogue.update_product(territory.owner, honey.id,
                                            ProductChanges(hidden=True))
    assert await services.reservations.reserve_now(territory.customer.id, honey.id, 1,
                                                   "tap") == first
    assert await held(territory, honey.id) == (1, 1)
    with pytest.raises(NotFound):  # a new confirmation is refused as it should be
        await services.reservations.reserve_now(territory.customer.id, honey.id, 1, "new")


async def test_concurrent_double_taps_make_one_reservation(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    await services.baskets.add(territory.customer.id, honey.id, 2)
    results = await asyncio.gather(*(
        services.reservations.confirm_basket(territory.customer.id, "double-tap")
        for _ in range(5)))
    assert all(r == results[0] for r in results)
    assert await held(territory, honey.id) == (5, 2)
    assert len(await services.reservations.of_customer(territory.customer.id)) == 1


async def test_a_replayed_key_never_reserves_at_another_shop(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    bakery, baker = await territory.open_shop("Boulangerie Martin", "2300")
    bread = await territory.product("Pain", 320, on_hand=5, shop=bakery, owner=baker)
    me = territory.customer.id
    await services.baskets.add(me, honey.id)
    first = await services.reservations.confirm_basket(me, "K")
    # The bread goes in the basket afterwards; the old confirmation is redelivered.
    await services.baskets.add(me, bread.id)
    assert await services.reservations.confirm_basket(me, "K") == first
    assert await services.reservations.reserve_now(me, bread.id, 1, "K") == first[0]
    assert await held(territory, bread.id) == (5, 0)
    assert len(await services.reservations.of_customer(me)) == 1


async def test_a_replayed_tap_after_the_product_moved_to_a_host_reserves_nothing_more(
        territory: Territory) -> None:
    services = territory.services
    maker, artisan = await territory.open_shop("Poteries de Marie", "2200")
    bowl = await territory.product("Bol", 2500, on_hand=4, shop=maker, owner=artisan)
    me = territory.customer.id
    first = await services.reservations.reserve_now(me, bowl.id, 1, "card-1")
    await services.shops.ask_hosting(artisan, maker.id, territory.shop.id)
    await services.shops.accept_hosting(territory.owner, territory.shop.id, maker.id)
    await services.catalogue.place(artisan, bowl.id, territory.shop.id)
    assert await services.reservations.reserve_now(me, bowl.id, 1, "card-1") == first
    assert await held(territory, bowl.id) == (4, 1)


async def test_a_customer_may_collect_before_the_shop_marked_it_ready(
        territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    made = await services.reservations.reserve_now(territory.customer.id, honey.id, 1, "k")
    done = await services.reservations.mark_collected(territory.owner, made.id)
    assert done.status is ReservationStatus.COLLECTED
    assert await held(territory, honey.id) == (4, 0)


async def test_a_refused_transition_says_what_state_the_reservation_is_in(
        territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=5)
    made = await services.reservations.reserve_now(territory.customer.id, honey.id, 1, "k")
    await services.reservations.mark_ready(territory.owner, made.id)
    with pytest.raises(WrongState) as refused:
        await services.reservations.mark_ready(territory.owner, made.id)
    assert "déjà prête" in refused.value.message()
    await services.reservations.cancel_by_customer(territory.customer.id, made.id)
    with pytest.raises(WrongState) as refused:
        await services.reservations.mark_collected(territory.owner, made.id)
    assert "annulée par le client" in refused.value.message()
    assert await held(territory, honey.id) == (5, 0)
