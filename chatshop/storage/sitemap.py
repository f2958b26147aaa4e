"""What the window's sitemap reads: every active shop with when its page last changed,
and every listed product, by id, a chunk at a time (a territory of 10 000 products is
never loaded at once). Read-only; the listing rules are the catalogue's (``VISIBLE``)."""

from __future__ import annotations

from datetime import datetime

from chatshop.domain.models import Product, Shop
from chatshop.storage import rows
from chatshop.storage.database import Connections
from chatshop.storage.listing import LISTED_JOINS, VISIBLE

_LISTED = f"FROM products p {LISTED_JOINS} WHERE {VISIBLE}"


class SqliteSitemapRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db

    async def shops(self) -> list[tuple[Shop, datetime]]:
        """Every active shop by id, with the last change the database records of its
        page: its creation, its announcement, the last change to a product it lists."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, f"{rows.SHOP_SELECT} WHERE s.active = 1 ORDER BY s.id")
            changed = await rows.fetch_all(
                conn, "SELECT COALESCE(p.host_shop_id, p.shop_id) AS pickup,"
                      f" MAX(p.updated_at) AS changed {_LISTED} GROUP BY pickup")
        last = {r["pickup"]: rows.from_db_time(r["changed"]) for r in changed}
        listed = []
        for row in found:
            shop = rows.shop(row)
            moments = [shop.created_at, *(m for m in (shop.announcement_at,
                                                     last.get(shop.id)) if m)]
            listed.append((shop, max(moments)))
        return listed

    async def product_count(self) -> int:
        """How many products customers can see."""
        async with self._db.read() as conn:
            return int(await rows.fetch_value(conn, f"SELECT count(*) {_LISTED}"))

    async def products(self, *, after_id: int = 0, skip: int = 0,
                       limit: int = 1000) -> list[Product]:
        """Listed products by id: those after ``after_id``, past the first ``skip`` of
        them, at most ``limit``."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, f"SELECT p.*, {rows.PRODUCT_PHOTOS} {_LISTED} AND p.id > ?"
                      " ORDER BY p.id LIMIT ? OFFSET ?", (after_id, limit, skip))
        return [rows.product(r) for r in found]
