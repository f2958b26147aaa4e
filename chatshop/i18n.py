"""French for everything the bot says: gettext messages and Babel formatting.

Source strings are English msgids marked with ``_()`` / ``ngettext()`` (``N_()`` marks a
string for extraction without translating it yet). The catalogue is read straight from
``locales/fr/LC_MESSAGES/chatshop.po`` on first use, so there is no compile step.

Money, dates and times are formatted by Babel for ``fr_FR``; dates and times are shown
in the territory's timezone, which callers pass in (times are stored in UTC).
"""

from __future__ import annotations

import io
from datetime import date, datetime, time
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

from chatshop.resources import locales_dir

DOMAIN = "chatshop"
LOCALE = "fr_FR"
CURRENCY = "EUR"


@cache
def french() -> Locale:
    """Babel's fr_FR locale, parsed once (parsing it on every call is costly)."""
    return Locale.parse(LOCALE)


@cache
def translations(language: str = "fr") -> Translations:
    """The gettext catalogue for ``language``, compiled in memory from its ``.po`` file."""
    po_path = locales_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def _(message: str) -> str:
    """Translate ``message`` into French."""
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate with the French plural rule (``n > 1``)."""
    return translations().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated later, where it is shown."""
    return message


def format_number(n: int) -> str:
    """``2000`` -> ``2 000`` (French digit grouping, a narrow no-break space)."""
    return format_decimal(n, locale=french())


def format_money(cents: int) -> str:
    """``1250`` -> ``12,50 €`` (Babel's fr_FR, with its no-break spaces)."""
    return _money(cents)


@lru_cache(maxsize=4096)
def _money(cents: int) -> str:
    return format_currency(cents / 100, CURRENCY, locale=french())


def format_day(moment: datetime, tz: ZoneInfo) -> str:
    """``samedi 28 novembre`` for a UTC moment, in the territory's timezone (and
    ``mardi 1er décembre``: the first of the month is written so in French)."""
    return _day(moment.astimezone(tz).date())


@lru_cache(maxsize=1024)
def _day(day: date) -> str:
    # Babel takes ~25 µs; a reservation shows its deadline's day to the customer and
    # to each person of the shop's team.
    if day.day == 1:
        return format_date(day, "EEEE", locale=french()) + " 1er " + \
            format_date(day, "MMMM", locale=french())
    return format_date(day, "EEEE d MMMM", locale=french())


def format_clock(moment: datetime | time, tz: ZoneInfo | None = None) -> str:
    """``17:30``: Babel's short fr_FR time; a datetime is first moved to ``tz``."""
    if isinstance(moment, datetime):
        if tz is None:
            raise ValueError("a datetime needs the timezone it is shown in")
        moment = moment.astimezone(tz)
        return _clock(moment.hour, moment.minute)
    return _clock(moment.hour, moment.minute)


@cache
def _clock(hour: int, minute: int) -> str:
    # Babel takes ~15 µs a call and a shop card shows up to 28 times: 1 440 wall times
    # are worth remembering.
    return format_time(time(hour, minute), "short", locale=french())


def format_moment(moment: datetime, tz: ZoneInfo) -> str:
    """``samedi 28 novembre à 17:30``: a deadline a customer can read at a glance."""
    return _("{day} at {time}").format(day=format_day(moment, tz), time=format_clock(moment, tz))


@cache
def weekday_name(weekday: int) -> str:
    """French name of a weekday, Monday = 0: ``lundi`` ... ``dimanche``."""
    # 2024-01-01 was a Monday.
    return format_date(datetime(2024, 1, 1 + weekday), "EEEE", locale=french())
