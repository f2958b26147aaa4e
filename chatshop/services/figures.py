"""The week's figures (#12 §6): the last 8 weeks' reservations (picked up, expired,
cancelled; phone and chat apart) and the most reserved products, for a shop's staff
or the territory's operator; the chart is drawn elsewhere (``chatshop.charts``).

A week is an ISO week of the territory's timezone; a reservation counts in the week it
was closed (« la semaine du 30 novembre : 12 retirées » is what happened that week: its
outcome is only known then). The five most reserved products count the units of the
reservations made in those weeks, except the cancelled ones (undone, they were not
wanted after all); a hosted maker's products count for the shop where they are
collected. Nothing here draws or words anything."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatshop.clock import Clock
from chatshop.domain.models import Actor, Shop
from chatshop.domain.schedule import week_of
from chatshop.services.access import Access
from chatshop.services.delivery import Outgoing
from chatshop.storage.figures_protocol import Outcome, Source
from chatshop.storage.interface import Store

WEEKS = 8
TOP = 5
SEND_FROM = time(8)  # the Monday figures go from 8 h (local) on


@dataclass(frozen=True)
class Split:
    """One outcome of one week: how many came through the chat, how many by phone."""
    chat: int = 0
    phone: int = 0

    @property
    def total(self) -> int:
        return self.chat + self.phone


@dataclass(frozen=True)
class Week:
    """One ISO week (``monday``, local) and its closed reservations by outcome."""
    monday: date
    collected: Split = field(default_factory=Split)
    expired: Split = field(default_factory=Split)
    cancelled: Split = field(default_factory=Split)

    @property
    def total(self) -> int:
        return self.collected.total + self.expired.total + self.cancelled.total


@dataclass(frozen=True)
class Ranked:
    """A product among the most reserved, and its units."""
    name: str
    units: int


@dataclass(frozen=True)
class Figures:
    """What the chart and its text show: ``scope`` (the shop's name, or None for the
    territory), the weeks oldest first, the most reserved products most first."""
    scope: str | None
    weeks: tuple[Week, ...]
    top: tuple[Ranked, ...]

    @property
    def empty(self) -> bool:
        """Nothing to show: no reservation closed or made in these weeks."""
        return not self.top and all(week.total == 0 for week in self.weeks)


class FiguresService:
    def __init__(self, store: Store, access: Access, clock: Clock, tz: ZoneInfo) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._tz = tz  # the territory's

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    async def shop_weeks(self, actor: Actor, shop_id: int, *,
                         finished: bool = False) -> Figures:
        """A shop's last 8 weeks, this one included (``finished``: the 8 weeks before
        this one), for its staff (or the operator)."""
        shop = await self._access.require_staff(actor, shop_id)
        return await self._figures(shop, self._clock(), finished)

    async def territory_weeks(self, actor: Actor) -> Figures:
        """The whole territory's last 8 weeks, this one included, for the operator."""
        self._access.require_operator(actor)
        return await self._figures(None, self._clock(), False)

    def mondays(self, now: datetime, finished: bool = False) -> list[date]:
        """The Mondays (local) of the 8 weeks shown, oldest first."""
        today = now.astimezone(self._tz).date()
        last = today - timedelta(days=today.weekday()) - timedelta(weeks=int(finished))
        return [last - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]

    def _start(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self._tz).astimezone(UTC)

    async def _figures(self, shop: Shop | None, now: datetime, finished: bool) -> Figures:
        mondays = self.mondays(now, finished)
        bounds = [(self._start(day), self._start(day + timedelta(weeks=1)))
                  for day in mondays]
        shop_id = shop.id if shop is not None else None
        counts: dict[tuple[int, Outcome], dict[Source, int]] = {}
        for row in await self._store.figures.closed_by_week(bounds, shop_id):
            counts.setdefault((row.week, row.outcome), {})[row.source] = row.reservations

        def split(week: int, outcome: Outcome) -> Split:
            found = counts.get((week, outcome), {})
            return Split(chat=found.get("chat", 0), phone=found.get("phone", 0))

        weeks = tuple(Week(monday=day, collected=split(n, "collected"),
                           expired=split(n, "expired"), cancelled=split(n, "cancelled"))
                      for n, day in enumerate(mondays))
        top = await self._store.figures.most_reserved(bounds[0][0], bounds[-1][1],
                                                      shop_id, TOP)
        return Figures(scope=shop.name if shop is not None else None, weeks=weeks,
                       top=tuple(Ranked(name=p.name, units=p.units) for p in top))

    async def send_weekly(
            self, now: datetime,
            compose: Callable[[Shop, Figures], Awaitable[Sequence[Outgoing]]]) -> list[int]:
        """On Monday from 8 h (territory time), for each active shop that asked for it,
        the 8 finished weeks to its staff (``compose`` writes the outbox rows): each shop
        is claimed for that ISO week and its messages queued in one unit of work, so two
        sweeps at once or a restart tell once. Returns the shops told."""
        local = now.astimezone(self._tz)
        if local.weekday() != 0 or local.time() < SEND_FROM:
            return []
        period = week_of(now, self._tz)
        told = []
        for shop_id in await self._store.figures.weekly_shops(period):
            shop = await self._store.shops.get(shop_id)
            if shop is None:
                continue
            messages = list(await compose(shop, await self._figures(shop, now, True)))
            async with self._store.unit_of_work() as uow:
                if not await uow.day.claim_message(shop_id, "figures", period, now):
                    continue
                if messages:
                    await uow.outbox.add(messages, now)
                await uow.commit()
            told.append(shop_id)
        return told
