"""The shop's rules screen « 🗓 Retraits et règles » (#12 §4-5), through the chat: the
staff switch asking the pickup time, the morning message, the Monday figures and opening
on public holidays, and set the two caps (tapped, or typed from 1 to 999); bad input gets
a French sentence and changes nothing, and nobody outside the shop's team changes them."""

from __future__ import annotations

import pytest

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import (
    MORE_SETTINGS,
    SHOP_CAP_ASK,
    SHOP_CAP_SET,
    SHOP_RULE_TOGGLE,
    SHOP_RULES,
)
from chatshop.domain.models import Shop
from tests.chat import Chat, Postbox
from tests.conftest import Territory
from tests.test_pickups import plain


@pytest.fixture
async def people(territory: Territory, conversation: Conversation,
                 postbox: Postbox) -> tuple[Chat, Chat]:
    """Jeanne the customer and Léa, owner of the Épicerie du Château."""
    return (Chat(conversation, "3000", "Jeanne", postbox),
            Chat(conversation, "2000", "Léa", postbox))


async def shop_now(territory: Territory) -> Shop:
    return await territory.services.shops.get(territory.shop.id)


async def test_lea_finds_the_rules_under_more_and_switches_each_one(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    _jeanne, lea = people
    await lea.forge(MORE_SETTINGS.payload(shop=territory.shop.id))
    await lea.press("Retraits et règles")
    text = plain(lea.text)
    for line in ("🗓 Retraits et règles — Épicerie du Château",
                 "🕒 Demander l'heure de passage : non",
                 "🌅 Message du matin à l'équipe : non",
                 "📊 Les chiffres de la semaine, le lundi : non",
                 "🎉 Ouvert les jours fériés : non (prochain : Noël, vendredi 25 décembre)",
                 "🛒 Au plus 5 exemplaires d'un même produit par client",
                 "📋 Au plus 10 réservations en cours par client"):
        assert line in text
    assert {"⬅️ Retour", "🏠 Menu"} <= set(lea.labels)
    for label, field in (("Demander l’heure", "asks_pickup_time"),
                         ("Message du matin", "morning_message"),
                         ("chiffres de la semaine", "weekly_figures"),
                         ("jours fériés", "opens_on_public_holidays")):
        await lea.press(label)
        assert getattr(await shop_now(territory), field) is True
    assert "🕒 Demander l'heure de passage : oui" in plain(lea.text)
    await lea.press("Demander l’heure")
    assert (await shop_now(territory)).asks_pickup_time is False


async def test_a_cap_is_tapped_or_typed_and_bad_input_changes_nothing(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    _jeanne, lea = people
    await lea.forge(SHOP_RULES.payload(shop=territory.shop.id))
    await lea.press("Par produit\u00a0: 5")
    assert "touchez un nombre, ou écrivez-en un de 1 à 999" in plain(lea.text)
    await lea.press("3")
    assert (await shop_now(territory)).max_units_per_product == 3
    assert "🛒 Au plus 3 exemplaires" in plain(lea.text)
    await lea.press("Réservations\u00a0: 10")
    for bad in ("0", "douze", "1000", "6,5", "-3", "1e9"):
        await lea.send(bad)
        assert "Merci d'écrire un nombre entier" in plain(lea.text), bad
        assert (await shop_now(territory)).max_open_reservations == 10
    await lea.send("12")
    assert (await shop_now(territory)).max_open_reservations == 12
    assert "📋 Au plus 12 réservations en cours par client" in plain(lea.text)
    await lea.send("4")  # the question is answered: « 4 » is a search again
    assert (await shop_now(territory)).max_open_reservations == 12


async def test_forged_rules_buttons_change_nothing(
        territory: Territory, people: tuple[Chat, Chat], conversation: Conversation,
        postbox: Postbox) -> None:
    jeanne, lea = people
    shop = territory.shop.id
    await lea.forge(SHOP_CAP_SET.payload(shop=shop, cap="max_units_per_product", value=0))
    assert "Merci d'écrire un nombre entier entre 1 et 999" in plain(lea.text)
    await lea.forge(SHOP_CAP_SET.payload(shop=shop, cap="max_units_per_product", value=5000))
    await lea.forge(SHOP_CAP_SET.payload(shop=shop, cap="hold_hours", value=2))
    await lea.forge(SHOP_RULE_TOGGLE.payload(shop=shop, rule="active"))
    assert "pas trouvé" in lea.text
    await jeanne.forge(SHOP_RULE_TOGGLE.payload(shop=shop, rule="ask"))
    await jeanne.forge(SHOP_CAP_SET.payload(shop=shop, cap="max_units_per_product", value=99))
    await jeanne.forge(SHOP_CAP_ASK.payload(shop=shop, cap="max_units_per_product"))
    await jeanne.forge(SHOP_RULES.payload(shop=shop))
    assert "Retraits et règles" not in jeanne.text
    other, _owner = await territory.open_shop("Ferme des Combes", "5000")
    paul = Chat(conversation, "5000", "Paul", postbox)
    await paul.forge(SHOP_RULE_TOGGLE.payload(shop=shop, rule="holidays"))
    await paul.forge(SHOP_CAP_SET.payload(shop=shop, cap="max_open_reservations", value=1))
    after = await shop_now(territory)
    assert (after.max_units_per_product, after.max_open_reservations, after.asks_pickup_time,
            after.opens_on_public_holidays, after.hold_hours, after.active) == \
        (5, 10, False, False, territory.shop.hold_hours, True)
    assert other.id != shop
