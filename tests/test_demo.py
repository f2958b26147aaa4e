"""The demo territory: four shops of the Porte Océane du Limousin, built through the
services, with their owners, hours, products and one hosting agreement."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chatshop.demo import (
    DANS_LMEME_PANIER,
    DEMO_CUSTOMER,
    DEMO_OPERATOR,
    HOSTINGS,
    SHOPS,
    DemoShop,
    seed_demo,
)
from chatshop.demo_history import DemoClock
from chatshop.domain.models import Actor, Product, Role, Shop
from chatshop.errors import DemoIncomplete, NotFound
from chatshop.services import Services, build_services
from chatshop.storage import Store

PARIS = ZoneInfo("Europe/Paris")


async def shops_of(services: Services, demo: list[DemoShop]) -> list[Shop]:
    return [await services.shops.by_slug(shop.slug) for shop in demo]


async def products_of(services: Services, operator: Actor, shop: Shop) -> list[Product]:
    page = await services.catalogue.maker_products(operator, shop.id, limit=50)
    assert not page.has_next
    return list(page.items)


async def all_products(services: Services, operator: Actor,
                       demo: list[DemoShop]) -> list[Product]:
    return [product for shop in await shops_of(services, demo)
            for product in await products_of(services, operator, shop)]


async def test_the_demo_has_four_shops_with_their_cards(
        demo_services: Services, demo: list[DemoShop]) -> None:
    assert [shop.name for shop in demo] == [
        "Espace coiffure", "Les Merveilles de Coco", "Instant pour Soi", "Dans l'même panier"]
    communes = {c.id: c.name for c in await demo_services.shops.communes()}
    for shop in await shops_of(demo_services, demo):
        assert shop.address
        assert shop.phone.startswith("+33555")
        assert shop.description
        assert shop.pickup_instructions
        assert shop.hold_hours in (48, 72)
        assert communes[shop.commune_id] in {
            "Rochechouart", "Saint-Junien", "Oradour-sur-Glane", "Saint-Brice-sur-Vienne"}
    assert (await demo_services.shops.browse()).total == 4


async def test_the_demo_has_about_forty_products_listed_or_deliberately_hidden(
        demo_services: Services, operator: Actor, demo: list[DemoShop]) -> None:
    products = await all_products(demo_services, operator, demo)
    assert 35 <= len(products) <= 45
    hidden = {p.name for plan in SHOPS for p in plan.products if p.hidden}
    for product in products:
        assert 350 <= product.price_cents <= 4500
        assert product.category_id is not None
        assert product.description
        if product.name in hidden:
            assert product.hidden
            with pytest.raises(NotFound):
                await demo_services.catalogue.listed(product.id)
        else:
            assert (await demo_services.catalogue.listed(product.id)).product == product


async def test_some_products_are_sold_out_and_some_nearly(
        demo_services: Services, operator: Actor, demo: list[DemoShop]) -> None:
    stocks = [p.available for p in await all_products(demo_services, operator, demo)
              if not p.hidden]
    assert 0 in stocks
    assert {1, 2} & set(stocks)


async def test_searching_creme_without_accent_finds_creams(
        demo_services: Services, demo: list[DemoShop]) -> None:
    page = await demo_services.search.search("creme", limit=50)
    names = [item.product.name for item in page.items]
    assert len([name for name in names if name.startswith("Crème")]) >= 2
    assert "Coffret de Noël Douceur" not in names  # hidden, though it mentions a crème


async def test_the_farm_shop_lists_the_jewellery_it_hosts(
        demo_services: Services, demo: list[DemoShop]) -> None:
    _, coco, _, panier = await shops_of(demo_services, demo)
    page = await demo_services.catalogue.shop_catalogue(panier.id, limit=50)
    hosted = [item for item in page.items if item.product.shop_id == coco.id]
    assert sorted(item.product.name for item in hosted) == sorted(HOSTINGS[0].products)
    assert len(hosted) == 4
    for item in hosted:
        assert item.maker_name == "Les Merveilles de Coco"
        assert item.pickup_shop_name == "Dans l'même panier"
    coco_page = await demo_services.catalogue.shop_catalogue(coco.id, limit=50)
    assert not {item.product.id for item in hosted} & {
        item.product.id for item in coco_page.items}


async def test_each_owner_runs_their_shop_and_the_operator_runs_the_territory(
        demo_services: Services, store: Store, demo: list[DemoShop]) -> None:
    for demo_shop, shop in zip(demo, await shops_of(demo_services, demo), strict=True):
        user = await store.users.find(*demo_shop.owner)
        assert user is not None
        assert user.display_name
        assert not demo_services.customers.actor(user).is_operator
        memberships = await demo_services.shops.memberships(user.id)
        assert [(m.shop_id, m.role) for m in memberships] == [(shop.id, Role.OWNER)]
    operator = await store.users.find(*DEMO_OPERATOR)
    assert operator is not None
    assert demo_services.customers.actor(operator).is_operator
    customer = await store.users.find(*DEMO_CUSTOMER)
    assert customer is not None
    assert customer.display_name == "Jeanne"
    assert not demo_services.customers.actor(customer).is_operator
    assert await demo_services.shops.memberships(customer.id) == []


async def test_seeding_twice_adds_nothing(
        demo_services: Services, operator: Actor, store: Store, demo: list[DemoShop]) -> None:
    counts = (await store.shops.count(), await store.catalogue.count(),
              len(await demo_services.shops.communes()))
    again = await seed_demo(demo_services, operator=operator)
    assert again == demo
    assert (await store.shops.count(), await store.catalogue.count(),
            len(await demo_services.shops.communes())) == counts


async def test_an_interrupted_seed_is_reported_not_completed_twice(
        demo_services: Services, operator: Actor, store: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The load stops after the first two shops (Ctrl-C, a full disk...).
    monkeypatch.setattr("chatshop.demo.HOSTINGS", ())
    monkeypatch.setattr("chatshop.demo.SHOPS", SHOPS[:2])
    await seed_demo(demo_services, operator=operator)
    monkeypatch.undo()
    shops = await store.shops.count()
    with pytest.raises(DemoIncomplete):
        await seed_demo(demo_services, operator=operator)
    assert await store.shops.count() == shops


async def test_demo_shops_are_open_on_saturday_morning_and_closed_on_sunday(
        demo_services: Services, demo: list[DemoShop]) -> None:
    saturday_morning = datetime(2026, 11, 28, 10, 0, tzinfo=PARIS)
    sunday_morning = datetime(2026, 11, 29, 10, 0, tzinfo=PARIS)
    tuesday_lunch = datetime(2026, 12, 1, 13, 0, tzinfo=PARIS)
    for shop in await shops_of(demo_services, demo):
        assert shop.hours
        assert shop.is_open_at(saturday_morning, PARIS), shop.name
        assert not shop.is_open_at(sunday_morning, PARIS), shop.name
        assert not shop.is_open_at(tuesday_lunch, PARIS), shop.name


async def test_the_farm_shop_has_eight_past_weeks_of_reservations_for_its_figures(
        store: Store) -> None:
    clock = DemoClock()  # as `chatshop demo` and `seed-demo` run it: the real time after
    services = build_services(store, operators=frozenset({DEMO_OPERATOR}), clock=clock)
    operator = services.customers.actor(await services.customers.seen(*DEMO_OPERATOR, "Op"))
    demo = await seed_demo(services, operator=operator, history=clock)
    assert clock.at is None
    (farm,) = [shop for shop in await shops_of(services, demo)
               if shop.name == DANS_LMEME_PANIER.name]
    owner = services.customers.actor(
        await services.customers.seen("console", "dans-lmeme-panier", "Françoise"))
    figures = await services.figures.shop_weeks(owner, farm.id, finished=True)
    assert len(figures.weeks) == 8
    assert all(week.total > 0 for week in figures.weeks)
    assert sum(w.collected.phone for w in figures.weeks) > 0
    assert sum(w.expired.total for w in figures.weeks) > 0
    assert sum(w.cancelled.total for w in figures.weeks) > 0
    assert [r.name for r in figures.top][:2] == ["Jus de pomme du Limousin 1 L",
                                                 "Miel de châtaignier 500 g"]
    assert await services.reservations.for_shop(owner, farm.id) == []  # all closed
    plan = {item.name: item.on_hand for item in DANS_LMEME_PANIER.products}
    for product in await products_of(services, operator, farm):
        assert (product.on_hand, product.reserved) == (plan[product.name], 0)
