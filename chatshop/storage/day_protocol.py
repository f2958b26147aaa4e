"""What the services need from storage for the shop's day (#12 §2): its live reservations
for the day's list, and the messages told to its staff once a period (the morning message,
the Monday figures).

The ``DayRepository`` protocol (part of ``storage/interface.py``'s contract, in a module of
its own for length) and the values it takes and returns. No SQL here."""

from __future__ import annotations

from typing import Protocol


class DayRepository(Protocol):
    """The shop's day."""
