"""The day's list on paper (#12 §2): « 📋 Aujourd'hui » of one shop as an A4 PDF, to pin
by the till and tick off: the shop's name and the date in French, then the late
reservations, those to hand over today and those to prepare, one row each (a box to tick,
the code, who, when, what), in large type.

The words of a reservation's row (``who``, ``when``, ``what``) are the chat's too
(``conversation.today``). It reads the services and draws with ``printing.sheet``; it
must not import the channels, the conversation or the web pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from chatshop.domain.day import DayList
from chatshop.domain.models import Reservation, ReservationStatus, Shop
from chatshop.i18n import _, format_clock, format_hour, format_moment, french, ngettext
from chatshop.printing import Imprint
from chatshop.printing.sheet import GREY, MARGIN, PT, Sheet
from chatshop.services import Services

TITLE_SIZE = 22.0
HEADING_SIZE = 16.0
ROW_SIZE = 13.0
SMALL_SIZE = 10.0
BOX = 6.0  # the box to tick, in millimetres
# The columns after the box, in millimetres: code, who, when, what (the rest).
CODE_WIDTH, WHO_WIDTH, WHEN_WIDTH = 26.0, 46.0, 38.0
GAP = 3.0
ROW_LINES = 2  # a long name or a long list of items takes two lines at most


def long_date(day: date) -> str:
    """« lundi 7 décembre 2026 »."""
    return format_date(day, "EEEE d MMMM y", locale=french())


def who(reservation: Reservation, names: Mapping[int, str]) -> str:
    """« 📞 Mme Dupont » for a phone reservation (the person it is for), else the
    customer's name in the chat."""
    if reservation.by_phone:
        contact = reservation.contact
        name = (contact.name or contact.phone) if contact is not None else ""
        return "📞 " + (name or _("by phone"))
    return names.get(reservation.user_id) or _("a customer")


def when(reservation: Reservation, today: date, tz: ZoneInfo) -> str:
    """The chosen slot (« 14 h – 16 h », its day too when it is not today: « sam. 28 nov.,
    9 h – 12 h »), else the hold's end (« avant 18:00 », « avant sam. 28 nov., 10:00 »)."""
    if reservation.pickup_from is not None and reservation.pickup_until is not None:
        starts = reservation.pickup_from.astimezone(tz)
        ends = reservation.pickup_until.astimezone(tz)
        hours = f"{format_hour(starts.hour, starts.minute)}\u00a0– " \
                f"{format_hour(ends.hour, ends.minute)}"
        if starts.date() == today:
            return hours
        return _("{day}, {hours}").format(day=_short_day(starts.date()), hours=hours)
    ends = reservation.deadline_at.astimezone(tz)
    if ends.date() == today:
        return _("before {time}").format(time=format_clock(ends, tz))
    return _("before {day}, {time}").format(day=_short_day(ends.date()),
                                            time=format_clock(ends, tz))


def _short_day(day: date) -> str:
    """« sam. 28 nov. »."""
    return format_date(day, "EEE d MMM", locale=french())


def what(reservation: Reservation) -> str:
    """« Miel de châtaignier ×2, Savon lavande »."""
    return ", ".join(line.name if line.quantity == 1 else f"{line.name} ×{line.quantity}"
                     for line in reservation.lines)


def groups(day: DayList) -> list[tuple[str, tuple[Reservation, ...]]]:
    """The list's groups with their headings, as they are shown, empty ones left out."""
    return [(heading, group) for heading, group in (
        (_("Late"), day.late), (_("To hand over today"), day.to_hand_over),
        (_("To prepare"), day.to_prepare)) if group]


async def names_of(services: Services, reservations: Iterable[Reservation]) -> dict[int, str]:
    """The chat names of the customers of ``reservations`` (not of phone ones), by id."""
    names: dict[int, str] = {}
    for each in reservations:
        if each.by_phone or each.user_id in names:
            continue
        person = await services.customers.get(each.user_id)
        names[each.user_id] = person.display_name if person else ""
    return names


async def day_sheet(services: Services, imprint: Imprint, shop: Shop, day: DayList) -> bytes:
    """The day's list of ``shop`` as an A4 PDF (drawn in a thread: ~ms per page)."""
    names = await names_of(services, day.all)
    return await asyncio.to_thread(draw_day_sheet, imprint, shop, day, names,
                                   services.day.tz)


def draw_day_sheet(imprint: Imprint, shop: Shop, day: DayList, names: Mapping[int, str],
                   tz: ZoneInfo) -> bytes:
    """The PDF itself: pages as many as the rows need, the title on each."""
    moment = imprint.clock()
    sheet = Sheet(title=_("Today at {shop}").format(shop=shop.name), author=shop.name,
                  moment=moment)
    width = Sheet.WIDTH - 2 * MARGIN
    y = _top(sheet, shop, day, width, first=True)
    bottom = Sheet.HEIGHT - MARGIN - SMALL_SIZE * PT * 2
    if day.empty:
        sheet.text(MARGIN, y + 4, width, _("Nothing to prepare or hand over today."),
                   HEADING_SIZE)
    for heading, group in groups(day):
        if y + (HEADING_SIZE + 2 * ROW_SIZE) * PT * 1.6 > bottom:
            _footer(sheet, moment, tz, width)
            y = _top(sheet, shop, day, width, first=False)
        y = sheet.text(MARGIN, y + 3, width, f"{heading} ({len(group)})", HEADING_SIZE,
                       style="B")
        sheet.rule(MARGIN, y + 0.5, width, grey=0, thickness=0.4)
        y += 2
        for reservation in group:
            row = _row(sheet, reservation, names, day.day, tz, width)
            height = max(len(cells) for cells in row) * ROW_SIZE * PT * 1.2 + 3
            if y + height > bottom:
                _footer(sheet, moment, tz, width)
                y = _top(sheet, shop, day, width, first=False)
            _draw_row(sheet, row, y)
            y += height
            sheet.rule(MARGIN, y - 1.5, width)
    _footer(sheet, moment, tz, width)
    return sheet.output()


def _top(sheet: Sheet, shop: Shop, day: DayList, width: float, *, first: bool) -> float:
    """A new page under the shop's name and the date; gives the y below them."""
    sheet.page()
    sheet.colour(0)
    y = sheet.text(MARGIN, MARGIN, width, shop.name, TITLE_SIZE, style="B")
    counts = ", ".join(part for part in (
        ngettext("{n} late", "{n} late", len(day.late)).format(n=len(day.late))
        if day.late else "",
        ngettext("{n} to hand over", "{n} to hand over", len(day.to_hand_over)).format(
            n=len(day.to_hand_over)) if day.to_hand_over else "",
        ngettext("{n} to prepare", "{n} to prepare", len(day.to_prepare)).format(
            n=len(day.to_prepare)) if day.to_prepare else "") if part)
    sub = _("Reservations of {day}").format(day=long_date(day.day))
    y = sheet.text(MARGIN, y + 1, width, sub if first else _("{title} (continued)").format(
        title=sub), HEADING_SIZE)
    if counts and first:
        sheet.colour(GREY)
        y = sheet.text(MARGIN, y + 1, width, counts, ROW_SIZE)
        sheet.colour(0)
    return y + 3


def _row(sheet: Sheet, reservation: Reservation, names: Mapping[int, str], today: date,
         tz: ZoneInfo, width: float) -> list[list[str]]:
    """The cells of one row, each in its lines: code, who, when, what."""
    rest = width - BOX - GAP - CODE_WIDTH - WHO_WIDTH - WHEN_WIDTH - 3 * GAP
    sheet.font(ROW_SIZE, "B")
    mark = "✓ " if reservation.status is ReservationStatus.READY else ""
    code = sheet.lines(sheet.printable(mark + reservation.code), CODE_WIDTH, 1)
    sheet.font(ROW_SIZE)
    cells = [sheet.lines(sheet.printable(text), size, ROW_LINES) for text, size in (
        (who(reservation, names).removeprefix("📞 "), WHO_WIDTH),
        (when(reservation, today, tz), WHEN_WIDTH), (what(reservation), rest))]
    if reservation.by_phone:
        cells[0][0] = sheet.printable("☎ " + cells[0][0])
    return [code, *cells]


def _draw_row(sheet: Sheet, row: list[list[str]], y: float) -> None:
    sheet.frame(MARGIN, y + 0.6, BOX, BOX, grey=0, thickness=0.4)
    x = MARGIN + BOX + GAP
    for index, (cells, size) in enumerate(zip(
            row, (CODE_WIDTH, WHO_WIDTH, WHEN_WIDTH, 0.0), strict=True)):
        width = size or Sheet.WIDTH - MARGIN - x
        sheet.write(x, y, width, cells, ROW_SIZE, style="B" if index == 0 else "")
        x += width + GAP


def _footer(sheet: Sheet, moment: datetime, tz: ZoneInfo, width: float) -> None:
    sheet.colour(GREY)
    sheet.text(MARGIN, Sheet.HEIGHT - MARGIN - SMALL_SIZE * PT * 1.2, width,
               _("Printed on {moment} — tick each reservation once handed over.").format(
                   moment=format_moment(moment, tz)), SMALL_SIZE)
    sheet.colour(0)
