"""From the conversation's ``Reply`` to Telegram messages: escaped HTML text cut to
Telegram's lengths, inline keyboards with compact callback data (checked here to be at
most 64 bytes), photos by file id with their caption cut to 1 024 characters, documents,
venues, the "share my phone number" keyboard, and edits in place that fall back to a new
message when Telegram refuses them."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, InputFile
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest

from chatshop.channels.telegram.inbound import Pressed
from chatshop.channels.texts import pieces
from chatshop.conversation.messages import MAX_PAYLOAD_BYTES, Reply
from chatshop.i18n import _

log = logging.getLogger(__name__)

TEXT_MAX = MessageLimit.MAX_TEXT_LENGTH  # 4 096 characters
CAPTION_MAX = MessageLimit.CAPTION_LENGTH  # 1 024 characters


def keyboard(reply: Reply) -> dict[str, Any] | None:
    """The reply's buttons as an inline keyboard, in the Bot API's JSON; refuses callback
    data Telegram would refuse (1 to 64 bytes)."""
    if not reply.buttons:
        return None
    rows = []
    for row in reply.buttons:
        buttons = []
        for button in row:
            if not 0 < len(button.payload.encode()) <= MAX_PAYLOAD_BYTES:
                raise ValueError(f"callback data over 64 bytes: {button.payload!r}")
            buttons.append({"text": button.label, "callback_data": button.payload})
        rows.append(buttons)
    return {"inline_keyboard": rows}


async def call(bot: Bot, method: str, params: dict[str, Any]) -> Any:
    """One Bot API call with plain JSON parameters, through the bot's request and rate
    limiter, returning Telegram's JSON as is.

    Replies are sent this way rather than with ``bot.send_message(...)``: we never read
    the message Telegram sends back, and building keyboards out of python-telegram-bot
    objects and parsing every answer into a ``Message`` was a third of the time spent on
    an update (measured with py-spy on bench/telegram_stack.py). ``_post`` is
    python-telegram-bot's own path for every method (pinned below 23 in pyproject).
    """
    return await bot._post(method, {k: v for k, v in params.items() if v is not None})


def escape(text: str) -> str:
    """Plain text for ``parse_mode=HTML``: a product called « <b>Savon & co » stays so."""
    return html.escape(text, quote=False)


def split(reply: Reply) -> list[Reply]:
    """``reply`` as the messages Telegram will show, each sent by exactly one API call:
    a photo with the start of the text as its caption, the rest of a long text, a
    document, a venue, the "share my phone number" keyboard. The buttons go under the
    last of them (the venue's map, the document, the text), so that every screen ends
    with its way on. Sending piece by piece, a failure halfway resends only what did not
    go."""
    if reply.photo is None and reply.document is None and reply.venue is None \
            and not reply.ask_contact and not reply.ends_contact_request \
            and 0 < len(reply.text) <= TEXT_MAX:
        return [reply]  # most replies: one text message, as it is
    buttons = reply.buttons
    base = {"regarding": reply.regarding, "to": reply.to}
    if reply.ends_contact_request:
        # The answer to the offer takes its reply keyboard away, which an inline keyboard
        # cannot do in the same message: the way on follows in a second one.
        return [Reply(text=reply.text, ends_contact_request=True, **base),
                Reply(text=_("What would you like to do now?"), buttons=buttons, **base)]
    out: list[Reply] = []
    if reply.photo is not None:
        caption, *more = pieces(reply.text, CAPTION_MAX)
        out.append(Reply(text=caption, photo=reply.photo, **base))
        out += [Reply(text=piece, **base) for piece in more]
    elif reply.text:
        out += [Reply(text=piece, **base) for piece in pieces(reply.text)]
    if reply.document is not None:
        out.append(Reply(text="", document=reply.document, **base))
    if reply.venue is not None:
        out.append(Reply(text="", venue=reply.venue, **base))
    if out:
        out[-1] = out[-1].model_copy(update={"buttons": buttons})
    if reply.ask_contact:
        # Inline keyboards cannot ask for the phone number: a one-time reply keyboard can.
        out.append(Reply(text=_("📱 To share your number, tap the button below."),
                         ask_contact=True, **base))
    if out and reply.edit and len(out) == 1 and reply.photo is None \
            and reply.document is None:
        out[0] = out[0].model_copy(update={"edit": True})
    return out


MediaLoader = Callable[[str], Awaitable[tuple[str, bytes] | None]]


async def send_piece(bot: Bot, chat_id: int | str, piece: Reply,
                     edit_message: Pressed | None = None,
                     media: MediaLoader | None = None) -> None:
    """Send one piece of ``split``: one API call (an edit of ``edit_message`` in place
    when the piece asks for it and Telegram allows, else a new message)."""
    markup = keyboard(piece)
    if piece.edit and edit_message is not None \
            and await _edit(bot, edit_message, piece, markup):
        return
    if piece.document is not None:
        await bot.send_document(
            chat_id, InputFile(piece.document.data, filename=piece.document.file_name),
            reply_markup=InlineKeyboardMarkup.de_json(markup, bot) if markup else None)
    elif piece.venue is not None:
        venue = piece.venue
        await call(bot, "sendVenue", {
            "chat_id": chat_id, "latitude": venue.latitude, "longitude": venue.longitude,
            "title": venue.title[:100], "address": venue.address[:200] or venue.title[:100],
            "reply_markup": markup})
    elif piece.ask_contact:
        # « Non merci » is a plain keyboard button: it sends its label, which the
        # conversation reads as declining the offer.
        await call(bot, "sendMessage", {
            "chat_id": chat_id, "text": escape(piece.text), "parse_mode": ParseMode.HTML,
            "reply_markup": {"keyboard": [[{"text": _("📱 Share my phone number"),
                                            "request_contact": True}],
                                          [{"text": _("No thanks")}]],
                             "one_time_keyboard": True, "resize_keyboard": True}})
    elif piece.ends_contact_request:
        await call(bot, "sendMessage", {
            "chat_id": chat_id, "text": escape(piece.text), "parse_mode": ParseMode.HTML,
            "reply_markup": {"remove_keyboard": True}})
    elif piece.photo is not None and piece.photo.startswith("media:"):
        # A photo kept by chatshop (taken on WhatsApp): uploaded from its bytes.
        kept = await media(piece.photo) if media is not None else None
        if kept is None:
            await call(bot, "sendMessage", {
                "chat_id": chat_id, "text": escape(piece.text) or "…",
                "parse_mode": ParseMode.HTML, "reply_markup": markup})
        else:
            await bot.send_photo(
                chat_id, InputFile(kept[1], filename="photo." + kept[0].split("/")[-1]),
                caption=escape(piece.text) or None, parse_mode=ParseMode.HTML,
                reply_markup=InlineKeyboardMarkup.de_json(markup, bot) if markup else None)
    elif piece.photo is not None:
        await call(bot, "sendPhoto", {
            "chat_id": chat_id, "photo": piece.photo, "caption": escape(piece.text) or None,
            "parse_mode": ParseMode.HTML, "reply_markup": markup})
    else:
        await call(bot, "sendMessage", {
            "chat_id": chat_id, "text": escape(piece.text), "parse_mode": ParseMode.HTML,
            "reply_markup": markup})


async def _edit(bot: Bot, message: Pressed, piece: Reply,
                markup: dict[str, Any] | None) -> bool:
    """Replace ``message`` with a text piece; False if it cannot be (a photo message:
    its picture would stay above the new text) or Telegram refuses (too old...)."""
    if message.has_media or len(piece.text) > TEXT_MAX:
        return False
    try:
        await call(bot, "editMessageText", {
            "chat_id": message.chat_id, "message_id": message.message_id,
            "text": escape(piece.text), "parse_mode": ParseMode.HTML, "reply_markup": markup})
    except BadRequest as refusal:
        if "not modified" in str(refusal).lower():
            return True  # the same screen again (a double tap): nothing to change
        log.info("edit refused (%s); sending a new message", refusal)
        return False
    return True
