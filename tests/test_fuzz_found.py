"""What the fuzzing (tests/test_fuzz.py) found, each kept as a plain test, and product files at
and beyond the limits: a clear French answer and nothing imported beyond them, everything
imported up to them."""

from __future__ import annotations

import logging

import pytest

from chatshop.conversation.messages import DocumentIn, Text
from chatshop.conversation.router import Conversation
from chatshop.domain.product_csv import MAX_BYTES, MAX_LINES, MAX_ROWS
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import Territory
from tests.world import Row, snapshot

# -- files at and beyond the limits -------------------------------------------------------


def _stock(store: Store) -> list[Row]:
    rows = snapshot(store)
    return rows["products"] + rows["stock_movements"]


def _lines(count: int) -> bytes:
    return ("nom;prix;stock\r\n" + "".join(
        f"Carte postale n°{n};1,50;3\r\n" for n in range(count))).encode()


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(("sent", "said"), [
    (DocumentIn(file_name="catalogue.csv", data=b"", too_large=True),
     "Le fichier est trop gros : 4 Mo au maximum."),
    (DocumentIn(file_name="catalogue.csv", data=b"nom;prix\n" + b"x" * MAX_BYTES),
     "Le fichier est trop gros : 4 Mo au maximum."),
    (DocumentIn(file_name="catalogue.csv", data=_lines(MAX_ROWS + 1)),
     "Le fichier contient 2 001 lignes de produits ; 2 000 au maximum."),
    # Line breaks alone: reading them took seconds, while the bot answered no one else.
    (DocumentIn(file_name="catalogue.csv", data=_lines(1) + b";;\n" * MAX_LINES),
     "Le fichier contient 100 002 lignes, vides comprises ; 100 000 au maximum."),
    (DocumentIn(file_name="catalogue.csv", data=b"nom;prix\r" + b"\r" * MAX_LINES),
     "Le fichier contient 100 001 lignes, vides comprises ; 100 000 au maximum."),
], ids=["not fetched", "too large", "too many products", "too many lines", "CR only"])
async def test_a_file_beyond_the_limits_gets_a_clear_french_answer_and_imports_nothing(
        territory: Territory, conversation: Conversation, postbox: Postbox, store: Store,
        sent: DocumentIn, said: str) -> None:
    await territory.product("Miel", 950, on_hand=5)
    before = _stock(store)
    lea = Chat(conversation, "2000", "Léa", postbox)
    await lea.event(sent)
    assert said in _plain(lea.text)
    assert _stock(store) == before


async def test_a_file_at_the_limits_is_imported_whole(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        store: Store) -> None:
    lea = Chat(conversation, "2000", "Léa", postbox)
    await lea.document("catalogue.csv", _lines(MAX_ROWS))
    assert "2\u202f000 nouveaux produits" in lea.text  # French digit grouping
    assert len(snapshot(store)["products"]) == MAX_ROWS


async def test_empty_rows_that_a_spreadsheet_adds_are_skipped(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        store: Store) -> None:
    lea = Chat(conversation, "2000", "Léa", postbox)
    await lea.document("catalogue.csv", _lines(3) + b";;\r\n" * (MAX_LINES - 10))
    assert "3 nouveaux produits" in lea.text
    assert len(snapshot(store)["products"]) == 3


async def test_only_shopkeepers_may_send_files(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        store: Store) -> None:
    before = _stock(store)
    jeanne = Chat(conversation, "3000", "Jeanne", postbox)
    await jeanne.send("bonjour")
    for sent in [DocumentIn(file_name="x.csv", data=_lines(3)),
                 DocumentIn(file_name="x.csv", data=b"", too_large=True)]:
        await jeanne.event(sent)
        assert jeanne.text == "Désolé, seuls les commerçants peuvent envoyer des fichiers ici."
    assert _stock(store) == before


# -- what the fuzzing found ---------------------------------------------------------------


async def test_text_with_a_lone_surrogate_is_read_not_an_incident(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        caplog: pytest.LogCaptureFixture) -> None:
    """Half of a broken UTF-16 pair (a JSON « \\ud800 », a console's undecodable byte)
    crashed the search: the text could not be encoded."""
    await territory.product("Miel de châtaignier", 850)
    jeanne = Chat(conversation, "3000", "Jeanne\ud800", postbox)
    for typed in ["miel\ud800", "/recherche miel\udcff", "\ud83c"]:
        await jeanne.send(typed)
    await jeanne.forge("f:0:miel\ud800")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert Text(text="a\ud800b").text == "a\ufffdb"
    assert Text(text="\ud83c\udf6f").text == "🍯"  # a whole pair is one character


@pytest.mark.parametrize("payload", ["nht:{shop}", "nct:{commune}", "nht:{shop}:x",
                                     "nct:{commune}:-1"])
async def test_a_follow_button_cut_short_subscribes_no_one(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        payload: str) -> None:
    """The toggle was written before the rest of the button was read."""
    jeanne = Chat(conversation, "3000", "Jeanne", postbox)
    await jeanne.forge(payload.format(shop=territory.shop.id, commune=territory.commune.id))
    assert jeanne.last[-1].text.startswith("Nous ne l’avons pas trouvé")
    assert await territory.services.digest.subscription(territory.customer.id) is None
