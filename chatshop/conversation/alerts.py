"""« 🔔 Prévenez-moi quand il revient » (#12 §3), for customers: asking on a sold-out
product's card, « Mes alertes » to list and cancel them, and the message that says a
product is back (with « Réserver 1 »).

The message that a product is back is also what WhatsApp sends as the approved
notification template's one parameter outside the person's 24-hour window, where no
button goes: it says in words how to reserve (type the product's name: free text is a
search)."""

from __future__ import annotations

from chatshop.conversation.context import Context, menu_button, nonce, say
from chatshop.conversation.handlers import handles
from chatshop.conversation.messages import Button, Recipient, Reply
from chatshop.conversation.notices import my_reservations_button
from chatshop.conversation.routes import (
    ALERT_ASK,
    ALERT_CANCEL,
    ASK_SEARCH,
    MY_ALERTS,
    PRODUCT,
    RESERVE_NOW,
)
from chatshop.domain.models import Channel, Product
from chatshop.errors import NotFound
from chatshop.i18n import _, format_day, format_money, format_number, ngettext
from chatshop.services import Services
from chatshop.storage.alerts_protocol import AlertLine

SHOWN = 5  # alerts listed, each with its « Annuler » (<= 8 buttons with the way on)
LABEL_ROOM = 24  # a product's name in « ✖️ Annuler : … » (a WhatsApp list row's title)


def ask_alert_button(product_id: int) -> Button:
    """On a sold-out product's card."""
    return ALERT_ASK.button(_("🔔 Tell me when it is back"), product=product_id)


def my_alerts_button() -> Button:
    return MY_ALERTS.button(_("🔔 My alerts"))


async def alert_on_card(ctx: Context, item: Product, text: str) -> tuple[str, tuple[Button]]:
    """A sold-out card's text and its alert row: « 🔔 Tell me when it is back », or, once
    asked, the line saying she will be told and « 🔔 My alerts »."""
    waiting = await ctx.services.alerts.waiting_for(ctx.user.id, item.id)
    if waiting is None:
        return text, (ask_alert_button(item.id),)
    told = _("🔔 You will be told as soon as it is back (until {day}).").format(
        day=format_day(waiting.expires_at, ctx.tz))
    return text + "\n" + told, (my_alerts_button(),)



@handles(ALERT_ASK)
async def ask_alert(ctx: Context, product: int) -> list[Reply]:
    """« 🔔 Tell me when it is back »: stored once, until told or 60 days later; the
    first time, the answer says how the person will be told."""
    asked = await ctx.services.alerts.ask(ctx.user.id, product)
    item = asked.product.product
    shop = asked.product.pickup_shop_name
    if asked.alert is None:  # back already (a cancellation, a delivery came first)
        text = _("Good news: « {product} » is back at {shop} ({price}). You can reserve "
                 "it now.").format(product=item.name, shop=shop,
                                   price=format_money(item.price_cents))
        return [say(text, (RESERVE_NOW.button(_("✅ Reserve {n}").format(n=1),
                                             product=item.id, quantity=1, nonce=nonce()),),
                    back=PRODUCT.payload(product=item.id))]
    until = format_day(asked.alert.expires_at, ctx.tz)
    if not asked.new:
        text = _("You will already be told when « {product} » is back, until {day}. "
                 "Nothing more to do.").format(product=item.name, day=until)
        return [say(text, (my_alerts_button(),), back=PRODUCT.payload(product=item.id))]
    lines = [_("🔔 Very well: we will tell you once, as soon as « {product} » is back at "
               "{shop}. Your alert holds until {day}.").format(
        product=item.name, shop=shop, day=until)]
    if asked.first:
        lines.append(_how_told(ctx.user.channel))
        lines.append(_("We keep this alert until then, and nothing else: /alertes to see "
                       "or cancel it, /effacer to erase all your data."))
    return [say("\n\n".join(lines), (my_alerts_button(),),
                back=PRODUCT.payload(product=item.id))]


def _how_told(channel: Channel) -> str:
    """How the news will come, truthfully for the person's channel."""
    if channel == "whatsapp":
        # Outside the 24-hour window the outbox sends WhatsApp's approved notification
        # template: the words arrive, the buttons do not.
        return _("You will receive one WhatsApp message here, even if you have not written "
                 "to us for a while. To reserve then, tap « Reserve 1 » or simply reply "
                 "with the product's name.")
    return _("You will receive one message here, in this chat, with a button to reserve "
             "it.")


@handles(MY_ALERTS, "alertes", "mesalertes")
async def my_alerts(ctx: Context) -> list[Reply]:
    """« 🔔 My alerts »: the products one waits for, until when, each with « Cancel »."""
    return [await _alert_list(ctx)]


async def _alert_list(ctx: Context, before: str = "") -> Reply:
    found = await ctx.services.alerts.of_customer(ctx.user.id)
    head = [before] if before else []
    if not found:
        text = "\n\n".join([*head, _(
            "You have no alert at the moment. On the card of a sold-out product, « 🔔 Tell "
            "me when it is back » asks us to tell you once it is there again.")])
        return say(text, (ASK_SEARCH.button(_("🔎 Search")), my_reservations_button()))
    lines = [ngettext("🔔 You are waiting for {n} product:",
                      "🔔 You are waiting for {n} products:", len(found)).format(
        n=format_number(len(found)))]
    lines += [_("• {product} — {shop}, until {day}").format(
        product=each.product_name, shop=each.shop_name,
        day=format_day(each.alert.expires_at, ctx.tz)) for each in found[:SHOWN]]
    if len(found) > SHOWN:
        lines.append(_("…and {n} more.").format(n=format_number(len(found) - SHOWN)))
    lines.append(ngettext("We will tell you once, as soon as it is back.",
                          "We will tell you once, as soon as one of them is back.",
                          len(found)))
    rows = [(ALERT_CANCEL.button(_("✖️ Cancel: {product}").format(
        product=_short(each.product_name, LABEL_ROOM)), alert=each.alert.id),)
        for each in found[:SHOWN]]
    return say("\n\n".join([*head, "\n".join(lines)]), *rows, (my_reservations_button(),))


@handles(ALERT_CANCEL)
async def cancel_alert(ctx: Context, alert: int) -> list[Reply]:
    """« ✖️ Cancel » one alert: gone at once, the list shown again."""
    waiting = {each.alert.id: each for each in await ctx.services.alerts.of_customer(
        ctx.user.id)}
    try:
        await ctx.services.alerts.cancel(ctx.user.id, alert)
    except NotFound:  # pressed twice, told meanwhile, lapsed, or not theirs
        return [await _alert_list(ctx, _("This alert is no longer there: it was cancelled, "
                                         "or you have been told already."))]
    line = waiting.get(alert)
    done = (_("The alert for « {product} » is cancelled.").format(product=line.product_name)
            if line is not None else _("The alert is cancelled."))
    return [await _alert_list(ctx, done)]


# -- the news that a product is back -------------------------------------------------------


async def back_in_stock(services: Services, line: AlertLine) -> list[Reply]:
    """« 🔔 Good news: Savon lavande is back at … », with « ✅ Reserve 1 » and « Menu »,
    for the person who asked (none when they are gone)."""
    person = await services.customers.get(line.alert.user_id)
    if person is None or person.unreachable_at is not None:
        return []
    text = _("🔔 Good news: {product} is back at {shop} ({price}). To reserve it, reply "
             "« {product} » here.").format(product=line.product_name, shop=line.shop_name,
                                           price=format_money(line.price_cents))
    reserve = RESERVE_NOW.button(_("✅ Reserve {n}").format(n=1),
                                 product=line.alert.product_id, quantity=1, nonce=nonce())
    return [Reply(text=text, buttons=((reserve, menu_button()),), to=Recipient(
        channel=person.channel, user_id=person.external_id,
        display_name=person.display_name))]


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"
