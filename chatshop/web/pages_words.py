"""The shop window's French for what the pages compute: a shop's door (« Ouvert
maintenant · jusqu'à 19 h », « Fermé · ouvre mardi à 9 h 30 »), its week of opening
hours, a product's availability, and the addresses made from shopkeepers' text (a
``tel:`` number, an OpenStreetMap link). Babel does the days; times are written the way
French shop doors show them (« 9 h », « 14 h 30 »)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from chatshop.domain.models import Product, Shop
from chatshop.domain.opening import DoorState, Opening
from chatshop.i18n import _, format_day, format_hour, format_phone, ngettext, weekday_name

FEW_LEFT = 3  # « Plus que 2 » at this many or fewer


@cache
def hour_words(hour: int, minute: int) -> str:
    """``9 h``, ``9 h 30``, ``14 h`` (no-break spaces: a time never breaks a line)."""
    return format_hour(hour, minute)


def _hour(moment: datetime | time, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz) if isinstance(moment, datetime) else moment
    return hour_words(local.hour, local.minute)


def _day_words(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """« aujourd'hui à 14 h », « demain à 9 h », « mardi à 9 h 30 », and a week ahead
    « jeudi 3 décembre à 9 h » (the weekday alone would read as today's)."""
    days = (moment.astimezone(tz).date() - now.astimezone(tz).date()).days
    clock = _hour(moment, tz)
    if days == 0:
        return _("today at {time}").format(time=clock)
    if days == 1:
        return _("tomorrow at {time}").format(time=clock)
    day = weekday_name(moment.astimezone(tz).weekday()) if days < 7 \
        else format_day(moment, tz)
    return _("{day} at {time}").format(day=day, time=clock)


@dataclass(frozen=True)
class Door:
    """What a shop's door says, and its kind (for the page's style: open, closed...)."""

    words: str
    state: DoorState
    until: datetime | None = None  # when the words may change with no write (UTC)


def door(opening: Opening, now: datetime, tz: ZoneInfo) -> Door:
    """The shop's state as one short line."""
    until = door_change(opening, now, tz)
    if opening.state is DoorState.OPEN and opening.closes_at is not None:
        return Door(_("Open now · until {time}").format(time=_hour(opening.closes_at, tz)),
                    opening.state, until)
    if opening.state is DoorState.CLOSED and opening.opens_at is not None:
        return Door(_("Closed · opens {when}").format(
            when=_day_words(opening.opens_at, now, tz)), opening.state, until)
    if opening.state is DoorState.HOLIDAY:
        return Door(_("On holiday"), opening.state, until)
    return Door(_("Opening hours not given"), DoorState.UNKNOWN, until)


def door_change(opening: Opening, now: datetime, tz: ZoneInfo) -> datetime:
    """The first moment the door's words may read otherwise, the data staying as it is:
    its opening or closing, or the next midnight where the shop is (« demain » becomes
    « aujourd'hui »). Never later than the truth; earlier only costs a new rendering."""
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=tz)
    changes = [midnight.astimezone(UTC)]
    changes += [at for at in (opening.closes_at, opening.opens_at) if at is not None]
    return min(changes)


def week_hours(shop: Shop) -> list[tuple[str, str]]:
    """Monday to Sunday: (« Mardi », « 9 h – 12 h, 14 h – 19 h ») or « Fermé »."""
    days = []
    for weekday in range(7):
        slots = sorted((s for s in shop.hours if s.weekday == weekday), key=lambda s: s.opens)
        words = ", ".join(
            _("{opens} – {closes}").format(opens=hour_words(s.opens.hour, s.opens.minute),
                                           closes=hour_words(s.closes.hour, s.closes.minute))
            for s in slots)
        days.append((weekday_name(weekday).capitalize(), words or _("Closed")))
    return days


@dataclass(frozen=True)
class Availability:
    words: str
    in_stock: bool
    few: bool


def availability(product: Product) -> Availability:
    """« Disponible », « Plus que 2 » (three or fewer), « Épuisé »."""
    left = product.available
    if left <= 0:
        return Availability(_("Sold out"), False, False)
    if left <= FEW_LEFT:
        return Availability(ngettext("Only {n} left", "Only {n} left", left).format(n=left),
                            True, True)
    return Availability(_("Available"), True, False)


def tel_link(phone: str) -> str | None:
    """``tel:0555036127`` from « 05 55 03 61 27 » (digits, and a leading +), or None
    when the text holds no number to call."""
    text = phone.strip()
    if text.startswith("+"):  # « +33 (0)5 55… »: the (0) is dialled only from home
        text = text.replace("(0)", "")
    digits = "".join(ch for ch in text if ch.isdigit() and ch.isascii())
    if len(digits) < 3:
        return None
    return "tel:" + ("+" if text.startswith("+") else "") + digits


def phone_words(phone: str) -> str:
    """A French number as French people write it, « 05 55 03 61 27 »."""
    return format_phone(phone)


def map_link(shop: Shop, commune: str) -> str | None:
    """The shop on OpenStreetMap: its pin when its coordinates are known, else a search
    for its address in its commune; None without either."""
    if shop.latitude is not None and shop.longitude is not None:
        lat, lon = f"{shop.latitude:.6f}", f"{shop.longitude:.6f}"
        return (f"https://www.openstreetmap.org/?{urlencode({'mlat': lat, 'mlon': lon})}"
                f"#map=18/{lat}/{lon}")
    if not shop.address.strip():
        return None
    place = ", ".join(part for part in (shop.address.strip(), commune) if part)
    return f"https://www.openstreetmap.org/search?query={quote(place)}"
