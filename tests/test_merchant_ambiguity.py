"""A shopkeeper who sends the same caption twice, or types a name several products
answer to: the bot asks, with one button per choice, and a double tap changes once."""

from __future__ import annotations

import pytest

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import (
    CREATE_ANYWAY,
    PRICE_CHOSEN,
    STOCK_ADD_ONCE,
    STOCK_REMOVE_ONCE,
    STOCK_SET_ONCE,
)
from chatshop.domain.models import Product, StockReason
from chatshop.errors import NotAllowed
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory
from tests.test_i18n import plain

CAPTION = "Savon lavande 6,50 € x12"


@pytest.fixture
def lea(conversation: Conversation, postbox: Postbox, territory: Territory) -> Chat:
    """Léa, owner of the Épicerie du Château (the territory fixture's shop)."""
    return Chat(conversation, "2000", "Léa", postbox)


async def products_of(territory: Territory) -> list[Product]:
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    return list(page.items)


async def stock(territory: Territory, product: Product) -> tuple[int, int]:
    after = await territory.services.catalogue.product(product.id)
    return after.on_hand, after.price_cents


# -- the same caption twice ------------------------------------------------------------


async def test_the_same_caption_again_offers_to_add_to_the_stock(
        territory: Territory, lea: Chat) -> None:
    await lea.photo(CAPTION)
    (soap,) = await products_of(territory)
    await lea.send("/stock savon lavande 8")
    await lea.photo(CAPTION, file_ref="AgAC-again")
    assert "Savon lavande existe déjà (8 en stock) — ajouter 12 au stock ?" in plain(lea.text)
    assert {"➕ Ajouter 12", "🆕 Créer un autre produit", "🏠 Menu"} <= set(lea.labels)
    assert len(await products_of(territory)) == 1  # nothing made yet

    await lea.press("Ajouter 12")
    assert "20 en stock" in plain(lea.text)
    assert await stock(territory, soap) == (20, 650)
    assert len(await products_of(territory)) == 1


async def test_a_double_tap_on_add_adds_once(territory: Territory, lea: Chat) -> None:
    await lea.photo(CAPTION)
    (soap,) = await products_of(territory)
    await lea.photo(CAPTION)
    offer = list(lea.last)
    await lea.press("Ajouter 12")
    lea.last = offer  # the same button, tapped again (or the update delivered twice)
    await lea.press("Ajouter 12")
    assert "24 en stock" in plain(lea.text)
    assert await stock(territory, soap) == (24, 650)
    history = await territory.services.catalogue.stock_history(territory.owner, soap.id)
    assert [m.reason for m in history] == [StockReason.CREATED, StockReason.ADDED]


async def test_a_caption_with_another_price_offers_the_new_price_too(
        territory: Territory, lea: Chat) -> None:
    await lea.photo(CAPTION)
    (soap,) = await products_of(territory)
    await lea.photo("Savon lavande 7 € x12")
    assert "autre prix : 7,00 € (actuellement 6,50 €)" in plain(lea.text)
    assert "➕ Ajouter 12" in lea.labels
    await lea.press("Ajouter 12 à 7,00")
    assert await stock(territory, soap) == (24, 700)
    assert "Nouveau prix : 7,00 € (au lieu de 6,50 €)" in plain(lea.text)


async def test_a_caption_without_stock_offers_the_new_price_alone(
        territory: Territory, lea: Chat) -> None:
    await lea.photo(CAPTION)
    (soap,) = await products_of(territory)
    await lea.photo("Savon lavande 7 €")
    assert "Savon lavande existe déjà (12 en stock, 6,50 €)." in plain(lea.text)
    await lea.press("Passer à 7,00")
    assert await stock(territory, soap) == (12, 700)


async def test_a_caption_for_a_name_already_there_twice_asks_which_one_gets_the_units(
        territory: Territory, lea: Chat) -> None:
    first = await territory.product("Savon lavande", 650, on_hand=8)
    second = await territory.product("Savon lavande", 700, on_hand=2)
    await lea.photo(CAPTION)
    assert "Savon lavande existe déjà 2 fois :" in plain(lea.text)
    assert "➕ 12 → 7,00 € · 2 en stock" in map(plain, lea.labels)
    await lea.press("7,00")
    assert (await stock(territory, first), await stock(territory, second)) == (
        (8, 650), (14, 700))
    assert len(await products_of(territory)) == 2


async def test_create_another_product_makes_one_twin_even_on_a_double_tap(
        territory: Territory, lea: Chat) -> None:
    await lea.photo(CAPTION)
    await lea.photo("Savon lavande 6,50 € x3", file_ref="AgAC-second")
    offer = list(lea.last)
    await lea.press("Créer un autre produit")
    lea.last = offer
    await lea.press("Créer un autre produit")
    first, second = sorted(await products_of(territory), key=lambda p: p.id)
    assert (first.on_hand, second.on_hand) == (12, 3)
    assert second.photos == {"telegram": "AgAC-second"}


async def test_create_another_product_is_not_made_again_when_its_press_is_handled_again(
        territory: Territory, lea: Chat, store: Store, clock: FakeClock) -> None:
    """A crash after the product was made but before Léa's conversation state was saved:
    the same press, handled again after the restart, finds the product made."""
    await lea.photo(CAPTION)
    await lea.photo("Savon lavande 6,50 € x3", file_ref="AgAC-second")
    offer = list(lea.last)
    before = await store.conversations.session("telegram", "2000")
    assert before is not None
    await lea.press("Créer un autre produit")
    await store.conversations.save(before.user.id, before.state, clock.now)  # lost
    lea.last = offer
    await lea.press("Créer un autre produit")
    assert len(await products_of(territory)) == 2


async def test_an_add_button_shown_before_someone_changed_the_stock_changes_nothing(
        territory: Territory, lea: Chat) -> None:
    await lea.photo(CAPTION)
    (soap,) = await products_of(territory)
    await lea.photo(CAPTION)
    offer = list(lea.last)
    await territory.services.catalogue.set_stock(territory.owner, soap.id, 3)  # at the counter
    lea.last = offer
    await lea.press("Ajouter 12")
    assert "a changé entre-temps : 3 en stock maintenant. Rien n’a été modifié." in plain(
        lea.text)
    assert await stock(territory, soap) == (3, 650)
    assert "➕ 1" in lea.labels  # the product's own buttons: a way on


# -- an ambiguous name -----------------------------------------------------------------


async def test_an_ambiguous_stock_command_gets_one_button_per_product(
        territory: Territory, lea: Chat) -> None:
    first = await territory.product("Savon lavande", 650, on_hand=8)
    second = await territory.product("Savon lavande", 700, on_hand=2)
    await lea.send("/stock savon lavande 3")
    assert "Plusieurs produits correspondent à « savon lavande ». Lequel ?" in plain(lea.text)
    assert [label for label in map(plain, lea.labels) if label.startswith("Savon")] == [
        "Savon lavande · 6,50 € · 8 en stock", "Savon lavande · 7,00 € · 2 en stock"]
    await lea.press("7,00")
    assert (await stock(territory, first), await stock(territory, second)) == (
        (8, 650), (3, 700))


async def test_a_name_typed_without_its_little_words_finds_the_product(
        territory: Territory, lea: Chat) -> None:
    honey = await territory.product("Miel de châtaignier 500 g", 950, on_hand=4)
    await territory.product("Miel toutes fleurs 250 g", 650, on_hand=9)
    await lea.send("/stock miel chataignier 12")  # no « de », no « 500 g », no accent
    assert await stock(territory, honey) == (12, 950)
    await lea.send("/stock miel chataignier fleurs 3")  # no product has every word
    assert "Aucun de vos produits ne s’appelle" in plain(lea.text)
    assert await stock(territory, honey) == (12, 950)


async def test_an_ambiguous_plus_changes_the_chosen_product_once(
        territory: Territory, lea: Chat) -> None:
    lavender = await territory.product("Savon lavande", 650, on_hand=8)
    honey = await territory.product("Savon au miel", 700, on_hand=2)
    await lea.send("/stock savon +2")
    choice = list(lea.last)
    await lea.press("miel")
    lea.last = choice
    await lea.press("miel")
    assert (await stock(territory, lavender), await stock(territory, honey)) == (
        (8, 650), (4, 700))


async def test_an_ambiguous_price_command_gets_one_button_per_product(
        territory: Territory, lea: Chat) -> None:
    lavender = await territory.product("Savon lavande", 650, on_hand=8)
    honey = await territory.product("Savon au miel", 700, on_hand=2)
    await lea.send("/prix savon 7,50")
    assert "Lequel ?" in plain(lea.text)
    await lea.press("lavande")
    assert (await stock(territory, lavender), await stock(territory, honey)) == (
        (8, 750), (2, 700))


async def test_a_forged_choice_for_another_shops_product_is_refused(
        territory: Territory, conversation: Conversation, postbox: Postbox) -> None:
    soap = await territory.product("Savon lavande", 650, on_hand=8)
    await territory.open_shop("Boulangerie Martin", "2300")
    paul = Chat(conversation, "2300", "Paul", postbox)
    await paul.send("/menu")  # a newcomer is welcomed first
    seen = (await territory.services.catalogue.stock_history(territory.owner, soap.id))[-1].id
    refused = NotAllowed("", needs="staff").message()
    for payload in (STOCK_SET_ONCE.payload(product=soap.id, quantity=3, seen=seen),
                    STOCK_ADD_ONCE.payload(product=soap.id, quantity=2, seen=seen),
                    STOCK_REMOVE_ONCE.payload(product=soap.id, quantity=1, seen=seen),
                    STOCK_ADD_ONCE.payload(product=soap.id, quantity=2, seen=seen, price=100),
                    PRICE_CHOSEN.payload(product=soap.id, price=10),
                    CREATE_ANYWAY.payload(shop=territory.shop.id, key="abc")):
        await paul.forge(payload)
        assert paul.text == refused, payload
    assert await stock(territory, soap) == (8, 650)
    assert len(await products_of(territory)) == 1


# -- +2, -1 and limits -----------------------------------------------------------------


async def test_stock_plus_and_minus_change_the_stock_by_that_much(
        territory: Territory, lea: Chat) -> None:
    balm = await territory.product("Baume à lèvres", 450, on_hand=5)
    await lea.send("/stock baume +2")
    assert await stock(territory, balm) == (7, 450)
    await lea.send("/stock baume -1")
    assert await stock(territory, balm) == (6, 450)
    await lea.send("/stock baume + 3")
    assert await stock(territory, balm) == (9, 450)
    assert "Stock : 9 en rayon" in plain(lea.text)


@pytest.mark.parametrize("typed", ["/stock baume 100001", "/stock baume 99999999999999999999",
                                   "/stock baume +100000", "/stock baume +99996"])
async def test_a_stock_too_large_names_its_limit_and_changes_nothing(
        territory: Territory, lea: Chat, typed: str) -> None:
    balm = await territory.product("Baume à lèvres", 450, on_hand=5)
    await lea.send(typed)
    assert "100 000" in plain(lea.text)
    assert "incident" not in lea.text
    assert await stock(territory, balm) == (5, 450)


async def test_taking_away_more_than_there_is_says_how_many_there_are(
        territory: Territory, lea: Chat) -> None:
    balm = await territory.product("Baume à lèvres", 450, on_hand=5)
    await lea.send("/stock baume -6")
    assert "Il n’y en a que 5 en stock." in plain(lea.text)
    await lea.send("/stock baume +0")
    assert "après le signe" in lea.text
    assert await stock(territory, balm) == (5, 450)


async def test_forged_prices_and_counts_on_choice_buttons_change_nothing(
        territory: Territory, lea: Chat) -> None:
    soap = await territory.product("Savon lavande", 650, on_hand=8)
    seen = (await territory.services.catalogue.stock_history(territory.owner, soap.id))[-1].id
    for payload in (PRICE_CHOSEN.payload(product=soap.id, price=0),
                    PRICE_CHOSEN.payload(product=soap.id, price=1000001),
                    STOCK_ADD_ONCE.payload(product=soap.id, quantity=2, seen=seen, price=0),
                    STOCK_ADD_ONCE.payload(product=soap.id, quantity=0, seen=seen),
                    f"{STOCK_ADD_ONCE.verb}:{soap.id}:2",  # broken: its ledger line left off
                    STOCK_SET_ONCE.payload(product=soap.id, quantity=100001, seen=seen),
                    STOCK_REMOVE_ONCE.payload(product=soap.id, quantity=9, seen=seen),
                    CREATE_ANYWAY.payload(shop=territory.shop.id, key="stale")):
        await lea.forge(payload)
        assert "incident" not in lea.text, payload
        assert "plus valable" not in lea.text, payload  # a button the bot knows, refused
        assert await stock(territory, soap) == (8, 650), payload
