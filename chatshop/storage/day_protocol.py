"""What the services need from storage for the shop's day (#12 §2): its live reservations
for the day's list, and the messages told to its staff once a period (the morning message,
the Monday figures).

The ``DayRepository`` protocol (part of ``storage/interface.py``'s contract, in a module of
its own for length) and the values it takes and returns. No SQL here."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from chatshop.domain.models import Reservation

# What a shop's staff are told once a period: « morning » once a day (period
# « 2026-12-07 »), « figures » once a week (« 2026-W50 »).
MessageKind = Literal["morning", "figures"]

LIVE_LIMIT = 500  # a shop's live reservations read at once for the day's list


class DayRepository(Protocol):
    """The shop's day."""

    async def live(self, shop_id: int, limit: int = LIVE_LIMIT) -> list[Reservation]:
        """The shop's live reservations (pending, ready) with their lines and contact,
        soonest deadline first, at most ``limit``."""
        ...

    async def morning_shops(self) -> list[int]:
        """The shops whose staff asked for the morning message, active and not closed
        for the holidays, by id."""
        ...

    async def was_told(self, shop_id: int, kind: MessageKind, period: str) -> bool:
        """Whether the shop's ``kind`` message of ``period`` is already claimed (a cheap
        look before composing it; the claim itself decides)."""
        ...

    async def claim_message(self, shop_id: int, kind: MessageKind, period: str,
                            now: datetime) -> bool:
        """Record that the shop's ``kind`` message of ``period`` is told now; False when
        it already was (by another sweep, before a restart): then tell nothing. Claim it
        in the unit of work that writes the message's outbox rows."""
        ...
