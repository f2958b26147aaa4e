"""The shop window, from the chat: cards that link to their web page, « 🔗 Partager ma
boutique » with its links and a text for Facebook, the poster and the shelf labels sent
back as PDF documents (to the shop's staff only), the operator's poster of the territory,
the help's line on the legal notice, and ``chatshop links`` with the web addresses."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from chatshop.conversation.messages import Reply
from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import LABELS, POSTER, SHARE, TERRITORY_POSTER
from chatshop.domain.models import ShopDetails
from chatshop.services import Services
from chatshop.services.links import Links, territory_links
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.graph_api import FakeGraphAPI
from tests.test_telegram import Phone
from tests.test_telegram import running as telegram_running
from tests.test_whatsapp import LEA as LEA_WA
from tests.test_whatsapp import running as whatsapp_running
from tests.test_whatsapp import webhook, whatsapp_shopkeeper
from tests.world import refusals

PARIS = ZoneInfo("Europe/Paris")
WEB = "https://vitrine.example.fr"
EVERY_LINK = Links(public_url=WEB, telegram_bot="TerritoireBot",
                   whatsapp_number="33600000000")
SHOP_WEB = f"{WEB}/boutique/epicerie-du-chateau"
SHOP_TELEGRAM = "https://t.me/TerritoireBot?start=s_epicerie-du-chateau"
SHOP_WHATSAPP = "https://wa.me/33600000000?text=Bonjour%20%21%20s_epicerie-du-chateau"


def talking(services: Services, links: Links) -> Conversation:
    return Conversation(services, territory="Porte Océane du Limousin", tz=PARIS,
                        links=links)


@pytest.fixture
def window(services: Services, store: Store) -> Conversation:
    """The bot of a territory whose window, Telegram bot and WhatsApp number are known."""
    return talking(services, EVERY_LINK)


def chat(conversation: Conversation, postbox: Postbox, who: str) -> Chat:
    return Chat(conversation, who, {"1000": "Office", "2000": "Léa", "3000": "Jeanne"}.get(
        who, "Paul"), postbox)


def documents(replies: list[Reply]) -> list[tuple[str, str, bytes]]:
    return [(r.document.file_name, r.document.mime_type, r.document.data)
            for r in replies if r.document is not None]


# -- the cards ----------------------------------------------------------------------------


async def test_a_product_card_and_its_shop_s_card_open_their_web_pages_when_known(
        territory: Territory, services: Services, window: Conversation,
        postbox: Postbox) -> None:
    cream = await territory.product("Crème pour les mains", 1250, on_hand=3)
    jeanne = chat(window, postbox, "3000")
    await jeanne.send("creme")
    await jeanne.press("Crème pour les mains")
    (card,) = jeanne.last
    assert card.link is not None
    assert card.link.label == "🌐 Voir sur le web"
    assert card.link.url == f"{WEB}/produit/{cream.id}-creme-pour-les-mains"
    assert WEB not in card.text  # the card stays short: the address is on its button

    await jeanne.press("🏪 La boutique")
    (shop_card,) = jeanne.last
    assert "Épicerie du Château" in shop_card.text
    assert shop_card.link is not None
    assert shop_card.link.url == SHOP_WEB

    # A bot whose window's address is not set links to no page.
    elsewhere = chat(talking(services, Links(telegram_bot="TerritoireBot")), postbox, "3000")
    await elsewhere.send("creme")
    await elsewhere.press("Crème pour les mains")
    assert elsewhere.last[0].link is None
    await elsewhere.press("🏪 La boutique")
    assert elsewhere.last[0].link is None


# -- « 🔗 Partager ma boutique » ----------------------------------------------------------


async def test_the_share_screen_gives_every_link_then_the_facebook_text_alone(
        territory: Territory, window: Conversation, postbox: Postbox) -> None:
    await territory.services.shops.update_shop(
        territory.owner, territory.shop.id, ShopDetails(address="2 place du Château"))
    for name in ("Miel de châtaignier", "Savon lavande", "Confiture de mûres",
                 "Huile de noix", "Tisane du Limousin"):
        await territory.product(name, 650, on_hand=4)
    lea = chat(window, postbox, "2000")
    await lea.send("/boutique")
    assert len(lea.labels) <= 8
    await lea.press("🔗 Partager ma boutique")

    intro, post = lea.last
    for url in (SHOP_WEB, SHOP_TELEGRAM, SHOP_WHATSAPP):
        assert url in intro.text
    assert "appuyez longuement" in intro.text
    # The post is a message of its own: nothing in it but what to paste.
    assert post.text == "\n".join([
        "🏪 Épicerie du Château, Rochechouart",
        "🛍 Confiture de mûres, Huile de noix, Miel de châtaignier, Savon lavande… "
        "— 5 produits à réserver",
        "📍 2 place du Château",
        f"✅ Réservez en ligne, payez en boutique\u00a0: {SHOP_WEB}",
    ])
    assert lea.labels[-4:] == ["🖨 Affiche", "🏷 Étiquettes", "⬅️ Retour", "🏠 Menu"]
    await lea.press("Retour")
    assert "📋" in lea.text  # back on the dashboard


async def test_with_only_the_bot_known_the_post_links_to_telegram_and_says_what_is_missing(
        territory: Territory, services: Services, postbox: Postbox) -> None:
    lea = chat(talking(services, Links(telegram_bot="TerritoireBot")), postbox, "2000")
    await lea.send("/partager")
    intro, post = lea.last
    assert SHOP_TELEGRAM in intro.text
    assert "wa.me" not in intro.text
    assert "CHATSHOP_PUBLIC_URL" in intro.text
    assert post.text.endswith(f"payez en boutique\u00a0: {SHOP_TELEGRAM}")


async def test_with_no_link_known_the_share_screen_says_what_the_operator_must_set(
        territory: Territory, services: Services, postbox: Postbox) -> None:
    lea = chat(talking(services, Links()), postbox, "2000")
    await lea.send("/boutique")
    await lea.press("🔗 Partager")
    (screen,) = lea.last
    assert "CHATSHOP_PUBLIC_URL" in screen.text
    assert "CHATSHOP_TELEGRAM_USERNAME" in screen.text
    assert "https://" not in screen.text
    assert {"🖨 Affiche", "⬅️ Retour", "🏠 Menu"} <= set(lea.labels)  # never a dead end


async def test_a_deactivated_shop_has_nothing_to_share_nor_to_print(
        territory: Territory, window: Conversation, postbox: Postbox) -> None:
    await territory.services.shops.update_shop(territory.operator, territory.shop.id,
                                               ShopDetails(active=False))
    lea = chat(window, postbox, "2000")
    for line in ("/partager", "/affiche", "/etiquettes"):
        replies = await lea.send(line)
        assert "désactivée" in lea.text, line
        assert documents(replies) == []
        assert "https://" not in lea.text


# -- posters and labels -------------------------------------------------------------------


async def test_the_staff_get_the_poster_and_the_shelf_labels_as_pdf_documents(
        territory: Territory, window: Conversation, postbox: Postbox) -> None:
    await territory.product("Miel de châtaignier", 850, on_hand=4)
    lea = chat(window, postbox, "2000")
    await lea.send("/boutique")
    await lea.press("🔗 Partager")
    poster = await lea.press("🖨 Affiche")
    ((name, mime, data),) = documents(poster)
    assert (name, mime) == ("affiche-epicerie-du-chateau.pdf", "application/pdf")
    assert data.startswith(b"%PDF")
    assert "vitrine" in lea.text  # what to do with it
    labels = await lea.press("🏷 Étiquettes")
    ((name, mime, data),) = documents(labels)
    assert (name, mime) == ("etiquettes-epicerie-du-chateau.pdf", "application/pdf")
    assert data.startswith(b"%PDF")
    await lea.press("Retour")
    assert "Réservez en ligne" in lea.text  # back on the share screen


async def test_labels_for_a_shop_with_no_product_say_so_and_offer_to_add_one(
        territory: Territory, window: Conversation, postbox: Postbox) -> None:
    lea = chat(window, postbox, "2000")
    replies = await lea.send("/etiquettes")
    assert documents(replies) == []
    assert "Aucun produit" in lea.text
    assert "➕ Ajouter un produit" in lea.labels


@pytest.mark.parametrize("who", ["customer", "other shop's owner"])
async def test_a_forged_press_for_a_shop_s_poster_is_refused_and_sends_nothing(
        territory: Territory, window: Conversation, postbox: Postbox, who: str) -> None:
    await territory.product("Miel de châtaignier", 850, on_hand=4)
    if who == "customer":
        intruder = chat(window, postbox, "3000")
    else:
        await territory.open_shop("Boulangerie Martin", "2300")
        intruder = chat(window, postbox, "2300")
    shop = territory.shop.id
    for payload in (SHARE.payload(shop=shop), POSTER.payload(shop=shop),
                    LABELS.payload(shop=shop), TERRITORY_POSTER.payload()):
        replies = await intruder.forge(payload)
        assert intruder.last[-1].text in refusals(), payload
        assert documents(replies) == []
        assert "https://" not in intruder.text
    for line in ("/partager", "/affiche", "/etiquettes"):  # their own shop's, if any
        replies = await intruder.send(line)
        assert not any("epicerie" in name for name, _mime, _data in documents(replies))
        assert "epicerie-du-chateau" not in intruder.text
    assert postbox.inbox == {}  # nobody was sent anything


async def test_the_operator_prints_the_territory_s_poster_and_a_shop_s(
        territory: Territory, window: Conversation, postbox: Postbox) -> None:
    office = chat(window, postbox, "1000")
    await office.send("/territoire")
    poster = await office.press("🖨 Affiche du territoire")
    ((name, mime, data),) = documents(poster)
    assert (name, mime) == ("affiche-porte-oceane-du-limousin.pdf", "application/pdf")
    assert data.startswith(b"%PDF")
    await office.press("Retour")
    await office.press("🏪 Toutes les boutiques")
    await office.press("Épicerie du Château")
    shop_poster = await office.press("🖨 Affiche")
    ((name, _mime, data),) = documents(shop_poster)
    assert name == "affiche-epicerie-du-chateau.pdf"
    assert data.startswith(b"%PDF")
    await office.press("Retour")
    assert "Épicerie du Château — active" in office.text  # back where it was asked


async def test_a_poster_goes_out_on_telegram_as_a_pdf_document(
        territory: Territory, services: Services, store: Store) -> None:
    api = FakeBotAPI()
    lea = Phone(api, store, api.user(2000, "Léa", started=True))
    async with telegram_running(services, store, api):
        await lea.send("/affiche")
    sent = [m.document for m in api.messages(lea.user) if m.document is not None]
    (document,) = sent
    assert document.file_name == "affiche-epicerie-du-chateau.pdf"
    assert document.mime_type == "application/pdf"
    assert document.data.startswith(b"%PDF")
    assert any("vitrine" in (text or "") for text in lea.texts())  # what it is for
    assert "🏷 Étiquettes" in lea.labels  # the way on, under the file


async def test_a_poster_goes_out_on_whatsapp_as_a_pdf_document(
        territory: Territory, services: Services, store: Store,
        api: FakeGraphAPI) -> None:
    await whatsapp_shopkeeper(territory)
    async with whatsapp_running(services, store, api) as channel, \
            webhook(api, channel) as meta:
        await meta.says(LEA_WA, "Léa", "/affiche")
    (document,) = [m for m in api.messages_to(LEA_WA) if m.type == "document"]
    assert document.content["filename"] == "affiche-epicerie-du-chateau.pdf"
    uploaded = api.media[document.content["id"]]
    assert uploaded.mime_type == "application/pdf"
    assert uploaded.data.startswith(b"%PDF")


@pytest.fixture
def api(clock: FakeClock) -> FakeGraphAPI:
    return FakeGraphAPI(wall_clock=clock)


# -- the help, and ``chatshop links`` -------------------------------------------------------


async def test_the_help_names_the_legal_notice_page_when_the_window_is_known(
        territory: Territory, services: Services, window: Conversation,
        postbox: Postbox) -> None:
    jeanne = chat(window, postbox, "3000")
    await jeanne.send("/aide")
    assert f"Mentions légales et données personnelles\u00a0: {WEB}/mentions-legales" \
        in jeanne.text
    assert "/mesdonnees" in jeanne.text
    assert "/effacer" in jeanne.text
    elsewhere = chat(talking(services, Links(telegram_bot="TerritoireBot")), postbox, "3000")
    await elsewhere.send("aide")
    assert "Mentions légales" not in elsewhere.text
    assert "/mesdonnees" in elsewhere.text


async def test_chatshop_links_gives_each_shop_and_product_its_web_address(
        territory: Territory) -> None:
    honey = await territory.product("Miel de châtaignier", 850, on_hand=4)
    shop_line, product_line = await territory_links(territory.services, EVERY_LINK)
    assert shop_line == f"Épicerie du Château — {SHOP_TELEGRAM}  {SHOP_WHATSAPP}  {SHOP_WEB}"
    assert product_line == (
        f"    Miel de châtaignier — https://t.me/TerritoireBot?start=p_{honey.id}  "
        f"https://wa.me/33600000000?text=Bonjour%20%21%20p_{honey.id}  "
        f"{WEB}/produit/{honey.id}-miel-de-chataignier")
    assert await territory_links(territory.services, Links()) == [
        "Épicerie du Château", "    Miel de châtaignier"]


async def test_a_shop_card_gives_its_number_as_french_people_read_it(
        territory: Territory, services: Services, window: Conversation,
        postbox: Postbox) -> None:
    """« 📞 05 55 03 61 27 », as on the window and the poster, not the stored
    « +33555036127 »."""
    await services.shops.update_shop(territory.owner, territory.shop.id,
                                     ShopDetails(phone="05 55 03 61 27"))
    jeanne = chat(window, postbox, "3000")
    await jeanne.send(f"/start s_{territory.shop.slug}")
    assert "📞 05\u00a055\u00a003\u00a061\u00a027" in jeanne.text
