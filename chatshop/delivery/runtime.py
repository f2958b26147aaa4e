"""The delivery runtime of one process: the outbox and the digest broadcast over the
platforms it serves, the reservations sweep, the territory's channel posts, and the jobs
that run them (``jobs()``, for the one ``Scheduler`` that ``app.serve`` starts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial

from chatshop.conversation.router import Conversation
from chatshop.delivery import (
    alerts,
    channel_posts,
    mornings,
    pickup_reminders,
    weekly_figures,
)
from chatshop.delivery.broadcast import Broadcast, Pace, Progress
from chatshop.delivery.channel_posts import ChannelFeed, FeedingPlatform
from chatshop.delivery.outbox import Outbox, Row
from chatshop.delivery.outcome import Platform, TakesOver
from chatshop.delivery.scheduler import Job
from chatshop.domain.models import Channel, DigestReport, Reservation
from chatshop.services import Services
from chatshop.services.channel_posts import ChannelNews
from chatshop.services.links import Links
from chatshop.storage.alerts_protocol import AlertLine

SWEEP_EVERY = 60.0  # seconds between reservation sweeps (expiry, reminders)
OUTBOX_EVERY = 2.0  # seconds between outbox rounds when nothing wakes it earlier
DIGEST_EVERY = 30.0  # seconds between looks at the digest's schedule and runs
# Seconds between looks for updates written down by a process that died before handling
# them (another process on the same database; a single process finds none).
TAKE_OVER_EVERY = 2.0
# The digest's first look after a start: as soon as the updates that waited during the
# start have had their moment. A process started seconds ago may be the one that must go
# on with the run of a sender just killed (#14): no longer than the others' next ask.
DIGEST_FIRST = TAKE_OVER_EVERY
CLEAN_UP_EVERY = 3_600.0


class Delivery:
    """What leaves this process for the platforms (see the package's docstring)."""

    def __init__(self, services: Services, conversation: Conversation, *,
                 digest_pace: Callable[[], Pace], digest_send_empty: bool = False,
                 territory_channel: str | None = None, links: Links | None = None) -> None:
        """``territory_channel``: the Telegram channel or group (``@name``, ``-100…``)
        where the shops' news is posted, if any; ``links``: the bot's addresses for its
        buttons (the conversation's if None)."""
        self._services = services
        self._conversation = conversation
        # The digest's role per platform: whether this process had it at its last look,
        # and when it last looked at the digest's schedule and runs.
        self._leading: dict[Channel, bool] = {}
        self._digest_looked: dict[Channel, float] = {}
        self.outbox = Outbox(services, conversation.unreachable)
        self.broadcast = Broadcast(services, conversation.territory, pace=digest_pace,
                                   send_empty=digest_send_empty)
        self.feed = None if territory_channel is None else ChannelFeed(
            services, territory_channel, links or conversation.links, self.outbox.rows,
            self.outbox.queue, self.outbox.kick)

    def register(self, platform: Platform) -> None:
        if self.feed is not None and platform.name == channel_posts.CHANNEL:
            platform = FeedingPlatform(platform, self.feed)
        self.outbox.register(platform)

    @property
    def platforms(self) -> dict[Channel, Platform]:
        return self.outbox.platforms

    async def sweep(self) -> list[Reservation]:
        """Expire the overdue reservations (their customers are told) and remind the
        customers whose reservation ends soon, each once: a reminder is claimed in the
        same transaction as its outbox row is written, so that two sweeps at once remind
        once, and a stop between the two loses nothing. Returns the reminded ones."""
        for expired in await self._services.reservations.expire_overdue():
            await self.outbox.queue(await self._conversation.expiry_news(expired))
        reminded = await self._services.reservations.send_reminders(self._reminder)
        if reminded:
            for name in self.platforms:
                self.outbox.kick(name)
        return reminded

    async def _reminder(self, reservation: Reservation) -> Sequence[Row]:
        return self.outbox.rows(await self._conversation.reminder(reservation))

    async def tell_alerts(self) -> list[AlertLine]:
        """« 🔔 Prévenez-moi »: tell once whoever waits for a product that is back."""
        return await alerts.tell(self._services, self.outbox)

    async def remind_pickups(self) -> list[Reservation]:
        """The morning of a chosen pickup time, its customer is reminded, once (#12 G)."""
        return await pickup_reminders.remind(self._services, self.outbox)

    async def send_figures(self) -> list[int]:
        """On Monday, the week's figures to the shops that asked, once (#12 U)."""
        return await weekly_figures.send(self._services, self.outbox)

    async def send_mornings(self) -> list[int]:
        """At each opting shop's first opening of the day, its team's count (#12 J)."""
        return await mornings.send(self._services, self.outbox)

    async def digest(self, platform: Platform, progress: Progress | None = None
                     ) -> list[DigestReport]:
        """Start this week's digest on ``platform`` once its time has come, and deliver
        what is due there."""
        await self._services.digest.start_if_due(platform.name)
        return await self.broadcast.deliver(platform, progress)

    async def _digest_if_leading(self, platform: Platform) -> list[DigestReport]:
        """The scheduled digest, by one process of the database at a time: the one with
        the role looks at the schedule and runs every ``DIGEST_EVERY``; the others ask
        for the role every ``TAKE_OVER_EVERY``, and the first to get it once its process
        is gone goes on at once (what the dead one had claimed is free with its lease).
        One process alone has the role from its first look."""
        name = platform.name
        leading = await self._services.delivery.leads(f"digest:{name}")
        became = leading and not self._leading.get(name, False)
        self._leading[name] = leading
        now = time.monotonic()
        if not leading or (not became
                           and now - self._digest_looked.get(name, -DIGEST_EVERY) < DIGEST_EVERY):
            return []
        self._digest_looked[name] = now
        return await self.digest(platform)

    async def post_to_channel(self) -> list[ChannelNews]:
        """Post the shops' news that is due in the territory's channel (nothing without
        one, or while Telegram is not served here)."""
        if self.feed is None or channel_posts.CHANNEL not in self.platforms:
            return []
        return await self.feed.post()

    async def clean_up(self) -> None:
        """Forget handled events and delivered messages past their keeping time."""
        for name, platform in self.platforms.items():
            await self._services.delivery.clean_up(name, platform.keep_events)
        await self._services.alerts.clean_up()  # #12 V: alerts told or 60 days old
        await self._services.counter.drop_old_contacts()  # #12 T: 30 days after closing

    def jobs(self) -> list[Job]:
        """The scheduled work of this process: once, whatever channels it serves; the
        outbox and the digest once per platform, so that one platform's trouble (an
        outage, a long run) holds up no other."""
        jobs = [Job("sweep", SWEEP_EVERY, self.sweep),
                Job("clean-up", CLEAN_UP_EVERY, self.clean_up, first=CLEAN_UP_EVERY),
                Job("alerts", alerts.EVERY, self.tell_alerts),  # #12 V
                Job("pickup-reminders", pickup_reminders.EVERY, self.remind_pickups),  # #12 G
                Job("weekly-figures", weekly_figures.EVERY, self.send_figures),  # #12 U
                Job("mornings", mornings.EVERY, self.send_mornings)]  # #12 J
        for name, platform in self.platforms.items():
            jobs += [Job(f"outbox:{name}", OUTBOX_EVERY, partial(self.outbox.deliver, name)),
                     Job(f"digest:{name}", TAKE_OVER_EVERY,
                         partial(self._digest_if_leading, platform), first=DIGEST_FIRST)]
            if isinstance(platform, TakesOver):  # what a killed process left (#14)
                jobs.append(Job(f"take-over:{name}", TAKE_OVER_EVERY, platform.take_over,
                                first=TAKE_OVER_EVERY))
        if self.feed is not None and channel_posts.CHANNEL in self.platforms:
            jobs.append(Job("channel-posts", channel_posts.EVERY, self.post_to_channel))
        return jobs

    def stopping(self) -> None:
        """From now on, deliver no more: a digest run stops after its message in flight
        (and goes on at the next start), the outbox after its own."""
        self.broadcast.stopping.set()
        self.outbox.stopping()

    async def stop(self) -> None:
        """``stopping``, then wait for the deliveries running."""
        self.stopping()
        await self.outbox.stop()
