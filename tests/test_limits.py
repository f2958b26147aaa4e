"""Limits said out loud: what is left, what is sold out, what could not be reserved,
where there are shops, and counts written the French way."""

from __future__ import annotations

import pytest

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import ADD_TO_BASKET, PRODUCT, PRODUCT_ADMIN, PRODUCTS
from chatshop.domain.models import Product, ShopDetails
from tests.chat import Chat, Postbox
from tests.conftest import Territory
from tests.test_i18n import plain


@pytest.fixture
def jeanne(conversation: Conversation, postbox: Postbox, territory: Territory) -> Chat:
    """Jeanne, a customer of the territory fixture."""
    return Chat(conversation, "3000", "Jeanne", postbox)


@pytest.fixture
def lea(conversation: Conversation, postbox: Postbox, territory: Territory) -> Chat:
    """Léa, owner of the Épicerie du Château."""
    return Chat(conversation, "2000", "Léa", postbox)


async def test_pressing_plus_past_what_is_left_says_so_and_keeps_the_quantity(
        territory: Territory, jeanne: Chat) -> None:
    honey = await territory.product("Miel", 950, on_hand=1)
    await jeanne.forge(PRODUCT.payload(product=honey.id))
    await jeanne.press("Choisir la quantité")
    await jeanne.press("➕")
    assert "Il n’en reste que 1." in plain(jeanne.text)
    assert "Quantité : 1" in plain(jeanne.text)
    assert "✅ Réserver 1" in jeanne.labels


async def test_lists_mark_sold_out_products(territory: Territory, jeanne: Chat,
                                            lea: Chat) -> None:
    await territory.product("Miel de châtaignier", 950, on_hand=0)
    await territory.product("Miel de fleurs", 850, on_hand=4)
    # The shop's products:
    await jeanne.forge(PRODUCTS.payload(shop=territory.shop.id, category=0, offset=0))
    assert plain(" | ".join(jeanne.labels)).startswith(
        "Miel de châtaignier — 9,50 € · épuisé | Miel de fleurs — 8,50 € | ")
    await lea.send("/produits")  # the shopkeeper's list too
    assert "Miel de châtaignier · 9,50 € · 0 · épuisé" in map(plain, lea.labels)


async def test_search_results_mark_sold_out_products(territory: Territory,
                                                     jeanne: Chat) -> None:
    await territory.product("Miel de châtaignier", 950, on_hand=0)
    await territory.product("Miel de fleurs", 850, on_hand=4)
    await jeanne.send("/recherche miel")
    marked = {label.split(" — ")[0]: label.endswith("épuisé") for label in jeanne.labels
              if label.startswith("Miel")}
    assert marked == {"Miel de châtaignier": True, "Miel de fleurs": False}


async def test_a_sold_out_card_offers_similar_products_of_the_shop_not_a_reservation(
        territory: Territory, jeanne: Chat) -> None:
    food = next(c for c in await territory.services.catalogue.categories()
                if c.name.startswith("Alimentation"))
    gone = await territory.product("Miel de châtaignier", 950, on_hand=0, category_id=food.id)
    await territory.product("Miel de fleurs", 850, on_hand=4, category_id=food.id)
    await territory.product("Confiture de fraises", 550, on_hand=0, category_id=food.id)
    await jeanne.send("/menu")  # past the welcome, which says « Réservez ici »
    await jeanne.forge(PRODUCT.payload(product=gone.id))
    assert "Réservez ici" not in jeanne.text
    assert "Épuisé pour le moment." in jeanne.text
    assert "Aussi chez Épicerie du Château :" in plain(jeanne.text)
    assert not [label for label in jeanne.labels if "Réserver" in label]
    offered = [plain(label) for label in jeanne.labels if label.startswith(("Miel", "Conf"))]
    assert offered == ["Miel de fleurs — 8,50 €"]  # what is left, not what is gone
    await jeanne.press("Miel de fleurs")
    assert "Réservez ici" in jeanne.text


async def test_a_basket_that_fell_short_offers_to_reserve_what_is_left(
        territory: Territory, jeanne: Chat) -> None:
    honey = await territory.product("Miel", 950, on_hand=3)
    await jeanne.forge(ADD_TO_BASKET.payload(product=honey.id, quantity=2))
    await jeanne.send("/panier")
    await territory.services.catalogue.set_stock(territory.owner, honey.id, 1)  # the counter
    await jeanne.press("Réserver chez")
    assert "Il ne reste que 1 exemplaire de « Miel »." in plain(jeanne.text)
    assert {"✅ Réserver 1", "🏠 Menu"} <= set(jeanne.labels)
    assert not await territory.services.reservations.of_customer(territory.customer.id)
    offer = list(jeanne.last)
    await jeanne.press("Réserver 1")
    jeanne.last = offer  # a double tap
    await jeanne.press("Réserver 1")
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    assert made.code in jeanne.text
    assert [(line.quantity, line.name) for line in made.lines] == [(1, "Miel")]
    assert (await territory.services.catalogue.product(honey.id)).reserved == 1
    assert await territory.services.baskets.baskets(territory.customer.id) == []


async def test_plus_in_the_basket_past_what_is_left_says_so(
        territory: Territory, jeanne: Chat) -> None:
    honey = await territory.product("Miel", 950, on_hand=2)
    await jeanne.forge(ADD_TO_BASKET.payload(product=honey.id, quantity=2))
    await jeanne.send("/panier")
    await jeanne.press("➕")
    assert "Il ne reste que 2 exemplaires de « Miel »." in plain(jeanne.text)
    assert "2 × Miel" in plain(jeanne.text)


async def test_the_commune_list_shows_only_communes_with_an_active_shop(
        territory: Territory, jeanne: Chat) -> None:
    services, operator = territory.services, territory.operator
    await services.shops.add_commune(operator, "Cognac-la-Forêt", "87310")
    junien = await services.shops.add_commune(operator, "Saint-Junien", "87200")
    oradour = await services.shops.add_commune(operator, "Oradour-sur-Glane", "87520")
    gloves, glover = await territory.open_shop("Ganterie Agnelle", "2400", junien)
    await services.shops.set_holiday(glover, gloves.id, True, "Retour le 2 janvier.")
    closed, _owner = await territory.open_shop("Ancienne forge", "2500", oradour)
    await services.shops.update_shop(operator, closed.id, ShopDetails(active=False))
    await jeanne.send("/communes")
    assert [label for label in jeanne.labels if label.startswith("🏘")] == [
        "🏘 Rochechouart", "🏘 Saint-Junien"]
    await jeanne.press("Saint-Junien")
    assert "🏖 Ganterie Agnelle" in jeanne.labels
    assert "🏖 La boutique « Ganterie Agnelle » est fermée pour congés. Retour le 2 janvier." \
        in plain(jeanne.text)


async def product_named(territory: Territory, name: str) -> Product:
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    return next(p for p in page.items if p.name == name)


async def test_quantities_are_written_the_french_way(territory: Territory, lea: Chat) -> None:
    await lea.photo("Cartes postales 1 € x100000")
    assert "100 000 en stock" in plain(lea.text)
    cards = await product_named(territory, "Cartes postales")
    await lea.forge(PRODUCT_ADMIN.payload(product=cards.id))
    assert "Stock : 100 000 en rayon" in plain(lea.text)
    await lea.send("/produits")
    assert "Cartes postales · 1,00 € · 100 000" in map(plain, lea.labels)
