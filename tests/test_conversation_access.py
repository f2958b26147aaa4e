"""The authorization matrix: every shopkeeper action, tried by a customer, by the staff
of another shop, and with forged payloads, is refused politely and changes nothing."""

from __future__ import annotations

import pytest

from chatshop.conversation import routes as r
from chatshop.conversation.router import Conversation
from chatshop.domain.models import Product, Reservation, ReservationStatus
from tests.chat import Chat, Postbox
from tests.conftest import Territory


def shopkeeper_buttons(shop: int, product: int, reservation: int) -> list[str]:
    """Every button a shopkeeper has, on that shop, product and reservation."""
    return [
        r.DASHBOARD.payload(shop=shop), r.SHOP_RESERVATIONS.payload(shop=shop),
        r.PRODUCT_LIST.payload(shop=shop, offset=0), r.ADD_PRODUCT.payload(shop=shop),
        r.SETTINGS.payload(shop=shop), r.ASK_SETTING.payload(shop=shop, key="phone"),
        r.TOGGLE_HOLIDAY.payload(shop=shop), r.INVITE_STAFF.payload(shop=shop),
        r.EXPORT_MENU.payload(shop=shop), r.EXPORT_PRODUCTS.payload(shop=shop),
        r.EXPORT_RESERVATIONS.payload(shop=shop), r.IMPORT_TEMPLATE.payload(shop=shop),
        r.PRODUCT_ADMIN.payload(product=product), r.STOCK_PLUS.payload(product=product),
        r.STOCK_MINUS.payload(product=product), r.ASK_STOCK.payload(product=product),
        r.ASK_PRICE.payload(product=product), r.TOGGLE_HIDDEN.payload(product=product),
        r.SET_CATEGORY.payload(product=product, category=1),
        r.RESERVATION.payload(reservation=reservation), r.READY.payload(reservation=reservation),
        r.COLLECTED.payload(reservation=reservation),
        r.CANCEL_BY_SHOP.payload(reservation=reservation),
        r.HOSTING.payload(shop=shop), r.HOSTING_CHOOSE.payload(shop=shop, offset=0),
        r.HOSTING_REQUEST.payload(maker=shop, host=shop),
        r.HOSTING_ACCEPT.payload(host=shop, maker=shop),
        r.HOSTING_END.payload(host=shop, maker=shop), r.PLACE_CHOOSE.payload(product=product),
        r.PLACE.payload(product=product, host=0), r.ASK_HOURS.payload(shop=shop),
        r.MORE_SETTINGS.payload(shop=shop), r.ASK_SHOP_PHOTO.payload(shop=shop),
    ]


def operator_buttons(shop: int) -> list[str]:
    return [r.TERRITORY.payload(), r.CHOOSE_COMMUNE.payload(), r.ASK_SHOP_NAME.payload(commune=1),
            r.ALL_SHOPS.payload(offset=0), r.SHOP_ADMIN.payload(shop=shop),
            r.TOGGLE_ACTIVE.payload(shop=shop), r.OWNER_INVITE.payload(shop=shop),
            r.ASK_COMMUNE.payload()]


SHOPKEEPER_COMMANDS = ["/stock miel 0", "/prix miel 0,10", "/produits", "/boutique",
                       "/ajouter"]
FORGED = ["p:999999", "p:-1", "p:abc", "p:" + "9" * 40, "r:1", "rr:", "zz:1", "s", ":::",
          "rxy:999", "bc:1:x", "q:1:99999", "l:1:1:99999999999999999999", "é" * 20]


@pytest.fixture
async def setting(territory: Territory) -> tuple[Product, Reservation]:
    honey = await territory.product("Miel", 950, on_hand=5)
    made = await territory.services.reservations.reserve_now(territory.customer.id,
                                                             honey.id, 1, "k")
    return honey, made


async def _unchanged(territory: Territory, honey: Product, made: Reservation) -> None:
    product = await territory.services.catalogue.product(honey.id)
    assert (product.on_hand, product.reserved, product.price_cents, product.hidden) == (
        5, 1, 950, False)
    (reservation,) = await territory.services.reservations.of_customer(territory.customer.id)
    assert reservation.status is ReservationStatus.PENDING
    shop = await territory.services.shops.get(territory.shop.id)
    assert (shop.on_holiday, shop.active, shop.phone) == (False, True, "")


@pytest.mark.parametrize("who", ["customer", "other shop's owner"])
async def test_shopkeeper_actions_are_refused_to_others(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        setting: tuple[Product, Reservation], who: str) -> None:
    honey, made = setting
    if who == "customer":
        intruder = Chat(conversation, "3000", "Jeanne", postbox)
    else:
        await territory.open_shop("Boulangerie Martin", "2300")
        intruder = Chat(conversation, "2300", "Paul", postbox)
    for payload in shopkeeper_buttons(territory.shop.id, honey.id, made.id):
        await intruder.forge(payload)
        assert "incident" not in intruder.text.lower(), payload
        # Whatever was asked, a typed answer must not act on the shop either.
        await intruder.send("0")
        await intruder.send("0,10")
        await _unchanged(territory, honey, made)
    for line in SHOPKEEPER_COMMANDS:
        await intruder.send(line)
        await intruder.send("Pirate")
        await _unchanged(territory, honey, made)
    for payload in operator_buttons(territory.shop.id):
        await intruder.forge(payload)
        await intruder.send("Boutique pirate")
        await _unchanged(territory, honey, made)
    assert (await territory.services.shops.browse()).total == (1 if who == "customer" else 2)


async def test_forged_payloads_are_answered_politely(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        setting: tuple[Product, Reservation]) -> None:
    honey, made = setting
    for who in ("3000", "2000", "1000"):  # customer, owner, operator
        chat = Chat(conversation, who, "X", postbox)
        for payload in FORGED:
            await chat.forge(payload[:64])
            assert "incident" not in chat.text.lower(), payload
    await _unchanged(territory, honey, made)


async def test_bad_shopkeeper_input_changes_nothing(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        setting: tuple[Product, Reservation]) -> None:
    honey, made = setting
    lea = Chat(conversation, "2000", "Léa", postbox)
    stock, price = r.ASK_STOCK.payload(product=honey.id), r.ASK_PRICE.payload(product=honey.id)
    phone = r.ASK_SETTING.payload(shop=territory.shop.id, key="phone")
    hold = r.ASK_SETTING.payload(shop=territory.shop.id, key="hold_hours")
    for payload, typed in [(stock, "-1"), (stock, "douze"), (stock, "0"), (price, "6,505"),
                           (price, "-3"), (price, "1e9"), (phone, "appelez-moi"),
                           (hold, "0"), (hold, "abc")]:
        await lea.forge(payload)
        await lea.send(typed)
        assert "incident" not in lea.text.lower()
    for caption in ["Savon lavande", "6,50 €", "x" * 5000 + " 6,50 €", "Savon -3 €"]:
        await lea.photo(caption)
        assert "incident" not in lea.text.lower()
    await lea.send("/stock miel -5")  # one of the 5 is reserved
    await lea.send("/stock miel +100000")
    await lea.send("/stock inconnu 4")
    await lea.send("/prix miel gratuit")
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert [p.name for p in page.items] == ["Miel"]
    # Setting the stock to 0 is refused: one unit is reserved.
    await _unchanged(territory, honey, made)
