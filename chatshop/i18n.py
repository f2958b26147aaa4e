"""French for everything the bot says: gettext messages and Babel formatting.

Source strings are English msgids marked with ``_()`` / ``ngettext()`` (``N_()`` marks a
string for extraction without translating it yet). This module reads no file: the
catalogue comes from the loader the package installs (``chatshop.resources.read_catalogue``,
which compiles ``locales/fr/LC_MESSAGES/chatshop.po`` in memory, so there is no compile
step), called once, at the first message translated. The domain translates through here
and so stays free of file reading.

Money, dates and times are formatted by Babel for ``fr_FR``; dates and times are shown
in the territory's timezone, which callers pass in (times are stored in UTC).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

LOCALE = "fr_FR"
CURRENCY = "EUR"


@cache
def french() -> Locale:
    """Babel's fr_FR locale, parsed once (parsing it on every call is costly)."""
    return Locale.parse(LOCALE)


CatalogueLoader = Callable[[str], Translations]
"""Gives the gettext catalogue of a language (``"fr"``)."""

_loader: list[CatalogueLoader] = []


def use_catalogues(loader: CatalogueLoader) -> None:
    """Take the catalogues from ``loader`` from now on (each is asked for once, at its
    first message); the package installs ``chatshop.resources.read_catalogue``."""
    _loader[:] = [loader]
    translations.cache_clear()


@cache
def translations(language: str = "fr") -> Translations:
    """The gettext catalogue for ``language``, from the installed loader."""
    if not _loader:
        raise RuntimeError("no catalogue loader: chatshop installs one when imported")
    return _loader[0](language)


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


@cache
def format_hour(hour: int, minute: int) -> str:
    """``9 h``, ``9 h 30``, ``14 h``: a time as French signs and posters write it
    (no-break spaces: a time never breaks a line)."""
    pattern = "H\u00a0'h'" if minute == 0 else "H\u00a0'h'\u00a0mm"
    return format_time(time(hour, minute), pattern, locale=french())


def format_phone(phone: str) -> str:
    """A stored number as French people read it: ``+33555021984`` -> « 05 55 02 19 84 »
    (no-break spaces: kept whole on a line); any other number as it is stored."""
    text = phone.strip()
    if len(text) == 12 and text.startswith("+33") and text[1:].isdigit():
        national = "0" + text[3:]
        return "\u00a0".join(national[i:i + 2] for i in range(0, 10, 2))
    return text


def format_moment(moment: datetime, tz: ZoneInfo) -> str:
    """``samedi 28 novembre à 17:30``: a deadline a customer can read at a glance."""
    return _("{day} at {time}").format(day=format_day(moment, tz), time=format_clock(moment, tz))


@cache
def weekday_name(weekday: int) -> str:
    """French name of a weekday, Monday = 0: ``lundi`` ... ``dimanche``."""
    # 2024-01-01 was a Monday.
    return format_date(datetime(2024, 1, 1 + weekday), "EEEE", locale=french())
