"""A reply's link (``Reply.link``: a button that opens an address, such as a product's
page in the shop window) as each platform shows it: a URL button on Telegram, under the
reply's own buttons; the label and the address under the text on WhatsApp, which has no
URL buttons in free-form messages; a line in the console."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pydantic import ValidationError

from chatshop.channels.console import ConsoleChat, Identity
from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.channels.whatsapp.render import parts
from chatshop.conversation.messages import Button, Inbound, Link, Reply
from chatshop.delivery.outcome import Message, Sent
from chatshop.services import Services
from chatshop.storage import Store
from tests.conftest import Territory
from tests.fakes.bot_api import FakeBotAPI
from tests.test_telegram import running

LEA = 2000
PAGE = "https://vitrine.example.fr/produit/12-savon-lavande"
CARD = Reply(text="Savon lavande — 6,50 €",
             buttons=((Button(label="✅ Réserver 1", payload="r1:12"),),
                      (Button(label="🏠 Menu", payload="m"),)),
             link=Link(label="🌐 Voir sur le site", url=PAGE))


def test_a_link_opens_only_web_addresses() -> None:
    for url in ("javascript:alert(1)", "tg://resolve?domain=x", "vitrine.example.fr",
                "https://" + "x" * 3000):
        with pytest.raises(ValidationError):
            Link(label="🌐", url=url)


async def test_on_telegram_the_link_is_a_url_button_under_the_others(
        territory: Territory, services: Services, store: Store) -> None:
    api = FakeBotAPI()
    api.user(LEA, "Léa", started=True)
    channel: TelegramChannel
    async with running(services, store, api, polling=False) as channel:
        assert await channel.send(Message(str(LEA), CARD)) == Sent()
    shown = api.last(LEA)
    assert shown.text == "Savon lavande — 6,50 €"
    assert shown.buttons == [[("✅ Réserver 1", "r1:12")], [("🏠 Menu", "m")],
                             [("🌐 Voir sur le site", PAGE)]]


async def test_on_telegram_a_long_text_keeps_the_link_on_its_last_message(
        territory: Territory, services: Services, store: Store) -> None:
    api = FakeBotAPI()
    api.user(LEA, "Léa", started=True)
    long = CARD.model_copy(update={"text": "Savon au lait d'ânesse. " * 300})  # 7 200
    async with running(services, store, api, polling=False) as channel:
        for piece in channel.pieces(long):  # as the outbox sends them, one row each
            assert await channel.send(Message(str(LEA), piece)) == Sent()
    first, *rest = api.messages(LEA)
    assert first.buttons == []
    assert rest[-1].buttons[-1] == [("🌐 Voir sur le site", PAGE)]


def test_on_whatsapp_the_link_is_written_under_the_text() -> None:
    shown = parts(CARD)
    assert shown[-1].type == "interactive"
    assert shown[-1].body["body"]["text"].endswith(f"🌐 Voir sur le site\u00a0: {PAGE}")
    alone = parts(Reply(text="Votre boutique en ligne", link=CARD.link))
    assert [part.body for part in alone] == [
        {"body": f"Votre boutique en ligne\n\n🌐 Voir sur le site\u00a0: {PAGE}"}]


async def test_in_the_console_the_link_is_a_line_not_a_numbered_choice(
        tmp_path: Path) -> None:
    async def handle(_inbound: Inbound) -> list[Reply]:
        return [CARD]

    out = io.StringIO()
    chat = ConsoleChat(handle=handle, out=out, identities={"client": Identity("1", "Jeanne")},
                       current="client", files_dir=tmp_path)
    await chat.line("savon")
    printed = out.getvalue()
    assert f"🌐 Voir sur le site\u00a0: {PAGE}" in printed
    assert "[1] ✅ Réserver 1" in printed
    assert "[3]" not in printed


async def test_on_telegram_a_plain_http_link_is_written_under_the_text(
        territory: Territory, services: Services, store: Store) -> None:
    """Telegram refuses URL buttons to some plain-http addresses (a window tried on
    127.0.0.1): such a link is written out, and the card still goes."""
    api = FakeBotAPI()
    api.user(LEA, "Léa", started=True)
    local = CARD.model_copy(update={"link": Link(label="🌐 Voir sur le site",
                                                 url="http://127.0.0.1:8082/produit/12")})
    async with running(services, store, api, polling=False) as channel:
        (piece,) = channel.pieces(local)  # as the outbox and the answers cut it
        assert await channel.send(Message(str(LEA), piece)) == Sent()
    shown = api.last(LEA)
    assert shown.text == ("Savon lavande — 6,50 €\n\n"
                          "🌐 Voir sur le site\u00a0: http://127.0.0.1:8082/produit/12")
    assert shown.buttons == [[("✅ Réserver 1", "r1:12")], [("🏠 Menu", "m")]]
