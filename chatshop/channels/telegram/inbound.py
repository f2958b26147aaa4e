"""From a Telegram update to the conversation's ``Inbound``: one function, every kind of
message a person sends in their private chat with the bot (what the bot cannot read, a
sticker or a voice message, becomes ``Unsupported`` so that it still gets an answer).
Updates that are not a person writing (a member update, a group) are ``None``.

Updates are read from Telegram's JSON as it came, not through python-telegram-bot's
``Update`` objects: chatshop reads a dozen fields of each, and building the objects cost
~110 µs an update, 14 % of the Telegram stack's time (py-spy on
``bench/telegram_stack.py``) — the same reason replies are sent as JSON (``render.call``).
python-telegram-bot still fetches them (its ``Updater``) and hands them to the handler
(its ``Application``). Whatever the JSON holds, reading it never raises: a field of the
wrong type is a field missing, and so is an id past what Telegram gives (a user id is
positive, every id fits in 64 bits) or a place off the globe.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from telegram import Bot

from chatshop.conversation.messages import (
    Command,
    ContactIn,
    DocumentIn,
    Event,
    Inbound,
    LocationIn,
    PhotoIn,
    Press,
    Text,
    Unsupported,
)
from chatshop.conversation.router import MAX_FILE_BYTES

log = logging.getLogger(__name__)

JSON = dict[str, Any]
MAX_ID = 2**63  # Telegram's ids take at most 52 bits


@dataclass(frozen=True, slots=True)
class TelegramUpdate:
    """One update: its id, its JSON, and that JSON as text, as it is written down."""

    update_id: int
    data: JSON
    payload: str

    @classmethod
    def of(cls, data: object, payload: str | None = None) -> TelegramUpdate | None:
        """The update in ``data`` (Telegram's JSON object), None if it is not one.
        Without ``payload``, the JSON is written as ASCII (text carrying half of an
        emoji, « \\ud83d », is stored like any other); an update that cannot be
        written as strict JSON (a ``NaN``, or nested past Python's limit) is kept as
        its id alone, so that it is still confirmed to Telegram, and answers nothing."""
        if not isinstance(data, dict):
            return None
        update_id = _id(data, "update_id")
        if update_id is None or update_id < 0:
            return None
        if payload is None:
            try:
                payload = json.dumps(data, ensure_ascii=True, allow_nan=False)
            except (ValueError, RecursionError):
                log.warning("update %s cannot be written down as JSON: kept as its id "
                            "alone", update_id)
                data = {"update_id": update_id}
                payload = json.dumps(data)
        return cls(update_id, data, payload)

    @property
    def callback_query(self) -> JSON | None:
        return _object(self.data, "callback_query")

    @property
    def message(self) -> JSON | None:
        return _object(self.data, "message")

    @property
    def sender(self) -> JSON | None:
        """Who sent it (``from`` of the message or of the button press)."""
        return _object(self.callback_query or self.message or {}, "from")

    @property
    def person(self) -> int | None:
        """The sender's Telegram id, for handling one person's updates in order."""
        person = _id(self.sender or {}, "id")
        return person if person is not None and person > 0 else None

    @property
    def chat_id(self) -> int | None:
        """The chat to answer in."""
        query = self.callback_query
        message = _object(query, "message") if query is not None else self.message
        return _id(_object(message or {}, "chat") or {}, "id")

    @property
    def callback_query_id(self) -> str | None:
        query = self.callback_query
        return _str(query, "id") if query is not None else None

    @property
    def pressed(self) -> Pressed | None:
        """The message whose button was pressed, if Telegram still lets the bot edit it
        (a message too old comes with ``date`` 0: it can only be answered anew)."""
        query = self.callback_query
        message = _object(query, "message") if query is not None else None
        if message is None or not _int(message, "date"):
            return None
        chat_id = _id(_object(message, "chat") or {}, "id")
        message_id = _id(message, "message_id")
        if chat_id is None or message_id is None:
            return None
        return Pressed(chat_id=chat_id, message_id=message_id,
                       has_media=any(key in message for key in _MEDIA))


@dataclass(frozen=True, slots=True)
class Pressed:
    """Of the message whose button was pressed, what editing it in place needs."""

    chat_id: int
    message_id: int
    has_media: bool  # a photo or a file: never edited into a text


_MEDIA = ("photo", "document", "video", "animation", "audio", "voice")


def person_of(update: TelegramUpdate) -> tuple[str, str] | None:
    """The Telegram user id and display name behind an update (private chats only)."""
    user = update.sender
    query, message = update.callback_query, update.message
    holder = _object(query, "message") if query is not None else message
    chat = _object(holder or {}, "chat")
    user_id = update.person
    if user is None or user_id is None or user.get("is_bot") is True \
            or (chat is not None and chat.get("type") != "private"):
        return None
    name = " ".join(part for part in (_str(user, "first_name"), _str(user, "last_name"))
                    if part)
    return str(user_id), name[:64]


async def to_inbound(update: TelegramUpdate, bot: Bot) -> Inbound | None:
    """The event in ``update``, with a file's bytes fetched (up to the size the core
    accepts), or ``None`` if the bot has nothing to say to it."""
    who = person_of(update)
    if who is None:
        return None
    event = await _event(update, bot)
    if event is None:
        return None
    return Inbound(channel="telegram", user_id=who[0], display_name=who[1], event=event)


async def _event(update: TelegramUpdate, bot: Bot) -> Event | None:
    query = update.callback_query
    if query is not None:
        data = _str(query, "data")
        return Press(payload=data) if data else None
    message = update.message
    if message is None:
        return None  # edited messages, member updates...: nothing to answer
    text = _str(message, "text")
    if text is not None:
        text = text.strip()
        if text.startswith("/") and len(text) > 1:
            name, _sep, args = text[1:].partition(" ")
            # « /start@chatshop_bot p_12 » in a group; private chats send « /start p_12 ».
            return Command(name=name.split("@")[0].lower(), args=args.strip())
        return Text(text=text) if text else Unsupported()
    photos = message.get("photo")
    sizes = [size for size in photos if isinstance(size, dict) and _str(size, "file_id")] \
        if isinstance(photos, list) else []
    if sizes:
        largest = max(sizes, key=lambda size: (_int(size, "width") or 0)
                      * (_int(size, "height") or 0))
        return PhotoIn(file_ref=_str(largest, "file_id") or "",
                       caption=_str(message, "caption") or "")
    document = _object(message, "document")
    if document is not None and _str(document, "file_id"):
        name = _str(document, "file_name") or "fichier"
        if (_int(document, "file_size") or 0) > MAX_FILE_BYTES:
            return DocumentIn(file_name=name, data=b"", too_large=True)
        file = await bot.get_file(_str(document, "file_id") or "")
        content = bytes(await file.download_as_bytearray())
        if len(content) > MAX_FILE_BYTES:
            return DocumentIn(file_name=name, data=b"", too_large=True)
        return DocumentIn(file_name=name, data=content)
    contact = _object(message, "contact")
    if contact is not None:
        # Only the person's own number: a forwarded contact card is someone else's.
        phone = _str(contact, "phone_number")
        if phone is None or _int(contact, "user_id") != update.person:
            return Unsupported()
        return ContactIn(phone=phone)
    location = _object(message, "location")
    if location is not None:
        latitude, longitude = location.get("latitude"), location.get("longitude")
        if _coordinate(latitude, 90) and _coordinate(longitude, 180):
            return LocationIn(latitude=latitude, longitude=longitude)
    return Unsupported()


def _object(holder: JSON, key: str) -> JSON | None:
    value = holder.get(key)
    return value if isinstance(value, dict) else None


def _int(holder: JSON, key: str) -> int | None:
    value = holder.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _id(holder: JSON, key: str) -> int | None:
    """An id: an int within 64 bits (Telegram's take 52 at most)."""
    value = _int(holder, key)
    return value if value is not None and -MAX_ID < value < MAX_ID else None


def _str(holder: JSON, key: str) -> str | None:
    value = holder.get(key)
    return value if isinstance(value, str) else None


def _coordinate(value: object, bound: int) -> bool:
    """Whether ``value`` is a number between ``-bound`` and ``bound`` (a latitude: 90).
    Compared, not converted: NaN compares false, and an int past a float's range is no
    OverflowError."""
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and -bound <= value <= bound
