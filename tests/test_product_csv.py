"""Products come in from the CSV files French Excel and LibreOffice write, all lines or
none, and go out as files those spreadsheets open right."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatshop.domain.limits import MAX_PRICE_CENTS, MAX_STOCK
from chatshop.domain.models import (
    Category,
    Product,
    ProductRow,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockReason,
)
from chatshop.domain.product_csv import (
    EXPORT_HEADER,
    MAX_ROWS,
    TEMPLATE_HEADER,
    ImportReport,
    parse_products_csv,
    products_csv,
    reservations_csv,
    template_csv,
)
from chatshop.errors import (
    CsvRejected,
    ImportBelowReserved,
    NotAllowed,
    StockBelowReserved,
)
from tests.conftest import Territory

SEEDED = ["Alimentation", "Boissons", "Beauté & soins", "Artisanat & créations",
          "Mode & accessoires", "Maison & cadeaux", "Livres & papeterie", "Jardin & plantes"]
CATEGORIES = [Category(id=i, name=name, position=10 * i) for i, name in enumerate(SEEDED, 1)]
FOOD, DRINKS, BEAUTY = 1, 2, 3
PARIS = ZoneInfo("Europe/Paris")
BOM = codecs.BOM_UTF8

EXCEL_FR = (
    "nom;prix;stock;catégorie;description;masqué\r\n"
    "Savon lavande;6,50;12;Beauté & soins;Savon surgras, 100 g;non\r\n"
    "Miel de châtaignier;8,50 €;;Alimentation;;\r\n"
    "Crème à l’ânesse;12;3;beaute et soins;\"Sur deux\r\nlignes; avec « guillemets »\";oui\r\n"
    "\r\n"
    ";;;;;\r\n"
    "Cidre brut;4.20;0;BOISSONS;;non\r\n"
)


def plain(text: str) -> str:
    """The text with French typography's no-break spaces shown as ordinary spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def rejected(data: bytes | str, categories: list[Category] = CATEGORIES) -> CsvRejected:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(CsvRejected) as caught:
        parse_products_csv(raw, categories)
    assert caught.value.message().strip()
    return caught.value


def outcome(data: bytes) -> list[ProductRow] | CsvRejected:
    """What ``parse_products_csv`` makes of ``data``: rows, or the refusal it raised."""
    try:
        return parse_products_csv(data, CATEGORIES)
    except CsvRejected as refused:
        return refused


def cells(data: bytes) -> list[list[str]]:
    """A file as French Excel reads it: UTF-8 with BOM, ``;``."""
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM):].decode("utf-8"), newline=""),
                           delimiter=";"))


# -- reading ----------------------------------------------------------------------------


def test_a_french_excel_file_is_read_with_its_accents_decimals_and_quoted_lines() -> None:
    rows = parse_products_csv(BOM + EXCEL_FR.encode("utf-8"), CATEGORIES)
    assert rows == [
        ProductRow(line=2, name="Savon lavande", price_cents=650, on_hand=12,
                   category_id=BEAUTY, description="Savon surgras, 100 g", hidden=False),
        ProductRow(line=3, name="Miel de châtaignier", price_cents=850, category_id=FOOD),
        ProductRow(line=4, name="Crème à l’ânesse", price_cents=1200, on_hand=3,
                   category_id=BEAUTY, description="Sur deux\nlignes; avec « guillemets »",
                   hidden=True),
        ProductRow(line=7, name="Cidre brut", price_cents=420, on_hand=0,
                   category_id=DRINKS, hidden=False),
    ]


def test_the_same_file_saved_by_windows_excel_in_cp1252_reads_the_same() -> None:
    text = EXCEL_FR.replace("’", "'")
    utf8 = parse_products_csv(text.encode("utf-8"), CATEGORIES)
    assert parse_products_csv(text.encode("cp1252"), CATEGORIES) == utf8
    assert utf8[2].name == "Crème à l'ânesse"


def test_a_libreoffice_file_with_commas_and_quoted_decimals_is_read() -> None:
    data = ('Nom,PRIX,Stock,Categorie\n'
            '"Savon lavande","6,50",12,"Beauté & soins"\n'
            'Bougie,"12,00",5,Maison & cadeaux\n'
            '"Thé ""Earl Grey""",4.5,,\n').encode()
    rows = parse_products_csv(data, CATEGORIES)
    assert [(r.line, r.name, r.price_cents, r.on_hand, r.category_id) for r in rows] == [
        (2, "Savon lavande", 650, 12, BEAUTY),
        (3, "Bougie", 1200, 5, 6),
        (4, 'Thé "Earl Grey"', 450, None, None),
    ]


@pytest.mark.parametrize("header", [
    "NOM;Prix (€);Quantité", "Produit;Prix TTC;Qté", "\ufeffnom;prix;stock",
    "Nom du produit ; Tarif ; Stock", "nom\tprix\tstock",
])
def test_column_names_are_read_whatever_their_case_accents_or_wording(header: str) -> None:
    sep = "\t" if "\t" in header else ";"
    data = f"{header}\r\nSavon{sep}6,50{sep}4\r\n".encode()
    assert parse_products_csv(data, CATEGORIES) == [
        ProductRow(line=2, name="Savon", price_cents=650, on_hand=4)]


def test_excels_sep_line_and_utf16_text_are_understood() -> None:
    assert parse_products_csv(b"sep=,\r\nnom,prix\r\nSavon,6.5\r\n", CATEGORIES) == [
        ProductRow(line=3, name="Savon", price_cents=650)]
    assert parse_products_csv(b"\r\n\r\nnom,prix\r\nSavon,6.5\r\n", CATEGORIES) == [
        ProductRow(line=4, name="Savon", price_cents=650)]
    unicode_text = "nom\tprix\r\nSavon\t6,50\r\n".encode("utf-16")
    assert parse_products_csv(unicode_text, CATEGORIES)[0].price_cents == 650


def test_the_template_reads_back_as_its_example_product() -> None:
    data = template_csv()
    assert data.startswith(BOM)
    assert cells(data)[0] == list(TEMPLATE_HEADER)
    assert parse_products_csv(data, CATEGORIES) == [
        ProductRow(line=2, name="Savon lavande", price_cents=650, on_hand=12,
                   category_id=BEAUTY, description="Savon surgras à l’huile d’olive, 100 g.",
                   hidden=False)]


def test_a_broken_file_names_every_wrong_line_in_french() -> None:
    data = ("nom;prix;stock;catégorie\n"
            "Savon;6,50;3;Beauté & soins\n"
            "Bougie;abc;2;\n"
            "Miel;8,50;1;Alimentation\n"
            "Collier;15;1;Bijoux\n"
            ";4;1;\n").encode()
    refused = rejected(data)
    assert refused.lines == [3, 5, 6]
    message = plain(refused.message())
    assert message.startswith("Rien n’a été importé : le fichier contient 3 erreurs.")
    assert "Ligne 3 : « abc » n’est pas un prix." in message
    assert "Ligne 5 : " in message
    assert "« Bijoux »" in message
    assert "Alimentation, Boissons, Beauté & soins" in message  # the known categories
    assert "Ligne 6 : Le nom ne peut pas être vide." in message


@pytest.mark.parametrize(("line", "words"), [
    ("x" * 5000 + ";6,50", "5000 caractères"),
    ("Savon;-3", "négatif"),
    ("Savon;1e9", "n’est pas un prix"),
    ("Savon;0", "supérieur à 0"),
    ("Savon;6,50;-1", "« -1 »"),
    ("Savon;6,50;100001", "100 000"),
    ("Savon;6,50;2,5", "« 2,5 »"),
    ("Savon;6,50;1;;" + "y" * 801, "801 caractères"),
    ("Savon;6,50;1;;;peut-être", "oui ou non"),
    ("Savon;6,50;1;;;;en trop", "7 colonnes au lieu de 6"),
])
def test_each_bad_cell_is_refused_with_its_reason(line: str, words: str) -> None:
    refused = rejected(f"nom;prix;stock;catégorie;description;masqué\n{line}\n")
    assert refused.lines == [2]
    assert words in plain(refused.message())


def test_an_unquoted_decimal_comma_in_a_comma_file_says_to_quote_it() -> None:
    refused = rejected("nom,prix,stock\nSavon,6,50,3\n")
    assert refused.lines == [2]
    assert "\"6,50\"" in refused.message()


def test_a_name_twice_in_the_file_is_refused_even_with_other_accents_or_case() -> None:
    refused = rejected("nom;prix\nCrème brûlée;4\nSavon;3\ncreme  BRULEE;5\n")
    assert refused.lines == [4]
    assert "ligne 2" in refused.message()


def test_too_many_errors_are_summed_up_after_fifteen() -> None:
    refused = rejected("nom;prix\n" + "".join(f"P{i};abc\n" for i in range(40)))
    assert len(refused.errors) == 40
    message = plain(refused.message())
    assert message.count("Ligne ") == 15
    assert "… et 25 autres erreurs" in message


def test_a_file_of_more_than_2000_lines_is_refused_whole() -> None:
    lines = "".join(f"Produit {i};1\n" for i in range(MAX_ROWS + 1))
    refused = rejected("nom;prix\n" + lines)
    assert refused.lines == []
    assert "2 001" in plain(refused.message())
    assert len(parse_products_csv(("nom;prix\n" + lines.split("\n", 1)[1]).encode(),
                                  CATEGORIES)) == MAX_ROWS


@pytest.mark.parametrize(("data", "words"), [
    (b"", "vide"),
    (b"\r\n;;\r\n", "vide"),
    (b"nom;prix\r\n", "aucun produit"),
    (b"nom;stock\r\nSavon;3\r\n", "« prix » manque"),
    (b"nom;prix;prx\r\nSavon;3;4\r\n", "« prx »"),
    (b"nom;prix;Prix\r\nSavon;3;4\r\n", "deux fois"),
    (b"PK\x03\x04\x14\x00\x06\x00rest of a zip", "Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", "Excel"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "texte"),
])
def test_a_file_that_is_not_a_product_list_is_refused_with_what_to_do(data: bytes,
                                                                       words: str) -> None:
    refused = rejected(data)
    assert words in plain(refused.message())


def test_a_cell_that_excel_would_run_as_a_formula_is_exported_as_text() -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    product = Product(id=7, shop_id=1, name="=HYPERLINK(\"http://x\")", price_cents=100,
                      description="- bio\n- local", on_hand=2, reserved=0,
                      created_at=now, updated_at=now)
    data = products_csv([product], CATEGORIES)
    assert cells(data)[1][1] == "'=HYPERLINK(\"http://x\")"
    assert cells(data)[1][5] == "'- bio\n- local"
    row = parse_products_csv(data, CATEGORIES)[0]
    assert (row.name, row.description) == (product.name, product.description)
    quoted = product.model_copy(update={"name": "'=1+1"})
    assert cells(products_csv([quoted], CATEGORIES))[1][1] == "''=1+1"
    assert parse_products_csv(products_csv([quoted], CATEGORIES), CATEGORIES)[0].name == "'=1+1"


# Names a spreadsheet keeps as typed (the parsers tidy spaces and control characters, and
# write Unicode in its composed form).
names = st.text(st.characters(codec="utf-8", exclude_categories=("C", "Z")), min_size=1,
                max_size=40).map(lambda text: unicodedata.normalize("NFC", text))
texts = st.lists(names, max_size=3).map(lambda words: " ".join(words))


@given(st.lists(st.tuples(names, st.integers(1, MAX_PRICE_CENTS), st.integers(0, MAX_STOCK),
                          st.sampled_from([None, *CATEGORIES]), texts, st.booleans()),
                min_size=1, max_size=8, unique_by=lambda p: p[0].casefold()))
def test_an_export_reads_back_as_the_same_products(
        fields: list[tuple[str, int, int, Category | None, str, bool]]) -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    products = [Product(id=i, shop_id=1, name=name, price_cents=price, on_hand=stock,
                        reserved=0, category_id=None if category is None else category.id,
                        description=text, hidden=hidden, created_at=now, updated_at=now)
                for i, (name, price, stock, category, text, hidden) in enumerate(fields, 1)]
    data = products_csv(products, CATEGORIES)
    rows = outcome(data)
    if isinstance(rows, CsvRejected):  # two names equal once folded (« ß » and « ss »...)
        assert all("ligne" in reason for _line, reason in rows.errors)
        return
    assert [(r.name, r.price_cents, r.on_hand, r.category_id, r.description or "", r.hidden)
            for r in rows] == [
        (p.name, p.price_cents, p.on_hand, p.category_id, p.description, p.hidden)
        for p in products]


@given(st.binary(max_size=600) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))
def test_any_file_is_read_or_refused_with_reasons(data: bytes) -> None:
    rows = outcome(data)
    if isinstance(rows, CsvRejected):
        assert rows.errors
        assert rows.message().strip()
    else:
        assert rows


# -- writing ----------------------------------------------------------------------------


def test_products_are_exported_for_french_excel() -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    products = [
        Product(id=3, shop_id=1, name="Savon lavande", price_cents=650, on_hand=12,
                reserved=2, category_id=BEAUTY, description="Savon; 100 g",
                created_at=now, updated_at=now),
        Product(id=4, shop_id=1, name="Vieux produit", price_cents=100_000, on_hand=0,
                reserved=0, category_id=99, hidden=True, created_at=now, updated_at=now),
    ]
    data = products_csv(products, CATEGORIES)
    assert b"\r\n" in data
    assert cells(data) == [
        list(EXPORT_HEADER),
        ["3", "Savon lavande", "6,50", "12", "Beauté & soins", "Savon; 100 g", "non"],
        ["4", "Vieux produit", "1000,00", "0", "", "", "oui"],  # no longer a category
    ]


def test_reservations_are_exported_with_french_words_dates_and_money() -> None:
    made = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    reservation = Reservation(
        id=1, code="K7M2", user_id=42, shop_id=1, status=ReservationStatus.READY,
        total_cents=2350, created_at=made, deadline_at=datetime(2026, 11, 28, 16, 30,
                                                                 tzinfo=UTC),
        lines=(ReservationLine(product_id=1, maker_shop_id=1, name="Miel", unit_price_cents=850,
                               quantity=2),
               ReservationLine(product_id=2, maker_shop_id=1, name="Savon",
                               unit_price_cents=650, quantity=1)))
    gone = reservation.model_copy(update={"code": "P3QX", "user_id": 43,
                                          "status": ReservationStatus.EXPIRED})
    data = reservations_csv([reservation, gone], {42: "=Jeanne"}, PARIS)
    header, first, second = cells(data)
    assert header == ["code", "statut", "client", "créée le", "à retirer avant", "produits",
                      "total"]
    assert [plain(cell) for cell in first] == [
        "K7M2", "Prête à retirer", "'=Jeanne", "26/11/2026 10:00", "28/11/2026 17:30",
        "2 × Miel, 1 × Savon", "23,50 €"]
    assert [plain(cell) for cell in second[1:3]] == ["Expirée", "Client n° 43"]


# -- importing into a shop --------------------------------------------------------------


def utf8(text: str) -> bytes:
    return BOM + text.replace("\n", "\r\n").encode("utf-8")


async def all_products(territory: Territory) -> list[Product]:
    page = await territory.services.catalogue.maker_products(
        territory.owner, territory.shop.id, limit=50)
    return list(page.items)


async def test_an_import_creates_new_products_and_updates_known_ones_with_a_ledger(
        territory: Territory) -> None:
    catalogue = territory.services.catalogue
    honey = await territory.product("Miel de châtaignier", 850, on_hand=10)
    soap = await territory.product("Savon lavande", 500, on_hand=4, description="Ancien")
    report = await catalogue.import_products(territory.owner, territory.shop.id, utf8(
        "Nom;Prix;Stock;Catégorie;Description;Masqué\n"
        "miel de CHATAIGNIER;9,00;7;Alimentation;Pot de 500 g;non\n"
        "Savon lavande;5;;;;\n"
        "Bougie parfumée;12,00 €;5;Maison & cadeaux;;oui\n"
        "Cidre brut;4,20;;;;\n"))
    assert report == ImportReport(created=2, updated=1, unchanged=1)
    products = {p.name: p for p in await all_products(territory)}
    assert set(products) == {"miel de CHATAIGNIER", "Savon lavande", "Bougie parfumée",
                             "Cidre brut"}
    updated = products["miel de CHATAIGNIER"]
    assert updated.id == honey.id
    assert (updated.price_cents, updated.on_hand, updated.description) == (900, 7,
                                                                           "Pot de 500 g")
    assert products["Savon lavande"] == soap  # empty cells leave it as it was
    candle = products["Bougie parfumée"]
    assert (candle.price_cents, candle.on_hand, candle.hidden) == (1200, 5, True)
    assert products["Cidre brut"].on_hand == 0
    ledger = await catalogue.stock_history(territory.owner, honey.id)
    assert [(m.delta, m.on_hand_after, m.reason, m.user_id) for m in ledger][-1] == (
        -3, 7, StockReason.SET, territory.owner.user_id)
    ledger = await catalogue.stock_history(territory.owner, candle.id)
    assert [(m.delta, m.on_hand_after, m.reason) for m in ledger] == [
        (5, 5, StockReason.CREATED)]
    assert await catalogue.stock_history(territory.owner, products["Cidre brut"].id) == []


async def test_a_broken_file_creates_and_changes_nothing(territory: Territory) -> None:
    honey = await territory.product("Miel", 850, on_hand=10)
    with pytest.raises(CsvRejected) as refused:
        await territory.services.catalogue.import_products(
            territory.owner, territory.shop.id, utf8(
                "nom;prix;stock;catégorie\n"
                "Miel;9;1;\n"
                "Bougie;abc;2;\n"
                "Savon;3;2;\n"
                "Collier;15;1;Bijoux\n"
                ";4;1;\n"))
    assert refused.value.lines == [3, 5, 6]
    assert await all_products(territory) == [honey]


async def test_a_stock_below_what_is_reserved_refuses_the_whole_import(
        territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=10)
    soap = await territory.product("Savon", 500, on_hand=10)
    await services.reservations.reserve_now(territory.customer.id, honey.id, 3, "k")
    with pytest.raises(StockBelowReserved) as refused:
        await services.catalogue.import_products(territory.owner, territory.shop.id, utf8(
            "nom;prix;stock\nSavon;6;20\nBougie;12;5\nMiel;9;2\n"))
    assert isinstance(refused.value, ImportBelowReserved)
    message = plain(refused.value.message())
    assert "Ligne 4 (« Miel ») :" in message
    assert "réservés" in message
    assert "Rien n’a été importé." in message
    products = await all_products(territory)
    assert [(p.name, p.price_cents, p.on_hand, p.reserved) for p in products] == [
        ("Miel", 850, 10, 3), ("Savon", 500, 10, 0)]
    assert len(await services.catalogue.stock_history(territory.owner, soap.id)) == 1
    # Down to what is reserved is fine.
    report = await services.catalogue.import_products(territory.owner, territory.shop.id,
                                                      utf8("nom;prix;stock\nMiel;9;3\n"))
    assert report.updated == 1
    assert (await services.catalogue.product(honey.id)).available == 0


async def test_only_the_shops_staff_can_import_or_export(territory: Territory) -> None:
    honey = await territory.product("Miel", 850, on_hand=10)
    customer = territory.services.customers.actor(territory.customer)
    other_shop, other_owner = await territory.open_shop("Boulangerie Martin", "2300")
    catalogue = territory.services.catalogue
    data = utf8("nom;prix;stock\nMiel;1;0\nIntrus;1;1\n")
    for intruder in (customer, other_owner):
        with pytest.raises(NotAllowed):
            await catalogue.import_products(intruder, territory.shop.id, data)
        with pytest.raises(NotAllowed):
            await catalogue.export_products(intruder, territory.shop.id)
    assert await all_products(territory) == [honey]
    # The other shop's own import does not touch this shop's « Miel ».
    report = await catalogue.import_products(other_owner, other_shop.id, data)
    assert report == ImportReport(created=2, updated=0)
    assert await all_products(territory) == [honey]


async def test_an_export_imports_back_unchanged_and_edits_come_back(
        territory: Territory) -> None:
    catalogue = territory.services.catalogue
    categories = await catalogue.categories()
    food = next(c for c in categories if c.name == "Alimentation")
    await territory.product("Miel de châtaignier", 850, on_hand=10, category_id=food.id,
                            description="Pot de 500 g.\nRécolte 2026.")
    await territory.product("=Savon; spécial", 650, on_hand=0)
    before = await all_products(territory)
    exported = await catalogue.export_products(territory.owner, territory.shop.id)
    assert [row[1] for row in cells(exported)[1:]] == ["'=Savon; spécial",
                                                       "Miel de châtaignier"]
    report = await catalogue.import_products(territory.owner, territory.shop.id, exported)
    assert report == ImportReport(created=0, updated=0, unchanged=2)
    assert await all_products(territory) == before
    edited = exported.replace(b"8,50", b"9,10")
    report = await catalogue.import_products(territory.owner, territory.shop.id, edited)
    assert report == ImportReport(created=0, updated=1, unchanged=1)
    honey = next(p for p in await all_products(territory) if p.name.startswith("Miel"))
    assert honey.price_cents == 910


async def test_the_template_imports_as_one_product(territory: Territory) -> None:
    report = await territory.services.catalogue.import_products(
        territory.owner, territory.shop.id, template_csv())
    assert report == ImportReport(created=1, updated=0)
    (soap,) = await all_products(territory)
    assert (soap.name, soap.price_cents, soap.on_hand) == ("Savon lavande", 650, 12)
