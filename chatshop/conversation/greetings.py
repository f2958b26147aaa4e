"""The first words: the welcome of someone the bot has never talked to, and the answers
to the everyday phrases (greetings, thanks, help and menu words) typed at any time, so
that « bonjour » never meets « Aucun résultat »."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from chatshop.conversation import customer
from chatshop.conversation.context import Context, say
from chatshop.conversation.messages import (
    Command,
    ContactIn,
    DocumentIn,
    Event,
    LocationIn,
    PhotoIn,
    Press,
    Reply,
    Text,
)
from chatshop.conversation.phrases import Phrase, read
from chatshop.errors import DomainError
from chatshop.i18n import _

Answer = Callable[[], Awaitable[list[Reply]]]


async def answer_phrase(ctx: Context, said: Phrase) -> list[Reply]:
    """« bonjour », « menu »: the menu; « aide », « ? »: how it works; « merci »: a
    polite word. Each with the way on."""
    if said is Phrase.HELP:
        return await customer.help_(ctx, [])
    if said is Phrase.THANKS:
        return [say(_("You are welcome! Type what you are looking for whenever you like."))]
    return [await customer.menu(ctx)]


async def first_contact(ctx: Context, event: Event, answer: Answer) -> list[Reply]:
    """Someone the bot has never talked to: the welcome and the menu come first, whatever
    they sent (WhatsApp has no /start: the first message is « bonjour », a product word,
    a photo...); then what they asked for, when it is more than a hello."""
    match event:
        case Command(name=name, args=args) if name.lower().lstrip("/") == "start" \
                and not args.strip():
            return await answer()  # /start is the welcome
        case Command() | Press():
            # A deep link (« Bonjour ! p_12 », /start s_…), /invitation CODE, a template's
            # button: the welcome line, then that screen.
            try:
                replies = await answer()
            except DomainError as refusal:
                return [await customer.welcome(ctx), say(refusal.message())]
            if not replies:
                return [await customer.welcome(ctx)]
            first = replies[0]
            return [first.model_copy(update={
                "text": customer.welcome_line(ctx) + "\n\n" + first.text}), *replies[1:]]
        case Text(text=text):
            reading = read(text)
            welcome = await customer.welcome(ctx)
            if reading.phrase is not None or not reading.rest:
                return [welcome]
            return [welcome, *await customer.search(ctx, reading.rest, quiet=True)]
        case ContactIn() | LocationIn():
            return [await customer.welcome(ctx), *await answer()]
        case PhotoIn() | DocumentIn() if ctx.shop_ids:  # a shopkeeper's product or CSV
            return [await customer.welcome(ctx), *await answer()]
    # A photo, a sticker, a voice message: the welcome says what to do here.
    return [await customer.welcome(ctx)]
