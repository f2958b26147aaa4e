"""What the services need from storage for pickup times and fairness (#12 §4-5): the slot a
customer chose, the reminders of the day, the reservations not picked up.

The ``PickupRepository`` protocol (part of ``storage/interface.py``'s contract, in a module of
its own for length) and the values it takes and returns. No SQL here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class PickupRepository(Protocol):
    """When customers come."""

    async def choose(self, reservation_id: int, user_id: int, starts: datetime | None,
                     ends: datetime | None, *, reminded_at: datetime | None) -> bool:
        """Record the slot ``user_id`` chose for their own live chat reservation (both
        None: « I do not know yet »), never past its deadline, and when its morning
        reminder went (None: it is owed). False, and nothing changed, when it is not
        theirs, not live, by phone, or the slot ends after the deadline."""
        ...

    async def not_collected(self, user_id: int, shop_id: int) -> int:
        """How many of ``user_id``'s chat reservations at ``shop_id`` expired, never
        picked up."""
        ...

    async def due_for_pickup_reminder(self, starts_after: datetime, starts_before: datetime,
                                      now: datetime) -> list[tuple[int, int]]:
        """Live chat reservations whose chosen slot starts in [after, before) and has not
        ended at ``now``, whose morning reminder has not gone: (id, shop id) pairs, by
        slot start."""
        ...

    async def claim_pickup_reminders(self, reservation_ids: Sequence[int],
                                     now: datetime) -> list[int]:
        """Mark these reminded now, those still live, with a slot and not reminded yet
        (one statement: of two sweeps at once, each goes to one); the ids marked."""
        ...
