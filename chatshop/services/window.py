"""What the public shop window shows, read-only: the territory's shops by commune, the
week's new products, a shop by its address, a product card. Nothing here knows of a
person: the window never shows a customer, a reservation or a member of staff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from chatshop.clock import Clock
from chatshop.domain.codes import is_slug
from chatshop.domain.models import Category, Commune, ListedProduct, Page, Shop
from chatshop.domain.parsing import check_id, page_window
from chatshop.domain.text import fold
from chatshop.errors import NotFound
from chatshop.storage.interface import Store

NEWS_WINDOW = timedelta(days=7)


def news_until(news: Sequence[ListedProduct]) -> datetime | None:
    """When the first of these news is a week old and leaves the list (None: no news;
    a product back in stock counts from its restocking while some is left)."""
    ages = []
    for item in news:
        product = item.product
        at = product.created_at
        if product.restocked_at is not None and product.available > 0:
            at = max(at, product.restocked_at)
        ages.append(at + NEWS_WINDOW)
    return min(ages, default=None)


class WindowService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def shops_by_commune(self) -> list[tuple[Commune, list[Shop]]]:
        """Every commune with an active shop, by name, each with its shops by name."""
        shops = await self._store.window.active_shops()
        communes = {c.id: c for c in await self._store.shops.communes()}
        grouped: dict[int, list[Shop]] = {}
        for shop in shops:
            grouped.setdefault(shop.commune_id, []).append(shop)
        known = [cid for cid in grouped if cid in communes]
        known.sort(key=lambda cid: (fold(communes[cid].name), cid))
        return [(communes[cid], grouped[cid]) for cid in known]

    async def news(self, limit: int = 6) -> list[ListedProduct]:
        """Products added or back in stock in the last seven days, newest first."""
        return await self._store.window.fresh_products(self._clock() - NEWS_WINDOW, limit)

    async def shop(self, slug: str) -> Shop:
        """An active shop by its slug (an inactive one is not found)."""
        shop = await self._store.window.active_shop(slug) if is_slug(slug) else None
        if shop is None:
            raise NotFound("shop", slug)
        return shop

    async def shop_products(self, shop_id: int, *, offset: int,
                            limit: int) -> Page[ListedProduct]:
        """One page of a shop's products, by name (hosted makers' ones included)."""
        offset, limit = page_window(offset, limit)
        return await self._store.window.shop_products(check_id(shop_id, "shop"),
                                                      offset=offset, limit=limit)

    async def shop_categories(self, shop_id: int) -> list[tuple[Category, int]]:
        return await self._store.window.shop_categories(check_id(shop_id, "shop"))

    async def product(self, product_id: int) -> ListedProduct:
        """A product customers can see (not hidden, not deleted, its shops active)."""
        listed = await self._store.catalogue.listed(check_id(product_id, "product"))
        if listed is None:
            raise NotFound("product", product_id)
        return listed
