"""Ordinary French, typed rather than tapped: « retour » and « annuler » on every screen,
the precedence rule at prompts that wait for a free answer, « oui » / « non » where the
screen asks a yes/no question (and a kind word elsewhere), and the filler of a request
left out of the search."""

from __future__ import annotations

import pytest

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import CANCEL_BY_SHOP
from tests.chat import Chat, Postbox
from tests.conftest import Territory

NOTHING = "Aucun résultat"


def plain(text: str) -> str:
    """French typography's no-break spaces read as plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
async def jeanne(territory: Territory, conversation: Conversation, postbox: Postbox) -> Chat:
    chat = Chat(conversation, "3000", "Jeanne", postbox)
    await chat.send("/start")
    return chat


@pytest.fixture
async def lea(territory: Territory, conversation: Conversation, postbox: Postbox) -> Chat:
    chat = Chat(conversation, "2000", "Léa", postbox)
    await chat.send("/start")
    return chat


async def _reserve(territory: Territory, jeanne: Chat) -> None:
    await territory.product("Miel de châtaignier", 850, on_hand=3)
    await jeanne.send("miel")
    await jeanne.press("Miel de châtaignier")
    await jeanne.press("✅")


@pytest.mark.parametrize("typed", ["oui", "Oui !", "OUI merci", "d'accord", "ok"])
async def test_oui_answers_the_yes_no_question_on_the_screen(
        territory: Territory, jeanne: Chat, typed: str) -> None:
    await _reserve(territory, jeanne)
    await jeanne.send("/reservations")
    await jeanne.press("✖️")
    assert plain(jeanne.text).startswith("Annuler cette réservation ?")
    await jeanne.send(typed)
    assert plain(jeanne.text).startswith("La réservation")
    (cancelled,) = await territory.services.reservations.of_customer(territory.customer.id)
    assert not cancelled.status.is_live


@pytest.mark.parametrize("typed", ["non", "Non merci", "pas maintenant"])
async def test_non_keeps_the_reservation(territory: Territory, jeanne: Chat,
                                         typed: str) -> None:
    await _reserve(territory, jeanne)
    await jeanne.send("/reservations")
    await jeanne.press("✖️")
    await jeanne.send(typed)
    (kept,) = await territory.services.reservations.of_customer(territory.customer.id)
    assert kept.status.is_live
    assert "Annuler" in " ".join(jeanne.labels)  # back on her reservations


@pytest.mark.parametrize("typed", ["oui", "non"])
async def test_oui_or_non_without_a_question_is_answered_kindly(jeanne: Chat,
                                                                typed: str) -> None:
    await jeanne.send(typed)
    assert plain(jeanne.text).startswith("Je ne vous ai rien demandé pour l’instant.")
    assert NOTHING not in jeanne.text
    assert "🔎 Rechercher" in jeanne.labels


async def test_oui_answers_only_the_screen_just_shown(territory: Territory,
                                                      jeanne: Chat) -> None:
    """A question left behind is not answered by a « oui » typed later."""
    await _reserve(territory, jeanne)
    await jeanne.send("/reservations")
    await jeanne.press("✖️")
    await jeanne.send("/menu")
    await jeanne.send("oui")
    (kept,) = await territory.services.reservations.of_customer(territory.customer.id)
    assert kept.status.is_live


@pytest.mark.parametrize("typed", ["retour", "Retour", "annuler", "ANNULER !"])
async def test_retour_or_annuler_leaves_a_free_prompt_and_changes_nothing(
        territory: Territory, lea: Chat, typed: str) -> None:
    await lea.send("/annonce")
    await lea.send(typed)
    assert plain(lea.text).startswith("Très bien, rien n’a été changé.")
    assert "📣 Annonce" in lea.labels  # back on the shop's settings
    shop = await territory.services.shops.get(territory.shop.id)
    assert shop.announcement == ""
    await lea.send("Bonjour à tous")  # no longer the announcement
    assert (await territory.services.shops.get(territory.shop.id)).announcement == ""


async def test_retour_leaves_a_price_prompt_too(territory: Territory, lea: Chat) -> None:
    await lea.send("/ajouter")
    await lea.send("Savon rose")  # the name; now the price is asked
    assert "Prix" in plain(lea.text)
    await lea.send("retour")
    assert plain(lea.text).startswith("Très bien, rien n’a été changé.")
    await lea.send("7,50")  # a search now, not a price
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert page.items == ()


@pytest.mark.parametrize("typed", ["aide", "merci", "Bonjour à tous"])
async def test_at_a_free_prompt_other_words_are_the_answer(
        territory: Territory, lea: Chat, typed: str) -> None:
    await lea.send("/annonce")
    await lea.send(typed)
    assert (await territory.services.shops.get(territory.shop.id)).announcement == typed


async def test_annuler_with_no_prompt_shows_what_can_be_cancelled(
        territory: Territory, jeanne: Chat) -> None:
    await _reserve(territory, jeanne)
    await jeanne.send("/menu")
    await jeanne.send("annuler")
    assert any(label.startswith("✖️ Annuler") for label in jeanne.labels)


async def test_retour_with_no_prompt_is_the_menu(jeanne: Chat) -> None:
    await jeanne.send("retour")
    assert plain(jeanne.text).startswith("Bonjour Jeanne ! Que souhaitez-vous faire ?")


@pytest.mark.parametrize(("typed", "searched"), [
    ("je voudrais du miel", "miel"),
    ("Je voudrais du miel s'il vous plaît", "miel"),
    ("vous avez du savon ?", "savon"),
    ("Avez-vous du savon ?", "savon"),
    ("je cherche une crème pour les mains", "crème pour mains"),
    ("Bonjour, vous avez du miel ?", "miel"),
    ("est-ce que vous auriez de l'huile d'olive ?", "huile olive"),
])
async def test_the_filler_of_a_request_is_left_out_of_the_search(
        territory: Territory, jeanne: Chat, typed: str, searched: str) -> None:
    await territory.product("Miel de châtaignier", 850)
    await territory.product("Savon lavande", 650)
    await territory.product("Crème pour les mains", 1250)
    await territory.product("Huile d'olive vierge", 1500)
    await jeanne.send(typed)
    assert NOTHING not in jeanne.text
    assert f"« {searched} »" in plain(jeanne.text)


@pytest.mark.parametrize("typed", ["non", "Non merci"])
async def test_non_at_why_cancel_leaves_the_prompt_and_keeps_the_reservation(
        territory: Territory, jeanne: Chat, lea: Chat, typed: str) -> None:
    """« Pourquoi annuler ? » answered « non »: a no, not the reason of a cancellation."""
    await _reserve(territory, jeanne)
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    await lea.forge(CANCEL_BY_SHOP.payload(reservation=made.id))
    assert plain(lea.text).startswith(f"Pourquoi annuler {made.code} ?")
    await lea.send(typed)
    assert plain(lea.text).startswith("Très bien, rien n’a été changé.")
    (kept,) = await territory.services.reservations.of_customer(territory.customer.id)
    assert kept.status.is_live
    assert kept.cancel_reason is None


async def test_oui_after_did_you_mean_runs_the_suggested_search(
        territory: Territory, jeanne: Chat) -> None:
    await territory.product("Savon lavande", 650)
    await jeanne.send("svaon")
    assert "Vouliez-vous dire « savon » ?" in plain(jeanne.text)
    await jeanne.send("oui")
    assert plain(jeanne.text).startswith("1 résultat pour « savon »")
