"""From the conversation's ``Reply`` to Telegram messages: escaped HTML text cut to
Telegram's lengths, inline keyboards with compact callback data (checked here to be at
most 64 bytes), photos by file id with their caption cut to 1 024 characters, documents,
venues, the "share my phone number" keyboard, and edits in place that fall back to a new
message when Telegram refuses them.

Everything goes through python-telegram-bot's own methods (``Bot.send_message``,
``send_photo``, ``edit_message_text``...) and objects. A keyboard is built once per set
of buttons (``keyboard`` keeps the last 512): the same menus and cards come back all
day (four sends in five in bench/telegram_stack.py), and building eight buttons costs
~60 µs, writing their JSON ~35 µs more, on every send otherwise.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest

from chatshop.channels.telegram.inbound import Pressed
from chatshop.channels.texts import pieces
from chatshop.conversation.messages import MAX_PAYLOAD_BYTES, Button, Link, Reply
from chatshop.i18n import _

log = logging.getLogger(__name__)

TEXT_MAX = MessageLimit.MAX_TEXT_LENGTH  # 4 096 characters
CAPTION_MAX = MessageLimit.CAPTION_LENGTH  # 1 024 characters
HTML = ParseMode.HTML


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard, its link (``Reply.link``) as a URL
    button on a row of its own under them; refuses callback data Telegram would refuse
    (1 to 64 bytes)."""
    if not reply.buttons and reply.link is None:
        return None
    return _inline_keyboard(reply.buttons, reply.link)


class Keyboard(InlineKeyboardMarkup):
    """An inline keyboard built once and sent many times: python-telegram-bot's objects
    are immutable once built, and this one also keeps its JSON (``to_dict`` is what
    python-telegram-bot calls on every send)."""

    __slots__ = ("_json",)

    def __init__(self, rows: Sequence[Sequence[Button]], link: Link | None = None) -> None:
        opens = [[InlineKeyboardButton(link.label, url=link.url)]] if link else []
        super().__init__([[InlineKeyboardButton(button.label, callback_data=button.payload)
                           for button in row] for row in rows] + opens)
        # What ``InlineKeyboardMarkup.to_dict`` gives for such buttons, written at once.
        self._json = {"inline_keyboard": [[{"text": button.label,
                                            "callback_data": button.payload}
                                           for button in row] for row in rows]
                      + ([[{"text": link.label, "url": link.url}]] if link else [])}

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        return dict(self._json) if recursive else super().to_dict(recursive=False)


@lru_cache(maxsize=512)
def _inline_keyboard(rows: tuple[tuple[Button, ...], ...], link: Link | None = None
                     ) -> Keyboard:
    for row in rows:
        for button in row:
            if not 0 < len(button.payload.encode()) <= MAX_PAYLOAD_BYTES:
                raise ValueError(f"callback data over 64 bytes: {button.payload!r}")
    return Keyboard(rows, link)


def escape(text: str) -> str:
    """Plain text for ``parse_mode=HTML``: a product called « <b>Savon & co » stays so."""
    return html.escape(text, quote=False)


def split(reply: Reply) -> list[Reply]:
    """``reply`` as the messages Telegram will show, each sent by exactly one API call:
    a photo with the start of the text as its caption, the rest of a long text, a
    document, a venue, the "share my phone number" keyboard. The buttons go under the
    last of them (the venue's map, the document, the text), so that every screen ends
    with its way on. Sending piece by piece, a failure halfway resends only what did not
    go. A link to an address Telegram would refuse as a URL button (plain http, such as
    a window tried on 127.0.0.1) is written under the text instead."""
    if reply.link is not None and not reply.link.url.startswith("https://"):
        reply = reply.model_copy(update={
            "text": f"{reply.text}\n\n{reply.link.label}\u00a0: {reply.link.url}".lstrip(),
            "link": None})
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
        out[-1] = out[-1].model_copy(update={"buttons": buttons, "link": reply.link})
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
            reply_markup=markup)
    elif piece.venue is not None:
        venue = piece.venue
        await bot.send_venue(chat_id, latitude=venue.latitude, longitude=venue.longitude,
                             title=venue.title[:100],
                             address=venue.address[:200] or venue.title[:100],
                             reply_markup=markup)
    elif piece.ask_contact:
        await bot.send_message(chat_id, escape(piece.text), parse_mode=HTML,
                               reply_markup=_contact_keyboard(_("📱 Share my phone number"),
                                                              _("No thanks")))
    elif piece.ends_contact_request:
        await bot.send_message(chat_id, escape(piece.text), parse_mode=HTML,
                               reply_markup=_NO_KEYBOARD)
    elif piece.photo is not None and piece.photo.startswith("media:"):
        # A photo kept by chatshop (taken on WhatsApp): uploaded from its bytes.
        kept = await media(piece.photo) if media is not None else None
        if kept is None:
            await bot.send_message(chat_id, escape(piece.text) or "…", parse_mode=HTML,
                                   reply_markup=markup)
        else:
            await bot.send_photo(
                chat_id, InputFile(kept[1], filename="photo." + kept[0].split("/")[-1]),
                caption=escape(piece.text) or None, parse_mode=HTML, reply_markup=markup)
    elif piece.photo is not None:
        await bot.send_photo(chat_id, piece.photo, caption=escape(piece.text) or None,
                             parse_mode=HTML, reply_markup=markup)
    else:
        await bot.send_message(chat_id, escape(piece.text), parse_mode=HTML,
                               reply_markup=markup)


_NO_KEYBOARD = ReplyKeyboardRemove()


@lru_cache(maxsize=8)
def _contact_keyboard(share: str, decline: str) -> ReplyKeyboardMarkup:
    """The one-time keyboard that asks for the phone number (inline buttons cannot).
    « Non merci » is a plain keyboard button: it sends its label, which the
    conversation reads as declining the offer."""
    return ReplyKeyboardMarkup([[KeyboardButton(share, request_contact=True)],
                                [KeyboardButton(decline)]],
                               one_time_keyboard=True, resize_keyboard=True)


async def _edit(bot: Bot, message: Pressed, piece: Reply,
                markup: InlineKeyboardMarkup | None) -> bool:
    """Replace ``message`` with a text piece; False if it cannot be (a photo message:
    its picture would stay above the new text) or Telegram refuses (too old...)."""
    if message.has_media or len(piece.text) > TEXT_MAX:
        return False
    try:
        await bot.edit_message_text(escape(piece.text), chat_id=message.chat_id,
                                    message_id=message.message_id, parse_mode=HTML,
                                    reply_markup=markup)
    except BadRequest as refusal:
        if "not modified" in str(refusal).lower():
            return True  # the same screen again (a double tap): nothing to change
        log.info("edit refused (%s); sending a new message", refusal)
        return False
    return True
