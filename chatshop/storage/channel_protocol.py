"""What the services need from storage for the territory's channel: the
``ChannelPostRepository`` protocol (part of ``storage/interface.py``'s contract, in a
module of its own for length) and the values it takes and returns. No SQL here."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple, Protocol

from chatshop.domain.models import ListedProduct


class ChannelMark(NamedTuple):
    """A shop in the territory's channel: its last post, and how far its news is covered."""
    posted_at: datetime | None
    covered_to: datetime


class ChannelChange(NamedTuple):
    """A piece of a shop's news for the channel: a product ``new`` on the shelves or
    ``back`` in stock, or what the shop ``said`` (its announcement)."""
    shop_id: int
    at: datetime
    kind: Literal["new", "back", "said"]
    commune_name: str
    product: ListedProduct | None = None
    text: str = ""
    waits: bool = False  # not to be posted yet (its shop is on holiday)


class ChannelPostRepository(Protocol):
    """The territory's channel: its feed, the shops' watermarks, and their news."""

    async def start(self, chat: str, now: datetime) -> tuple[datetime, bool]:
        ...

    async def waiting(self, chat: str) -> int:
        ...

    async def marks(self, chat: str) -> dict[int, ChannelMark]:
        ...

    async def advance(self, chat: str, covered_to: datetime) -> None:
        ...

    async def changes(self, chat: str, since: datetime) -> list[ChannelChange]:
        ...

    async def covered(self, chat: str, shop_id: int, covered_to: datetime,
                      posted_at: datetime | None, outbox_id: int | None) -> None:
        ...

    async def trouble(self, chat: str, reason: str, now: datetime) -> bool:
        ...

    async def reached(self, chat: str) -> bool:
        ...
