"""Events in and notifications out, for the channels: the inbox that recognises a
redelivered event and finishes what a stop interrupted, and the outbox that keeps every
notification until the platform has taken it."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from chatshop.clock import Clock
from chatshop.domain.models import Channel, OutgoingMessage, PendingEvent, User
from chatshop.services.images import ImageService
from chatshop.storage.interface import Store, UnitOfWork
from chatshop.storage.leases import ChatLocks

MAX_RETRY_DELAY = timedelta(minutes=5)
Outgoing = tuple[Channel, str, str, int | None]  # an outbox row: channel, to, message, about


async def queue_claimed(store: Store, messages: Mapping[int, Sequence[Outgoing]],
                        claim: Callable[[UnitOfWork, list[int]], Awaitable[Iterable[int]]],
                        now: datetime) -> set[int]:
    """Tell once: in one unit of work, ``claim`` marks the ids of ``messages`` that are
    still to be told (a reminder, an alert…) and the messages of those it marked are
    queued in the outbox. Returns the ids claimed. Of two sweeps at once, each id goes to
    one; a stop after the commit loses nothing: the messages wait in the outbox."""
    async with store.unit_of_work() as uow:
        claimed = set(await claim(uow, list(messages)))
        queued = [message for key, each in messages.items() if key in claimed
                  for message in each]
        if queued:
            await uow.outbox.add(queued, now)
        await uow.commit()
    return claimed


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 2 s, 4 s, 8 s... then every
    5 minutes, for as long as it takes (an outage ends; nothing is dropped)."""
    return min(timedelta(seconds=2 ** min(max(attempts, 1), 16)), MAX_RETRY_DELAY)


class DeliveryService:
    def __init__(self, store: Store, clock: Clock, images: ImageService | None = None) -> None:
        self._store = store
        self._clock = clock
        self._images = images if images is not None else ImageService(store, clock)

    # -- inbox ------------------------------------------------------------------------

    async def receive(self, channel: Channel, event_id: str, payload: str) -> bool:
        """Write an event down before handling it; False if it was seen before."""
        return bool(await self.receive_many(channel, [(event_id, payload)]))

    async def receive_many(self, channel: Channel,
                           events: Sequence[tuple[str, str]]) -> set[str]:
        """Write ``(event_id, payload)`` events down at once; returns the new ids."""
        return await self._store.inbox.receive(channel, events, self._clock())

    async def handled(self, channel: Channel, event_id: str) -> None:
        await self._store.inbox.handled(channel, event_id, self._clock())

    async def send_slot(self, channel: Channel, per_second: int) -> None:
        """Wait for the next message's turn in ``channel``'s overall rate, shared by the
        processes on the database (each process's own windows still apply)."""
        await self._store.send_budget.take(channel, per_second)

    async def leads(self, role: str) -> bool:
        """Whether this process does ``role``'s work for the database (taken if free)."""
        return await self._store.roles.leads(role)

    @property
    def chat_locks(self) -> ChatLocks:
        """The chats' locks across the processes on the database."""
        return self._store.chat_locks

    async def waiting(self, channel: Channel, limit: int = 1_000_000) -> list[PendingEvent]:
        """Events received and not handled yet, by whichever process."""
        return await self._store.inbox.waiting(channel, limit)

    async def take_over(self, channel: Channel, limit: int = 1_000) -> list[PendingEvent]:
        """Events received and not handled by a process that is gone (this one before a
        stop, or another one killed after it wrote them down): this process's to handle,
        at start-up and then every few seconds."""
        return await self._store.inbox.take_over(channel, limit)

    # -- outbox -----------------------------------------------------------------------

    async def queue(self, messages: list[tuple[Channel, str, str, int | None]]) -> list[int]:
        """Keep ``(channel, recipient, message, regarding)`` until delivered."""
        if not messages:
            return []
        return await self._store.outbox.add(messages, self._clock())

    async def due(self, channel: Channel, limit: int = 100) -> list[OutgoingMessage]:
        return await self._store.outbox.due(channel, self._clock(), limit)

    async def delivered(self, message: OutgoingMessage, platform_id: str | None = None
                        ) -> None:
        """Taken by the platform (``platform_id``: its id for it, for later statuses)."""
        await self._store.outbox.sent(message.id, self._clock(), platform_id)

    async def failed_later(self, channel: Channel, platform_id: str, error: str, *,
                           as_template: bool) -> str | None:
        """A status callback says a message taken earlier failed: back to the outbox
        once as a template (the free message was refused outside the 24-hour window),
        else given up (``"again"``, ``"given up"``, or None if unknown)."""
        return await self._store.outbox.failed_later(channel, platform_id, self._clock(),
                                                     error, as_template=as_template)

    async def keep_media(self, data: bytes, mime_type: str) -> str:
        """Keep a file someone sent; returns its reference (``media:<sha256>``). A photo
        (``image/*``) is cleaned and sized (``ImageService.keep``): one that is no
        picture raises ``InvalidInput`` and nothing is kept."""
        if mime_type.startswith("image/"):
            return await self._images.keep(data)
        digest = hashlib.sha256(data).hexdigest()
        await self._store.outbox.keep_media(digest, mime_type, data, self._clock())
        return f"media:{digest}"

    async def media(self, reference: str) -> tuple[str, bytes] | None:
        """A kept file's type and bytes, from its reference."""
        if not reference.startswith("media:"):
            return None
        return await self._store.outbox.media(reference.removeprefix("media:"))

    async def retry_later(self, message: OutgoingMessage, error: str,
                          wait: timedelta | None = None) -> None:
        """Not delivered this time (platform busy or down): try again after ``wait``,
        or after a delay growing with the attempts."""
        delay = wait if wait is not None else retry_delay(message.attempts + 1)
        await self._store.outbox.retry_at(message.id, self._clock() + delay, error)

    async def refused(self, message: OutgoingMessage, error: str) -> None:
        """The platform will never take this message (it says why): it ends here, kept
        with the reason for a human to read; the person's next messages go on."""
        await self._store.outbox.give_up(message.id, self._clock(), error)

    async def unreachable(self, message: OutgoingMessage, error: str) -> User | None:
        """The recipient blocked the bot: this message ends here and they are marked
        unreachable (until they write again). Returns them, if known."""
        await self._store.outbox.give_up(message.id, self._clock(), error)
        return await self._store.users.mark_unreachable(message.channel, message.recipient,
                                                        self._clock())

    async def told_about(self, reservation_id: int) -> bool:
        """Whether news of this reservation was ever queued for someone."""
        return await self._store.outbox.any_regarding(reservation_id)

    async def waiting_count(self, channel: Channel) -> int:
        return await self._store.outbox.waiting_count(channel)

    async def clean_up(self, channel: Channel, keep_events: timedelta,
                       keep_sent: timedelta = timedelta(days=7)) -> tuple[int, int]:
        """Forget handled events and delivered messages older than these; returns how
        many of each."""
        now = self._clock()
        events = await self._store.inbox.forget_handled(channel, now - keep_events)
        sent = await self._store.outbox.forget_sent(now - keep_sent)
        return events, sent
