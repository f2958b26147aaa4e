"""What the window tells machines: every address worth indexing (the sitemap's shops
and products, a chunk at a time) and when anything it shows may have changed (the
change stamp its ETags are made of). Read-only, never a person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from chatshop.domain.models import Product, Shop
from chatshop.storage.interface import Store

CHUNK = 500  # products read at a time: ~10 ms of the loop each, memory stays flat


class SitemapService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def stamp(self) -> str:
        """Changes whenever anything was committed to the database (``Store.change_stamp``)."""
        return self._store.change_stamp()

    async def shops(self) -> list[tuple[Shop, datetime]]:
        """Every active shop, with when its page last changed as far as the data tells."""
        return await self._store.sitemap.shops()

    async def product_count(self) -> int:
        return await self._store.sitemap.product_count()

    async def products(self, *, skip: int = 0, limit: int | None = None
                       ) -> AsyncIterator[Product]:
        """Listed products by id, past the first ``skip``, at most ``limit`` (None:
        all), read ``CHUNK`` at a time (after the last id seen: no growing offset)."""
        after, left = 0, limit
        while left is None or left > 0:
            size = CHUNK if left is None else min(CHUNK, left)
            chunk = await self._store.sitemap.products(after_id=after, skip=skip, limit=size)
            skip = 0
            for product in chunk:
                yield product
            if len(chunk) < size:
                return
            after = chunk[-1].id
            if left is not None:
                left -= len(chunk)
