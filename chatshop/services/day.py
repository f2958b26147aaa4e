"""The shop's day (#12 §2): the reservations to prepare and to hand over today, the late
ones (``domain.day``), and the staff's morning message at the shop's opening on opening
days.

The list carries the contacts of phone reservations: only the shop's own team reads it
(not even the territory's operator). The morning message is claimed (``shop_messages``,
kind « morning », the local date) in the same unit of work as its outbox rows, like
``ReservationService.send_reminders``: two sweeps at once, or a restart, tell once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from chatshop.clock import Clock
from chatshop.domain.day import DayList, sort_day
from chatshop.domain.models import Actor, Shop
from chatshop.domain.opening import openings
from chatshop.errors import NotAllowed
from chatshop.services.access import Access
from chatshop.services.delivery import Outgoing
from chatshop.storage.day_protocol import MessageKind
from chatshop.storage.interface import Store

MORNING: MessageKind = "morning"

# A message for the outbox: (channel, recipient, reply JSON, the reservation it is about).


class DayService:
    def __init__(self, store: Store, access: Access, clock: Clock, tz: ZoneInfo) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._tz = tz  # the territory's

    @property
    def tz(self) -> ZoneInfo:
        """The territory's timezone, in which a day begins and ends."""
        return self._tz

    async def today(self, actor: Actor, shop_id: int) -> DayList:
        """The shop's day now: late, to hand over today, to prepare. For its team only."""
        await self._access.require_staff(actor, shop_id)
        if await self._access.role(actor, shop_id) is None:
            # The operator may open a shop's screens, not its customers' phone numbers.
            raise NotAllowed(f"user {actor.user_id} on shop {shop_id}", needs="staff")
        return sort_day(await self._store.day.live(shop_id), self._clock(), self._tz)

    def morning_due(self, shop: Shop, now: datetime) -> bool:
        """Whether ``now`` is within the shop's first opening of its local day: an
        opening day (hours that weekday, not a public holiday it keeps closed, not
        closed for its own holidays), its door open since that opening began."""
        if not shop.takes_reservations:
            return False
        local = now.astimezone(self._tz)
        first = next(iter(openings(shop, local.date(), self._tz, days=1)), None)
        return first is not None and first[0] <= local < first[1]

    async def send_mornings(
            self, compose: Callable[[Shop, DayList], Awaitable[Sequence[Outgoing]]]
    ) -> list[int]:
        """« Aujourd'hui : 4 retraits, … » to the team of every shop that asked for it,
        once a day at its first opening: ``compose`` writes a shop's messages (one per
        team member), then the day is claimed and they are queued in one unit of work.
        A day with nothing to say is claimed all the same, and nothing is sent. Returns
        the shops told."""
        now = self._clock()
        period = now.astimezone(self._tz).date().isoformat()
        told: list[int] = []
        for shop_id in await self._store.day.morning_shops():
            shop = await self._store.shops.get(shop_id)
            if shop is None or not shop.morning_message or not self.morning_due(shop, now) \
                    or await self._store.day.was_told(shop_id, MORNING, period):
                continue
            day = sort_day(await self._store.day.live(shop_id), now, self._tz)
            messages = [] if day.empty else list(await compose(shop, day))
            async with self._store.unit_of_work() as uow:
                if not await uow.day.claim_message(shop_id, MORNING, period, now):
                    continue  # another sweep told it a moment ago
                if messages:
                    await uow.outbox.add(messages, now)
                await uow.commit()
            if messages:
                told.append(shop_id)
        return told
