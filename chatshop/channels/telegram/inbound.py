"""From a Telegram update to the conversation's ``Inbound``: one function, every kind of
message a person sends in their private chat with the bot (what the bot cannot read, a
sticker or a voice message, becomes ``Unsupported`` so that it still gets an answer).
Updates that are not a person writing (a member update, a group) are ``None``.

Updates are python-telegram-bot's ``Update`` objects (``Update.de_json``, whether they
came by polling, by the webhook or from what was written down before a stop). Telegram's
JSON is kept as it came (``written_form``) for ``inbound_events``. python-telegram-bot
builds its objects without checking the JSON's types, so reading one never trusts them:
a field of the wrong type is a field missing, and so is an id past what Telegram gives
(a user id is positive, every id fits in 64 bits) or a place off the globe; an update
python-telegram-bot cannot build at all becomes its id alone (kept, confirmed to
Telegram, and answered nothing).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from telegram import Bot, CallbackQuery, Message, Update, User

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
# What python-telegram-bot raises on JSON that is not in Telegram's shape (a field
# missing, an object where a list should be, a date past the calendar or past what the
# system's clock reads (OSError), nesting past Python's limit).
_UNREADABLE = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError,
               OSError, RecursionError)


def update_id_of(data: object) -> int | None:
    """The id of the update in ``data`` (Telegram's JSON object), None if it is not one."""
    if not isinstance(data, dict):
        return None
    update_id = _id(data.get("update_id"))
    return update_id if update_id is not None and update_id >= 0 else None


def written_form(data: JSON) -> str:
    """An update's JSON as it is written down: ASCII (text carrying half of an emoji,
    « \\ud83d », is stored like any other); an update that cannot be written as strict
    JSON (a ``NaN``, or nested past Python's limit) is kept as its id alone, so that it
    is still confirmed to Telegram."""
    try:
        return json.dumps(data, ensure_ascii=True, allow_nan=False)
    except (ValueError, RecursionError):
        log.warning("update %s cannot be written down as JSON: kept as its id alone",
                    data.get("update_id"))
        return json.dumps({"update_id": data.get("update_id")})


def read(data: JSON, bot: Bot) -> Update:
    """python-telegram-bot's ``Update`` for ``data`` (whose id ``update_id_of`` read);
    one it cannot build is its id alone."""
    try:
        return Update.de_json(data, bot)
    except _UNREADABLE as problem:
        log.warning("update %s not in Telegram's shape (%s): answered nothing",
                    data.get("update_id"), type(problem).__name__)
        return Update(int(data["update_id"]))


@dataclass(frozen=True, slots=True)
class Pressed:
    """Of the message whose button was pressed, what editing it in place needs."""

    chat_id: int
    message_id: int
    has_media: bool  # a photo or a file: never edited into a text


def person(update: Update) -> int | None:
    """The sender's Telegram id, for handling one person's updates in order."""
    user = _sender(update)
    found = _id(user.id) if user is not None else None
    return found if found is not None and found > 0 else None


def chat_id(update: Update) -> int | None:
    """The chat to answer in."""
    query = update.callback_query
    holder = query.message if query is not None else update.message
    return _id(holder.chat.id) if holder is not None else None


def callback_query_id(update: Update) -> str | None:
    """The id of the button press to answer (its spinner), if the update is one."""
    query = update.callback_query
    return query.id if query is not None and isinstance(query.id, str) else None


def pressed(update: Update) -> Pressed | None:
    """The message whose button was pressed, if Telegram still lets the bot edit it (a
    message too old comes with ``date`` 0, not ``is_accessible``: it can only be answered
    anew)."""
    query = update.callback_query
    message = query.message if query is not None else None
    if not isinstance(message, Message) or not message.is_accessible:
        return None
    chat, message_id = _id(message.chat.id), _id(message.message_id)
    if chat is None or message_id is None:
        return None
    has_media = bool(message.photo) or any(
        item is not None for item in (message.document, message.video, message.animation,
                                      message.audio, message.voice))
    return Pressed(chat_id=chat, message_id=message_id, has_media=has_media)


def person_of(update: Update) -> tuple[str, str] | None:
    """The Telegram user id and display name behind an update (private chats only)."""
    user = _sender(update)
    query = update.callback_query
    holder = query.message if query is not None else update.message
    user_id = person(update)
    if user is None or user_id is None or user.is_bot is True \
            or (holder is not None and holder.chat.type != "private"):
        return None
    name = " ".join(part for part in (user.first_name, user.last_name)
                    if isinstance(part, str) and part)
    return str(user_id), name[:64]


async def to_inbound(update: Update, bot: Bot) -> Inbound | None:
    """The event in ``update``, with a file's bytes fetched (up to the size the core
    accepts), or ``None`` if the bot has nothing to say to it."""
    who = person_of(update)
    if who is None:
        return None
    event = await _event(update, bot)
    if event is None:
        return None
    return Inbound(channel="telegram", user_id=who[0], display_name=who[1], event=event)


def _sender(update: Update) -> User | None:
    """Who sent it (``from`` of the message or of the button press)."""
    query: CallbackQuery | None = update.callback_query
    if query is not None:
        return query.from_user
    return update.message.from_user if update.message is not None else None


async def _event(update: Update, bot: Bot) -> Event | None:
    query = update.callback_query
    if query is not None:
        data = query.data
        return Press(payload=data) if isinstance(data, str) and data else None
    message = update.message
    if message is None:
        return None  # edited messages, member updates...: nothing to answer
    text = message.text
    if isinstance(text, str):
        text = text.strip()
        if text.startswith("/") and len(text) > 1:
            name, _sep, args = text[1:].partition(" ")
            # « /start@chatshop_bot p_12 » in a group; private chats send « /start p_12 ».
            return Command(name=name.split("@")[0].lower(), args=args.strip())
        return Text(text=text) if text else Unsupported()
    sizes = [size for size in message.photo if isinstance(size.file_id, str) and size.file_id]
    if sizes:
        largest = max(sizes, key=lambda size: _int(size.width) * _int(size.height))
        caption = message.caption
        return PhotoIn(file_ref=largest.file_id,
                       caption=caption if isinstance(caption, str) else "")
    document = message.document
    if document is not None and isinstance(document.file_id, str) and document.file_id:
        name = document.file_name if isinstance(document.file_name, str) \
            and document.file_name else "fichier"
        if _int(document.file_size) > MAX_FILE_BYTES:
            return DocumentIn(file_name=name, data=b"", too_large=True)
        file = await bot.get_file(document.file_id)
        content = bytes(await file.download_as_bytearray())
        if len(content) > MAX_FILE_BYTES:
            return DocumentIn(file_name=name, data=b"", too_large=True)
        return DocumentIn(file_name=name, data=content)
    contact = message.contact
    if contact is not None:
        # Only the person's own number: a forwarded contact card is someone else's.
        phone = contact.phone_number
        if not isinstance(phone, str) or _id(contact.user_id) != person(update):
            return Unsupported()
        return ContactIn(phone=phone)
    location = message.location
    if location is not None:
        latitude, longitude = location.latitude, location.longitude
        if _coordinate(latitude, 90) and _coordinate(longitude, 180):
            return LocationIn(latitude=latitude, longitude=longitude)
    return Unsupported()


def _int(value: object) -> int:
    """A count or a size as an int (0 if it is not one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _id(value: object) -> int | None:
    """An id: an int within 64 bits (Telegram's take 52 at most)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if -MAX_ID < value < MAX_ID else None


def _coordinate(value: object, bound: int) -> bool:
    """Whether ``value`` is a number between ``-bound`` and ``bound`` (a latitude: 90).
    Compared, not converted: NaN compares false, and an int past a float's range is no
    OverflowError."""
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and -bound <= value <= bound
