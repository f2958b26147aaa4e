"""The ``Store`` protocol's part for the public shop window's reads (beside
``storage/interface.py``, which imports it): read-only, no SQL here."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chatshop.domain.models import Category, ListedProduct, Page, Shop


class WindowRepository(Protocol):
    """What the public shop window reads that the chat does not."""

    async def active_shops(self) -> list[Shop]:
        """Every active shop (on holiday too), by name, with its hours."""
        ...

    async def fresh_products(self, since: datetime, limit: int) -> list[ListedProduct]:
        """Listed products added or back in stock after ``since``, newest first."""
        ...

    async def active_shop(self, slug: str) -> Shop | None:
        """An active shop by its slug."""
        ...

    async def shop_products(self, shop_id: int, *, offset: int,
                            limit: int) -> Page[ListedProduct]:
        """One page of a shop's listed products (its own and those it hosts), by name."""
        ...

    async def shop_categories(self, shop_id: int) -> list[tuple[Category, int]]:
        """The categories of a shop's listed products, with how many each."""
        ...
