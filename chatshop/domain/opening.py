"""Whether a shop is open, and when it opens next: « ouvert maintenant », « ouvre mardi à
9 h », « en congés », from its weekly opening hours in the territory's timezone.

Pure: the moment comes from the caller, the words from the web layer. Intervals that
touch (« 9:00-12:00 » then « 12:00-19:00 ») are one opening. No I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chatshop.domain.models import OpeningInterval, Shop

# A week ahead and one day more: the same weekday next week is still found.
_LOOK_AHEAD_DAYS = 8


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


def _openings(hours: tuple[OpeningInterval, ...], local: datetime,
              tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The openings from ``local``'s day on, in order, touching intervals merged."""
    spans: list[tuple[datetime, datetime]] = []
    for days in range(_LOOK_AHEAD_DAYS):
        day = local.date() + timedelta(days=days)
        for slot in sorted((s for s in hours if s.weekday == day.weekday()),
                           key=lambda s: s.opens):
            opens = datetime.combine(day, slot.opens, tzinfo=tz)
            closes = datetime.combine(day, slot.closes, tzinfo=tz)
            if spans and spans[-1][1] >= opens:
                spans[-1] = (spans[-1][0], max(spans[-1][1], closes))
            else:
                spans.append((opens, closes))
    return spans


def opening(shop: Shop, now: datetime, tz: ZoneInfo) -> Opening:
    """The shop's door at ``now``: open (until when), closed (opening when), on holiday,
    or unknown (no hours on record, or none within a week)."""
    if shop.on_holiday:
        return Opening(DoorState.HOLIDAY)
    if not shop.hours:
        return Opening(DoorState.UNKNOWN)
    local = now.astimezone(tz)
    for opens, closes in _openings(shop.hours, local, tz):
        if closes <= local:
            continue
        if opens <= local:
            return Opening(DoorState.OPEN, closes_at=closes.astimezone(UTC))
        return Opening(DoorState.CLOSED, opens_at=opens.astimezone(UTC))
    return Opening(DoorState.UNKNOWN)
