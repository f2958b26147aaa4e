"""The authorization matrix: every shopkeeper action, tried by a customer, by the staff
of another shop, and with forged payloads, is refused politely and changes nothing."""

from __future__ import annotations

import pytest

from chatshop.conversation.router import Conversation
from chatshop.domain.models import Product, Reservation, ReservationStatus
from tests.chat import Chat, Postbox
from tests.conftest import Territory

# Every button a shopkeeper has, with {shop}, {product}, {reservation} to fill in.
SHOPKEEPER_BUTTONS = [
    "d:{shop}", "dr:{shop}", "dp:{shop}:0", "da:{shop}", "st:{shop}", "se:{shop}:phone",
    "sv:{shop}", "iv:{shop}", "xe:{shop}", "xp:{shop}", "xr:{shop}", "xt:{shop}",
    "pp:{product}", "s+:{product}", "s-:{product}", "ss:{product}", "sp:{product}",
    "sh:{product}", "pc:{product}:1", "rv:{reservation}", "rr:{reservation}",
    "rc:{reservation}", "rk:{reservation}", "ho:{shop}", "hq:{shop}:0", "hr:{shop}:{shop}",
    "ha:{shop}:{shop}", "hx:{shop}:{shop}", "pl:{product}", "pla:{product}:0",
    "sk:{shop}", "so:{shop}", "sf:{shop}",
]
SHOPKEEPER_COMMANDS = ["/stock miel 0", "/prix miel 0,10", "/produits", "/boutique",
                       "/ajouter"]
OPERATOR_BUTTONS = ["o", "oc", "on:1", "ol:0", "os:{shop}", "ot:{shop}", "oi:{shop}", "om"]
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
    for pattern in SHOPKEEPER_BUTTONS:
        payload = pattern.format(shop=territory.shop.id, product=honey.id,
                                 reservation=made.id)
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
    for pattern in OPERATOR_BUTTONS:
        await intruder.forge(pattern.format(shop=territory.shop.id))
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
    for pattern, typed in [("ss:{p}", "-1"), ("ss:{p}", "douze"), ("ss:{p}", "0"),
                           ("sp:{p}", "6,505"), ("sp:{p}", "-3"), ("sp:{p}", "1e9"),
                           ("se:{s}:phone", "appelez-moi"), ("se:{s}:hold_hours", "0"),
                           ("se:{s}:hold_hours", "abc")]:
        await lea.forge(pattern.format(p=honey.id, s=territory.shop.id))
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
