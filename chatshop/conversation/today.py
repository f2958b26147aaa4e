"""« 📋 Aujourd'hui » (#12 §2), for the shop's staff: the reservations to prepare and to
hand over today, the late ones, each with a button opening its card (Prête / Retirée et
payée / Annuler), and the same list as a PDF to print; the morning message's words.

The whole list is written in the text (cut, with a word, past Telegram's 4 096
characters: the PDF has it all); the buttons go a page at a time, so that a screen keeps
to 8 buttons with « Menu ». Every press names its shop or reservation, and the services
re-check that this person is on its team.
"""

from __future__ import annotations

from chatshop.conversation.context import Context, menu_button, pager, say
from chatshop.conversation.handlers import handles
from chatshop.conversation.merchant import dashboard, my_shop
from chatshop.conversation.messages import Button, Document, Recipient, Reply
from chatshop.conversation.notices import reservation_for_staff
from chatshop.conversation.routes import DASHBOARD, MENU, TODAY, TODAY_CARD, TODAY_PRINT
from chatshop.conversation.sharing import PDF, imprint_of
from chatshop.domain.day import DayList
from chatshop.domain.models import Reservation, ReservationStatus, Shop
from chatshop.errors import NotAllowed
from chatshop.i18n import _, ngettext
from chatshop.printing.day_sheet import day_sheet, groups, long_date, names_of, what, when, who
from chatshop.services import Services

PAGE = 4  # reservations' buttons a screen: with the pager, « Imprimer » and « Menu », 8
MAX_TEXT = 3_800  # Telegram shows 4 096 characters a message: room for the last line
ITEMS_SHOWN = 60  # characters of a reservation's items on its line


def line_of(reservation: Reservation, names: dict[int, str], day: DayList,
            ctx: Context) -> str:
    """« ⏳ ABC123 · 📞 Mme Dupont · 14 h – 16 h · Miel ×2 »."""
    mark = "✅" if reservation.status is ReservationStatus.READY else "⏳"
    items = what(reservation)
    if len(items) > ITEMS_SHOWN:
        items = items[:ITEMS_SHOWN - 1].rstrip(" ,") + "…"
    return " · ".join((f"{mark} {reservation.code}", who(reservation, names),
                       when(reservation, day.day, ctx.tz), items))


def day_text(shop: Shop, day: DayList, names: dict[int, str], ctx: Context) -> str:
    """The list as one message: the date, then each group under its heading."""
    lines = [_("📋 {shop} — {day}").format(shop=shop.name, day=long_date(day.day))]
    shown = 0
    for heading, group in groups(day):
        lines += ["", f"{heading} ({len(group)})"]
        for each in group:
            line = line_of(each, names, day, ctx)
            if sum(len(x) + 1 for x in lines) + len(line) > MAX_TEXT:
                left = len(day.all) - shown
                lines.append(ngettext("… and {n} more: the PDF (🖨 Print) has them all.",
                                      "… and {n} more: the PDF (🖨 Print) has them all.",
                                      left).format(n=left))
                return "\n".join(lines)
            lines.append(line)
            shown += 1
    return "\n".join(lines)


async def _shop(ctx: Context, shop: int | None) -> int | list[Reply]:
    """The shop named (or the one this person runs), else the choice of shop."""
    shop_id = await my_shop(ctx, shop)
    if shop_id is None:
        if not ctx.shop_ids:
            raise NotAllowed("not staff anywhere")
        return await dashboard(ctx)  # « Which shop? »
    return shop_id


@handles(TODAY, "aujourdhui", "aujourd'hui", "aujourd’hui", "jour")
async def today(ctx: Context, shop: int | None = None, offset: int | None = None) -> list[Reply]:
    """The day's list: late, to hand over today, to prepare, each to open and handle."""
    found = await _shop(ctx, shop)
    if not isinstance(found, int):
        return found
    day = await ctx.services.day.today(ctx.actor, found)
    the_shop = await ctx.shop(found)
    back = DASHBOARD.payload(shop=found)
    if day.empty:
        return [say(_("📋 {shop} — {day}\n\nNothing to prepare or hand over today, and "
                      "nothing late. 🎉 New reservations will show here.").format(
            shop=the_shop.name, day=long_date(day.day)), back=back)]
    names = await names_of(ctx.services, day.all)
    everyone = day.all
    start = min(max(offset or 0, 0), (len(everyone) - 1) // PAGE * PAGE)
    rows: list[tuple[Button, ...]] = [
        (TODAY_CARD.button(f"{'✅' if each.status is ReservationStatus.READY else '⏳'} "
                           f"{each.code} · {who(each, names)}"[:64], reservation=each.id),)
        for each in everyone[start:start + PAGE]]
    rows.append(pager(TODAY, start, PAGE, more=start + PAGE < len(everyone), shop=found))
    rows.append((TODAY_PRINT.button(_("🖨 Print"), shop=found),))
    return [say(day_text(the_shop, day, names, ctx), *rows, back=back)]


@handles(TODAY_PRINT)
async def print_today(ctx: Context, shop: int) -> list[Reply]:
    """The day's list as an A4 PDF to print and tick off."""
    day = await ctx.services.day.today(ctx.actor, shop)
    found = await ctx.shop(shop)
    data = await day_sheet(ctx.services, imprint_of(ctx), found, day)
    text = _("🖨 {shop}: the day's list to print, a box to tick for each "
             "reservation.").format(shop=found.name)
    reply = say(text, back=TODAY.payload(shop=shop))
    return [reply.model_copy(update={"document": Document(
        file_name=f"aujourdhui-{found.slug}-{day.day.isoformat()}.pdf", data=data,
        mime_type=PDF)})]


@handles(TODAY_CARD)
async def today_card(ctx: Context, reservation: int) -> list[Reply]:
    """One reservation of the day's list, to handle; « Retour » goes back to the list."""
    found = await ctx.services.reservations.for_staff(ctx.actor, reservation)
    card = await reservation_for_staff(ctx, found, handled_here=True)
    rows = [row for row in card.buttons
            if all(button.payload != MENU.payload() for button in row)]
    return [say(card.text, *rows, back=TODAY.payload(shop=found.shop_id))]


def today_button(shop_id: int) -> Button:
    return TODAY.button(_("📋 Today"), shop=shop_id)


# -- the morning message -----------------------------------------------------------------


def morning_text(day: DayList) -> str:
    """« Aujourd'hui : 4 retraits, 2 réservations à préparer, 1 en retard » (zero parts
    left out; empty when all are)."""
    parts = []
    if day.to_hand_over:
        n = len(day.to_hand_over)
        parts.append(ngettext("{n} pickup", "{n} pickups", n).format(n=n))
    if day.to_prepare:
        n = len(day.to_prepare)
        parts.append(ngettext("{n} reservation to prepare", "{n} reservations to prepare",
                              n).format(n=n))
    if day.late:
        n = len(day.late)
        parts.append(ngettext("{n} late", "{n} late", n).format(n=n))
    return _("Today: {counts}").format(counts=", ".join(parts)) if parts else ""


async def morning_message(services: Services, shop: Shop, day: DayList) -> list[Reply]:
    """The morning message for each person of the shop's team (addressed), with
    « 📋 Aujourd'hui » to open the list; none when there is nothing to say."""
    text = morning_text(day)
    if not text:
        return []
    news = Reply(text=_("☀️ {shop} — {text}").format(shop=shop.name, text=text),
                 buttons=((today_button(shop.id), menu_button()),))
    return [news.model_copy(update={"to": Recipient(
        channel=person.channel, user_id=person.external_id,
        display_name=person.display_name)})
        for person in await services.shops.people_to_notify(shop.id)]
