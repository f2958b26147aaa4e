"""Whether a shop is open, and when it opens next: « ouvert maintenant », « ouvre mardi à
9 h », « en congés », from its weekly opening hours in the territory's timezone; and the
openings themselves, day by day, for hold deadlines and pickup slots.

A French public holiday (``calendar.closed_for_holiday``) is a closed day unless the shop
says it opens on them (#12 §5). Pure: the moment comes from the caller, the words from the
web layer. Intervals that touch (« 9:00-12:00 » then « 12:00-19:00 ») are one opening.
No I/O. ``Shop``'s methods call this module, so it does not import the models: it reads
any shop-like value (``ShopHours``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from chatshop.domain.calendar import closed_for_holiday


class Interval(Protocol):
    """One weekly opening interval (``models.OpeningInterval``)."""

    @property
    def weekday(self) -> int: ...
    @property
    def opens(self) -> time: ...
    @property
    def closes(self) -> time: ...


class ShopHours(Protocol):
    """What this module reads of a shop (``models.Shop``)."""

    @property
    def hours(self) -> Sequence[Interval]: ...
    @property
    def on_holiday(self) -> bool: ...
    @property
    def active(self) -> bool: ...
    @property
    def opens_on_public_holidays(self) -> bool: ...
    @property
    def hold_hours(self) -> int: ...


# A week ahead and one day more: the same weekday next week is still found.
_LOOK_AHEAD_DAYS = 8
# A hold's end may fall in a closed fortnight (Christmas on a Monday, the shop shut on
# Sundays and Mondays): its next opening is looked for a little further.
_DEADLINE_LOOK_AHEAD_DAYS = 15


class DoorState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    HOLIDAY = "holiday"  # closed for the holidays: its message says until when
    UNKNOWN = "unknown"  # no opening hours on record


@dataclass(frozen=True)
class Opening:
    """The shop's door at one moment: ``closes_at`` when open (the end of this opening),
    ``opens_at`` when closed (the next opening within a week), both UTC."""

    state: DoorState
    closes_at: datetime | None = None
    opens_at: datetime | None = None


def opens_on(shop: ShopHours, day: date) -> bool:
    """Whether ``day`` can be an opening day of the shop: it has hours that weekday and
    the day is not a public holiday it keeps closed (its own holidays aside)."""
    return any(s.weekday == day.weekday() for s in shop.hours) \
        and not closed_for_holiday(day, shop.opens_on_public_holidays)


def openings(shop: ShopHours, first_day: date, tz: ZoneInfo,
             days: int = _LOOK_AHEAD_DAYS) -> list[tuple[datetime, datetime]]:
    """The shop's openings (local times in ``tz``) from ``first_day`` on for ``days``
    days, in order, touching intervals merged; public holidays it keeps closed have none.
    The shop's own holidays (``on_holiday``) are the caller's to weigh."""
    spans: list[tuple[datetime, datetime]] = []
    for ahead in range(days):
        day = first_day + timedelta(days=ahead)
        if not opens_on(shop, day):
            continue
        for slot in sorted((s for s in shop.hours if s.weekday == day.weekday()),
                           key=lambda s: s.opens):
            opens = datetime.combine(day, slot.opens, tzinfo=tz)
            closes = datetime.combine(day, slot.closes, tzinfo=tz)
            if spans and spans[-1][1] >= opens:
                spans[-1] = (spans[-1][0], max(spans[-1][1], closes))
            else:
                spans.append((opens, closes))
    return spans


def opening(shop: ShopHours, now: datetime, tz: ZoneInfo) -> Opening:
    """The shop's door at ``now``: open (until when), closed (opening when), on holiday,
    or unknown (no hours on record, or none within a week)."""
    if shop.on_holiday:
        return Opening(DoorState.HOLIDAY)
    if not shop.hours:
        return Opening(DoorState.UNKNOWN)
    local = now.astimezone(tz)
    for opens, closes in openings(shop, local.date(), tz):
        if closes <= local:
            continue
        if opens <= local:
            return Opening(DoorState.OPEN, closes_at=closes.astimezone(UTC))
        return Opening(DoorState.CLOSED, opens_at=opens.astimezone(UTC))
    return Opening(DoorState.UNKNOWN)


def is_open(shop: ShopHours, moment: datetime, tz: ZoneInfo) -> bool:
    """Whether the shop's door is open at ``moment`` (``Shop.is_open_at``): the same
    answer as ``opening``'s, from that day's openings only."""
    if not shop.active or shop.on_holiday:
        return False
    local = moment.astimezone(tz)
    return any(opens <= local < closes
               for opens, closes in openings(shop, local.date(), tz, days=1))


def hold_deadline(shop: ShopHours, start: datetime, tz: ZoneInfo) -> datetime:
    """Until when a reservation made at ``start`` is held (``Shop.pickup_deadline``):
    ``hold_hours`` later, and if the shop is closed then (a Sunday, lunch time, the
    evening, a public holiday), until the end of its next opening, so that the customer
    always has a time to come. Without opening hours on record, ``hold_hours`` later."""
    held = start + timedelta(hours=shop.hold_hours)
    if not shop.hours:
        return held
    local = held.astimezone(tz)
    for opens, closes in openings(shop, local.date(), tz, _DEADLINE_LOOK_AHEAD_DAYS):
        if closes > local:
            return held if opens <= local else closes.astimezone(UTC)
    return held
