"""What the public shop window reads that the chat does not: every active shop at once
(the home page lists them by commune), the week's new products, and one shop's page of
products with its categories. Read-only; the listing rules are the catalogue's
(``LISTED_JOINS``, ``VISIBLE``).

Every read here runs on the event loop's connection (``lookup`` for the shop by its
slug, ``read_briefly`` for the rest: a few hundred rows at most, under a millisecond):
a window page waits for no reader thread, which under load costs more than the read."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from chatshop.domain.models import Category, ListedPage, ListedProduct, Page, Shop
from chatshop.storage import rows
from chatshop.storage.database import Connections
from chatshop.storage.listing import LISTED_JOINS, PICKUP, VISIBLE

_COLUMNS = ("p.*, maker.name AS maker_name, pickup.name AS pickup_shop_name,"
            f" c.name AS commune_name, {rows.PRODUCT_PHOTOS}")
# A shop of 500 products is sorted in ~1.5 ms on a busy machine (its names folded one by
# one, ``sort_key``): still less than the hop to a reader thread and back under load.
SHOP_PAGE_BUDGET_S = 0.005


def _listed(found: list[sqlite3.Row]) -> list[ListedProduct]:
    return [ListedProduct(product=rows.product(r), maker_name=r["maker_name"],
                          pickup_shop_name=r["pickup_shop_name"],
                          commune_name=r["commune_name"]) for r in found]


class SqliteWindowRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db

    async def active_shops(self) -> list[Shop]:
        """Every active shop (on holiday too), by name, with its hours: one query."""
        found = await self._db.read_briefly(
            f"{rows.SHOP_SELECT} WHERE s.active = 1 ORDER BY sort_key(s.name), s.id")
        return [rows.shop(r) for r in found]

    async def active_shop(self, slug: str) -> Shop | None:
        """An active shop by its slug (through the slug's unique index)."""
        found = await self._db.lookup(f"{rows.SHOP_SELECT} WHERE s.slug = ? AND s.active = 1",
                                (slug,))
        return rows.shop(found[0]) if found else None

    async def fresh_products(self, since: datetime, limit: int) -> list[ListedProduct]:
        """Listed products added, or back in stock, after ``since``, newest first: at
        most ``limit``; a product back in stock counts only while some is left."""
        # The newest of each kind through its index (added: by creation, back: by
        # restocking), the newest few of both, then the rows of those few only.
        found = await self._db.read_briefly(
            f"""WITH fresh AS (
                    SELECT * FROM (
                        SELECT p.id, p.created_at AS at FROM products p {LISTED_JOINS}
                        WHERE {VISIBLE} AND p.created_at > :since
                        ORDER BY p.created_at DESC LIMIT :limit)
                    UNION ALL
                    SELECT * FROM (
                        SELECT p.id, p.restocked_at AS at FROM products p {LISTED_JOINS}
                        WHERE {VISIBLE} AND p.restocked_at > :since
                          AND p.on_hand > p.reserved
                        ORDER BY p.restocked_at DESC LIMIT :limit)),
                newest AS (
                    SELECT id, max(at) AS at FROM fresh GROUP BY id
                    ORDER BY at DESC, id DESC LIMIT :limit)
                SELECT {_COLUMNS} FROM newest JOIN products p ON p.id = newest.id
                    {LISTED_JOINS}
                ORDER BY newest.at DESC, newest.id DESC""",
            {"since": rows.to_db_time(since), "limit": limit})
        return _listed(found)

    async def shop_products(self, shop_id: int, *, offset: int,
                            limit: int) -> Page[ListedProduct]:
        """One page of what customers see in a shop (its own products and those it
        hosts), by name, and how many there are: one query. Past the last page the
        total is not known (no row carries it) and is given as 0."""
        # Sort and count ids alone, then load the page's rows only (their photos and
        # names): sorting whole rows computed every photo of the shop.
        found = await self._db.read_briefly(
            f"""WITH page AS (
                    SELECT p.id, sort_key(p.name) AS sort, count(*) OVER () AS total
                    FROM products p {LISTED_JOINS}
                    WHERE {VISIBLE} AND {PICKUP} = :shop
                    ORDER BY sort, p.id LIMIT :limit OFFSET :offset)
                SELECT {_COLUMNS}, page.total
                FROM page JOIN products p ON p.id = page.id {LISTED_JOINS}
                ORDER BY page.sort, page.id""",
            {"shop": shop_id, "limit": limit, "offset": offset}, budget=SHOP_PAGE_BUDGET_S)
        total = int(found[0]["total"]) if found else 0
        return ListedPage(items=tuple(_listed(found)), total=total, offset=offset,
                          limit=limit)

    async def shop_categories(self, shop_id: int) -> list[tuple[Category, int]]:
        """The categories of a shop's listed products, with how many each."""
        found = await self._db.read_briefly(
            f"""SELECT cat.*, count(*) AS products
                FROM products p JOIN categories cat ON cat.id = p.category_id
                {LISTED_JOINS}
                WHERE {VISIBLE} AND {PICKUP} = :shop AND cat.active = 1
                GROUP BY cat.id ORDER BY cat.position, cat.name""", {"shop": shop_id})
        return [(rows.category(r), int(r["products"])) for r in found]
