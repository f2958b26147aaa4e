"""What the services need from storage for pickup times and fairness (#12 §4-5): the slot a
customer chose, the reminders of the day, the reservations not picked up.

The ``PickupRepository`` protocol (part of ``storage/interface.py``'s contract, in a module of
its own for length) and the values it takes and returns. No SQL here."""

from __future__ import annotations

from typing import Protocol


class PickupRepository(Protocol):
    """When customers come."""
