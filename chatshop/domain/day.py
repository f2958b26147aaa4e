"""The shop's day (#12 §2): its live reservations sorted into the late ones, those to hand
over today and those to prepare, as the day's list, its PDF and the morning message
count them.

- late (« en retard »): live, and the pickup slot its customer chose ended before now;
- to hand over today (« à remettre »): live, not late, and its slot is today, or it has
  no slot and its deadline falls today, or it is ready (set aside, waiting);
- to prepare (« à préparer »): pending, and none of the above.

Pure: the moment and the timezone (the territory's) come from the caller. No I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from chatshop.domain.models import Reservation, ReservationStatus


@dataclass(frozen=True)
class DayList:
    """A shop's live reservations for one day, in three groups, each soonest first."""

    day: date
    late: tuple[Reservation, ...] = ()
    to_hand_over: tuple[Reservation, ...] = ()
    to_prepare: tuple[Reservation, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.late or self.to_hand_over or self.to_prepare)

    @property
    def all(self) -> tuple[Reservation, ...]:
        """Every reservation of the list, in the order it is shown."""
        return (*self.late, *self.to_hand_over, *self.to_prepare)


def is_late(reservation: Reservation, now: datetime) -> bool:
    """Live, and the slot its customer chose ended before ``now``."""
    return reservation.status.is_live and reservation.pickup_until is not None \
        and reservation.pickup_until < now


def _when(reservation: Reservation) -> datetime:
    """When the reservation is expected: its slot's start, else its deadline."""
    return reservation.pickup_from or reservation.deadline_at


def sort_day(reservations: Iterable[Reservation], now: datetime, tz: ZoneInfo) -> DayList:
    """The day's list at ``now`` of a shop's ``reservations`` (closed ones are left out)."""
    today = now.astimezone(tz).date()
    late: list[Reservation] = []
    hand_over: list[Reservation] = []
    prepare: list[Reservation] = []
    for each in reservations:
        if not each.status.is_live:
            continue
        if is_late(each, now):
            late.append(each)
        elif each.status is ReservationStatus.READY \
                or (each.pickup_from is not None
                    and each.pickup_from.astimezone(tz).date() == today) \
                or (each.pickup_from is None and each.deadline_at.astimezone(tz).date() == today):
            hand_over.append(each)
        else:
            prepare.append(each)

    def order(group: list[Reservation]) -> tuple[Reservation, ...]:
        return tuple(sorted(group, key=lambda r: (_when(r), r.deadline_at, r.id)))

    return DayList(today, order(late), order(hand_over), order(prepare))
