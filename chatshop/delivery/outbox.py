"""The outbox, one per process: notifications for other people (a reservation's news, a
reminder, a reply that could not go at once) kept in the database until their platform
takes them, then delivered in the order they were queued, rate-limited by the platform.

A message is done with when the platform took it, refused it for good (kept with its
reason, for a human to read), or its recipient is gone (marked unreachable; the shop is
told if the message was about a reservation). Anything else waits and is tried again,
for as long as it takes: an outage ends, nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from chatshop.conversation.messages import Reply
from chatshop.delivery.outcome import Gone, Later, Message, Platform, Refused, Sent
from chatshop.domain.models import Channel, OutgoingMessage, User
from chatshop.services import Services

log = logging.getLogger(__name__)

Row = tuple[Channel, str, str, int | None]  # channel, recipient, message JSON, regarding
# What to tell, and whom, when the recipient of news about a reservation is gone.
Unreachable = Callable[[User, int], Awaitable[list[Reply]]]


class Outbox:
    """Every platform's outbox; one delivery at a time per platform (a call while
    another runs makes it go round once more instead of running beside it)."""

    def __init__(self, services: Services, unreachable: Unreachable) -> None:
        self._services = services
        self._unreachable = unreachable
        self._platforms: dict[Channel, Platform] = {}
        self._locks: dict[Channel, asyncio.Lock] = {}
        self._again: dict[Channel, bool] = {}
        self._tasks: set[asyncio.Task[int]] = set()
        self._stopped = False

    def register(self, platform: Platform) -> None:
        """Deliver ``platform``'s messages through it from now on."""
        self._platforms[platform.name] = platform
        self._locks.setdefault(platform.name, asyncio.Lock())

    @property
    def platforms(self) -> dict[Channel, Platform]:
        return dict(self._platforms)

    def rows(self, notifications: Sequence[Reply]) -> list[Row]:
        """Notifications as outbox rows: one row per message its platform will show
        (a platform not served by this process keeps the reply whole)."""
        rows: list[Row] = []
        for note in notifications:
            if note.to is None:
                continue
            platform = self._platforms.get(note.to.channel)
            pieces = platform.pieces(note) if platform is not None else [note]
            rows += [(note.to.channel, note.to.user_id, piece.model_dump_json(),
                      piece.regarding) for piece in pieces]
        return rows

    async def queue(self, notifications: Sequence[Reply]) -> None:
        """Keep notifications until delivered, then deliver soon."""
        rows = self.rows(notifications)
        if rows:
            await self._services.delivery.queue(rows)
            for channel in dict.fromkeys(row[0] for row in rows):
                self.kick(channel)

    def kick(self, channel: Channel) -> None:
        """Deliver soon (in the background), without waiting for the next round."""
        if self._stopped or channel not in self._platforms:
            return
        if self._locks[channel].locked():
            self._again[channel] = True
            return
        task = asyncio.get_running_loop().create_task(self._quietly(channel))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _quietly(self, channel: Channel) -> int:
        try:
            return await self.deliver(channel)
        except Exception:
            log.exception("the %s outbox could not be delivered", channel)
            return 0

    async def deliver(self, channel: Channel) -> int:
        """Send what is due on ``channel``, in the order it was queued; returns how many
        messages the platform took."""
        platform = self._platforms[channel]
        sent = 0
        async with self._locks[channel]:
            self._again[channel] = True
            while self._again[channel] and not self._stopped:
                self._again[channel] = False
                done, delivered = await self._round(platform)
                sent += delivered
                # A person's next message is due once the one before it is done.
                self._again[channel] = self._again[channel] or done > 0
        return sent

    def stopping(self) -> None:
        """No new deliveries; the ones running end after their message in flight."""
        self._stopped = True

    async def stop(self) -> None:
        """``stopping``, and wait for the deliveries running."""
        self.stopping()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _round(self, platform: Platform) -> tuple[int, int]:
        """One pass over the due messages (the oldest waiting one of each person).
        Returns how many are done with and how many the platform took."""
        delivery = self._services.delivery
        done = sent = 0
        for message in await delivery.due(platform.name):
            if self._stopped:
                break
            try:
                outcome = await platform.send(Message(
                    recipient=message.recipient,
                    reply=Reply.model_validate_json(message.message),
                    template_only=message.template_only))
            except Exception as problem:  # an unreadable row (a bug, an old format)
                log.exception("outbox message %s cannot be sent", message.id)
                await delivery.refused(message, repr(problem))
                done += 1
                continue
            match outcome:
                case Sent(platform_id=platform_id):
                    await delivery.delivered(message, platform_id)
                    if platform_id:
                        await platform.taken(platform_id)
                    done += 1
                    sent += 1
                case Later(reason=reason, wait=wait, everyone=everyone):
                    await delivery.retry_later(
                        message, reason, wait=None if wait is None else timedelta(seconds=wait))
                    if everyone:
                        return done, sent  # the platform asks the whole bot to wait
                case Refused(reason=reason):
                    # Permanent: retrying would fail the same way.
                    log.error("outbox message %s refused by %s: %s", message.id,
                              platform.name, reason)
                    await delivery.refused(message, reason)
                    done += 1
                case Gone(reason=reason):
                    await self._gone(message, reason)
                    done += 1
        return done, sent

    async def _gone(self, message: OutgoingMessage, reason: str) -> None:
        person = await self._services.delivery.unreachable(message, reason)
        log.info("outbox message %s: the recipient cannot be reached", message.id)
        if person is not None and message.regarding is not None:
            await self.queue(await self._unreachable(person, message.regarding))
