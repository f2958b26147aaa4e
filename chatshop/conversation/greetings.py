"""The first words and the everyday ones: the welcome of someone the bot has never
talked to, and the answers to the everyday phrases typed at any time (greetings, thanks,
help and menu words, « retour », « annuler », « oui », « non »), so that « bonjour »
never meets « Aucun résultat ».

Precedence at a prompt: where the bot waits for a free answer (a reason, a name, a
description: ``Takes.FREE``), what is typed is the answer, except « retour »,
« annuler », « menu » or « non » typed alone, which leave the prompt and change nothing
(« non » at « Pourquoi annuler ? » is a no, not the reason of a cancellation). Where it
waits for something else (a price, a number, a search), every phrase is understood."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from chatshop.conversation import customer
from chatshop.conversation.context import Context, back_label, say
from chatshop.conversation.handlers import Takes, takes
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
from chatshop.conversation.phrases import Phrase, Reading, read
from chatshop.errors import DomainError
from chatshop.i18n import _

Answer = Callable[[], Awaitable[list[Reply]]]
Dispatch = Callable[[str], Awaitable[list[Reply]]]  # press the button with this payload

QUESTION = "question"  # in the state: the yes/no question on the screen, by answer
BACK = "back"  # in an awaited prompt: the payload of its « Retour »
_LEAVING = (Phrase.BACK, Phrase.CANCEL, Phrase.MENU, Phrase.NO)


def remember(ctx: Context, replies: list[Reply]) -> None:
    """After an event: what typing « oui », « non » or « retour » will mean next."""
    shown = replies[-1].all_buttons if replies else []
    question = {b.answers: b.payload for b in shown if b.answers is not None}
    if question:
        ctx.state[QUESTION] = question
    waiting = ctx.awaiting()
    if waiting is not None:
        back = next((b.payload for b in shown if b.label == back_label()), None)
        if back is not None:
            waiting[BACK] = back


async def everyday(ctx: Context, reading: Reading, question: dict[str, str] | None,
                   press: Dispatch) -> list[Reply] | None:
    """The answer to an everyday phrase, or None when the line is to be read as it is
    (a prompt's free answer, a search)."""
    said = reading.phrase
    if said is None:
        return None
    waiting = ctx.awaiting()
    free = takes(waiting) is Takes.FREE
    if free and said not in _LEAVING:
        return None
    if said in (Phrase.YES, Phrase.NO) and question and said.value in question:
        ctx.done_waiting()
        return await press(question[said.value])
    leaving = said in (Phrase.BACK, Phrase.CANCEL) or (free and said is Phrase.NO)
    if waiting is not None and leaving:
        ctx.done_waiting()
        back = waiting.get(BACK)
        replies = await press(str(back)) if back else [await customer.menu(ctx)]
        first = replies[0]
        return [first.model_copy(update={
            "text": _("Very well, nothing was changed.") + "\n\n" + first.text}),
            *replies[1:]]
    ctx.done_waiting()
    return await answer_phrase(ctx, said)


async def answer_phrase(ctx: Context, said: Phrase) -> list[Reply]:
    """« bonjour », « menu »: the menu; « aide », « ? »: how it works; « merci »: a
    polite word. Each with the way on."""
    if said is Phrase.HELP:
        return await customer.help_(ctx)
    if said is Phrase.THANKS:
        return [say(_("You are welcome! Type what you are looking for whenever you like."))]
    if said is Phrase.CANCEL:
        # « annuler » with nothing to cancel on the screen: most often a reservation.
        return await customer.my_reservations(ctx)
    home = await customer.menu(ctx)
    if said in (Phrase.YES, Phrase.NO):  # no question on the screen: said kindly
        return [home.model_copy(update={"text": _(
            "I did not ask you anything just now. Here is the menu.") + "\n\n" + home.text})]
    return [home]


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
