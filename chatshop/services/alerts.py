"""« Prévenez-moi quand il revient » (#12 §3): a customer asks to be told once when a
sold-out product is back; alerts are listed, cancelled, lapse after 60 days, and go
through the outbox."""

from __future__ import annotations

from chatshop.clock import Clock
from chatshop.services.access import Access
from chatshop.storage.interface import Store


class AlertService:
    def __init__(self, store: Store, access: Access, clock: Clock) -> None:
        self._store = store
        self._access = access
        self._clock = clock
