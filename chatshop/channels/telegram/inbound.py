"""From a Telegram update to the conversation's ``Inbound``: one function, every kind of
message a person sends in their private chat with the bot (what the bot cannot read, a
sticker or a voice message, becomes ``Unsupported`` so that it still gets an answer).
Updates that are not a person writing (a member update, a group) are ``None``."""

from __future__ import annotations

from telegram import Update

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


def person_of(update: Update) -> tuple[str, str] | None:
    """The Telegram user id and display name behind an update (private chats only)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or user.is_bot or (chat is not None and chat.type != chat.PRIVATE):
        return None
    return str(user.id), user.full_name[:64]


async def to_inbound(update: Update) -> Inbound | None:
    """The event in ``update``, with a file's bytes fetched (up to the size the core
    accepts), or ``None`` if the bot has nothing to say to it."""
    who = person_of(update)
    if who is None:
        return None
    event = await _event(update)
    if event is None:
        return None
    return Inbound(channel="telegram", user_id=who[0], display_name=who[1], event=event)


async def _event(update: Update) -> Event | None:
    if update.callback_query is not None:
        data = update.callback_query.data
        return Press(payload=data) if isinstance(data, str) and data else None
    message = update.message
    if message is None:
        return None  # edited messages, member updates...: nothing to answer
    if message.text is not None:
        text = message.text.strip()
        if text.startswith("/") and len(text) > 1:
            name, _sep, args = text[1:].partition(" ")
            # « /start@chatshop_bot p_12 » in a group; private chats send « /start p_12 ».
            return Command(name=name.split("@")[0].lower(), args=args.strip())
        return Text(text=text) if text else Unsupported()
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return PhotoIn(file_ref=largest.file_id, caption=message.caption or "")
    if message.document is not None:
        document = message.document
        name = document.file_name or "fichier"
        if (document.file_size or 0) > MAX_FILE_BYTES:
            return DocumentIn(file_name=name, data=b"", too_large=True)
        content = bytes(await (await document.get_file()).download_as_bytearray())
        if len(content) > MAX_FILE_BYTES:
            return DocumentIn(file_name=name, data=b"", too_large=True)
        return DocumentIn(file_name=name, data=content)
    if message.contact is not None:
        # Only the person's own number: a forwarded contact card is someone else's.
        if message.contact.user_id != (message.from_user.id if message.from_user else None):
            return Unsupported()
        return ContactIn(phone=message.contact.phone_number)
    if message.location is not None:
        return LocationIn(latitude=message.location.latitude,
                          longitude=message.location.longitude)
    return Unsupported()
