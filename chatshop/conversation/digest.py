"""The weekly digest in the chat: subscribing (the consent sentence, the scope, changing
it, stopping), the digest message itself, and the operator's preview and "send now".
Delivering a run is the delivery runtime's (``chatshop.delivery.broadcast``).
"""

from __future__ import annotations

import logging

from chatshop.conversation.context import Context, pager, say
from chatshop.conversation.handlers import handles
from chatshop.conversation.messages import Button, Reply
from chatshop.conversation.routes import (
    CHOOSE_COMMUNES,
    CHOOSE_SHOPS,
    COMMUNES,
    DIGEST_DESK,
    DIGEST_PREVIEW,
    DIGEST_SEND,
    DIGEST_SEND_AGAIN,
    DIGEST_SEND_ASK,
    FOLLOW_TERRITORY,
    NEWS,
    PRODUCT,
    TERRITORY,
    THIS_WEEK,
    TOGGLE_COMMUNE,
    TOGGLE_SHOP,
    UNSUBSCRIBE,
    Route,
)
from chatshop.domain.models import (
    CHANNELS,
    Digest,
    DigestProduct,
    SubscriptionScope,
)
from chatshop.domain.schedule import next_digest_time
from chatshop.i18n import _, format_clock, format_moment, format_money, ngettext, weekday_name
from chatshop.services.digest import followed

log = logging.getLogger(__name__)

DIGEST_MAX = 3_500  # characters: within Telegram's 4 096 with room for the buttons' sake
ITEM_BUTTONS = 5
PAGE = 6
# The payloads of the quick-reply buttons of the digest's approved WhatsApp template (a
# platform that can only send a template outside its 24-hour window): « See everything »
# and « Unsubscribe », in the template's order.
TEMPLATE_REPLIES: tuple[str, str] = (THIS_WEEK.payload(), UNSUBSCRIBE.payload())


# -- the digest message ----------------------------------------------------------------


def _product_line(product: DigestProduct) -> str:
    return f"• {product.name} — {format_money(product.price_cents)} · {product.shop_name}"


def digest_text(digest: Digest, territory: str, *, limit: int | None = DIGEST_MAX) -> str:
    """The digest as one message: sections, then « … and N more » if it is too long."""
    head = [_("📰 This week in the shops of {territory}").format(territory=territory)]
    sections: list[tuple[str, list[str]]] = [
        (_("🆕 New"), [_product_line(p) for p in digest.new]),
        (_("🔁 Back in stock"), [_product_line(p) for p in digest.back_in_stock]),
        (_("📣 The shops say"), [_("• {shop}: « {text} »").format(shop=n.shop_name, text=n.text)
                                 for n in digest.announcements]),
        (_("🏖 Closed for holidays"), [
            f"• {n.shop_name}" + (f" — {n.text}" if n.text else "") for n in digest.closures]),
    ]
    lines = list(head)
    length = len(head[0])
    room = None if limit is None else limit - 80  # keep room for « … and N more »
    total = sum(len(items) for _title, items in sections)
    shown = 0
    full = False
    for title, items in sections:
        if not items or full:
            continue
        block = ["", title]
        added = 2 + len(title)
        for item in items:
            if room is not None and length + added + 1 + len(item) > room:
                full = True
                break
            block.append(item)
            added += 1 + len(item)
            shown += 1
        if len(block) > 2:
            lines += block
            length += added
    if shown < total:
        lines += ["", ngettext("… and {n} more: « See everything » below.",
                               "… and {n} more: « See everything » below.",
                               total - shown).format(n=total - shown)]
    return "\n".join(lines)


def digest_summary(digest: Digest) -> str:
    """The digest in one line, for a platform that can only send an approved template
    (WhatsApp outside the 24-hour window): « 3 new products, 1 back in stock, 2 shops'
    news »."""
    parts = []
    if digest.new:
        parts.append(ngettext("{n} new product", "{n} new products",
                              len(digest.new)).format(n=len(digest.new)))
    if digest.back_in_stock:
        parts.append(ngettext("{n} back in stock", "{n} back in stock",
                              len(digest.back_in_stock)).format(n=len(digest.back_in_stock)))
    if digest.announcements:
        parts.append(ngettext("{n} shop's news", "{n} shops' news",
                              len(digest.announcements)).format(n=len(digest.announcements)))
    if digest.closures:
        parts.append(ngettext("{n} closed for holidays", "{n} closed for holidays",
                              len(digest.closures)).format(n=len(digest.closures)))
    return ", ".join(parts)


def digest_reply(digest: Digest, territory: str, *, full: bool = False,
                 reader: str = "subscriber") -> Reply:
    """The digest message with its buttons: the first products to open, « see
    everything » when not all is shown, and for a subscriber the one-tap unsubscribe
    every digest carries (``reader``: ``subscriber``, ``visitor`` — offered to
    subscribe —, or ``operator`` for a preview)."""
    products = [*digest.new, *digest.back_in_stock][:ITEM_BUTTONS]
    rows: list[tuple[Button, ...]] = [
        (PRODUCT.button(f"🛍 {p.name}"[:40], product=p.id),) for p in products]
    text = digest_text(digest, territory, limit=None if full else DIGEST_MAX)
    last: list[Button] = []
    if not full and text != digest_text(digest, territory, limit=None):
        last.append(THIS_WEEK.button(_("📰 See everything")))
    if reader == "subscriber":
        last.append(_unsubscribe_button())
    elif reader == "visitor":
        last.append(NEWS.button(_("📰 Get it every week")))
    if last:
        rows.append(tuple(last))
    return say(text, *rows)


# -- subscribing ------------------------------------------------------------------------


def _when(ctx: Context) -> str:
    weekday, at = ctx.services.digest.schedule
    return _("every {day} around {time}").format(day=weekday_name(weekday),
                                                 time=format_clock(at))


def _consent(ctx: Context) -> str:
    return _("📰 The news of the week: {when}, one message with what is new in the shops "
             "you follow.\nNothing else, ever.\nTo stop: the « Unsubscribe » button under "
             "each message, or /desabonnement.\nBy tapping « The whole territory », « Some "
             "communes » or « Some shops », you agree to receive it.").format(when=_when(ctx))


def _choices() -> tuple[Button, ...]:
    return (FOLLOW_TERRITORY.button(_("🌍 The whole territory")),
            CHOOSE_COMMUNES.button(_("🏘 Some communes"), offset=0),
            CHOOSE_SHOPS.button(_("🏪 Some shops"), offset=0))


def _this_week_button() -> Button:
    return THIS_WEEK.button(_("📰 This week's news"))


def _unsubscribe_button() -> Button:
    return UNSUBSCRIBE.button(_("🔕 Unsubscribe"))


@handles(NEWS, "abonnement", "nouvelles")
async def news_menu(ctx: Context) -> list[Reply]:
    """The digest: what it is and the consent sentence, or what one follows now."""
    found = await ctx.services.digest.subscription(ctx.user.id)
    if found is None:
        return [say(_consent(ctx), _choices()[:1], _choices()[1:], (_this_week_button(),))]
    if found.scope is SubscriptionScope.TERRITORY:
        what = _("the whole territory")
    elif found.scope is SubscriptionScope.COMMUNES:
        what = ngettext("{n} commune", "{n} communes", len(found.commune_ids)).format(
            n=len(found.commune_ids))
    else:
        what = ngettext("{n} shop", "{n} shops", len(found.shop_ids)).format(
            n=len(found.shop_ids))
    text = _("📰 You receive the weekly digest for {what}, {when} (since {date}).").format(
        what=what, when=_when(ctx), date=format_moment(found.consented_at, ctx.tz))
    return [say(text, _choices()[:1], _choices()[1:],
                (_this_week_button(), _unsubscribe_button()))]


@handles(FOLLOW_TERRITORY)
async def follow_territory(ctx: Context) -> list[Reply]:
    """« 🌍 The whole territory »: subscribed (the consent sentence was on the screen)."""
    await ctx.services.digest.subscribe(ctx.user.id, SubscriptionScope.TERRITORY)
    return [say(_("✅ Done: you will receive the news of the whole territory, {when}.")
                .format(when=_when(ctx)), (_this_week_button(),))]


def _toggles(items: list[tuple[int, str]], chosen: frozenset[int], toggle: Route,
             offset: int) -> list[tuple[Button, ...]]:
    name_of = "commune" if toggle is TOGGLE_COMMUNE else "shop"
    return [(Button(label=("✅ " if item_id in chosen else "◻️ ") + name,
                    payload=toggle.payload(offset=offset, **{name_of: item_id})),)
             for item_id, name in items]


@handles(CHOOSE_COMMUNES)
async def choose_communes(ctx: Context, offset: int | None = None) -> list[Reply]:
    """Communes to follow, each a toggle (✅ followed)."""
    start = offset or 0
    chosen = followed(await ctx.services.digest.subscription(ctx.user.id),
                      SubscriptionScope.COMMUNES)
    communes = await ctx.services.shops.communes()
    rows = _toggles([(c.id, c.name) for c in communes[start:start + PAGE]], chosen,
                    TOGGLE_COMMUNE, start)
    rows.append(pager(CHOOSE_COMMUNES, start, PAGE, more=start + PAGE < len(communes),
                      previous=False))
    return [say(_("Tap the communes whose shops you want to follow (tap again to stop):"),
                *rows, back=NEWS.payload(), edit=offset is not None)]


@handles(TOGGLE_COMMUNE)
async def toggle_commune(ctx: Context, commune: int, offset: int) -> list[Reply]:
    """A commune followed, or no longer (both arguments read before the write)."""
    await ctx.services.digest.toggle(ctx.user.id, SubscriptionScope.COMMUNES, commune)
    return await choose_communes(ctx, offset)


@handles(CHOOSE_SHOPS)
async def choose_shops(ctx: Context, offset: int | None = None) -> list[Reply]:
    """Shops to follow, each a toggle (✅ followed)."""
    start = offset or 0
    chosen = followed(await ctx.services.digest.subscription(ctx.user.id),
                      SubscriptionScope.SHOPS)
    page = await ctx.services.shops.browse(offset=start, limit=PAGE)
    rows = _toggles([(s.id, s.name) for s in page.items], chosen, TOGGLE_SHOP, start)
    rows.append(pager(CHOOSE_SHOPS, start, PAGE, more=page.has_next, previous=False))
    return [say(_("Tap the shops you want to follow (tap again to stop):"), *rows,
                back=NEWS.payload(), edit=offset is not None)]


@handles(TOGGLE_SHOP)
async def toggle_shop(ctx: Context, shop: int, offset: int) -> list[Reply]:
    """A shop followed, or no longer (both arguments read before the write)."""
    await ctx.services.digest.toggle(ctx.user.id, SubscriptionScope.SHOPS, shop)
    return await choose_shops(ctx, offset)


@handles(UNSUBSCRIBE, "desabonnement", "stop")
async def unsubscribe(ctx: Context) -> list[Reply]:
    """One tap, from any digest: no more digests, consent forgotten."""
    if await ctx.services.digest.unsubscribe(ctx.user.id):
        text = _("🔕 Done: you will not receive the weekly digest any more. You can come "
                 "back whenever you like.")
        again = _("📰 Subscribe again")
    else:
        text = _("You are not subscribed to the weekly digest.")
        again = _("📰 Get it every week")
    return [say(text, (NEWS.button(again),))]


@handles(THIS_WEEK)
async def this_week(ctx: Context) -> list[Reply]:
    """Everything new this week in what one follows (the whole territory if nothing)."""
    digest = await ctx.services.digest.this_week(ctx.user)
    if digest.empty:
        return [say(_("Nothing new this week in the shops you follow."),
                    (COMMUNES.button(_("🏘 Shops")),))]
    subscribed = await ctx.services.digest.subscription(ctx.user.id) is not None
    return [digest_reply(digest, ctx.territory, full=True,
                         reader="subscriber" if subscribed else "visitor")]


# -- the operator -----------------------------------------------------------------------


@handles(DIGEST_DESK)
async def digest_desk(ctx: Context) -> list[Reply]:
    """The operator's view of the digest: subscribers, next sending, this week's run."""
    ctx.services.digest.require_operator(ctx.actor)
    weekday, at = ctx.services.digest.schedule
    when = next_digest_time(ctx.now, weekday, at, ctx.tz)
    lines = [_("📰 Weekly digest"),
             ngettext("{n} subscriber.", "{n} subscribers.",
                      count := await ctx.services.digest.subscriber_count()).format(n=count),
             _("Next sending: {when}.").format(when=format_moment(when, ctx.tz))]
    return [say("\n".join(lines),
                (DIGEST_PREVIEW.button(_("👁 Preview (to me)")),
                 DIGEST_SEND_ASK.button(_("📤 Send now"))), back=TERRITORY.payload())]


@handles(DIGEST_PREVIEW)
async def digest_preview(ctx: Context) -> list[Reply]:
    """This week's digest, to the operator only, as subscribers would read it."""
    digest = await ctx.services.digest.preview(ctx.actor)
    if digest.empty:
        return [say(_("Nothing new in the territory this week: the digest would be empty."),
                    back=DIGEST_DESK.payload())]
    return [say(_("👁 Preview, sent to you only:"), back=DIGEST_DESK.payload()),
            digest_reply(digest, ctx.territory, reader="operator")]


@handles(DIGEST_SEND_ASK)
async def digest_send_ask(ctx: Context) -> list[Reply]:
    """« 📤 Send now » is asked once more."""
    ctx.services.digest.require_operator(ctx.actor)
    return [say(_("Send this week's digest to every subscriber now?"),
                (DIGEST_SEND.button(_("📤 Yes, send"), answers="yes"),
                 DIGEST_DESK.button(_("No"), answers="no")))]


@handles(DIGEST_SEND)
async def digest_send(ctx: Context) -> list[Reply]:
    """Start this week's run on every channel; the channels deliver it."""
    return await _send(ctx, forced=False)


@handles(DIGEST_SEND_AGAIN)
async def digest_send_again(ctx: Context) -> list[Reply]:
    """This week's run again, although it was sent already."""
    return await _send(ctx, forced=True)


async def _send(ctx: Context, *, forced: bool) -> list[Reply]:
    started = [await ctx.services.digest.start_week(channel, forced=forced, actor=ctx.actor)
               for channel in CHANNELS]
    if not any(run is not None for run in started):
        return [say(_("This week's digest has already been sent. Send it again anyway?"),
                    (DIGEST_SEND_AGAIN.button(_("📤 Send again")),), back=DIGEST_DESK.payload())]
    return [say(_("📤 On its way: subscribers with news since their last digest receive it "
                  "within minutes."), back=DIGEST_DESK.payload())]
