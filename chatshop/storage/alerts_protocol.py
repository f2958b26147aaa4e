"""What the services need from storage for « Prévenez-moi quand il revient » (#12 §3): who
waits for which sold-out product, told once when it is back, lapsed after 60 days.

The ``AlertRepository`` protocol (part of ``storage/interface.py``'s contract, in a module of
its own for length) and the values it takes and returns. No SQL here."""

from __future__ import annotations

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


class AlertRepository(Protocol):
    """« Prévenez-moi quand il revient »."""
