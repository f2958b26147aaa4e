"""Forged buttons and odd values: every one gets a domain refusal and changes nothing."""

import asyncio
from datetime import UTC, datetime

import pytest

from chatshop.domain.models import ProductChanges, ReservationStatus, ShopDetails, StockReason
from chatshop.errors import DomainError, InvalidInput, NotFound, OutOfStock
from chatshop.storage import Store
from tests.conftest import Territory

HUGE = 2**63
FORGED_IDS = [0, -1, HUGE, 2**100]


@pytest.mark.parametrize("forged", FORGED_IDS)
async def test_forged_ids_are_simply_not_found(territory: Territory, forged: int) -> None:
    services = territory.services
    me = territory.customer.id
    attempts = [
        services.catalogue.product(forged),
        services.catalogue.listed(forged),
        services.catalogue.shop_catalogue(forged),
        services.shops.get(forged),
        services.baskets.add(me, forged),
        services.baskets.set_quantity(me, forged, 2),
        services.reservations.reserve_now(me, forged, 1, "k"),
        services.reservations.cancel_by_customer(me, forged),
        services.reservations.mark_ready(territory.owner, forged),
        services.catalogue.set_stock(territory.owner, forged, 3),
        services.shops.update_shop(territory.operator, forged, ShopDetails(phone="")),
        services.catalogue.add_product(territory.operator, forged, name="X", price_cents=100),
        services.shops.set_photo(territory.operator, forged, "telegram", "file"),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            await attempt
    assert await services.baskets.baskets(me) == []


async def test_odd_paging_values_are_made_safe(territory: Territory) -> None:
    for n in range(60):
        await territory.product(f"Carte postale n°{n}", 150)
    catalogue = territory.services.catalogue
    assert len((await catalogue.shop_catalogue(territory.shop.id, limit=-1)).items) == 1
    assert len((await catalogue.shop_catalogue(territory.shop.id, limit=10_000)).items) == 50
    page = await catalogue.shop_catalogue(territory.shop.id, offset=-3)
    assert page.offset == 0
    found = await territory.services.search.search("carte", offset=HUGE)
    assert (found.items, found.total) == ((), 60)


async def test_a_photo_from_an_unknown_channel_is_refused_and_the_product_stays_readable(
        territory: Territory) -> None:
    catalogue = territory.services.catalogue
    product = await territory.product()
    for channel, ref in [("sms", "x"), ("telegram", ""), ("telegram", "a\nb"),
                         ("whatsapp", "x" * 513)]:
        with pytest.raises(InvalidInput):
            await catalogue.set_photo(territory.owner, product.id, channel, ref)  # type: ignore[arg-type]
    assert (await catalogue.product(product.id)).photos == {}
    assert (await territory.services.search.search("miel")).total == 1


@pytest.mark.parametrize("quantity", [2.5, True, "3", None])
async def test_a_quantity_that_is_not_a_whole_number_is_refused(territory: Territory,
                                                                quantity: object) -> None:
    product = await territory.product()
    me = territory.customer.id
    with pytest.raises(InvalidInput):
        await territory.services.baskets.add(me, product.id, quantity)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await territory.services.baskets.set_quantity(me, product.id, quantity)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await territory.services.reservations.reserve_now(me, product.id, quantity, "k")  # type: ignore[arg-type]
    assert await territory.services.baskets.baskets(me) == []


async def test_setting_a_basket_quantity_checks_the_product_like_adding_does(
        territory: Territory) -> None:
    services = territory.services
    product = await territory.product(on_hand=5)
    me = territory.customer.id
    with pytest.raises(OutOfStock):
        await services.baskets.set_quantity(me, product.id, 999)
    await services.catalogue.update_product(territory.owner, product.id,
                                            ProductChanges(hidden=True))
    with pytest.raises(NotFound):
        await services.baskets.set_quantity(me, product.id, 1)
    assert await services.baskets.baskets(me) == []


async def test_the_operator_acting_on_a_shop_that_does_not_exist_is_told_so(
        territory: Territory) -> None:
    services = territory.services
    with pytest.raises(NotFound):
        await services.catalogue.maker_products(territory.operator, 999)
    with pytest.raises(NotFound):
        await services.shops.staff(territory.operator, 999)
    with pytest.raises(NotFound):
        await services.shops.update_shop(territory.operator, territory.shop.id,
                                         ShopDetails(commune_id=999))
    with pytest.raises(NotFound):
        await services.shops.ask_hosting(territory.operator, 999, territory.shop.id)


async def test_text_with_unpaired_surrogates_or_nul_bytes_finds_nothing(
        territory: Territory) -> None:
    services = territory.services
    with pytest.raises(NotFound):
        await services.shops.by_slug("\ud800")
    with pytest.raises(NotFound):
        await services.reservations.find_by_code(territory.owner, "\ud800\x00")
    with pytest.raises(DomainError):
        await services.shops.accept_invite(territory.customer.id, "\ud800")
    assert (await services.search.search("\x00\ud800")).total == 0


async def test_a_write_cancelled_midway_does_not_block_the_next_ones(
        territory: Territory, store: Store) -> None:
    services = territory.services
    product = await territory.product(on_hand=5)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    # Cancel a stock change at each of its first steps (while BEGIN, the UPDATE... are
    # queued in aiosqlite's thread), as a timeout or a shutdown would.
    for steps in range(8):
        task = asyncio.create_task(store.catalogue.change_stock(
            product.id, territory.owner.user_id, StockReason.ADDED, 1, now))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    made = await services.reservations.reserve_now(territory.customer.id, product.id, 1, "k")
    assert made.status is ReservationStatus.PENDING
    assert (await services.catalogue.add_stock(territory.owner, product.id, 1)).on_hand >= 6
