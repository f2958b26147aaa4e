"""The weekly digest in the chat: subscribing (the consent sentence, the scope, changing
it, stopping), the digest message itself, the operator's preview and "send now", and the
delivery of a run, channel-neutral: a channel gives the way to send one message and a
pace, and gets back a report.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from chatshop.conversation.context import Context, say
from chatshop.conversation.handlers import arg, command, press
from chatshop.conversation.messages import Button, Recipient, Reply
from chatshop.domain.models import (
    CHANNELS,
    Channel,
    Digest,
    DigestProduct,
    DigestReport,
    SubscriptionScope,
)
from chatshop.domain.schedule import next_digest_time
from chatshop.i18n import _, format_clock, format_moment, format_money, ngettext, weekday_name
from chatshop.services import Services
from chatshop.services.digest import followed

log = logging.getLogger(__name__)

DIGEST_MAX = 3_500  # characters: within Telegram's 4 096 with room for the buttons' sake
ITEM_BUTTONS = 5
PAGE = 6


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
        (Button(label=f"🛍 {p.name}"[:40], payload=f"p:{p.id}"),) for p in products]
    text = digest_text(digest, territory, limit=None if full else DIGEST_MAX)
    last: list[Button] = []
    if not full and text != digest_text(digest, territory, limit=None):
        last.append(Button(label=_("📰 See everything"), payload="na"))
    if reader == "subscriber":
        last.append(Button(label=_("🔕 Unsubscribe"), payload="un"))
    elif reader == "visitor":
        last.append(Button(label=_("📰 Get it every week"), payload="nw"))
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
    return (Button(label=_("🌍 The whole territory"), payload="ns"),
            Button(label=_("🏘 Some communes"), payload="nc:0"),
            Button(label=_("🏪 Some shops"), payload="nh:0"))


@press("nw")
@command("abonnement", "nouvelles")
async def news_menu(ctx: Context, args: list[str]) -> list[Reply]:
    """The digest: what it is and the consent sentence, or what one follows now."""
    found = await ctx.services.digest.subscription(ctx.user.id)
    if found is None:
        return [say(_consent(ctx), _choices()[:1], _choices()[1:],
                    (Button(label=_("📰 This week's news"), payload="na"),))]
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
                (Button(label=_("📰 This week's news"), payload="na"),
                 Button(label=_("🔕 Unsubscribe"), payload="un")))]


@press("ns")
async def follow_territory(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.services.digest.subscribe(ctx.user.id, SubscriptionScope.TERRITORY)
    return [say(_("✅ Done: you will receive the news of the whole territory, {when}.")
                .format(when=_when(ctx)), (Button(label=_("📰 This week's news"),
                                                  payload="na"),))]


def _toggles(items: list[tuple[int, str]], chosen: frozenset[int], verb: str,
             offset: int) -> list[tuple[Button, ...]]:
    return [(Button(label=("✅ " if item_id in chosen else "◻️ ") + name,
                    payload=f"{verb}:{item_id}:{offset}"),) for item_id, name in items]


@press("nc")
async def choose_communes(ctx: Context, args: list[str]) -> list[Reply]:
    """Communes to follow, each a toggle (✅ followed)."""
    offset = arg(args, 0) if args else 0
    chosen = followed(await ctx.services.digest.subscription(ctx.user.id),
                      SubscriptionScope.COMMUNES)
    communes = await ctx.services.shops.communes()
    rows = _toggles([(c.id, c.name) for c in communes[offset:offset + PAGE]], chosen,
                    "nct", offset)
    if offset + PAGE < len(communes):
        rows.append((Button(label=_("Next ▶️"), payload=f"nc:{offset + PAGE}"),))
    return [say(_("Tap the communes whose shops you want to follow (tap again to stop):"),
                *rows, back="nw", edit=bool(args))]


@press("nct")
async def toggle_commune(ctx: Context, args: list[str]) -> list[Reply]:
    commune_id, offset = arg(args, 0, "commune"), arg(args, 1)  # both, before the write
    await ctx.services.digest.toggle(ctx.user.id, SubscriptionScope.COMMUNES, commune_id)
    return await choose_communes(ctx, [str(offset)])


@press("nh")
async def choose_shops(ctx: Context, args: list[str]) -> list[Reply]:
    """Shops to follow, each a toggle (✅ followed)."""
    offset = arg(args, 0) if args else 0
    chosen = followed(await ctx.services.digest.subscription(ctx.user.id),
                      SubscriptionScope.SHOPS)
    page = await ctx.services.shops.browse(offset=offset, limit=PAGE)
    rows = _toggles([(s.id, s.name) for s in page.items], chosen, "nht", offset)
    if page.has_next:
        rows.append((Button(label=_("Next ▶️"), payload=f"nh:{offset + PAGE}"),))
    return [say(_("Tap the shops you want to follow (tap again to stop):"), *rows,
                back="nw", edit=bool(args))]


@press("nht")
async def toggle_shop(ctx: Context, args: list[str]) -> list[Reply]:
    shop_id, offset = arg(args, 0, "shop"), arg(args, 1)  # both, before the write
    await ctx.services.digest.toggle(ctx.user.id, SubscriptionScope.SHOPS, shop_id)
    return await choose_shops(ctx, [str(offset)])


@press("un")
@command("desabonnement", "stop")
async def unsubscribe(ctx: Context, args: list[str]) -> list[Reply]:
    """One tap, from any digest: no more digests, consent forgotten."""
    if await ctx.services.digest.unsubscribe(ctx.user.id):
        text = _("🔕 Done: you will not receive the weekly digest any more. You can come "
                 "back whenever you like.")
        again = _("📰 Subscribe again")
    else:
        text = _("You are not subscribed to the weekly digest.")
        again = _("📰 Get it every week")
    return [say(text, (Button(label=again, payload="nw"),))]


@press("na")
async def this_week(ctx: Context, args: list[str]) -> list[Reply]:
    """Everything new this week in what one follows (the whole territory if nothing)."""
    digest = await ctx.services.digest.this_week(ctx.user)
    if digest.empty:
        return [say(_("Nothing new this week in the shops you follow."),
                    (Button(label=_("🏘 Shops"), payload="c"),))]
    subscribed = await ctx.services.digest.subscription(ctx.user.id) is not None
    return [digest_reply(digest, ctx.territory, full=True,
                         reader="subscriber" if subscribed else "visitor")]


# -- the operator -----------------------------------------------------------------------


@press("ow")
async def digest_desk(ctx: Context, args: list[str]) -> list[Reply]:
    """The operator's view of the digest: subscribers, next sending, this week's run."""
    ctx.services.digest.require_operator(ctx.actor)
    weekday, at = ctx.services.digest.schedule
    when = next_digest_time(ctx.now, weekday, at, ctx.tz)
    lines = [_("📰 Weekly digest"),
             ngettext("{n} subscriber.", "{n} subscribers.",
                      count := await ctx.services.digest.subscriber_count()).format(n=count),
             _("Next sending: {when}.").format(when=format_moment(when, ctx.tz))]
    return [say("\n".join(lines),
                (Button(label=_("👁 Preview (to me)"), payload="owp"),
                 Button(label=_("📤 Send now"), payload="ows")), back="o")]


@press("owp")
async def digest_preview(ctx: Context, args: list[str]) -> list[Reply]:
    digest = await ctx.services.digest.preview(ctx.actor)
    if digest.empty:
        return [say(_("Nothing new in the territory this week: the digest would be empty."),
                    back="ow")]
    return [say(_("👁 Preview, sent to you only:"), back="ow"),
            digest_reply(digest, ctx.territory, reader="operator")]


@press("ows")
async def digest_send_ask(ctx: Context, args: list[str]) -> list[Reply]:
    ctx.services.digest.require_operator(ctx.actor)
    return [say(_("Send this week's digest to every subscriber now?"),
                (Button(label=_("📤 Yes, send"), payload="owy", answers="yes"),
                 Button(label=_("No"), payload="ow", answers="no")))]


@press("owy")
async def digest_send(ctx: Context, args: list[str]) -> list[Reply]:
    """Start this week's run on every channel; the channels deliver it."""
    return await _send(ctx, forced=False)


@press("owf")
async def digest_send_again(ctx: Context, args: list[str]) -> list[Reply]:
    return await _send(ctx, forced=True)


async def _send(ctx: Context, *, forced: bool) -> list[Reply]:
    started = [await ctx.services.digest.start_week(channel, forced=forced, actor=ctx.actor)
               for channel in CHANNELS]
    if not any(run is not None for run in started):
        return [say(_("This week's digest has already been sent. Send it again anyway?"),
                    (Button(label=_("📤 Send again"), payload="owf"),), back="ow")]
    return [say(_("📤 On its way: subscribers with news since their last digest receive it "
                  "within minutes."), back="ow")]


# -- delivering a run -------------------------------------------------------------------


class Outcome(NamedTuple):
    """What a channel says of one message: ``sent``, refused as ``blocked`` (the person
    blocked the bot) or ``outside_window`` (WhatsApp: their 24-hour window is closed),
    ``failed`` (permanently, with ``error``: why), or ``later`` after ``wait`` seconds
    (busy platform, network)."""

    status: str
    wait: float = 0.0
    error: str | None = None


class Pace(Protocol):
    async def acquire(self) -> None: ...


Send = Callable[[Reply, Digest], Awaitable[Outcome]]  # the message, and what it says


async def deliver_run(services: Services, territory: str, run_id: int, send: Send, *,
                      pace: Pace | None = None, send_empty: bool = False,
                      progress: Callable[[DigestReport], None] | None = None,
                      stop: asyncio.Event | None = None) -> DigestReport:
    """Deliver a digest run, each subscriber once: composed in batches, each message
    marked ``sending`` (under this sender's lease) before it leaves and ``sent`` (or why
    not) after, so that a run stopped anywhere goes on where it was. What a sender that
    died had taken is taken over at once (its lease died with it); at most the one
    message in flight at its death goes twice. A subscriber who unsubscribed since the
    run began, or who blocked the bot, is skipped and counted."""
    digest_service = services.digest
    async with digest_service.lease() as owner:
        return await _deliver(services, territory, run_id, send, owner, pace=pace,
                              send_empty=send_empty, progress=progress, stop=stop)


async def _deliver(services: Services, territory: str, run_id: int, send: Send,
                   owner: str, *, pace: Pace | None, send_empty: bool,
                   progress: Callable[[DigestReport], None] | None,
                   stop: asyncio.Event | None) -> DigestReport:
    """:func:`deliver_run` while holding the lease ``owner``."""
    digest_service = services.digest

    def stopping() -> bool:
        return stop is not None and stop.is_set()

    while not stopping():
        batch = await digest_service.claim(run_id, owner)
        if not batch:
            break
        composed = {d.user_id: d for d in await services.digest.compose(user_ids=batch)}
        for user_id in batch:
            if stopping():
                break  # the ones taken and not sent are free once the lease ends
            digest = composed.get(user_id)
            if digest is None:  # unsubscribed meanwhile
                await digest_service.mark(run_id, [user_id], "unsubscribed")
                continue
            if digest.unreachable:
                await digest_service.mark(run_id, [user_id], "blocked")
                continue
            if digest.empty and not send_empty:
                await digest_service.mark(run_id, [user_id], "no_news")
                continue
            while True:
                if pace is not None:
                    await pace.acquire()
                outcome = await _send_one(send, digest, territory)
                if outcome.status != "later" or stopping():
                    break
                await asyncio.sleep(outcome.wait)
            if outcome.status != "later":
                await digest_service.mark(run_id, [user_id], outcome.status, outcome.error)
            if progress is not None:
                progress(await digest_service.report(run_id))
    if stopping() or await digest_service.left(run_id):
        return await digest_service.report(run_id)  # another live sender holds the rest
    return await digest_service.finish(run_id)


async def _send_one(send: Send, digest: Digest, territory: str) -> Outcome:
    """One subscriber's digest; an error no channel expected (a bug in rendering, an
    unknown platform error) fails this delivery only, instead of stopping the run for
    everyone after this subscriber, run after run."""
    try:
        reply = digest_reply(digest, territory).model_copy(update={"to": Recipient(
            channel=digest.channel, user_id=digest.external_id)})
        return await send(reply, digest)
    except Exception as problem:  # logged with its traceback, counted as failed
        incident = secrets.token_hex(3).upper()
        log.exception("incident %s while sending the digest to user %s", incident,
                      digest.user_id)
        return Outcome("failed", error=f"incident {incident}: {type(problem).__name__}")


async def deliver_inline(services: Services, territory: str, channel: Channel
                         ) -> list[Reply]:
    """Deliver the unfinished runs of a channel that shows notifications itself (the
    console): the digests come back as replies addressed to their subscribers."""
    out: list[Reply] = []

    async def keep(reply: Reply, _digest: Digest) -> Outcome:
        out.append(reply)
        return Outcome("sent")

    for run_id, _week in await services.digest.unfinished_runs(channel):
        await deliver_run(services, territory, run_id, keep)
    return out


def next_sending(services: Services, now: datetime, tz: ZoneInfo) -> datetime:
    weekday, at = services.digest.schedule
    return next_digest_time(now, weekday, at, tz)
