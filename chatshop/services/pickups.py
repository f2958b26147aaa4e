"""Choosing when to come (#12 §4) and fairness (§5): the next opening slots of a shop up
to a reservation's deadline, the customer's choice, the morning reminder of that day,
and the reservations a customer did not collect."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from chatshop.clock import Clock
from chatshop.services.access import Access
from chatshop.storage.interface import Store


class PickupService:
    def __init__(self, store: Store, access: Access, clock: Clock, tz: ZoneInfo) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._tz = tz  # the territory's
