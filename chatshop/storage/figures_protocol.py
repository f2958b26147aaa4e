"""What the services need from storage for the week's figures (#12 §6): reservations by
week, outcome and source, the most reserved products; one query per figure.

The ``FiguresRepository`` protocol (part of ``storage/interface.py``'s contract, in a module of
its own for length) and the values it takes and returns. No SQL here.

``shop_id`` names the pickup shop (a reservation's ``shop_id``: a hosted maker's products
count for the shop where they are collected); None means the whole territory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, NamedTuple, Protocol

Outcome = Literal["collected", "expired", "cancelled"]  # cancelled: by customer or shop
Source = Literal["chat", "phone"]


class WeekCount(NamedTuple):
    """How many reservations closed in week ``week`` (its index in the bounds given) with
    that outcome, made from that source."""
    week: int
    outcome: Outcome
    source: Source
    reservations: int


class ReservedProduct(NamedTuple):
    """A product and the units of it reserved (its name today, else the one it had)."""
    product_id: int
    name: str
    units: int


class FiguresRepository(Protocol):
    """The week's figures."""

    async def closed_by_week(self, weeks: Sequence[tuple[datetime, datetime]],
                             shop_id: int | None) -> list[WeekCount]:
        """The reservations closed (``closed_at``) in each ``[start, end)`` of ``weeks``,
        counted per week, outcome and source; pairs without any are left out."""
        ...

    async def most_reserved(self, since: datetime, until: datetime, shop_id: int | None,
                            limit: int = 5) -> list[ReservedProduct]:
        """The products with the most units in the reservations made in ``[since,
        until)`` and not cancelled (collected, expired or still held), most first."""
        ...

    async def weekly_shops(self, period: str) -> list[int]:
        """The active shops that asked for the Monday figures and were not told of
        ``period`` (« 2026-W50 ») yet."""
        ...
