"""Products in and out of spreadsheets: the CSV files French Excel and LibreOffice write.

A shopkeeper downloads the template (or an export of their products), fills it in a
spreadsheet and sends it back. Reading is forgiving about the file's form (``;`` or
``,`` between columns, ``6,50`` or ``6.50 €``, UTF-8 with or without BOM or Windows'
cp1252, CRLF, quotes, ``Catégorie`` or ``CATEGORIE``) and strict about its content:
every line is checked first, and one bad line refuses the whole file with every error
listed by line number (``CsvRejected``), so that nothing is half imported.

Column names and the ``oui``/``non`` of the « masqué » column are part of the file's
format, not messages: they stay French whatever the catalogue says. Pure functions on
bytes and domain models; this must not import ``chatshop.storage``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal

from chatshop.domain.limits import MAX_STOCK
from chatshop.domain.models import (
    Category,
    Model,
    Product,
    ProductRow,
    Reservation,
    ReservationStatus,
)
from chatshop.domain.parsing import clean_description, clean_name, parse_price
from chatshop.domain.text import fold
from chatshop.errors import CsvRejected, InvalidInput
from chatshop.i18n import LOCALE, _, format_clock, format_money

T = TypeVar("T")

TEMPLATE_HEADER: tuple[str, ...] = ("nom", "prix", "stock", "catégorie", "description", "masqué")
EXPORT_HEADER: tuple[str, ...] = ("id", *TEMPLATE_HEADER)
REQUIRED_COLUMNS = ("nom", "prix")
TEMPLATE_EXAMPLE = ("Savon lavande", "6,50", "12", "Beauté & soins",
                    "Savon surgras à l’huile d’olive, 100 g.", "non")
MAX_ROWS = 2_000  # product lines in one file
MAX_BYTES = 4 * 1024 * 1024  # far above 2 000 full lines; refuses anything else unread
# Every line, empty ones included: a spreadsheet may add empty rows at the end, but
# 4 MB of line breaks would take seconds to read, while the bot answers no one else.
MAX_LINES = 50 * MAX_ROWS
SEPARATORS = (";", ",", "\t")

YES = frozenset({"oui", "o", "x", "1", "vrai", "yes", "y", "true"})
NO = frozenset({"non", "n", "0", "faux", "no", "false"})

# What people call the columns, folded (lower case, no accents), -> the template's name.
_COLUMN_NAMES: dict[str, str] = {
    **dict.fromkeys(("nom", "nom du produit", "produit", "article", "name"), "nom"),
    **dict.fromkeys(("prix", "prix ttc", "prix unitaire", "tarif", "price"), "prix"),
    **dict.fromkeys(("stock", "quantite", "qte", "quantity"), "stock"),
    **dict.fromkeys(("categorie", "category", "rayon"), "catégorie"),
    **dict.fromkeys(("description", "details"), "description"),
    **dict.fromkeys(("masque", "cache", "hidden"), "masqué"),
    "id": "id",  # an export's; products are matched by name, so it is not read
}
# A cell that Excel would run as a formula: written with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx / .ods (zip), .xls
_SEP_LINE = re.compile(r'^"?sep=(?P<sep>[;,\t])"?[ \t]*(?:\r\n|\r|\n)', re.IGNORECASE)
_STOCK = re.compile(r"(?P<units>[0-9]{1,6})(?:[.,]0+)?")


class ImportReport(Model):
    """What an import did: products created, products changed, and lines that matched a
    product already exactly as the file says."""

    created: int
    updated: int
    unchanged: int = 0


def product_key(name: str) -> str:
    """What makes two product names the same for an import: case, accents and spaces
    aside, « Crème  brûlée » is « creme brulee »."""
    return " ".join(fold(name).split())


def template_csv() -> bytes:
    """An empty file to fill in, with the column names and one example line."""
    return _encode([TEMPLATE_HEADER, TEMPLATE_EXAMPLE])


# -- reading --------------------------------------------------------------------------


def parse_products_csv(data: bytes, categories: Sequence[Category]) -> list[ProductRow]:
    """Read and check every product line of ``data``; one error refuses the whole file.

    ``categories`` are those a product may be put in (matched by name, case and accents
    aside). Raises ``CsvRejected`` listing every error by line; returns the rows in the
    file's order otherwise.
    """
    if len(data) > MAX_BYTES:
        raise CsvRejected([(0, _("The file is too large: {max} MB at most.").format(
            max=MAX_BYTES // (1024 * 1024)))])
    text = _decode(data)
    line_count = max(text.count("\n"), text.count("\r"))
    if line_count > MAX_LINES:
        raise CsvRejected([(0, _("The file has {count} lines, empty ones included; {max} at "
                                 "most. Please delete the empty lines, or split it into "
                                 "several files.").format(count=_number(line_count),
                                                          max=_number(MAX_LINES)))])
    records = list(_records(text))
    header_at = next((i for i, (_line, fields) in enumerate(records) if not _blank(fields)),
                     None)
    if header_at is None:
        raise CsvRejected([(0, _("The file is empty."))])
    columns = _columns(records[header_at][1])
    lines = [(line, fields) for line, fields in records[header_at + 1:] if not _blank(fields)]
    if not lines:
        raise CsvRejected([(0, _("The file has no products: write one per line, under the "
                                 "column names."))])
    if len(lines) > MAX_ROWS:
        raise CsvRejected([(0, _("The file has {count} product lines; {max} at most. "
                                 "Please split it into several files.").format(
                                     count=_number(len(lines)), max=_number(MAX_ROWS)))])
    reader = _RowReader(columns, categories, sep=_separator_of(text))
    for line, fields in lines:
        reader.read(line, fields)
    if reader.errors:
        raise CsvRejected(reader.errors)
    return reader.rows


def _decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252."""
    if data.startswith(_SPREADSHEET_MAGIC):
        raise CsvRejected([(0, _(
            "This is a spreadsheet file, not a CSV file. In Excel or LibreOffice, choose "
            "File › Save as, pick the type CSV (semicolon separated), then send that file."))])
    try:
        if data.startswith(codecs.BOM_UTF8):
            text = data[len(codecs.BOM_UTF8):].decode("utf-8")
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:  # Excel for Windows writes "CSV" in cp1252
                text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:
        raise CsvRejected([(0, _("This file cannot be read as text. Please send a CSV file "
                                 "saved from Excel or LibreOffice."))])
    return text


def _separator_of(text: str) -> str:
    """``;`` (Excel in French), ``,`` (LibreOffice, Excel in English) or a tab, as the
    ``sep=`` line Excel understands says, or else as the first line uses most."""
    declared = _SEP_LINE.match(text)
    if declared:
        return declared["sep"]
    first = next((line for line in text.splitlines() if re.search(r"\w", line)), "")
    counts = {sep: first.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])  # ties: the order of SEPARATORS
    return best if counts[best] else ";"


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with its line as a spreadsheet shows it (a quoted line break stays in
    its cell, so it does not start a new line)."""
    sep = _separator_of(text)
    line = 1
    declared = _SEP_LINE.match(text)
    if declared:
        text = text[declared.end():]
        line = 2
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"',
                        doublequote=True, strict=False)
    try:
        for fields in reader:
            yield line, fields
            line += 1
    except csv.Error:
        raise CsvRejected([(line, _("This line cannot be read; a quote (\") may be "
                                    "missing."))]) from None


def _blank(fields: Sequence[str]) -> bool:
    return not any(field.strip() for field in fields)


def _column_key(name: str) -> str:
    """« Prix (€) » -> « prix », « CATÉGORIE » -> « categorie »."""
    name = re.sub(r"\(.*?\)|[*:]", " ", name.replace("\ufeff", ""))
    return " ".join(fold(name).split())


def _columns(header: Sequence[str]) -> dict[str, int]:
    """The position of each known column; unknown, repeated or missing ones refuse the file."""
    found: dict[str, int] = {}
    errors: list[tuple[int, str]] = []
    known = ", ".join(TEMPLATE_HEADER)
    for position, title in enumerate(header):
        if not title.strip():
            continue
        column = _COLUMN_NAMES.get(_column_key(title))
        if column is None:
            errors.append((0, _("Unknown column “{name}”. The columns are: {known}.").format(
                name=_echo(title.strip()), known=known)))
        elif column in found:
            errors.append((0, _("The column “{name}” appears twice.").format(name=column)))
        else:
            found[column] = position
    for column in REQUIRED_COLUMNS:
        if column not in found:
            errors.append((0, _("The column “{name}” is missing. The first line names the "
                                "columns, for example: {header}").format(
                                    name=column, header=";".join(TEMPLATE_HEADER))))
    if errors:
        raise CsvRejected(errors)
    return found


class _RowReader:
    """Checks the product lines one by one, gathering rows and errors."""

    def __init__(self, columns: Mapping[str, int], categories: Sequence[Category],
                 sep: str) -> None:
        self.columns = columns
        self.width = max(columns.values()) + 1
        self.sep = sep
        self.categories = {_category_key(c.name): c for c in categories}
        self.category_names = ", ".join(c.name for c in categories)
        self.seen: dict[str, int] = {}
        self.rows: list[ProductRow] = []
        self.errors: list[tuple[int, str]] = []

    def read(self, line: int, fields: Sequence[str]) -> None:
        before = len(self.errors)
        if not _blank(fields[self.width:]):
            self._refuse(line, self._too_many_columns(len(fields)))
            return
        name = self._check(line, clean_name, self._cell(fields, "nom"))
        price = self._check(line, parse_price, self._cell(fields, "prix"))
        on_hand = self._stock(line, self._cell(fields, "stock"))
        category_id = self._category(line, self._cell(fields, "catégorie"))
        description = self._cell(fields, "description")
        text = self._check(line, clean_description, description) if description else None
        hidden = self._hidden(line, self._cell(fields, "masqué"))
        if name is not None:
            key = product_key(name)
            if key in self.seen:
                self._refuse(line, _("“{name}” is already on line {line}.").format(
                    name=_echo(name), line=self.seen[key]))
            self.seen.setdefault(key, line)
        if len(self.errors) == before:
            assert name is not None
            assert price is not None
            self.rows.append(ProductRow(line=line, name=name, price_cents=price,
                                        on_hand=on_hand, category_id=category_id,
                                        description=text, hidden=hidden))

    def _cell(self, fields: Sequence[str], column: str) -> str:
        position = self.columns.get(column)
        if position is None or position >= len(fields):
            return ""
        value = fields[position].strip()
        # Undo the apostrophe an export puts before what Excel would run as a formula.
        if value.startswith("'") and _looks_like_formula(value):
            value = value[1:]
        return value

    def _refuse(self, line: int, reason: str) -> None:
        self.errors.append((line, reason))

    def _check(self, line: int, parse: Callable[[str], T], text: str) -> T | None:
        try:
            return parse(text)
        except InvalidInput as refused:
            self._refuse(line, refused.reason)
            return None

    def _too_many_columns(self, count: int) -> str:
        reason = _("This line has {count} columns instead of {expected}.").format(
            count=count, expected=self.width)
        if self.sep == ",":
            reason += " " + _("A price with a comma must be in quotes: \"6,50\".")
        return reason

    def _stock(self, line: int, text: str) -> int | None:
        if not text:
            return None
        match = _STOCK.fullmatch(re.sub(r"[\s\u00a0\u202f]", "", text))
        if match is None or int(match["units"]) > MAX_STOCK:
            self._refuse(line, _("The stock “{text}” is not a whole number between 0 and "
                                 "{max}.").format(text=_echo(text), max=_number(MAX_STOCK)))
            return None
        return int(match["units"])

    def _category(self, line: int, text: str) -> int | None:
        if not text:
            return None
        category = self.categories.get(_category_key(text))
        if category is None:
            self._refuse(line, _("Unknown category “{name}”. The categories are: {known}.")
                         .format(name=_echo(text), known=self.category_names))
            return None
        return category.id

    def _hidden(self, line: int, text: str) -> bool | None:
        if not text:
            return None
        word = fold(text)
        if word in YES or word in NO:
            return word in YES
        self._refuse(line, _("In the column “masqué”, write oui or non (not “{text}”).")
                     .format(text=_echo(text)))
        return None


def _category_key(name: str) -> str:
    """« Beauté & soins » matches « beaute et soins » and « BEAUTÉ &SOINS »."""
    return " ".join(fold(name).replace("&", " et ").split())


def _echo(text: str) -> str:
    """A cell's text, short enough to quote back."""
    text = " ".join(text.split())
    return text if len(text) <= 30 else text[:29] + "…"


def _number(n: int) -> str:
    return format_decimal(n, locale=LOCALE)


# -- writing --------------------------------------------------------------------------


def products_csv(products: Sequence[Product], categories: Sequence[Category]) -> bytes:
    """A shop's products as a file to open in Excel or LibreOffice, edit and import back.

    A category missing from ``categories`` (deactivated since) is left empty, so that
    importing the file back leaves the product's category as it is.
    """
    out = ProductsCsv(categories)
    out.add(products)
    return out.data()


class ProductsCsv:
    """``products_csv`` written a page of products at a time, for a large shop: the same
    bytes, and no more products held than one page (the file's bytes are all it keeps)."""

    def __init__(self, categories: Sequence[Category]) -> None:
        self._names = {category.id: category.name for category in categories}
        self._out = io.BytesIO()
        self._out.write(codecs.BOM_UTF8)
        self._write([EXPORT_HEADER])

    def add(self, products: Iterable[Product]) -> None:
        """These products' lines, after those added before."""
        names = self._names
        self._write(
            (str(p.id), _cell_text(p.name), _decimal(p.price_cents), str(p.on_hand),
             names.get(p.category_id, "") if p.category_id is not None else "",
             _cell_text(p.description), "oui" if p.hidden else "non")
            for p in products)

    def data(self) -> bytes:
        return self._out.getvalue()

    def _write(self, records: Iterable[Sequence[str]]) -> None:
        self._out.write(_encode_lines(records))


def reservations_csv(reservations: Sequence[Reservation], customer_names: Mapping[int, str],
                     tz: ZoneInfo) -> bytes:
    """A shop's reservations as a file to open in a spreadsheet (dates in ``tz``)."""
    header = (_("code"), _("status"), _("customer"), _("created on"), _("collect before"),
              _("products"), _("total"))
    return _encode([header, *(
        (r.code, status_name(r.status),
         _cell_text(customer_names.get(r.user_id)
                    or _("Customer no. {id}").format(id=r.user_id)),
         _date_time(r.created_at, tz), _date_time(r.deadline_at, tz),
         _cell_text(", ".join(f"{line.quantity} × {line.name}" for line in r.lines)),
         format_money(r.total_cents))
        for r in reservations
    )])


def status_name(status: ReservationStatus) -> str:
    """A reservation's status in one or two French words."""
    return {
        ReservationStatus.PENDING: _("Pending"),
        ReservationStatus.READY: _("Ready to collect"),
        ReservationStatus.COLLECTED: _("Collected"),
        ReservationStatus.CANCELLED_BY_CUSTOMER: _("Cancelled by the customer"),
        ReservationStatus.CANCELLED_BY_SHOP: _("Cancelled by the shop"),
        ReservationStatus.EXPIRED: _("Expired"),
    }[status]


def _encode(records: Sequence[Sequence[str]]) -> bytes:
    """UTF-8 with a BOM (else Excel reads cp1252), ``;`` and CRLF, as Excel in French."""
    return codecs.BOM_UTF8 + _encode_lines(records)


def _encode_lines(records: Iterable[Sequence[str]]) -> bytes:
    """Lines of such a file (without the BOM, which only its start has)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(records)
    return out.getvalue().encode("utf-8")


def _cell_text(text: str) -> str:
    """Text a spreadsheet shows as text: « =HYPERLINK(...) » typed as a name must not
    become a formula in the shopkeeper's Excel (reading strips the apostrophe back)."""
    return "'" + text if _looks_like_formula(text) else text


def _looks_like_formula(text: str) -> bool:
    """Whether a cell starts like a formula, once the apostrophes before are set aside
    (so that a name that really starts with « '= » survives the round trip)."""
    return text.lstrip("'").startswith(_FORMULA_START)


def _decimal(cents: int) -> str:
    """``650`` -> ``6,50``: a number French Excel reads as a number."""
    return format_decimal(Decimal(cents) / 100, format="0.00", locale=LOCALE)


def _date_time(moment: datetime, tz: ZoneInfo) -> str:
    """``26/11/2026 10:00``: a date and time French Excel reads as one, and sorts."""
    return f"{format_date(moment.astimezone(tz), 'short', locale=LOCALE)} " \
           f"{format_clock(moment, tz)}"
