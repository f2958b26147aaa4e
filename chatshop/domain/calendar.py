"""French public holidays (1er mai, 14 juillet, 25 décembre…): closed days unless the shop
says it opens on them (``Shop.opens_on_public_holidays``). For hold deadlines, pickup
slots, the staff's morning message and « ouvert maintenant ».

The dates come from the kept ``holidays`` library (Easter Monday, Ascension and Whit
Monday move each year), metropolitan France's list; each year is computed once. Pure:
no I/O, no clock.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=8)
def _year(year: int) -> dict[date, str]:
    return dict(holidays.country_holidays("FR", years=year, language="fr").items())


def public_holiday(day: date) -> str | None:
    """The holiday's French name (« Noël », « Fête du Travail »), or None."""
    return _year(day.year).get(day)


def closed_for_holiday(day: date, opens_on_public_holidays: bool) -> bool:
    """Whether a shop with those rules keeps its door shut on ``day``: a public holiday,
    unless the shop said it opens on them."""
    return not opens_on_public_holidays and public_holiday(day) is not None
