"""What a platform says of one message, and what a channel is to the delivery runtime.

A channel (Telegram, WhatsApp) turns platform events into ``Inbound``s and shows replies
in the chat of the person who wrote; everything else it sends (notifications, digests) goes
through the runtime, which asks it for one message at a time with ``Platform.send`` and
reads the ``Outcome``: the runtime alone decides what to record, retry or tell the shop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from chatshop.conversation.messages import Reply
from chatshop.domain.models import Channel


@dataclass(frozen=True)
class Sent:
    """The platform took the message (``platform_id``: its id, for later statuses)."""

    platform_id: str | None = None


@dataclass(frozen=True)
class Refused:
    """The platform will never take this message as it is (``reason``: its words);
    ``outside_window``: refused only because the person's 24-hour window is closed."""

    reason: str
    outside_window: bool = False


@dataclass(frozen=True)
class Later:
    """Not now (busy platform, network): try again after ``wait`` seconds (None: a delay
    growing with the attempts). ``everyone``: the platform asks the whole bot to wait."""

    reason: str
    wait: float | None = None
    everyone: bool = False


@dataclass(frozen=True)
class Gone:
    """The person cannot be reached any more (they blocked the bot, left the platform)."""

    reason: str


Outcome = Sent | Refused | Later | Gone


class Purpose(StrEnum):
    """Why a message is sent, which decides how a platform may send it (WhatsApp: as an
    approved template outside the 24-hour window, a different one for each)."""

    NOTIFICATION = "notification"  # news for someone else: a reservation, a reminder
    DIGEST = "digest"  # the weekly digest, to a subscriber


@dataclass(frozen=True)
class Message:
    """One message for a platform to send: ``reply`` to ``recipient`` (their id on the
    platform). ``summary`` and ``quick_replies`` are what to say instead where only an
    approved template may go (the digest in one line, and the payloads of its two
    buttons); ``template_only``: the platform said the free message cannot go."""

    recipient: str
    reply: Reply
    purpose: Purpose = Purpose.NOTIFICATION
    summary: str | None = None
    quick_replies: tuple[str, ...] = ()
    template_only: bool = False


class Platform(Protocol):
    """A channel as the delivery runtime sees it."""

    @property
    def name(self) -> Channel: ...

    @property
    def keep_events(self) -> timedelta:
        """How long a handled event is remembered, to recognise a redelivery."""
        ...

    def pieces(self, reply: Reply) -> list[Reply]:
        """``reply`` cut into the messages the platform will show (one outbox row each,
        so that a retry never sends a piece twice)."""
        ...

    async def send(self, message: Message) -> Outcome:
        """Send one message and say what became of it; never raises for what the
        platform answers (an unexpected error is the runtime's to record)."""
        ...

    async def taken(self, platform_id: str) -> None:
        """The runtime has recorded the message ``platform_id`` as sent: a status about
        it that came first (WhatsApp's callbacks may) can be applied now."""
        ...


@runtime_checkable
class TakesOver(Protocol):
    """A platform that handles, every few seconds, what a process killed after writing
    it down left unhandled (``take_over``; several processes on one database)."""

    async def take_over(self) -> int: ...
