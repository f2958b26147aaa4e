"""Reading Telegram's updates, as python-telegram-bot's ``Update`` objects built from
their JSON: every kind a person sends becomes the event the conversation expects,
whatever is not a person writing privately is None, and no JSON, however odd, makes
reading it raise."""

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from telegram import Bot, Update

from chatshop.channels.telegram.inbound import (
    Pressed,
    callback_query_id,
    chat_id,
    person,
    person_of,
    pressed,
    read,
    to_inbound,
    update_id_of,
)
from chatshop.conversation.messages import (
    Command,
    ContactIn,
    Event,
    LocationIn,
    PhotoIn,
    Press,
    Text,
    Unsupported,
)
from tests.fakes.bot_api import FakeBotAPI

BOT = Bot("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")


def _read(data: dict[str, Any]) -> Update:
    assert update_id_of(data) is not None
    return read(data, BOT)


async def _event(data: dict[str, Any]) -> Event | None:
    inbound = await to_inbound(_read(data), BOT)
    return None if inbound is None else inbound.event


async def test_what_a_person_sends_becomes_the_event_the_conversation_expects() -> None:
    api = FakeBotAPI()
    marie = api.user(501, "Marie", "Dupont", started=True)
    assert await _event(api.send_text(marie, "/start@chatshop_bot p_12")) == Command(
        name="start", args="p_12")
    assert await _event(api.send_text(marie, "  miel de châtaignier ")) == Text(
        text="miel de châtaignier")
    photo = api.send_photo(marie, b"\xff\xd8 a jpeg", caption="Savon 6,50 € x12")
    largest = max(photo["message"]["photo"], key=lambda size: size["width"] * size["height"])
    assert await _event(photo) == PhotoIn(file_ref=largest["file_id"],
                                          caption="Savon 6,50 € x12")
    assert await _event(api.send_contact(marie, "+33612345678")) == ContactIn(
        phone="+33612345678")
    assert await _event(api.send_location(marie, 45.81, 0.79)) == LocationIn(
        latitude=45.81, longitude=0.79)
    # A screen of the bot's, with a button (as if sent through the Bot API).
    screen = api._store(api._chats[501], from_bot=True, kind="text",
                        text="Choisissez")
    screen.reply_markup = {"inline_keyboard": [[{"text": "Miel", "callback_data": "p:7"}]]}
    tap = api.press(marie, screen.message_id, "p:7")
    assert await _event(tap) == Press(payload="p:7")
    update = _read(tap)
    assert pressed(update) == Pressed(chat_id=501, message_id=screen.message_id,
                                      has_media=False)
    assert callback_query_id(update) == tap["callback_query"]["id"]
    assert (person(update), chat_id(update)) == (501, 501)
    assert person_of(update) == ("501", "Marie Dupont")


async def test_what_the_bot_cannot_read_still_gets_an_answer() -> None:
    api = FakeBotAPI()
    marie = api.user(501, "Marie", started=True)
    text = api.send_text(marie, "bonjour")
    sticker = {"update_id": text["update_id"] + 1, "message": {
        **{k: v for k, v in text["message"].items() if k not in ("text", "entities")},
        "sticker": {"file_id": "CAACAgI", "file_unique_id": "AgAD", "width": 512,
                    "height": 512, "is_animated": False, "is_video": False,
                    "type": "regular"}}}
    assert await _event(sticker) == Unsupported()
    # Someone else's contact card, forwarded: not the person's own number.
    card = api.send_contact(marie, "+33600000000")
    card["message"]["contact"]["user_id"] = 999
    assert await _event(card) == Unsupported()


@pytest.mark.parametrize("change", [
    lambda u: u["message"]["chat"].update(type="group", id=-100),
    lambda u: u["message"]["from"].update(is_bot=True),
    lambda u: u.update(edited_message=u.pop("message")),
    lambda u: u["message"].pop("from"),
], ids=["group", "another bot", "edited", "no sender"])
async def test_what_is_not_a_person_writing_privately_is_not_answered(change: Any) -> None:
    api = FakeBotAPI()
    data = api.send_text(api.user(501, "Marie", started=True), "bonjour")
    change(data)
    assert await to_inbound(_read(data), BOT) is None


def test_a_button_of_a_message_too_old_to_edit_is_answered_anew() -> None:
    update = _read({"update_id": 9, "callback_query": {
        "id": "4382", "from": {"id": 501, "is_bot": False, "first_name": "Marie"},
        "chat_instance": "-1", "data": "m",
        "message": {"message_id": 12, "date": 0, "chat": {"id": 501, "type": "private"}}}})
    assert pressed(update) is None  # Telegram's "inaccessible message"
    assert chat_id(update) == 501


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "from", "chat", "type", "text", "data", "message", "photo",
                         "file_id", "width", "height", "contact", "user_id",
                         "phone_number", "location", "latitude", "longitude", "document",
                         "file_size", "date", "message_id", "is_bot", "first_name",
                         "last_name", "caption"]), inner, max_size=6),
    max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(kind="message", body={"photo": 5}, update_id=1)  # found in review: it raised
@example(kind="message", body={"location": {"latitude": True, "longitude": "0"}},
         update_id=2)
@example(kind="message", body={"message_id": 1, "date": 1e18}, update_id=3)  # OSError
@given(kind=st.sampled_from(["message", "callback_query"]),
       body=st.dictionaries(st.sampled_from(
           ["from", "chat", "text", "data", "message", "photo", "contact", "location",
            "caption", "id", "date", "message_id"]), _JSON, max_size=8),
       update_id=st.integers(1, 2**31) | st.text(max_size=3) | st.none())
async def test_no_json_makes_reading_an_update_raise(kind: str, body: dict[str, Any],
                                                     update_id: object) -> None:
    # Mostly from a real person in a private chat, so that the event itself is read.
    sender = {"from": {"id": 501, "is_bot": False, "first_name": "Marie"},
              "chat": {"id": 501, "type": "private"}}
    data = {"update_id": update_id, kind: {**sender, **body}}
    if not isinstance(update_id, int):
        assert update_id_of(data) is None
        return
    update = read(data, BOT)
    assert update.update_id == update_id
    _ = (person(update), chat_id(update), callback_query_id(update), pressed(update),
         person_of(update))
    await to_inbound(update, BOT)  # no document in the alphabet: nothing is fetched
