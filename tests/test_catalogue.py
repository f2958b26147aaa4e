"""Products, categories, stock edits with their ledger, and what customers may see."""

import pytest

from chatshop.domain.models import ProductChanges, ShopDetails, StockReason
from chatshop.errors import (
    DomainError,
    InvalidInput,
    NotAllowed,
    NotEnoughOnHand,
    NotFound,
    StockBelowReserved,
    StockOutOfRange,
)
from tests.conftest import FakeClock, Territory


async def test_a_shopkeeper_adds_a_product_with_its_photo_and_category(
        territory: Territory) -> None:
    categories = await territory.services.catalogue.categories()
    food = next(c for c in categories if c.name == "Alimentation")
    product = await territory.product(
        "  Miel  de châtaignier ", 850, on_hand=12, category_id=food.id,
        description="Récolté à Rochechouart.\n\n\n\nPot de 500 g.",
        photo=("telegram", "AgACAgQ-file-id"))
    assert product.name == "Miel de châtaignier"
    assert product.description == "Récolté à Rochechouart.\n\nPot de 500 g."
    assert (product.on_hand, product.reserved, product.available) == (12, 0, 12)
    assert product.photos == {"telegram": "AgACAgQ-file-id"}
    assert product.restocked_at is not None
    ledger = await territory.services.catalogue.stock_history(territory.owner, product.id)
    assert [(m.delta, m.on_hand_after, m.reason) for m in ledger] == [
        (12, 12, StockReason.CREATED)]


@pytest.mark.parametrize(("fields", "words"), [
    ({"name": "x" * 5000}, "5000"),
    ({"name": "   "}, ""),
    ({"description": "y" * 801}, "801"),
    ({"price_cents": 0}, ""),
    ({"price_cents": 1_000_001}, ""),
    ({"on_hand": -3}, "négatif"),
    ({"on_hand": 100_001}, "100\u202f000"),  # Babel: « 100 000 »
    ({"price_cents": 2.5}, ""),
    ({"on_hand": 1.5}, ""),
    ({"photo": ("sms", "file")}, "photo"),
    ({"photo": ("telegram", "x" * 600)}, "photo"),
    ({"category_id": 2**70}, ""),
])
async def test_bad_product_input_is_refused_and_stores_nothing(
        territory: Territory, fields: dict[str, object], words: str) -> None:
    values: dict[str, object] = {"name": "Savon", "price_cents": 450} | fields
    with pytest.raises(DomainError) as refused:
        await territory.services.catalogue.add_product(
            territory.owner, territory.shop.id, **values)  # type: ignore[arg-type]
    assert words in refused.value.message()
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert page.total == 0


async def test_a_customer_or_another_shop_cannot_touch_a_product(territory: Territory) -> None:
    product = await territory.product()
    customer = territory.services.customers.actor(territory.customer)
    _, other_owner = await territory.open_shop("Boulangerie Martin", "2300")
    catalogue = territory.services.catalogue
    for intruder in (customer, other_owner):
        with pytest.raises(NotAllowed):
            await catalogue.update_product(intruder, product.id,
                                           ProductChanges(price_cents=1))
        with pytest.raises(NotAllowed):
            await catalogue.set_stock(intruder, product.id, 0)
        with pytest.raises(NotAllowed):
            await catalogue.add_product(intruder, territory.shop.id, name="X",
                                        price_cents=100)
    assert (await catalogue.product(product.id)).price_cents == 850


async def test_stock_is_set_added_and_removed_with_a_ledger_line_each(
        territory: Territory, clock: FakeClock) -> None:
    catalogue = territory.services.catalogue
    product = await territory.product(on_hand=5)
    clock.advance(hours=1)
    assert (await catalogue.add_stock(territory.owner, product.id, 3)).on_hand == 8
    assert (await catalogue.remove_stock(territory.owner, product.id, 2)).on_hand == 6
    assert (await catalogue.set_stock(territory.owner, product.id, 20)).on_hand == 20
    ledger = await catalogue.stock_history(territory.owner, product.id)
    assert [(m.delta, m.on_hand_after, m.reason.value, m.user_id) for m in ledger] == [
        (5, 5, "created", territory.owner.user_id),
        (3, 8, "added", territory.owner.user_id),
        (-2, 6, "removed", territory.owner.user_id),
        (14, 20, "set", territory.owner.user_id),
    ]


async def test_stock_cannot_go_below_what_customers_reserved(territory: Territory) -> None:
    services = territory.services
    product = await territory.product(on_hand=5)
    await services.reservations.reserve_now(territory.customer.id, product.id, 3, "k")
    with pytest.raises(StockBelowReserved) as refused:
        await services.catalogue.set_stock(territory.owner, product.id, 2)
    assert refused.value.reserved == 3
    assert "3" in refused.value.message()
    with pytest.raises(StockBelowReserved):
        await services.catalogue.remove_stock(territory.owner, product.id, 3)
    after = await services.catalogue.product(product.id)
    assert (after.on_hand, after.reserved) == (5, 3)
    assert len(await services.catalogue.stock_history(territory.owner, product.id)) == 1


@pytest.mark.parametrize("quantity", [0, -1, 1000])
async def test_out_of_range_stock_quantities_are_refused(territory: Territory,
                                                         quantity: int) -> None:
    product = await territory.product(on_hand=5)
    with pytest.raises(InvalidInput):
        await territory.services.catalogue.add_stock(territory.owner, product.id, quantity)
    assert (await territory.services.catalogue.product(product.id)).on_hand == 5


async def test_a_price_change_keeps_everything_else(territory: Territory) -> None:
    product = await territory.product()
    changed = await territory.services.catalogue.update_product(
        territory.owner, product.id, ProductChanges(price_cents=990))
    assert (changed.price_cents, changed.name, changed.on_hand) == (990, product.name, 10)
    assert changed.updated_at >= product.updated_at


async def test_hidden_products_are_not_shown_to_customers(territory: Territory) -> None:
    catalogue = territory.services.catalogue
    shown = await territory.product("Confiture de fraises")
    hidden = await territory.product("Confiture de mûres")
    await catalogue.update_product(territory.owner, hidden.id, ProductChanges(hidden=True))
    page = await catalogue.shop_catalogue(territory.shop.id)
    assert [item.product.id for item in page.items] == [shown.id]
    with pytest.raises(NotFound):
        await catalogue.listed(hidden.id)
    own = await catalogue.maker_products(territory.owner, territory.shop.id)
    assert own.total == 2


async def test_the_catalogue_is_paged_in_french_alphabetical_order(territory: Territory) -> None:
    for name in ["Savon", "bougie", "Ail", "Miel", "Éclair", "Thé", "Café", "Sel", "Riz", "Pâtes"]:
        await territory.product(name)
    catalogue = territory.services.catalogue
    first = await catalogue.shop_catalogue(territory.shop.id, limit=8)
    second = await catalogue.shop_catalogue(territory.shop.id, offset=8, limit=8)
    assert first.total == 10
    assert len(first.items) == 8
    assert first.has_next
    assert [i.product.name for i in first.items] == [
        "Ail", "bougie", "Café", "Éclair", "Miel", "Pâtes", "Riz", "Savon"]
    assert [i.product.name for i in second.items] == ["Sel", "Thé"]
    assert not second.has_next
    assert second.has_previous


async def test_categories_are_listed_per_shop_and_edited_by_the_operator_only(
        territory: Territory) -> None:
    catalogue = territory.services.catalogue
    food = (await catalogue.categories())[0]
    await territory.product("Miel", category_id=food.id)
    await territory.product("Pain d'épices", category_id=food.id)
    await territory.product("Sans catégorie")
    assert [(c.name, n) for c, n in await catalogue.shop_categories(territory.shop.id)] == [
        ("Alimentation", 2)]
    with pytest.raises(NotAllowed):
        await catalogue.add_category(territory.owner, "Vins")
    wine = await catalogue.add_category(territory.operator, "Vins & spiritueux")
    renamed = await catalogue.edit_category(territory.operator, wine.id, name="Vins")
    assert renamed.name == "Vins"
    assert renamed.position > food.position
    await catalogue.edit_category(territory.operator, wine.id, active=False)
    assert "Vins" not in [c.name for c in await catalogue.categories()]
    with pytest.raises(NotFound):
        await territory.product("Pinot", category_id=wine.id)


async def test_a_hosted_product_is_listed_at_the_host_with_the_makers_name(
        territory: Territory) -> None:
    services = territory.services
    maker, artisan = await territory.open_shop("Poteries de Marie", "2200")
    bowl = await territory.product("Bol en grès", 2500, on_hand=4, shop=maker, owner=artisan)
    with pytest.raises(InvalidInput):  # the host has not agreed yet
        await services.catalogue.place(artisan, bowl.id, territory.shop.id)
    await services.shops.ask_hosting(artisan, maker.id, territory.shop.id)
    with pytest.raises(InvalidInput):  # still only proposed
        await services.catalogue.place(artisan, bowl.id, territory.shop.id)
    await services.shops.accept_hosting(territory.owner, territory.shop.id, maker.id)
    placed = await services.catalogue.place(artisan, bowl.id, territory.shop.id)
    assert placed.pickup_shop_id == territory.shop.id

    at_host = await services.catalogue.shop_catalogue(territory.shop.id)
    assert [(i.product.name, i.maker_name, i.pickup_shop_name) for i in at_host.items] == [
        ("Bol en grès", "Poteries de Marie", "Épicerie du Château")]
    assert (await services.catalogue.shop_catalogue(maker.id)).total == 0
    # The maker keeps managing it; the host cannot change it.
    with pytest.raises(NotAllowed):
        await services.catalogue.set_stock(territory.owner, bowl.id, 0)
    await services.catalogue.add_stock(artisan, bowl.id, 1)

    await services.shops.end_hosting(territory.owner, territory.shop.id, maker.id)
    assert (await services.catalogue.shop_catalogue(territory.shop.id)).total == 0
    back = await services.catalogue.shop_catalogue(maker.id)
    assert [i.product.id for i in back.items] == [bowl.id]


async def test_an_inactive_shop_disappears_from_the_catalogue(territory: Territory) -> None:
    product = await territory.product()
    await territory.services.shops.update_shop(territory.operator, territory.shop.id,
                                               ShopDetails(active=False))
    assert (await territory.services.catalogue.shop_catalogue(territory.shop.id)).total == 0
    with pytest.raises(NotFound):
        await territory.services.catalogue.listed(product.id)
    assert (await territory.services.shops.browse()).total == 0


async def test_a_stock_that_is_not_a_whole_number_is_refused_with_the_real_range(
        territory: Territory) -> None:
    product = await territory.product(on_hand=5)
    catalogue = territory.services.catalogue
    for forged in (2.5, "3", None):
        with pytest.raises(InvalidInput) as refused:
            await catalogue.set_stock(territory.owner, product.id, forged)  # type: ignore[arg-type]
        assert refused.value.message() == \
            "Le stock doit être un nombre entier entre 0 et 100\u202f000."
    with pytest.raises(InvalidInput) as refused:
        await territory.product("Savon", on_hand=1.5)  # type: ignore[arg-type]
    assert "entre 0 et 100\u202f000" in refused.value.message()
    assert (await catalogue.product(product.id)).on_hand == 5
    assert [p.name for p in await catalogue.every_product(territory.owner, product.shop_id)] \
        == [product.name]


async def test_removing_more_than_there_is_says_how_many_there_are(
        territory: Territory) -> None:
    product = await territory.product(on_hand=5)
    with pytest.raises(NotEnoughOnHand) as refused:
        await territory.services.catalogue.remove_stock(territory.owner, product.id, 6)
    assert "5" in refused.value.message()
    assert (await territory.services.catalogue.product(product.id)).on_hand == 5


async def test_stock_cannot_be_set_negative_or_absurd(territory: Territory) -> None:
    product = await territory.product(on_hand=5)
    catalogue = territory.services.catalogue
    with pytest.raises(StockOutOfRange) as refused:
        await catalogue.set_stock(territory.owner, product.id, -1)
    assert "négatif" in refused.value.message()
    with pytest.raises(StockOutOfRange):
        await catalogue.set_stock(territory.owner, product.id, 100_001)
    await catalogue.set_stock(territory.owner, product.id, 100_000)
    with pytest.raises(StockOutOfRange):
        await catalogue.add_stock(territory.owner, product.id, 1)
    assert (await catalogue.product(product.id)).on_hand == 100_000
