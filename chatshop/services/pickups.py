"""Choosing when to come (#12 §4) and fairness (§5): the next opening slots of a shop up
to a reservation's deadline, the customer's choice, the morning reminder of that day,
and the reservations a customer did not collect.

A choice is checked against the slots offered now (a forged or stale button stores
nothing) and written in one conditional statement: the customer's own live chat
reservation, never past its deadline. The reminders are claimed in the same unit of
work as their outbox rows, like ``ReservationService.send_reminders``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from chatshop.clock import Clock
from chatshop.domain.models import Reservation, Shop
from chatshop.domain.opening import openings
from chatshop.domain.parsing import check_id
from chatshop.domain.slots import Slot, next_slots
from chatshop.errors import InvalidInput, NotFound
from chatshop.i18n import _
from chatshop.services.access import Access
from chatshop.services.delivery import Outgoing, queue_claimed
from chatshop.storage.interface import Store

# The reminder goes at the shop's first opening of that day, or at 8 h if that is
# earlier: in the morning, before the customer sets off, never at dawn for a late shop.
REMIND_AT_THE_LATEST = time(8, 0)

# A message for the outbox: (channel, recipient, reply JSON, the reservation it is about).


class Choice(NamedTuple):
    """A customer's live chat reservation, its shop and the slots offered now."""

    reservation: Reservation
    shop: Shop
    slots: list[Slot]


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class PickupService:
    def __init__(self, store: Store, access: Access, clock: Clock, tz: ZoneInfo) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._tz = tz  # the territory's

    @property
    def tz(self) -> ZoneInfo:
        """The territory's timezone, in which slots and reminders are days and hours."""
        return self._tz

    async def choice(self, user_id: int, reservation_id: int) -> Choice:
        """The slots ``user_id`` may choose for their reservation now (none when it is
        no longer live). Not theirs, by phone, or no such reservation: ``NotFound``."""
        reservation = await self._store.orders.get(check_id(reservation_id, "reservation"))
        if reservation is None or reservation.user_id != user_id or reservation.by_phone:
            raise NotFound("reservation", reservation_id)  # not theirs: not even confirmed
        shop = await self._store.shops.get(reservation.shop_id)
        if shop is None:
            raise NotFound("reservation", reservation_id)
        slots = next_slots(shop, self._clock(), reservation.deadline_at, self._tz) \
            if reservation.status.is_live and shop.asks_pickup_time else []
        return Choice(reservation, shop, slots)

    async def choose(self, user_id: int, reservation_id: int,
                     ends: datetime | None) -> Reservation:
        """Record the slot ending at ``ends``, to the minute (one of those offered now),
        or, with None, « I do not know yet » (no slot). A slot no longer offered (it has
        passed, the hold ended, the shop stopped asking): ``InvalidInput``, nothing
        stored."""
        found = await self.choice(user_id, reservation_id)
        # A button names its slot's end to the minute (a hold may end at 10:00:37).
        slot = None if ends is None else next(
            (each for each in found.slots if _minute(each.ends) == _minute(ends)), None)
        if not found.reservation.status.is_live:
            raise InvalidInput(_("This reservation is closed: there is no time to choose "
                                 "for it any more."))
        if ends is not None and slot is None:
            raise InvalidInput(_("This time is no longer offered: please choose another."))
        now = self._clock()
        written = await self._store.pickups.choose(
            found.reservation.id, user_id, None if slot is None else slot.starts,
            None if slot is None else slot.ends,
            reminded_at=self._reminded(found, slot, now))
        if not written:  # it ended between the two
            raise InvalidInput(_("This time is no longer offered: please choose another."))
        made = await self._store.orders.get(found.reservation.id)
        if made is None:
            raise NotFound("reservation", reservation_id)
        return made

    def _reminded(self, found: Choice, slot: Slot | None, now: datetime) -> datetime | None:
        """When the morning reminder of the new choice counts as gone: now for a slot of
        today chosen once the reminder's time has passed (the customer just chose it),
        as before for another slot of the day already reminded of, else None (owed)."""
        if slot is None:
            return None
        day = slot.starts.astimezone(self._tz).date()
        if day == now.astimezone(self._tz).date() and now >= self.remind_at(found.shop,
                                                                            slot.starts):
            return now
        before = found.reservation
        if before.pickup_from is not None \
                and before.pickup_from.astimezone(self._tz).date() == day:
            return before.pickup_reminded_at
        return None

    async def not_collected(self, reservation: Reservation) -> int:
        """How many reservations the customer of ``reservation`` let expire at its shop,
        for the staff's view of it (0 for a phone reservation: it is nobody's in the
        chat). The caller shows it to that shop's staff only."""
        if reservation.by_phone:
            return 0
        return await self._store.pickups.not_collected(reservation.user_id, reservation.shop_id)

    # -- the morning reminder ---------------------------------------------------------

    def remind_at(self, shop: Shop, day: datetime) -> datetime:
        """When the reminder of a slot on ``day``'s local date goes (UTC): the shop's
        first opening that day, or 8 h if earlier."""
        local = day.astimezone(self._tz).date()
        latest = datetime.combine(local, REMIND_AT_THE_LATEST, tzinfo=self._tz)
        first = next(iter(openings(shop, local, self._tz, days=1)), None)
        return min(latest, first[0] if first else latest).astimezone(UTC)

    async def send_reminders(
            self, compose: Callable[[Reservation], Awaitable[Sequence[Outgoing]]]
    ) -> list[Reservation]:
        """Remind the customers who come today (their slot starts today, its reminder
        time has come, it has not ended): ``compose`` writes each one's messages, then,
        in one unit of work, the reservations are claimed and the messages of those this
        call claimed are queued in the outbox. Returns those reminded."""
        now = self._clock()
        today = now.astimezone(self._tz).date()
        midnight = datetime.combine(today, time(0), tzinfo=self._tz)
        tomorrow = datetime.combine(today + timedelta(days=1), time(0), tzinfo=self._tz)
        found = await self._store.pickups.due_for_pickup_reminder(
            midnight.astimezone(UTC), tomorrow.astimezone(UTC), now)
        # Before its reminder time a shop's customers are not even loaded: the sweep
        # runs every minute from midnight on.
        shops: dict[int, Shop | None] = {}
        due: list[Reservation] = []
        for reservation_id, shop_id in found:
            if shop_id not in shops:
                shops[shop_id] = await self._store.shops.get(shop_id)
            shop = shops[shop_id]
            if shop is None or now < self.remind_at(shop, now):
                continue
            each = await self._store.orders.get(reservation_id)
            if each is not None and each.pickup_from is not None:
                due.append(each)
        if not due:
            return []
        messages = {each.id: list(await compose(each)) for each in due}
        claimed = await queue_claimed(
            self._store, messages,
            lambda uow, ids: uow.pickups.claim_pickup_reminders(ids, now), now)
        return [each for each in due if each.id in claimed]
