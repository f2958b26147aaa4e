"""From the conversation's ``Reply`` to Telegram messages: escaped HTML text cut to
Telegram's lengths, inline keyboards with compact callback data (checked here to be at
most 64 bytes), photos by file id with their caption cut to 1 024 characters, documents,
venues, the "share my phone number" keyboard, and edits in place that fall back to a new
message when Telegram refuses them."""

from __future__ import annotations

import html
import logging

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest

from chatshop.conversation.messages import MAX_PAYLOAD_BYTES, Reply
from chatshop.i18n import _

log = logging.getLogger(__name__)

TEXT_MAX = MessageLimit.MAX_TEXT_LENGTH  # 4 096 characters
CAPTION_MAX = MessageLimit.CAPTION_LENGTH  # 1 024 characters


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard; refuses data Telegram would refuse."""
    if not reply.buttons:
        return None
    rows = []
    for row in reply.buttons:
        buttons = []
        for button in row:
            if not 0 < len(button.payload.encode()) <= MAX_PAYLOAD_BYTES:
                raise ValueError(f"callback data over 64 bytes: {button.payload!r}")
            buttons.append(InlineKeyboardButton(button.label, callback_data=button.payload))
        rows.append(buttons)
    return InlineKeyboardMarkup(rows)


def pieces(text: str, first_max: int = TEXT_MAX) -> list[str]:
    """``text`` cut into messages Telegram accepts, at line breaks where possible; the
    first piece at most ``first_max`` characters (a caption), the others ``TEXT_MAX``."""
    out: list[str] = []
    limit = first_max
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
        limit = TEXT_MAX
    out.append(rest)
    return [piece for piece in out if piece] or [""]


def escape(text: str) -> str:
    """Plain text for ``parse_mode=HTML``: a product called « <b>Savon & co » stays so."""
    return html.escape(text, quote=False)


async def send(bot: Bot, chat_id: int | str, reply: Reply,
               edit_message: Message | None = None) -> list[Message]:
    """Show ``reply`` in ``chat_id``; with ``edit_message`` (the message whose button was
    pressed) and ``reply.edit``, replace it in place when Telegram allows."""
    markup = keyboard(reply)
    sent: list[Message] = []
    editable = reply.photo is None and reply.document is None and len(reply.text) <= TEXT_MAX
    if reply.edit and edit_message is not None and editable \
            and await _edit(bot, edit_message, reply, markup):
        return [edit_message]
    if reply.photo is not None:
        caption, *more = pieces(reply.text, CAPTION_MAX)
        sent.append(await bot.send_photo(
            chat_id, reply.photo, caption=escape(caption) or None, parse_mode=ParseMode.HTML,
            reply_markup=None if more else markup))
        for i, piece in enumerate(more):
            sent.append(await bot.send_message(
                chat_id, escape(piece), parse_mode=ParseMode.HTML,
                reply_markup=markup if i == len(more) - 1 else None))
    elif reply.text:
        texts = pieces(reply.text)
        for i, piece in enumerate(texts):
            last = i == len(texts) - 1
            sent.append(await bot.send_message(
                chat_id, escape(piece), parse_mode=ParseMode.HTML,
                reply_markup=markup if last and reply.document is None else None))
    if reply.document is not None:
        sent.append(await bot.send_document(
            chat_id, InputFile(reply.document.data, filename=reply.document.file_name),
            reply_markup=markup))
    if reply.venue is not None:
        venue = reply.venue
        sent.append(await bot.send_venue(chat_id, latitude=venue.latitude,
                                         longitude=venue.longitude, title=venue.title[:100],
                                         address=venue.address[:200] or venue.title[:100]))
    if reply.ask_contact:
        # Inline keyboards cannot ask for the phone number: a one-time reply keyboard can.
        sent.append(await bot.send_message(
            chat_id, escape(_("📱 To share your number, tap the button below.")),
            parse_mode=ParseMode.HTML,
            reply_markup=ReplyKeyboardMarkup(
                [[KeyboardButton(_("📱 Share my phone number"), request_contact=True)]],
                one_time_keyboard=True, resize_keyboard=True)))
    return sent


async def _edit(bot: Bot, message: Message, reply: Reply,
                markup: InlineKeyboardMarkup | None) -> bool:
    """Replace ``message``; False if Telegram refuses (too old, a photo...)."""
    try:
        if message.photo:
            if len(reply.text) > CAPTION_MAX:
                return False
            await bot.edit_message_caption(chat_id=message.chat_id,
                                           message_id=message.message_id,
                                           caption=escape(reply.text),
                                           parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            await bot.edit_message_text(escape(reply.text), chat_id=message.chat_id,
                                        message_id=message.message_id,
                                        parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as refusal:
        if "not modified" in str(refusal).lower():
            return True  # the same screen again (a double tap): nothing to change
        log.info("edit refused (%s); sending a new message", refusal)
        return False
    return True
