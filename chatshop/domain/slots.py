"""When a customer can come (#12 §4): a shop's next opening slots from now up to a
reservation's deadline, each opening cut into half-days (« demain matin (9 h – 12 h) »,
« jeudi 10 décembre, après-midi (14 h – 18 h) »), and their French words.

Never a closed time: not a closed weekday, a public holiday the shop keeps closed (through
``opening.openings``), nor its own holidays; never past the deadline (a slot does not
extend the hold: it is cut at it). An opening already started is offered from now,
rounded up to the next quarter hour, if at least half an hour is left of it.
Pure: the moment comes from the caller; words through ``chatshop.i18n``. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatshop.domain.models import Reservation, Shop
from chatshop.domain.opening import openings
from chatshop.i18n import _, format_day, format_hour

MAX_SLOTS = 6  # buttons offered: with « Je ne sais pas encore » and « Menu », a screen's 8
SHORTEST = timedelta(minutes=30)  # less than this left of an opening is not offered
QUARTER = timedelta(minutes=15)
NOON = time(12, 0)
# An opening across noon is cut in two only when each half is worth a trip; else it
# is one slot, named after the half-day it starts in.
_HALF_DAY_AT_LEAST = timedelta(hours=1, minutes=30)
# A hold lasts at most 30 days (``ShopDetails.hold_hours``).
_LOOK_AHEAD_DAYS = 32


@dataclass(frozen=True, order=True)
class Slot:
    """A time to come, ``starts`` to ``ends`` (UTC), within one opening of one day."""

    starts: datetime
    ends: datetime


def _half_days(opens: datetime, closes: datetime) -> list[tuple[datetime, datetime]]:
    noon = opens.replace(hour=NOON.hour, minute=NOON.minute)
    if opens < noon < closes and noon - opens >= _HALF_DAY_AT_LEAST \
            and closes - noon >= _HALF_DAY_AT_LEAST:
        return [(opens, noon), (noon, closes)]
    return [(opens, closes)]


def _rounded_up(moment: datetime) -> datetime:
    """``moment`` rounded up to the next quarter hour (14:07 -> 14:15; 14:15 stays)."""
    floor = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
    return floor if floor == moment else floor + QUARTER


def next_slots(shop: Shop, now: datetime, deadline: datetime, tz: ZoneInfo,
               limit: int = MAX_SLOTS) -> list[Slot]:
    """The shop's next half-day slots from ``now`` to ``deadline``, at most ``limit``:
    none when the shop is closed for its holidays or has no hours on record."""
    if shop.on_holiday or not shop.active or not shop.hours or deadline <= now:
        return []
    local_now, local_deadline = now.astimezone(tz), deadline.astimezone(tz)
    days = min((local_deadline.date() - local_now.date()).days + 1, _LOOK_AHEAD_DAYS)
    found: list[Slot] = []
    for opens, closes in openings(shop, local_now.date(), tz, days):
        for starts, ends in _half_days(opens, closes):
            starts = max(starts, _rounded_up(local_now))
            ends = min(ends, local_deadline)
            if ends - starts < SHORTEST:
                continue
            found.append(Slot(starts.astimezone(UTC), ends.astimezone(UTC)))
            if len(found) == limit:
                return found
    return found


def _hours(slot: Slot, tz: ZoneInfo) -> str:
    starts, ends = slot.starts.astimezone(tz), slot.ends.astimezone(tz)
    return f"{format_hour(starts.hour, starts.minute)}\u00a0– {format_hour(ends.hour, ends.minute)}"


def slot_label(slot: Slot, now: datetime, tz: ZoneInfo, *, capital: bool = True) -> str:
    """« Cet après-midi (14 h – 18 h) », « Demain matin (9 h – 12 h) », « Jeudi 10
    décembre, matin (9 h – 12 h) »; ``capital=False`` for the middle of a sentence
    (« Passage prévu : demain matin (9 h – 12 h) »)."""
    starts = slot.starts.astimezone(tz)
    morning = starts.time() < NOON
    ahead = (starts.date() - now.astimezone(tz).date()).days
    if ahead == 0:
        words = _("today morning") if morning else _("today afternoon")
    elif ahead == 1:
        words = _("tomorrow morning") if morning else _("tomorrow afternoon")
    else:
        half = _("morning") if morning else _("afternoon")
        words = _("{day}, {half_day}").format(day=format_day(slot.starts, tz), half_day=half)
    words = _("{when} ({hours})").format(when=words, hours=_hours(slot, tz))
    return words[:1].upper() + words[1:] if capital else words


def pickup_line(reservation: Reservation, tz: ZoneInfo, now: datetime | None = None
                ) -> str | None:
    """« Passage prévu : demain matin (9 h – 12 h) » for a reservation whose customer
    chose when they come (None else), for the staff's notification and the day's list;
    without ``now``, the day is named (« jeudi 10 décembre, matin (9 h – 12 h) »)."""
    if reservation.pickup_from is None or reservation.pickup_until is None:
        return None
    slot = Slot(reservation.pickup_from, reservation.pickup_until)
    # Two days before the slot: it is then named by its date, never « today ».
    said = slot_label(slot, now if now is not None else slot.starts - timedelta(days=2), tz,
                      capital=False)
    return _("Pickup planned: {when}").format(when=said)
