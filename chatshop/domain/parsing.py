"""Reading what people type: prices, quantities and names, the French way.

Every parser returns a clean value or raises ``InvalidInput`` whose message tells the
user, in French, what was wrong and how to type it. Nothing here touches storage.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from chatshop.domain.limits import (
    MAX_ID,
    MAX_PAGE_SIZE,
    MAX_PRICE_CENTS,
    MAX_QUANTITY,
    MAX_STOCK,
    MIN_QUANTITY,
    PHOTO_REF_MAX,
    PRODUCT_DESCRIPTION_MAX,
    PRODUCT_NAME_MAX,
)
from chatshop.domain.models import CHANNELS, Channel, StockReason
from chatshop.domain.text import ascii_only
from chatshop.errors import InvalidInput, NotFound, StockOutOfRange
from chatshop.i18n import _, format_money, format_number

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_CURRENCY = re.compile(r"(?:€|eur(?:os?)?)$", re.IGNORECASE)
# 6 | 6,50 | 6.5 | 1 200,00 (groups of three after a space) | 6€50 (handled before)
# [0-9], not \d: \d also matches Arabic-Indic, full-width... digits, which int() accepts.
_AMOUNT = re.compile(r"(?P<units>[0-9]{1,3}(?: [0-9]{3})+|[0-9]+)(?:[.,](?P<decimals>[0-9]+))?")
_WHOLE = re.compile(r"[0-9]{1,3}(?: [0-9]{3})+|[0-9]+")
_EURO_IN_THE_MIDDLE = re.compile(r"(?P<units>[0-9]+) ?€ ?(?P<decimals>[0-9]{1,2})")
# A French number: 06 12 34 56 78, +33 6 12 34 56 78, or +33 (0)6 12 34 56 78.
_FRENCH_PHONE = re.compile(r"(?:0|\+33|\+330)(?P<number>[1-9][0-9]{8})")


def _echo(text: str) -> str:
    """What the user typed, short enough to quote back."""
    return text if len(text) <= 20 else text[:19] + "…"


def parse_price(text: str) -> int:
    """Read a price in euros and return it in cents: ``6,50 €`` -> ``650``.

    Accepted: ``6,50``, ``6.50``, ``6,5``, ``6,50 €``, ``6 €``, ``6€50``, ``0,99``,
    ``1 200``. Refused with a reason: empty, negative, zero, more than 10 000 €,
    more than two decimals, and anything else (``1e9``, ``six``, ``6,50 $``).
    """
    cleaned = _SPACES.sub(" ", text).strip()
    if not cleaned:
        raise InvalidInput(_("Please type a price, for example 6,50."))
    if cleaned.startswith(("-", "−")):
        raise InvalidInput(_("A price cannot be negative."))
    middle = _EURO_IN_THE_MIDDLE.fullmatch(cleaned)
    if middle:
        units, decimals = middle["units"], middle["decimals"]
    else:
        amount = _CURRENCY.sub("", cleaned).strip()
        match = _AMOUNT.fullmatch(amount)
        if match is None:
            raise InvalidInput(
                _("“{text}” is not a price. Type it like this: 6,50 or 6,50 €.").format(
                    text=_echo(cleaned)
                )
            )
        units, decimals = match["units"], match["decimals"] or ""
    if len(decimals) > 2:
        raise InvalidInput(_("A price has at most 2 decimals, for example 6,50."))
    units = units.replace(" ", "")
    if len(units) > 7:  # far beyond the maximum; avoid building a huge int
        raise InvalidInput(_("A price cannot be more than {max}.").format(
            max=format_money(MAX_PRICE_CENTS)))
    cents = int(units) * 100 + int(decimals.ljust(2, "0"))
    if cents == 0:
        raise InvalidInput(_("A price must be more than 0 €."))
    if cents > MAX_PRICE_CENTS:
        raise InvalidInput(_("A price cannot be more than {max}.").format(
            max=format_money(MAX_PRICE_CENTS)))
    return cents


def parse_quantity(text: str) -> int:
    """Read a quantity from 1 to 999: ``3`` -> ``3``; ``0``, ``1000``, ``2,5`` are refused."""
    cleaned = text.strip()  # only around: "2 3" is not 23
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 4:
        raise InvalidInput(quantity_refusal())
    return check_quantity(int(cleaned))


def parse_whole_number(text: str) -> int:
    """A count typed as digits: ``12`` -> ``12`` (``1 200`` with its spaces too); the
    caller checks its range. Anything else (``douze``, ``2,5``, ``-1``) is refused."""
    cleaned = _SPACES.sub(" ", text).strip()
    if not _WHOLE.fullmatch(cleaned):
        raise InvalidInput(_("Please type a whole number, e.g. 12."))
    digits = cleaned.replace(" ", "")
    return int(digits) if len(digits) <= 9 else 10**9  # past every limit, still cheap


def quantity_refusal() -> str:
    """Why a quantity was refused, in French, with its range."""
    return _("Please type a whole number between 1 and 999.")


def stock_refusal() -> str:
    """Why a stock was refused, in French, with its range (a stock may be 0)."""
    return _("The stock must be a whole number between 0 and {max}.").format(
        max=format_number(MAX_STOCK))


def stock_count(quantity: int) -> int:
    """A count of units read from what someone typed, refused past ``MAX_STOCK``."""
    if quantity > MAX_STOCK:
        raise InvalidInput(stock_refusal())
    return quantity


def check_stock(on_hand: int) -> int:
    """The stock a product's shelf may hold: a whole number from 0 to ``MAX_STOCK``.
    Not a whole number (a forged button can carry anything): refused with the range;
    negative or past the maximum: ``StockOutOfRange``, which says which."""
    if type(on_hand) is not int:
        raise InvalidInput(stock_refusal())
    if not 0 <= on_hand <= MAX_STOCK:
        raise StockOutOfRange(on_hand, MAX_STOCK)
    return on_hand


class StockChange(NamedTuple):
    """What a shopkeeper typed about a product's stock: set it, add to it, take from it."""

    reason: StockReason  # SET, ADDED or REMOVED
    quantity: int


def parse_stock_change(text: str) -> StockChange:
    """``12``: the shelf now holds 12; ``+2``: two more; ``-1`` (or ``−1``): one fewer.

    Refused with the reason: not a whole number, ``+0``, or past ``MAX_STOCK`` (the limit
    is named). Whether the result stays within 0..``MAX_STOCK`` and above what is
    reserved is the catalogue's to check.
    """
    cleaned = text.strip()
    sign = cleaned[:1]
    if sign in ("+", "-", "−", "–"):
        try:
            quantity = parse_whole_number(cleaned[1:])
        except InvalidInput:
            raise InvalidInput(_("Type a number after the sign, e.g. +2 or -1.")) from None
        if quantity == 0:
            raise InvalidInput(_("Type a number after the sign, e.g. +2 or -1."))
        return StockChange(StockReason.ADDED if sign == "+" else StockReason.REMOVED,
                           stock_count(quantity))
    return StockChange(StockReason.SET, stock_count(parse_whole_number(cleaned)))


def check_quantity(quantity: int) -> int:
    """Refuse a quantity outside 1..999, or not a whole number (a forged button can
    carry anything)."""
    if type(quantity) is not int or not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
        raise InvalidInput(quantity_refusal())
    return quantity


def check_photo(channel: str, file_ref: str) -> tuple[Channel, str]:
    """A photo reference as a channel gives it (a Telegram file_id, a WhatsApp media id)."""
    if channel not in CHANNELS or not isinstance(file_ref, str) or not file_ref.isprintable() \
            or not 0 < len(file_ref) <= PHOTO_REF_MAX:
        raise InvalidInput(_("This photo cannot be used. Please send it again."))
    return channel, file_ref


MAX_OFFSET = 1_000_000  # far past any real list; keeps SQLite's OFFSET in range


def page_window(offset: int, limit: int) -> tuple[int, int]:
    """A page request made safe: offset >= 0 (and not absurd), limit in 1..50."""
    if type(offset) is not int or type(limit) is not int:
        raise NotFound("page", (offset, limit))
    return min(max(offset, 0), MAX_OFFSET), min(max(limit, 1), MAX_PAGE_SIZE)


def check_id(value: int, what: str) -> int:
    """An id from outside (a button, a link) that cannot exist is simply not found."""
    if type(value) is not int or not 0 < value <= MAX_ID:
        raise NotFound(what, value)
    return value


def clean_name(text: str, *, max_length: int = PRODUCT_NAME_MAX) -> str:
    """A one-line name: spaces collapsed, control characters removed, 1..max characters."""
    cleaned = _SPACES.sub(" ", _printable(text)).strip()
    if not cleaned:
        raise InvalidInput(_("The name cannot be empty."))
    if len(cleaned) > max_length:
        raise InvalidInput(
            _("The name is too long ({length} characters); {max} at most, please.").format(
                length=len(cleaned), max=max_length
            )
        )
    return cleaned


def clean_description(text: str, *, max_length: int = PRODUCT_DESCRIPTION_MAX) -> str:
    """A free text that keeps its line breaks; may be empty; at most ``max_length``."""
    lines = [_SPACES.sub(" ", line).strip() for line in _printable(text, keep="\n").split("\n")]
    cleaned = "\n".join(lines).strip()
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned)
    if len(cleaned) > max_length:
        raise InvalidInput(
            _("The text is too long ({length} characters); {max} at most, please.").format(
                length=len(cleaned), max=max_length
            )
        )
    return cleaned


def _printable(text: str, keep: str = "") -> str:
    """Drop control and format characters (but keep ``keep``), normalised to NFC.

    Whitespace that is not kept (tabs, line breaks...) becomes a space instead of being
    dropped, so that it never glues two words together.
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    return "".join(
        ch if ch in keep or not ch.isspace() else " "
        for ch in text
        if ch in keep or ch.isspace() or not unicodedata.category(ch).startswith("C")
    )


def clean_phone(text: str) -> str:
    """A phone number in international form: ``06 12 34 56 78`` -> ``+33612345678``."""
    digits = re.sub(r"[\s.\-()\u00a0]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    french = _FRENCH_PHONE.fullmatch(digits)
    if french:
        return "+33" + french["number"]
    if re.fullmatch(r"\+[1-9][0-9]{7,14}", digits) and not digits.startswith("+33"):
        return digits
    raise InvalidInput(_("That does not look like a phone number, for example 06 12 34 56 78."))


_DAYS = {"lun": 0, "mar": 1, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6}
_TIME = r"(\d{1,2})\s*(?:h|:)\s*(\d{2})?"
_SLOT = re.compile(_TIME + r"\s*(?:-|–|à|a)\s*" + _TIME)


def _day(word: str) -> int:
    key = ascii_only(word).lower()[:3]
    if key not in _DAYS:
        raise InvalidInput(_("« {word} » is not a day. Write days like lun, mar, mer, jeu, "
                             "ven, sam, dim.").format(word=_echo(word)))
    return _DAYS[key]


def parse_opening_hours(text: str) -> list[tuple[int, str, str]]:
    """``mar-ven 9h-12h30 14h-19h`` (one line or « ; » per group of days) ->
    ``[(weekday, "09:00", "12:30"), ...]``; days not written are closed."""
    found: list[tuple[int, str, str]] = []
    for part in re.split(r"[;\n]+", text):
        part = part.strip()
        if not part:
            continue
        head, _sep, rest = part.partition(" ")
        days: list[int] = []
        for item in head.split(","):
            first, dash, last = item.partition("-")
            start = _day(first)
            end = _day(last) if dash else start
            days += list(range(start, end + 1)) if start <= end else [
                *range(start, 7), *range(0, end + 1)]
        slots = _SLOT.findall(rest)
        if not slots or _SLOT.sub("", rest).strip(" ,et"):
            raise InvalidInput(_("Write the times like this: mar-ven 9h-12h30 14h-19h; "
                                 "sam 9h-12h"))
        for h1, m1, h2, m2 in slots:
            opens, closes = f"{int(h1):02d}:{m1 or '00'}", f"{int(h2):02d}:{m2 or '00'}"
            if not ("00:00" <= opens < closes <= "23:59") or int(h2) > 23 or int(h1) > 23 \
                    or int(m1 or 0) > 59 or int(m2 or 0) > 59:
                raise InvalidInput(_("{opens}–{closes} is not an opening time.").format(
                    opens=opens, closes=closes))
            found += [(day, opens, closes) for day in days]
    if not found:
        raise InvalidInput(_("Write the times like this: mar-ven 9h-12h30 14h-19h; sam 9h-12h"))
    return found
