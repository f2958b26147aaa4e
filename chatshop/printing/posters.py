"""Printable A4 PDFs that bring people from a shop window into the bot: the shop's poster,
its sheet of shelf labels, and the territory's poster.

- ``shop_poster``: for the shop window, read from two metres: the shop's name, « Réservez
  ici, payez en boutique », a QR code for each way in that exists (Telegram, WhatsApp,
  the shop's page in the window), the opening hours, the phone.
- ``shelf_labels``: sheets of 3 × 8 labels of 70 × 37 mm (the common label sheets), one
  per product the shop shows (its own and those it hosts): name, price, a QR code that
  opens the product's card.
- ``territory_poster``: the territory's ways in and its shops, commune by commune.

The PDFs are in French (the gettext catalogue) with DejaVu Sans embedded; links come from
``window.links`` and a code is printed only for a link that can be made. The data is read
through the services first; the drawing, pure CPU (segno and fpdf2), runs in a worker
thread so that the bot keeps answering meanwhile. Never personal data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chatshop.domain.limits import MAX_PAGE_SIZE
from chatshop.domain.models import ListedProduct, Page, Shop, every_item
from chatshop.errors import ShopUnavailable
from chatshop.i18n import _, format_hour, format_phone, ngettext, weekday_name
from chatshop.printing import Imprint
from chatshop.printing.labels import draw_labels
from chatshop.printing.sheet import ELLIPSIS, GREY, MARGIN, PT, Sheet, Style
from chatshop.services import Services
from chatshop.services.links import Links, shop_payload

TEXT_WIDTH = Sheet.WIDTH - 2 * MARGIN
FOOTER = Sheet.HEIGHT - 14  # the territory's name, small, at the foot of a poster


@dataclass(frozen=True)
class Code:
    """A QR code on a poster: the way in it opens, what it is called and, smaller, the
    address or name people can type instead of scanning."""

    url: str
    name: str
    detail: str


# -- the shop's poster ---------------------------------------------------------------------


async def shop_poster(services: Services, window: Imprint, shop_id: int) -> bytes:
    """The A4 poster of one shop, for its window (``ShopUnavailable`` for a shop that is
    no longer on chatshop: its codes would lead nowhere)."""
    shop = await services.shops.get(shop_id)
    if not shop.active:
        raise ShopUnavailable(shop.name)
    commune = await services.shops.commune(shop.commune_id)
    codes = shop_codes(window.links, shop)
    return await asyncio.to_thread(_draw_shop_poster, window, shop,
                                   commune.name if commune else "", codes)


def shop_codes(links: Links, shop: Shop) -> list[Code]:
    """The ways into one shop that can be made with what the territory has set."""
    codes = []
    if (telegram := links.telegram(shop_payload(shop))) is not None:
        codes.append(Code(telegram, "Telegram", f"@{links.telegram_bot}"))
    if (whatsapp := links.whatsapp(shop_payload(shop))) is not None:
        codes.append(Code(whatsapp, "WhatsApp", links.whatsapp_number or ""))
    if (page := links.shop_page(shop)) is not None:
        codes.append(Code(page, _("Web page"), _without_scheme(page)))
    return codes


def _draw_shop_poster(window: Imprint, shop: Shop, commune: str, codes: list[Code]) -> bytes:
    """The shop's poster, top down: name, commune, promise, codes; the phone and address
    at the foot, the hours in the room left between."""
    sheet = Sheet(title=_("Poster: {shop}").format(shop=shop.name), author=window.territory,
                  moment=window.clock())
    sheet.page()
    y = _title(sheet, 16, shop.name)
    if commune:
        sheet.colour(GREY)
        y = sheet.text(MARGIN, y + 1, TEXT_WIDTH, commune, 20, align="C")
        sheet.colour(0)
    sheet.rule(MARGIN + 40, y + 5, TEXT_WIDTH - 80)
    y = _headline(sheet, y + 10, _("Reserve here, pay in the shop"))
    y = _codes(sheet, y, codes, shop.phone)
    bottom = _contact(sheet, shop, commune, phone=bool(codes))
    _hours(sheet, y + 4, bottom - 3, shop)
    _footer(sheet, window.territory)
    return sheet.output()


def _title(sheet: Sheet, y: float, title: str) -> float:
    """A name as large as it holds on two lines; a long one on three, smaller."""
    size, lines = sheet.fitted(title, TEXT_WIDTH, 2, (64, 56, 48, 42, 36, 32), "B")
    if lines[-1].endswith(ELLIPSIS) and not title.endswith(ELLIPSIS):
        size, lines = sheet.fitted(title, TEXT_WIDTH, 3, (30, 27, 24), "B")
    return sheet.write(MARGIN, y, TEXT_WIDTH, lines, size, style="B", align="C",
                       leading=1.15)


def _headline(sheet: Sheet, y: float, headline: str) -> float:
    """The poster's promise, on one line if it holds there at a size read from afar,
    else on two."""
    size, lines = sheet.fitted(headline, TEXT_WIDTH, 1, (34, 31, 28), "B")
    if lines[-1].endswith(ELLIPSIS) and not headline.endswith(ELLIPSIS):
        size, lines = sheet.fitted(headline, TEXT_WIDTH, 2, (34, 30, 26, 22), "B")
    return sheet.write(MARGIN, y, TEXT_WIDTH, lines, size, style="B", align="C")


def _codes(sheet: Sheet, y: float, codes: list[Code], phone: str) -> float:
    """The row of QR codes with their captions, or the sentence that says why there is
    none; gives the y below."""
    if not codes:
        return _no_code(sheet, y + 6, phone)
    y = sheet.text(MARGIN, y + 2, TEXT_WIDTH,
                   _("Scan a code with your phone's camera."), 15, align="C")
    side = {1: 78.0, 2: 68.0}.get(len(codes), 56.0)  # quiet zone included
    column = TEXT_WIDTH / len(codes)
    below = y
    for index, code in enumerate(codes):
        x = MARGIN + index * column
        sheet.qr(code.url, x + (column - side) / 2, y + 2, side, level="q")
        under = sheet.text(x + 2, y + 2 + side, column - 4, code.name, 18, style="B",
                           align="C")
        sheet.colour(GREY)
        sheet.font(10)
        under = sheet.write(x + 2, under, column - 4,
                            sheet.address_lines(code.detail, column - 4, 2), 10, align="C")
        sheet.colour(0)
        below = max(below, under)
    return below


def _no_code(sheet: Sheet, y: float, phone: str) -> float:
    """A framed word in place of the codes: what the operator has to set, and meanwhile
    the shop's phone."""
    top = y
    y = sheet.text(MARGIN + 6, y + 5, TEXT_WIDTH - 12, _(
        "No code to scan yet: the territory's operator has to set "
        "CHATSHOP_TELEGRAM_USERNAME, CHATSHOP_WHATSAPP_NUMBER or CHATSHOP_PUBLIC_URL."),
        13, align="C", max_lines=4)
    if phone:
        text = _("Reserve by phone: {phone}").format(phone=format_phone(phone))
        size, lines = sheet.fitted(text, TEXT_WIDTH - 12, 2, (22, 20, 18), "B")
        y = sheet.write(MARGIN + 6, y + 4, TEXT_WIDTH - 12, lines, size, style="B",
                        align="C")
    sheet.frame(MARGIN, top, TEXT_WIDTH, y + 5 - top, grey=120, thickness=0.4)
    return y + 5


def _hours(sheet: Sheet, y: float, bottom: float, shop: Shop) -> None:
    """The week's opening hours as a short table between ``y`` and ``bottom``, a line a
    day, closed days said so."""
    if not shop.hours:
        return
    y = sheet.text(MARGIN, y, TEXT_WIDTH, _("Opening hours"), 18, style="B", align="C")
    days: dict[int, list[str]] = {}
    for slot in sorted(shop.hours, key=lambda slot: slot.opens):
        days.setdefault(slot.weekday, []).append(
            f"{format_hour(slot.opens.hour, slot.opens.minute)} – "
            f"{format_hour(slot.closes.hour, slot.closes.minute)}")
    left, row = MARGIN + 20, min(7.2, (bottom - y) / 7)
    size = min(14.0, (row - 0.8) / (PT * 1.2))  # smaller only on a crowded poster
    for weekday in range(7):
        slots = days.get(weekday, [])
        top = y + (row - size * PT * 1.2) / 2
        sheet.text(left, top, 40, weekday_name(weekday).capitalize(), size, style="B")
        if not slots:
            sheet.colour(GREY)
            sheet.text(left + 42, top, 98, _("closed"), size)
            sheet.colour(0)
        elif len(slots) <= 2:
            for index, text in enumerate(slots):
                sheet.text(left + 42 + index * 49, top, 49, text, size)
        else:  # three or more: closer together, smaller if need be, on the one line
            many, lines = sheet.fitted(", ".join(slot.replace(" – ", "–") for slot in slots),
                                       98, 1, (size, 12, 11, 10, 9, 8))
            sheet.write(left + 42, top + (size - many) * PT * 0.6, 98, lines, many)
        y += row
        sheet.rule(left, y, TEXT_WIDTH - 40, grey=200, thickness=0.2)


def _contact(sheet: Sheet, shop: Shop, commune: str, *, phone: bool) -> float:
    """The phone (unless the box without codes already gave it) and the address, just
    above the footer; gives the top of what it drew."""
    blocks: list[tuple[list[str], float, Style]] = []
    if phone and shop.phone:
        sheet.font(20, "B")
        blocks.append(([sheet.printable(_("Phone: {phone}").format(
            phone=format_phone(shop.phone)))], 20, "B"))
    address = ", ".join(part for part in (shop.address, commune) if part)
    if address:
        sheet.font(13)
        blocks.append((sheet.lines(sheet.printable(address), TEXT_WIDTH, 2), 13, ""))
    y = top = FOOTER - 4 - sum(len(lines) * size * PT * 1.2 for lines, size, _s in blocks)
    for lines, size, style in blocks:
        y = sheet.write(MARGIN, y, TEXT_WIDTH, lines, size, style=style, align="C")
    return top


def _footer(sheet: Sheet, territory: str) -> None:
    """The territory's name, small, at the foot of the page."""
    sheet.colour(GREY)
    sheet.text(MARGIN, FOOTER, TEXT_WIDTH, territory, 10, align="C")
    sheet.colour(0)


# -- shelf labels ---------------------------------------------------------------------------

async def shelf_labels(services: Services, window: Imprint, shop_id: int) -> bytes:
    """Sheets of shelf labels for every product the shop shows, 24 to an A4 page."""
    shop = await services.shops.get(shop_id)
    if not shop.active:
        raise ShopUnavailable(shop.name)
    products = await every_item(_catalogue_of(services, shop.id))
    return await asyncio.to_thread(draw_labels, window, shop, products)


def _catalogue_of(services: Services, shop_id: int
                  ) -> Callable[[int], Awaitable[Page[ListedProduct]]]:
    """The pages of what one shop shows, by offset."""
    async def page(offset: int) -> Page[ListedProduct]:
        return await services.catalogue.shop_catalogue(shop_id, offset=offset,
                                                       limit=MAX_PAGE_SIZE)
    return page


# -- the territory's poster -----------------------------------------------------------------


async def territory_poster(services: Services, window: Imprint) -> bytes:
    """The territory's A4 poster: its ways into the bot and its shops, by commune."""
    by_commune: list[tuple[str, list[str]]] = []
    for commune in await services.shops.communes_with_shops():
        shops = await every_item(_shops_of(services, commune.id))
        if shops:
            by_commune.append((commune.name, [shop.name for shop in shops]))
    return await asyncio.to_thread(_draw_territory_poster, window, territory_codes(
        window.links), by_commune)


def _shops_of(services: Services, commune_id: int) -> Callable[[int], Awaitable[Page[Shop]]]:
    """The pages of one commune's active shops, by offset."""
    async def page(offset: int) -> Page[Shop]:
        return await services.shops.browse(commune_id=commune_id, offset=offset,
                                           limit=MAX_PAGE_SIZE)
    return page


def territory_codes(links: Links) -> list[Code]:
    """The ways into the whole bot: Telegram, WhatsApp (« Bonjour » ready to send, which
    the bot answers with its menu) and the window's home page."""
    codes = []
    if links.telegram_bot:
        codes.append(Code(f"https://t.me/{links.telegram_bot}", "Telegram",
                          f"@{links.telegram_bot}"))
    if links.whatsapp_number:
        digits = "".join(ch for ch in links.whatsapp_number if ch.isdigit())
        codes.append(Code(f"https://wa.me/{digits}?text=Bonjour", "WhatsApp",
                          links.whatsapp_number))
    if (home := links.page("/")) is not None:
        codes.append(Code(home, _("Web page"), _without_scheme(home).rstrip("/")))
    return codes


def _draw_territory_poster(window: Imprint, codes: list[Code],
                           by_commune: list[tuple[str, list[str]]]) -> bytes:
    """The territory's poster: its name, its promise, its codes, then its shops."""
    sheet = Sheet(title=window.territory, author=window.territory, moment=window.clock())
    sheet.page()
    y = _title(sheet, 16, window.territory)
    sheet.rule(MARGIN + 40, y + 4, TEXT_WIDTH - 80)
    y = _headline(sheet, y + 8, _("Reserve from the local shops, pay in the shop"))
    y = _codes(sheet, y, codes, "")
    _shop_list(sheet, y + 8, by_commune)
    _footer(sheet, window.territory)
    return sheet.output()


def _shop_list(sheet: Sheet, y: float, by_commune: list[tuple[str, list[str]]]) -> None:
    """The shops commune by commune, in two columns down to the footer; what does not
    fit is counted in a last line (« … et 12 autres boutiques »)."""
    if not by_commune:
        return
    y = sheet.text(MARGIN, y, TEXT_WIDTH, _("The shops"), 18, style="B", align="C") + 2
    line = 12 * PT * 1.35
    per_column = max(int((FOOTER - 4 - y) // line), 3)
    entries = _columns(by_commune, per_column, 2)
    width = TEXT_WIDTH / 2 - 4
    for index, (is_commune, text) in enumerate(entries):
        x = MARGIN + (index // per_column) * (TEXT_WIDTH / 2) + 4
        top = y + (index % per_column) * line
        if is_commune:
            sheet.text(x, top, width, text, 13, style="B")
        elif text:
            sheet.text(x + 4, top, width - 4, text, 12)


def _columns(by_commune: list[tuple[str, list[str]]], per_column: int,
             columns: int) -> list[tuple[bool, str]]:
    """The lines of the shop list, (is a commune, text), filling ``columns`` columns
    of ``per_column`` lines: a blank line between communes, no commune's name alone at
    the foot of a column, a commune carried over named again (« (suite) »), and when
    the list is longer than the room, a last line counting the shops left out."""
    capacity = per_column * columns
    total = sum(len(shops) for _commune, shops in by_commune)
    lines: list[tuple[bool, str]] = []
    shown = 0
    for commune, shops in by_commune:
        for index, name in enumerate(shops):
            before: list[tuple[bool, str]] = []
            if index == 0:
                if lines and len(lines) % per_column:
                    before.append((False, ""))
                if (len(lines) + len(before)) % per_column == per_column - 1:
                    before.append((False, ""))
                before.append((True, commune))
            elif len(lines) % per_column == 0:
                before.append((True, _("{commune} (continued)").format(commune=commune)))
            more = 1 if shown + 1 < total else 0  # room kept for « … et N autres »
            if len(lines) + len(before) + 1 + more > capacity:
                left = total - shown
                lines.append((False, ngettext("… and {n} other shop",
                                              "… and {n} other shops", left).format(n=left)))
                return lines
            lines += [*before, (False, name)]
            shown += 1
    return lines


def _without_scheme(url: str) -> str:
    """An address as people type it: ``vitrine.example.fr/boutique/x``."""
    return url.removeprefix("https://").removeprefix("http://")
