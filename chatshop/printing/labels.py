"""The sheet of shelf labels: 3 × 8 labels of 70 × 37 mm on A4 (the common label
sheets; several pages when the shop shows more than 24 products), one per product:
its name, its price, a QR code that opens it and « Réserver : scannez »; a hosted
product says who made it. Drawn by ``chatshop.printing.posters.shelf_labels``.
"""

from __future__ import annotations

from chatshop.domain.models import ListedProduct, Shop
from chatshop.i18n import _, format_money, format_phone
from chatshop.printing import Imprint
from chatshop.printing.sheet import GREY, MARGIN, PT, Sheet
from chatshop.services.links import Links, product_payload

LABEL_COLUMNS, LABEL_ROWS = 3, 8
LABEL_WIDTH, LABEL_HEIGHT = 70.0, 37.0
LABELS_TOP = (Sheet.HEIGHT - LABEL_ROWS * LABEL_HEIGHT) / 2
LABEL_PADDING = 4.0  # printers leave the sheet's edges blank
LABEL_CODE = 27.0  # the QR code's square, quiet zone included: a 21 mm code


def product_code(links: Links, listed: ListedProduct) -> str | None:
    """Where a label's code leads: the product's card in the bot when the bot is known
    (one tap from there to « Réserver 1 »), else its page in the window, else WhatsApp."""
    return (links.telegram(product_payload(listed)) or links.product_page(listed.product)
            or links.whatsapp(product_payload(listed)))


def draw_labels(window: Imprint, shop: Shop, products: list[ListedProduct]) -> bytes:
    """The PDF of the labels of ``products`` (a page that says so when there is none)."""
    sheet = Sheet(title=_("Shelf labels: {shop}").format(shop=shop.name),
                  author=window.territory, moment=window.clock())
    per_page = LABEL_COLUMNS * LABEL_ROWS
    if not products:
        sheet.page()
        sheet.text(MARGIN, 40, Sheet.WIDTH - 2 * MARGIN,
                   _("{shop} shows no product yet: add some, then print the labels again.")
                   .format(shop=shop.name), 16, align="C", max_lines=4)
    for index, listed in enumerate(products):
        if index % per_page == 0:
            sheet.page()
        place = index % per_page
        x = (place % LABEL_COLUMNS) * LABEL_WIDTH
        y = LABELS_TOP + (place // LABEL_COLUMNS) * LABEL_HEIGHT
        _label(sheet, x, y, listed, product_code(window.links, listed), shop.phone)
    return sheet.output()


def _label(sheet: Sheet, x: float, y: float, listed: ListedProduct, code: str | None,
           phone: str) -> None:
    """One label: the name (three lines at most) and the price left of the code, and
    along the foot, who made it when it is hosted and how to reserve."""
    sheet.frame(x, y, LABEL_WIDTH, LABEL_HEIGHT, grey=225, thickness=0.1)  # to cut along
    left = x + LABEL_PADDING
    inner = LABEL_WIDTH - 2 * LABEL_PADDING
    width = inner
    if code is not None:
        sheet.qr(code, x + LABEL_WIDTH - LABEL_CODE - 1, y + 1.5, LABEL_CODE)
        width = LABEL_WIDTH - LABEL_PADDING - LABEL_CODE - 1.5
    product = listed.product
    price_sizes: tuple[float, ...]
    if product.is_hosted:  # the name in two lines, then who made it (dépôt)
        size, lines = sheet.fitted(product.name, width, 2, (12, 11, 10, 9), "B")
        below = sheet.write(left, y + 3.2, width, lines, size, style="B", leading=1.15)
        sheet.colour(GREY)
        sheet.text(left, below + 0.4, width, _("deposited by {maker}").format(
            maker=listed.maker_name), 7.5, max_lines=2)
        sheet.colour(0)
        price_top, price_sizes = y + 21.8, (16.0, 14.0, 12.0)
    else:
        size, lines = sheet.fitted(product.name, width, 3, (12, 11, 10, 9), "B")
        sheet.write(left, y + 3.2, width, lines, size, style="B", leading=1.15)
        price_top, price_sizes = y + 20.0, (18.0, 16.0, 14.0, 12.0)
    price_size, price = sheet.fitted(format_money(product.price_cents), width, 1,
                                     price_sizes, "B")
    sheet.write(left, price_top, width, price, price_size, style="B")
    how = (_("Reserve: scan") if code is not None
           else _("Reserve: {phone}").format(phone=format_phone(phone)) if phone else "")
    if how:
        sheet.colour(GREY)
        sheet.text(left, y + LABEL_HEIGHT - 3.4 - 8 * PT * 1.2, inner, how, 8, align="R")
        sheet.colour(0)
