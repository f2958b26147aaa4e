"""Baskets: one per pickup shop, quantities changed freely, no stock held."""

import pytest

from chatshop.errors import InvalidInput, NotFound, OutOfStock
from tests.conftest import Territory


async def test_baskets_are_grouped_by_pickup_shop(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850)
    jam = await territory.product("Confiture", 550)
    bakery, baker = await territory.open_shop("Boulangerie Martin", "2300")
    bread = await territory.product("Pain de campagne", 320, shop=bakery, owner=baker)
    me = territory.customer.id
    await services.baskets.add(me, honey.id, 2)
    await services.baskets.add(me, bread.id)
    baskets = await services.baskets.add(me, jam.id)
    by_shop = {b.shop_id: b for b in baskets}
    assert set(by_shop) == {territory.shop.id, bakery.id}
    assert by_shop[territory.shop.id].total_cents == 2 * 850 + 550
    assert by_shop[territory.shop.id].item_count == 3
    assert by_shop[bakery.id].total_cents == 320
    assert await services.baskets.item_count(me) == 4  # the menu's « Panier (4) »
    assert await services.baskets.item_count(territory.owner_user.id) == 0
    # Nothing is held by a basket.
    assert (await services.catalogue.product(honey.id)).reserved == 0


async def test_quantities_add_up_change_and_disappear_at_zero(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850)
    me = territory.customer.id
    await services.baskets.add(me, honey.id, 2)
    (basket,) = await services.baskets.add(me, honey.id, 3)
    assert basket.lines[0].quantity == 5
    (basket,) = await services.baskets.set_quantity(me, honey.id, 1)
    assert basket.lines[0].quantity == 1
    assert await services.baskets.remove(me, honey.id) == []


async def test_adding_more_than_is_available_says_what_is_left(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=2)
    await services.baskets.add(territory.customer.id, honey.id, 1)
    with pytest.raises(OutOfStock) as refused:
        await services.baskets.add(territory.customer.id, honey.id, 2)
    assert refused.value.available == 2
    (basket,) = await services.baskets.baskets(territory.customer.id)
    assert basket.lines[0].quantity == 1


@pytest.mark.parametrize("quantity", [0, -2, 1000])
async def test_forged_quantities_are_refused(territory: Territory, quantity: int) -> None:
    honey = await territory.product("Miel", 850)
    with pytest.raises(InvalidInput):
        await territory.services.baskets.add(territory.customer.id, honey.id, quantity)
    assert await territory.services.baskets.baskets(territory.customer.id) == []


async def test_a_product_that_is_not_listed_cannot_be_added(territory: Territory) -> None:
    with pytest.raises(NotFound):
        await territory.services.baskets.add(territory.customer.id, 424242)


async def test_clearing_one_shops_basket_keeps_the_others(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850)
    bakery, baker = await territory.open_shop("Boulangerie Martin", "2300")
    bread = await territory.product("Pain", 320, shop=bakery, owner=baker)
    me = territory.customer.id
    await services.baskets.add(me, honey.id)
    await services.baskets.add(me, bread.id)
    await services.baskets.clear(me, territory.shop.id)
    assert [b.shop_id for b in await services.baskets.baskets(me)] == [bakery.id]
    await services.baskets.clear(me)
    assert await services.baskets.baskets(me) == []
