"""What the services need from storage for « Prévenez-moi quand il revient » (#12 §3): who
waits for which sold-out product, told once when it is back, lapsed after 60 days.

The ``AlertRepository`` protocol (part of ``storage/interface.py``'s contract, in a module of
its own for length) and the values it takes and returns. No SQL here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from chatshop.domain.models import Model


class ProductAlert(Model):
    """« Prévenez-moi quand il revient »: someone waits for a sold-out product; told
    once (``told_at``) when it is back, lapsed at ``expires_at``."""

    id: int
    user_id: int
    product_id: int
    created_at: datetime
    expires_at: datetime
    told_at: datetime | None = None


class AlertLine(Model):
    """One alert as its owner sees it: the product's name and price, and the shop where
    it is collected (the host for a hosted product)."""

    alert: ProductAlert
    product_name: str
    price_cents: int
    shop_id: int
    shop_name: str


class AlertRepository(Protocol):
    """« Prévenez-moi quand il revient »."""

    async def ask(self, user_id: int, product_id: int, now: datetime,
                  expires_at: datetime) -> tuple[ProductAlert | None, bool]:
        """Record that this person waits for this product: the alert, and whether this
        call made it (False: one was open already, and it is returned unchanged). A
        lapsed open alert of theirs for it is replaced. ``(None, False)`` when units are
        available at that moment (looked at in the same transaction): nothing stored."""
        ...

    async def open_for(self, user_id: int, product_id: int,
                       now: datetime) -> ProductAlert | None:
        """Their alert still waiting for this product, if any."""
        ...

    async def has_asked_before(self, user_id: int) -> bool:
        """Whether this person has any alert (open, told or lapsed but not cleaned)."""
        ...

    async def open_of_user(self, user_id: int, now: datetime,
                           limit: int = 20) -> list[AlertLine]:
        """Their alerts still waiting (not told, not lapsed), soonest to lapse first."""
        ...

    async def of_user(self, user_id: int) -> list[AlertLine]:
        """Every alert of theirs the database holds (for the export), oldest first."""
        ...

    async def cancel(self, user_id: int, alert_id: int) -> bool:
        """Delete their open alert; False when it is not theirs, told, or gone."""
        ...

    async def waiting(self, product_id: int, now: datetime) -> int:
        """How many people wait for this product (open, not lapsed)."""
        ...

    async def due(self, now: datetime, limit: int = 200) -> list[AlertLine]:
        """Open, unlapsed alerts whose product is back: listed (not hidden, not deleted,
        its shops active, its hosting accepted), its pickup shop not on holiday, with
        units available; oldest first."""
        ...

    async def claim(self, alert_ids: Sequence[int], now: datetime) -> list[int]:
        """Mark these alerts told now, those still open and unlapsed (one statement: of
        two sweeps, each alert goes to one); returns the ids this call marked."""
        ...

    async def drop_finished(self, now: datetime) -> int:
        """Delete the alerts done with: told, past their ``expires_at``, or whose product
        was deleted; how many went."""
        ...
