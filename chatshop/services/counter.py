"""At the counter and on the phone (#12 §1): reservations the staff take for someone
(« /reserver savon x2 pour Mme Dupont 06 12 34 56 78 »), sales at the counter
(« /vendu savon 2 »), and the personal data of those reservations (shown to the staff
only, exported or erased on request, dropped 30 days after the reservation closed)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from chatshop.clock import Clock
from chatshop.services.access import Access
from chatshop.storage.interface import Store


class CounterService:
    def __init__(self, store: Store, access: Access, clock: Clock, tz: ZoneInfo) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._tz = tz  # the territory's
