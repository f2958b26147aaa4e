"""The first words: a WhatsApp customer's first « bonjour » (signed webhooks to the real
app), greetings and help words at any time on every channel, and the offer to share
one's number, which always has a way back (« Non merci »)."""

from __future__ import annotations

import pytest

from chatshop.conversation.messages import DocumentIn, PhotoIn, Unsupported
from chatshop.conversation.phrases import Phrase, read
from chatshop.conversation.router import Conversation
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import Territory
from tests.fakes.graph_api import TINY_PNG
from tests.test_whatsapp import JEANNE, Meta, api, channel, meta  # noqa: F401


def plain(text: str) -> str:
    """French typography's no-break spaces read as plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


WELCOME = "Bienvenue dans les boutiques du territoire Porte Océane du Limousin"
NOTHING = "Aucun résultat"


# -- a WhatsApp customer's first message -----------------------------------------------


@pytest.mark.parametrize("first", ["bonjour", "Bonjour madame !", "BONSOIR", "salut",
                                   "coucou 😊", "menu", "aide", "?", "merci", "😊"])
async def test_a_new_whatsapp_customer_s_first_words_get_the_welcome_and_the_menu(
        territory: Territory, meta: Meta, first: str) -> None:  # noqa: F811
    await meta.says(JEANNE, "Jeanne", first)
    (welcome,) = meta.api.messages_to(JEANNE)
    assert welcome.text is not None
    assert plain(welcome.text).startswith(WELCOME)
    assert NOTHING not in welcome.text
    titles = [title for _id, title in welcome.buttons] + [r[1] for r in welcome.rows]
    assert any("Rechercher" in t for t in titles)
    assert any("Boutiques" in t for t in titles)


async def test_a_first_product_word_gets_the_welcome_then_the_results(
        territory: Territory, meta: Meta) -> None:  # noqa: F811
    await territory.product("Miel de châtaignier", 850)
    await meta.says(JEANNE, "Jeanne", "miel")
    welcome, results = meta.texts(JEANNE)
    assert plain(welcome).startswith(WELCOME)
    assert plain(results).startswith("1 résultat pour « miel »")


async def test_a_first_word_that_finds_nothing_gets_only_the_welcome(
        territory: Territory, meta: Meta) -> None:  # noqa: F811
    await meta.says(JEANNE, "Jeanne", "trombone")
    (welcome,) = meta.texts(JEANNE)
    assert plain(welcome).startswith(WELCOME)


async def test_a_first_photo_gets_the_welcome(territory: Territory, meta: Meta) -> None:  # noqa: F811
    photo = meta.api.image(JEANNE, "Jeanne", TINY_PNG, caption="")
    assert (await meta.deliver(photo)).status_code == 200
    (welcome,) = meta.texts(JEANNE)
    assert plain(welcome).startswith(WELCOME)


async def test_a_first_shared_link_gets_the_welcome_line_then_the_product(
        territory: Territory, meta: Meta) -> None:  # noqa: F811
    honey = await territory.product("Miel de châtaignier", 850)
    await meta.says(JEANNE, "Jeanne", f"Bonjour ! p_{honey.id}")
    (card,) = [t for t in meta.texts(JEANNE) if t]
    assert plain(card).startswith(WELCOME)
    assert "Miel de châtaignier" in card
    assert "8,50" in card


async def test_the_welcome_comes_once_and_bonjour_later_is_the_menu(
        territory: Territory, meta: Meta) -> None:  # noqa: F811
    await meta.says(JEANNE, "Jeanne", "bonjour")
    await meta.says(JEANNE, "Jeanne", "Bonjour !")
    first, second = meta.texts(JEANNE)
    assert first.startswith(WELCOME)
    assert plain(second).startswith("Bonjour Jeanne ! Que souhaitez-vous faire ?")


# -- everyday phrases, on every channel, at any time -----------------------------------


@pytest.fixture
async def jeanne_chat(territory: Territory, conversation: Conversation,
                      postbox: Postbox) -> Chat:
    chat = Chat(conversation, "3000", "Jeanne", postbox)
    await chat.send("/start")
    return chat


@pytest.mark.parametrize("typed", ["bonjour", "Bonjour madame !", "BONSOIR", "Salut Léa",
                                   "coucou", "Menu", "accueil", "ACCUEIL !"])
async def test_greetings_and_menu_words_get_the_menu(jeanne_chat: Chat, typed: str) -> None:
    await jeanne_chat.send(typed)
    assert plain(jeanne_chat.text).startswith("Bonjour Jeanne ! Que souhaitez-vous faire ?")
    assert "🔎 Rechercher" in jeanne_chat.labels


@pytest.mark.parametrize("typed", ["aide", "Aide !", "help", "?", "comment ça marche ?"])
async def test_help_words_explain_and_show_the_menu(jeanne_chat: Chat, typed: str) -> None:
    await jeanne_chat.send(typed)
    assert plain(jeanne_chat.text).startswith("ℹ️ Comment ça marche")
    assert "🔎 Rechercher" in jeanne_chat.labels


@pytest.mark.parametrize("typed", ["merci", "Merci beaucoup !", "au revoir",
                                   "bonne journée"])
async def test_thanks_get_a_polite_answer(jeanne_chat: Chat, typed: str) -> None:
    await jeanne_chat.send(typed)
    assert plain(jeanne_chat.text) == ("Avec plaisir ! Écrivez ce que vous cherchez quand vous "
                                "voulez.")
    assert jeanne_chat.labels == ["🏠 Menu"]


async def test_a_greeting_at_the_search_prompt_is_not_searched(
        territory: Territory, jeanne_chat: Chat) -> None:
    await territory.product("Miel de châtaignier", 850)
    await jeanne_chat.press("Rechercher")
    await jeanne_chat.send("Bonjour")
    assert plain(jeanne_chat.text).startswith("Bonjour Jeanne !")
    assert NOTHING not in jeanne_chat.text
    await jeanne_chat.send("miel")  # the prompt is gone: a plain search
    assert plain(jeanne_chat.text).startswith("1 résultat pour « miel »")


async def test_a_greeting_before_a_request_is_the_request(
        territory: Territory, jeanne_chat: Chat) -> None:
    await territory.product("Savon lavande", 650)
    await jeanne_chat.send("Bonjour madame, savon lavande ?")
    assert plain(jeanne_chat.text).startswith("1 résultat pour « savon lavande »")


async def test_menu_typed_at_a_prompt_leaves_it_and_changes_nothing(
        territory: Territory, conversation: Conversation, postbox: Postbox) -> None:
    lea = Chat(conversation, "2000", "Léa", postbox)
    await lea.send("/ajouter")
    await lea.send("menu")
    assert plain(lea.text).startswith("Bonjour Léa ! Que souhaitez-vous faire ?")
    await lea.send("Savon lavande")  # no longer the new product's name: a search
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert page.items == ()


async def test_a_free_answer_may_say_bonjour(
        territory: Territory, conversation: Conversation, postbox: Postbox) -> None:
    """At a prompt for a free answer, what is typed is the answer (« menu » aside)."""
    lea = Chat(conversation, "2000", "Léa", postbox)
    await lea.send("/annonce")
    await lea.send("Bonjour à tous")
    assert plain(lea.text).startswith("📣 Annonce enregistrée")
    shop = await territory.services.shops.get(territory.shop.id)
    assert shop.announcement == "Bonjour à tous"


@pytest.mark.parametrize("event", [PhotoIn(file_ref="AgAC-x"), Unsupported(),
                                   DocumentIn(file_name="x.csv", data=b"a;b\n")])
async def test_a_newcomer_s_photo_sticker_or_file_gets_the_welcome(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        event: PhotoIn | Unsupported | DocumentIn) -> None:
    stranger = Chat(conversation, "4000", "Albert", postbox)
    await stranger.event(event)
    assert plain(stranger.text).startswith(WELCOME)


async def test_a_newcomer_s_invitation_gets_the_welcome_line_then_the_shop(
        territory: Territory, conversation: Conversation, postbox: Postbox) -> None:
    from chatshop.domain.models import Role
    invite = await territory.services.shops.invite(territory.owner, territory.shop.id,
                                                   Role.STAFF)
    stranger = Chat(conversation, "4000", "Albert", postbox)
    await stranger.send(f"/invitation {invite.code}")
    assert plain(stranger.text).startswith(WELCOME)
    assert "Épicerie du Château" in stranger.text


@pytest.mark.parametrize(("text", "phrase", "rest"), [
    ("Bonjour", Phrase.GREETING, ""),
    ("bonjour madame !", Phrase.GREETING, ""),
    ("Coucou Jeanne", Phrase.GREETING, ""),
    ("MERCI !!", Phrase.THANKS, ""),
    ("Bonjour, merci", Phrase.THANKS, ""),
    ("??", Phrase.HELP, ""),
    ("Accueil", Phrase.MENU, ""),
    ("Bonjour, vous avez du miel ?", None, "vous avez du miel ?"),
    ("Bonjour madame ! Avez-vous des bougies ?", None, "Avez-vous des bougies ?"),
    ("miel", None, "miel"),
    ("merci pour le miel", None, "merci pour le miel"),
    ("miel ?", None, "miel ?"),
])
def test_everyday_phrases_are_read_whatever_their_case_accents_and_punctuation(
        text: str, phrase: Phrase | None, rest: str) -> None:
    reading = read(text)
    assert (reading.phrase, reading.rest) == (phrase, rest)


# -- the offer to share one's number has a way back ------------------------------------


async def test_whatsapp_s_number_offer_has_non_merci(
        territory: Territory, meta: Meta, store: Store) -> None:  # noqa: F811
    await territory.product("Crème pour les mains", 1250, on_hand=3)
    await meta.says(JEANNE, "Jeanne", "bonjour")
    await meta.says(JEANNE, "Jeanne", "creme")
    await meta.taps(JEANNE, "Crème pour les mains")
    await meta.taps(JEANNE, "✅")
    offer = meta.api.last(JEANNE)
    assert [title for _id, title in offer.buttons] == ["📱 Donner mon numéro", "Non merci"]
    await meta.taps(JEANNE, "Non merci")
    assert plain(meta.texts(JEANNE)[-1]).startswith("Très bien")
    found = store.db.lookup_now(  # type: ignore[attr-defined]
        "SELECT phone FROM users WHERE channel = 'whatsapp' AND external_id = ?", (JEANNE,))
    assert found[0][0] is None


async def test_no_thanks_typed_without_an_offer_is_not_a_search(jeanne_chat: Chat) -> None:
    await jeanne_chat.send("non merci")
    assert NOTHING not in jeanne_chat.text
