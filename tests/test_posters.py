"""The printed posters and shelf labels: rendered to images (pypdfium2) as a printer would,
every QR code read back (zxing-cpp) and opened in thought, and the words read from the
PDF's text, accents and « € » included."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import zxingcpp

from chatshop.demo import DemoShop
from chatshop.domain.models import ListedProduct, OpeningInterval, ShopDetails
from chatshop.errors import ShopUnavailable
from chatshop.i18n import format_money
from chatshop.printing import Imprint
from chatshop.printing.posters import shelf_labels, shop_poster, territory_poster
from chatshop.printing.sheet import Sheet
from chatshop.services import Services
from chatshop.services.links import Links
from tests.conftest import Territory

TERRITORY = "Porte Océane du Limousin"
PARIS = ZoneInfo("Europe/Paris")
EVERY_LINK = Links("https://vitrine.example.fr", "porte_oceane_bot", "+33 6 12 34 56 78")
MM = 72 / 25.4  # PDF points in a millimetre
DPI = 200


def window(links: Links = EVERY_LINK) -> Imprint:
    return Imprint(territory=TERRITORY, links=links)


@dataclass
class Printed:
    """A PDF as a reader meets it: its pages as images, the codes on them, its words."""

    data: bytes

    def __post_init__(self) -> None:
        self.document = pdfium.PdfDocument(self.data)

    @property
    def pages(self) -> int:
        return len(self.document)

    def symbols(self, page: int | None = None) -> list[zxingcpp.Barcode]:
        """Every QR code of the page (or of every page), read from a 200 dpi rendering."""
        found: list[zxingcpp.Barcode] = []
        for index in range(self.pages) if page is None else (page,):
            image = self.document[index].render(scale=DPI / 72).to_pil()
            found += zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        return found

    def codes(self, page: int | None = None) -> list[str]:
        """What every QR code of the page (or of every page) says."""
        return [symbol.text for symbol in self.symbols(page)]

    def text(self, page: int | None = None) -> str:
        return "\n".join(self.document[index].get_textpage().get_text_range()
                         for index in (range(self.pages) if page is None else (page,)))


async def demo_shop_id(services: Services, demo: list[DemoShop], name: str) -> int:
    slug = next(shop.slug for shop in demo if shop.name == name)
    return (await services.shops.by_slug(slug)).id


async def demo_shop_catalogue(services: Services, shop_id: int) -> list[ListedProduct]:
    page = await services.catalogue.shop_catalogue(shop_id, limit=50)
    assert not page.has_next
    return list(page.items)


# -- the shop's poster ----------------------------------------------------------------------


async def test_a_shop_poster_scans_to_the_shop_on_telegram_whatsapp_and_its_web_page(
        demo_services: Services, demo: list[DemoShop]) -> None:
    shop = await demo_shop_id(demo_services, demo, "Dans l'même panier")

    poster = Printed(await shop_poster(demo_services, window(), shop))

    assert poster.pages == 1
    assert sorted(poster.codes()) == [
        "https://t.me/porte_oceane_bot?start=s_dans-l-meme-panier",
        "https://vitrine.example.fr/boutique/dans-l-meme-panier",
        "https://wa.me/33612345678?text=Bonjour%20%21%20s_dans-l-meme-panier",
    ]
    text = poster.text()
    for words in ("Dans l'même panier", "Saint-Brice-sur-Vienne",
                  "Réservez ici, payez en boutique", "Telegram", "WhatsApp", "Site web",
                  "@porte_oceane_bot", "Horaires d’ouverture", "Mardi", "9 h – 12 h 30",
                  "14 h 30 – 19 h", "Lundi", "fermé", "05 55 02 19 84",
                  "2 place de l'Église", TERRITORY):
        assert words in plain(text), words
    assert_no_text_overlaps(poster)


async def test_the_poster_codes_scan_from_arms_length_and_the_labels_from_the_shelf(
        demo_services: Services, demo: list[DemoShop]) -> None:
    shop = await demo_shop_id(demo_services, demo, "Les Merveilles de Coco")

    poster = Printed(await shop_poster(demo_services, window(), shop))
    labels = Printed(await shelf_labels(demo_services, window(), shop))

    assert len(poster.symbols()) == 3
    for symbol in poster.symbols():
        assert symbol.ec_level == "Q"  # a smudged or sunlit window still scans
        assert width_mm(symbol) >= 40
    shown = await demo_shop_catalogue(demo_services, shop)
    assert len(labels.symbols()) == len(shown) == 6  # four more are at Dans l'même panier
    for symbol in labels.symbols():
        assert symbol.ec_level in ("M", "Q")
        assert width_mm(symbol) >= 18


def width_mm(symbol: zxingcpp.Barcode) -> float:
    """How wide a code is printed, from the corners zxing-cpp found it by (the centres
    of its finder patterns: three and a half modules in from each edge)."""
    position = symbol.position
    return (position.top_right.x - position.top_left.x) / DPI * 25.4


async def test_a_shop_poster_prints_only_the_codes_the_territory_can_make(
        demo_services: Services, demo: list[DemoShop]) -> None:
    shop = await demo_shop_id(demo_services, demo, "Espace coiffure")

    poster = Printed(await shop_poster(demo_services, window(Links(
        public_url="https://vitrine.example.fr")), shop))

    assert poster.codes() == ["https://vitrine.example.fr/boutique/espace-coiffure"]
    assert "Telegram" not in poster.text()
    assert "WhatsApp" not in poster.text()


async def test_a_shop_with_no_link_known_still_gets_a_poster_that_says_what_to_set(
        demo_services: Services, demo: list[DemoShop]) -> None:
    shop = await demo_shop_id(demo_services, demo, "Instant pour Soi")

    poster = Printed(await shop_poster(demo_services, window(Links()), shop))

    assert poster.pages == 1
    assert poster.codes() == []
    text = plain(poster.text())
    for setting in ("CHATSHOP_TELEGRAM_USERNAME", "CHATSHOP_WHATSAPP_NUMBER",
                    "CHATSHOP_PUBLIC_URL"):
        assert setting in text
    assert "Réservez par téléphone : 05 55 03 72 15" in text
    assert "Réservez ici, payez en boutique" in text


async def test_a_shop_no_longer_on_chatshop_gets_no_poster(
        territory: Territory) -> None:
    services = territory.services
    await services.shops.update_shop(territory.operator, territory.shop.id,
                                     ShopDetails(active=False))

    with pytest.raises(ShopUnavailable):
        await shop_poster(services, window(), territory.shop.id)
    with pytest.raises(ShopUnavailable):
        await shelf_labels(services, window(), territory.shop.id)


async def test_the_poster_embeds_its_font(demo_services: Services,
                                          demo: list[DemoShop]) -> None:
    shop = await demo_shop_id(demo_services, demo, "Espace coiffure")

    data = await shop_poster(demo_services, window(), shop)

    assert b"/FontFile2" in data  # a TrueType font inside the file, not the reader's own
    for face in (b"DejaVuSansBook", b"DejaVuSansBold"):  # as subsets: « ABCDEF+ »
        assert re.search(rb"/FontName /[A-Z]{6}\+" + face, data), face
    assert len(data) < 100_000  # only the glyphs used (each face is 700 KB whole)


# -- shelf labels ---------------------------------------------------------------------------


async def test_each_shelf_label_opens_its_product_in_the_bot(
        demo_services: Services, demo: list[DemoShop]) -> None:
    shop = await demo_shop_id(demo_services, demo, "Dans l'même panier")
    shown = await demo_shop_catalogue(demo_services, shop)

    labels = Printed(await shelf_labels(demo_services, window(), shop))

    assert labels.pages == 1  # 11 of its own and 4 of Coco's
    assert len(shown) == 15
    assert sorted(labels.codes()) == sorted(
        f"https://t.me/porte_oceane_bot?start=p_{listed.product.id}" for listed in shown)
    text = plain(labels.text())
    assert "Miel toutes fleurs 250 g" in text
    assert plain(format_money(650)) == "6,50 €"
    assert "6,50 €" in text
    assert "Réserver : scannez" in text
    assert "déposé par Les Merveilles de Coco" in text  # its hosted products


async def test_without_a_bot_the_labels_lead_to_the_products_web_pages(
        demo_services: Services, demo: list[DemoShop]) -> None:
    shop = await demo_shop_id(demo_services, demo, "Instant pour Soi")

    labels = Printed(await shelf_labels(demo_services, window(Links(
        public_url="https://vitrine.example.fr")), shop))

    codes = labels.codes()
    assert len(codes) == 9  # its tenth product is hidden
    assert "https://vitrine.example.fr/produit/" in codes[0]
    assert any(code.endswith("-savon-a-l-anesse-100-g") for code in codes)


async def test_a_shop_with_a_hundred_products_gets_five_sheets_of_labels(
        territory: Territory) -> None:
    products = [await territory.product(f"Confiture maison n° {n}", price_cents=400 + n)
                for n in range(100)]

    labels = Printed(await shelf_labels(territory.services, window(), territory.shop.id))

    assert labels.pages == math.ceil(100 / 24) == 5
    assert len(labels.codes(4)) == 100 - 4 * 24
    assert sorted(labels.codes()) == sorted(
        f"https://t.me/porte_oceane_bot?start=p_{product.id}" for product in products)


async def test_a_shop_showing_nothing_gets_a_sheet_that_says_so(
        territory: Territory) -> None:
    labels = Printed(await shelf_labels(territory.services, window(), territory.shop.id))

    assert labels.pages == 1
    assert "ne présente encore aucun produit" in plain(labels.text())


# -- what shopkeepers type ------------------------------------------------------------------

FRENCH = "L’Œuf à la coque — « Chez Zoé » : àâæçéèêëîïôœùûüÿ ÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ"
HOSTILE = (
    "Miel 🍯 de châtaignier 🐝🇫🇷 bio",  # emoji the font does not have, a flag of two
    "<script>alert('œuf')</script> & « crème »",
    "עסל דבש שלום — عسل",  # right to left
    "W" * 80,  # one word as long as a name may be
    "Pot de crème brûlée à l’ancienne, façon grand-mère, 12 × 125 g, fabriqué à Saint-Junien",
)


async def test_names_with_every_accent_emoji_and_markup_print_without_harm(
        territory: Territory) -> None:
    services = territory.services
    await services.shops.update_shop(territory.owner, territory.shop.id, ShopDetails(
        name=FRENCH, phone="06 12 34 56 78",
        address="12 rue de la République, bâtiment B, au fond de la cour après le portail"))
    await services.shops.set_hours(territory.owner, territory.shop.id, [
        OpeningInterval(weekday=day, opens=time(hour, 0), closes=time(hour + 2, 30))
        for day in range(6) for hour in ((7, 10, 14, 17) if day == 0 else (9, 14))])
    for name in HOSTILE:
        await territory.product(name[:80], price_cents=650)

    poster = Printed(await shop_poster(services, window(), territory.shop.id))
    labels = Printed(await shelf_labels(services, window(), territory.shop.id))

    assert FRENCH in plain(poster.text())
    assert "7 h–9 h 30, 10 h–12 h 30, 14 h–16 h 30, 17 h–19 h 30" in plain(poster.text())
    assert_no_text_overlaps(poster)  # a long name, four slots a day, a long address
    text = plain(labels.text())
    assert "Miel de châtaignier bio" in text  # the emoji left out, the words kept
    assert "🍯" not in text
    assert "<script>alert(" in text  # printed as the characters it is
    assert "</script> & « crème »" in text
    assert "…" in text  # the long ones cut
    assert text.count("6,50 €") == len(HOSTILE)
    assert len(labels.codes()) == len(HOSTILE)
    assert_every_character_inside_its_label(labels)


def assert_every_character_inside_its_label(labels: Printed) -> None:
    """Each character lies inside one label of the 3 × 8 grid (clear of its edges), and
    above the label's foot, left of its QR code."""
    for index in range(labels.pages):
        for char, (left, top, right, bottom) in characters(labels, index):
            column, row = int(left // 70), int((top - 0.5) // 37)
            x, y = column * 70, 0.5 + row * 37
            assert x + 3 <= left, char
            assert right <= x + 67, char
            assert y + 1 <= top, char
            assert bottom <= y + 36, char
            if bottom < y + 29:  # not the foot's « Réserver : scannez »
                assert right <= x + 70 - 27 - 1 + 0.3, char


def assert_no_text_overlaps(printed: Printed) -> None:
    """No two characters of a page cover each other (beyond kerning's touch)."""
    for index in range(printed.pages):
        boxes = [box for _char, box in characters(printed, index)]
        for i, (left, top, right, bottom) in enumerate(boxes):
            for other in boxes[i + 1:]:
                wide = min(right, other[2]) - max(left, other[0])
                high = min(bottom, other[3]) - max(top, other[1])
                assert wide < 0.3 or high < 0.3, (boxes[i], other)


def characters(printed: Printed, index: int) -> list[tuple[str, tuple[float, ...]]]:
    """The page's visible characters and their boxes (left, top, right, bottom) in
    millimetres from the page's top left corner."""
    page = printed.document[index]
    text, height = page.get_textpage(), page.get_height()
    found = []
    for char in range(text.count_chars()):
        if text.get_text_range(char, 1).isspace():
            continue
        left, bottom, right, top = text.get_charbox(char)
        found.append((text.get_text_range(char, 1),
                      (left / MM, (height - top) / MM, right / MM, (height - bottom) / MM)))
    return found


# -- the territory's poster -----------------------------------------------------------------


async def test_the_territory_poster_opens_the_bot_and_lists_the_shops_by_commune(
        demo_services: Services, demo: list[DemoShop]) -> None:
    poster = Printed(await territory_poster(demo_services, window()))

    assert poster.pages == 1
    assert sorted(poster.codes()) == [
        "https://t.me/porte_oceane_bot",
        "https://vitrine.example.fr/",
        "https://wa.me/33612345678?text=Bonjour",
    ]
    text = plain(poster.text())
    for words in (TERRITORY, "Réservez chez vos commerçants, payez en boutique",
                  "Rochechouart", "Espace coiffure", "Instant pour Soi", "Saint-Junien",
                  "Les Merveilles de Coco", "Saint-Brice-sur-Vienne", "Dans l'même panier"):
        assert words in text, words
    assert "Oradour-sur-Glane" not in text  # a commune without a shop


async def test_a_territory_of_many_shops_fits_one_poster_and_counts_the_others(
        territory: Territory) -> None:
    communes = [territory.commune] + [
        await territory.services.shops.add_commune(territory.operator, name)
        for name in ("Saint-Junien", "Oradour-sur-Glane", "Cognac-la-Forêt")]
    for n in range(79):
        await territory.open_shop(f"Boutique n° {n:02d}", f"owner-{n}", communes[n % 4])

    poster = Printed(await territory_poster(territory.services, window()))

    assert poster.pages == 1
    text = plain(poster.text())
    shown = sum(f"Boutique n° {n:02d}" in text for n in range(79)) + (
        "Épicerie du Château" in text)
    assert 20 < shown < 80
    assert f"… et {80 - shown} autres boutiques" in text
    assert " (suite)" in text  # a commune carried over to the next column is named again
    assert_no_text_overlaps(poster)


def plain(text: str) -> str:
    """The text with its no-break spaces (Babel's, French punctuation's) as spaces, and
    the line breaks the layout made as spaces too."""
    return " ".join("".join(" " if ch in "\u00a0\u202f" else ch for ch in text).split())


def test_a_label_takes_smaller_letters_rather_than_break_a_word() -> None:
    """« Spray thermoprotecteur 150 ml » on a label's 3 lines: at the largest size
    « thermoprotecteur » would not fit a line and be cut in two; a smaller size keeps
    it whole. Only when no size fits is a word broken, with a hyphen."""
    sheet = Sheet(title="Étiquettes", author=TERRITORY, moment=datetime(2026, 12, 7, tzinfo=UTC))
    sizes = (16.0, 14.0, 12.0, 11.0, 10.0, 9.0)
    size, lines = sheet.fitted("Spray thermoprotecteur 150 ml", 30, 3, sizes)
    assert "thermoprotecteur" in lines
    assert size < 16.0
    _size, cut = sheet.fitted("Anticonstitutionnellement", 12, 3, sizes)
    assert len(cut) == 3
    assert all(line.endswith("-") for line in cut[:-1])  # cut, and it shows
