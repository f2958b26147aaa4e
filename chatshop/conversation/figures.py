"""« 📊 Chiffres » (#12 §6): the last 8 weeks as a picture and as text, for the shop's
staff (« /chiffres ») and the territory's operator; on Monday for shops that ask.

The picture goes as a PNG file (``Document``, drawn in a thread: matplotlib is loaded at
the first chart only), the same figures as text with it for whoever cannot see it. The
Monday message carries the text and « 📊 Voir le graphique », which draws the chart when
pressed: the outbox keeps messages as JSON text, which a PNG's bytes cannot be."""

from __future__ import annotations

import asyncio

from chatshop.charts.week_chart import draw, short_day
from chatshop.conversation.context import Context, menu_button, say
from chatshop.conversation.handlers import handles
from chatshop.conversation.messages import Button, Document, Recipient, Reply
from chatshop.conversation.routes import (
    DASHBOARD,
    SHOP_FIGURES,
    TERRITORY,
    TERRITORY_FIGURES,
    WEEKS_CHART,
)
from chatshop.domain.models import Shop
from chatshop.errors import NotAllowed
from chatshop.i18n import _, format_number, ngettext
from chatshop.services import Services
from chatshop.services.figures import Figures, Split, Week

PAGE = 6


def figures_button(shop_id: int) -> Button:
    """« 📊 Chiffres » for a screen of the shop (the dashboard)."""
    return SHOP_FIGURES.button(_("📊 Figures"), shop=shop_id)


@handles(SHOP_FIGURES, "chiffres")
async def shop_figures(ctx: Context, shop: int | None = None) -> list[Reply]:
    """The shop's last 8 weeks: the chart, and the same figures as text."""
    if shop is None:
        if not ctx.shop_ids:
            raise NotAllowed("figures of no shop", needs="staff")
        if len(ctx.shop_ids) > 1:
            return await _choose_shop(ctx)
        shop = ctx.shop_ids[0]
    figures = await ctx.services.figures.shop_weeks(ctx.actor, shop)
    return [await _shown(figures, (DASHBOARD.button(_("🏪 My shop"), shop=shop),),
                         back=DASHBOARD.payload(shop=shop))]


@handles(WEEKS_CHART)
async def weeks_chart(ctx: Context, shop: int) -> list[Reply]:
    """« 📊 Voir le graphique » under the Monday message: the 8 finished weeks drawn."""
    figures = await ctx.services.figures.shop_weeks(ctx.actor, shop, finished=True)
    return [await _shown(figures, (SHOP_FIGURES.button(_("📊 This week too"), shop=shop),),
                         back=DASHBOARD.payload(shop=shop))]


@handles(TERRITORY_FIGURES)
async def territory_figures(ctx: Context) -> list[Reply]:
    """The operator's « 📊 Chiffres du territoire »: every shop's last 8 weeks together."""
    figures = await ctx.services.figures.territory_weeks(ctx.actor)
    return [await _shown(figures, back=TERRITORY.payload())]


async def _choose_shop(ctx: Context) -> list[Reply]:
    rows = []
    for each in ctx.shop_ids[:PAGE]:
        found = await ctx.services.shops.get(each)
        rows.append((SHOP_FIGURES.button(f"📊 {found.name}", shop=found.id),))
    return [say(_("The figures of which shop?"), *rows)]


async def _shown(figures: Figures, *rows: tuple[Button, ...], back: str) -> Reply:
    """The chart and its text; with nothing to show, a kind sentence and no chart."""
    if figures.empty:
        return say(nothing_yet(figures), *rows, back=back)
    chart = await asyncio.to_thread(draw, figures)  # ~0.2 s of drawing, off the loop
    reply = say(figures_text(figures), *rows, back=back)
    return reply.model_copy(update={"document": Document(
        file_name=_("figures") + f"-{figures.weeks[-1].monday.isoformat()}.png",
        data=chart, mime_type="image/png")})


def nothing_yet(figures: Figures) -> str:
    if figures.scope is None:
        return _("📊 No reservation in the territory these 8 weeks yet: the figures will "
                 "come with the first ones.")
    return _("📊 No reservation at {shop} these 8 weeks yet. Once customers reserve, in "
             "the chat or by phone, you will find here what they picked up, week by "
             "week.").format(shop=figures.scope)


def figures_text(figures: Figures) -> str:
    """The figures for those who cannot see the chart: « Semaine du 30 nov. : 12 retirées
    (3 par téléphone), 2 expirées, 1 annulée », then « Les plus réservés : 1. … (14) »."""
    title = _("📊 The territory, the last 8 weeks") if figures.scope is None \
        else _("📊 {shop}, the last 8 weeks").format(shop=figures.scope)
    lines = [title]
    lines += [_week_line(week) for week in figures.weeks]
    if figures.top:
        lines.append(_("Most reserved:"))
        lines += [_("{rank}. {name} ({units})").format(
            rank=rank, name=item.name, units=format_number(item.units))
            for rank, item in enumerate(figures.top, start=1)]
    return "\n".join(lines)


def _week_line(week: Week) -> str:
    day = short_day(week.monday)
    if week.total == 0:
        return _("Week of {day}: nothing closed").format(day=day)
    parts = [_counted(week.collected, ngettext("{n} picked up", "{n} picked up",
                                               week.collected.total))]
    if week.expired.total:
        parts.append(_counted(week.expired, ngettext("{n} expired", "{n} expired",
                                                     week.expired.total)))
    if week.cancelled.total:
        parts.append(_counted(week.cancelled, ngettext("{n} cancelled", "{n} cancelled",
                                                       week.cancelled.total)))
    return _("Week of {day}: {figures}").format(day=day, figures=", ".join(parts))


def _counted(split: Split, words: str) -> str:
    text = words.format(n=format_number(split.total))
    if split.phone:
        text += " " + _("({n} by phone)").format(n=format_number(split.phone))
    return text


async def weekly_message(services: Services, shop: Shop, figures: Figures) -> list[Reply]:
    """The Monday message to each of the shop's staff: the 8 finished weeks as text and
    « 📊 Voir le graphique » (nothing when there is nothing to tell)."""
    if figures.empty:
        return []
    text = _("Good morning! Here are last week's figures and the 7 before.") + "\n" + \
        figures_text(figures)
    news = Reply(text=text, buttons=((WEEKS_CHART.button(_("📊 See the chart"),
                                                         shop=shop.id),
                                      menu_button()),))
    return [news.model_copy(update={"to": Recipient(
        channel=person.channel, user_id=person.external_id,
        display_name=person.display_name)})
        for person in await services.shops.people_to_notify(shop.id)]
