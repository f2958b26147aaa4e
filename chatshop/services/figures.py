"""The week's figures (#12 §6): the last 8 weeks' reservations (picked up, expired,
cancelled; phone and chat apart) and the most reserved products, for a shop's staff
or the territory's operator; the chart is drawn elsewhere (``chatshop.charts``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from chatshop.clock import Clock
from chatshop.services.access import Access
from chatshop.storage.interface import Store


class FiguresService:
    def __init__(self, store: Store, access: Access, clock: Clock, tz: ZoneInfo) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._tz = tz  # the territory's
