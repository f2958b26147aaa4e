"""The customer's phone number: offered after a reservation (never required), then
given with the platform's own button or declined with « Non merci »; either way the
offer's keyboard goes away and the customer is back where they were."""

from __future__ import annotations

from chatshop.conversation.context import Context, say
from chatshop.conversation.handlers import handles
from chatshop.conversation.messages import Reply
from chatshop.conversation.notices import my_reservations_button
from chatshop.conversation.phrases import fold
from chatshop.conversation.routes import DECLINE_PHONE
from chatshop.i18n import _

OFFER = "contact_offer"  # in the conversation state while the offer is on the screen
# ...and until it is answered: Telegram keeps its keyboard showing after other screens.
KEYBOARD = "contact_keyboard"


def offer(ctx: Context, reply: Reply) -> Reply:
    """``reply`` with the offer to share one's number (and the way to say no)."""
    ctx.state[OFFER] = ctx.state[KEYBOARD] = True
    return reply.model_copy(update={"ask_contact": True, "text": reply.text + "\n\n" + _(
        "If you like, share your phone number so that the shop can call you.")})


def declines(text: str) -> bool:
    """Whether a typed line says no to the offer: « Non merci » (the label of Telegram's
    keyboard button), « non », « pas maintenant »."""
    said = " ".join("".join(c if c.isalnum() else " " for c in fold(text)).split())
    return said in {fold(_("No thanks")), "non", "non merci", "pas maintenant", "plus tard",
                    "non merci pas maintenant", "no", "no thanks"}


def is_the_keyboards_no(ctx: Context, text: str) -> bool:
    """Whether ``text`` is exactly the label of the offer's « Non merci » keyboard button,
    sent by someone offered it who has neither given a number nor said no yet (the
    keyboard may still be showing). For anyone else it is an ordinary « non »."""
    return bool(ctx.state.get(KEYBOARD)) and ctx.user.phone is None \
        and text.strip() == _("No thanks")


LATER = "later"  # « Non merci » from the keyboard, pressed after other screens


@handles(DECLINE_PHONE)
async def decline(ctx: Context, when: str | None = None) -> list[Reply]:
    """« Non merci »: nothing is stored; back to the reservations, with the menu.
    (``later``: the keyboard's button pressed after other screens.)"""
    text = _("Very well: your number stays with you.") if when == LATER else _(
        "Very well: your number stays with you. Your reservation is unchanged.")
    ctx.state.pop(KEYBOARD, None)
    return [say(text, (my_reservations_button(),)).model_copy(
        update={"ends_contact_request": True})]


async def given(ctx: Context, phone: str) -> list[Reply]:
    """The number shared with the platform's button (or typed in the console)."""
    await ctx.services.customers.set_phone(ctx.user.id, phone)
    ctx.state.pop(KEYBOARD, None)
    return [say(_("Thank you: shops where you reserve can now call you."),
                (my_reservations_button(),)).model_copy(
        update={"ends_contact_request": True})]
