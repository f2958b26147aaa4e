"""The shop's day (#12 §2): the reservations to prepare and to hand over today, the late
ones, and the staff's morning message at the shop's opening on opening days."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from chatshop.clock import Clock
from chatshop.services.access import Access
from chatshop.storage.interface import Store


class DayService:
    def __init__(self, store: Store, access: Access, clock: Clock, tz: ZoneInfo) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._tz = tz  # the territory's
