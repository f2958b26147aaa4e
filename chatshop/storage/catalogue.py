"""Categories, products, stock and its ledger, catalogue listings; the full-text search
is ``catalogue_search``'s part of the repository."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from chatshop.domain.limits import MAX_STOCK
from chatshop.domain.models import (
    Category,
    Channel,
    ListedPage,
    ListedProduct,
    NewProduct,
    Page,
    Product,
    ProductChanges,
    ProductPage,
    ProductRow,
    StockMovement,
    StockReason,
)
from chatshop.domain.product_csv import product_key
from chatshop.errors import (
    Conflict,
    ImportBelowReserved,
    NotEnoughOnHand,
    NotFound,
    StillReserved,
    StockBelowReserved,
    StockChanged,
    StockOutOfRange,
)
from chatshop.storage import rows
from chatshop.storage.catalogue_search import CatalogueSearch
from chatshop.storage.database import Connections
from chatshop.storage.listing import (
    LISTED,
    LISTED_COLUMNS,
    LISTED_JOINS,
    PICKUP,
    VISIBLE,
    listed_products,
)
from chatshop.storage.postgres_search import PostgresCatalogueSearch, PostgresSearchVocabulary
from chatshop.storage.search_index import (
    IndexWords,
    SearchVocabulary,
    index_product,
    unindex_product,
)


async def _product(conn: aiosqlite.Connection, product_id: int) -> Product:
    row = await rows.fetch_one(
        conn, f"SELECT p.*, {rows.PRODUCT_PHOTOS} FROM products p"
        " WHERE p.id = ? AND p.deleted_at IS NULL", (product_id,))
    if row is None:  # a deleted product is gone for everyone
        raise NotFound("product", product_id)
    return rows.product(row)


class _Catalogue:
    """The catalogue on either engine, but for its search (``CatalogueSearch`` on SQLite,
    ``PostgresCatalogueSearch`` on PostgreSQL, mixed in below)."""

    def __init__(self, db: Connections, vocabulary: IndexWords | None = None) -> None:
        self._db = db
        postgresql = db.engine == "postgresql"
        self._vocabulary: IndexWords = vocabulary if vocabulary is not None else (
            PostgresSearchVocabulary(db) if postgresql else SearchVocabulary(db))

    # -- categories -------------------------------------------------------------------

    async def categories(self, *, include_inactive: bool = False) -> list[Category]:
        where = "" if include_inactive else "WHERE active = 1"
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, f"SELECT * FROM categories {where} ORDER BY position, name"
            )
        return [rows.category(r) for r in found]

    async def category(self, category_id: int) -> Category | None:
        async with self._db.read() as conn:
            row = await rows.fetch_one(conn, "SELECT * FROM categories WHERE id = ?",
                                       (category_id,))
        return None if row is None else rows.category(row)

    async def save_category(self, name: str, *, category_id: int | None = None,
                            position: int | None = None, active: bool = True) -> Category:
        """Add a category (``category_id`` None) or rename / move / (de)activate one."""
        async with self._db.write() as conn:
            try:
                if category_id is None:
                    row = await rows.fetch_one(
                        conn,
                        "INSERT INTO categories (name, position, active) VALUES (?,"
                        " COALESCE(?, (SELECT COALESCE(max(position), 0) + 10 FROM categories)),"
                        " ?) RETURNING *",
                        (name, position, int(active)),
                    )
                else:
                    row = await rows.fetch_one(
                        conn,
                        "UPDATE categories SET name = ?, position = COALESCE(?, position),"
                        " active = ? WHERE id = ? RETURNING *",
                        (name, position, int(active), category_id),
                    )
            except rows.INTEGRITY_ERRORS:
                raise Conflict("category", name) from None
        if row is None:
            raise NotFound("category", category_id)
        return rows.category(row)

    # -- products ---------------------------------------------------------------------

    async def add_product(self, shop_id: int, new: NewProduct, user_id: int | None,
                          now: datetime) -> Product:
        stamp = rows.to_db_time(now)
        async with self._db.write() as conn:
            row = await rows.fetch_one(
                conn,
                """INSERT INTO products (shop_id, name, description, price_cents, category_id,
                       on_hand, created_at, updated_at, restocked_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                (shop_id, new.name, new.description, new.price_cents, new.category_id,
                 new.on_hand, stamp, stamp, stamp if new.on_hand else None),
            )
            assert row is not None
            product_id = int(row["id"])
            await index_product(conn, product_id, new.name, new.description,
                                engine=self._db.engine)
            if new.on_hand:
                await record_movement(conn, product_id, user_id, new.on_hand, new.on_hand,
                              StockReason.CREATED, None, now)
            if new.photo is not None:
                await _set_photo(conn, product_id, *new.photo)
            return await _product(conn, product_id)

    async def import_products(self, shop_id: int, lines: Sequence[ProductRow],
                              user_id: int | None, now: datetime) -> tuple[int, int]:
        """Create or update the products of ``lines`` for maker ``shop_id``, all in one
        transaction; returns how many were created and how many changed.

        A line whose name matches a product of that shop (``product_key``: case, accents
        and spaces aside; the oldest if several do) updates it: name, price, and what the
        line gives of stock (set, with a ledger line), category, description and hidden.
        Other lines create products (stock with a ``CREATED`` ledger line). A stock below
        what customers have reserved raises ``ImportBelowReserved`` and nothing changes.
        """
        stamp = rows.to_db_time(now)
        created = updated = 0
        async with self._db.write() as conn:
            existing: dict[str, Product] = {}
            for row in await rows.fetch_all(
                    conn, f"SELECT p.*, {rows.PRODUCT_PHOTOS} FROM products p"
                    " WHERE p.shop_id = ? AND p.deleted_at IS NULL ORDER BY p.id", (shop_id,)):
                product = rows.product(row)
                existing.setdefault(product_key(product.name), product)
            for line in lines:
                current = existing.get(product_key(line.name))
                if current is None:
                    on_hand = line.on_hand or 0
                    found = await rows.fetch_one(
                        conn,
                        """INSERT INTO products (shop_id, name, description, price_cents,
                               category_id, on_hand, hidden, created_at, updated_at,
                               restocked_at)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                        (shop_id, line.name, line.description or "", line.price_cents,
                         line.category_id, on_hand, int(bool(line.hidden)), stamp, stamp,
                         stamp if on_hand else None),
                    )
                    assert found is not None
                    product_id = int(found["id"])
                    await index_product(conn, product_id, line.name, line.description or "",
                                        engine=self._db.engine)
                    if on_hand:
                        await record_movement(conn, product_id, user_id, on_hand, on_hand,
                                              StockReason.CREATED, None, now)
                    existing[product_key(line.name)] = Product(
                        id=product_id, shop_id=shop_id, name=line.name,
                        description=line.description or "", price_cents=line.price_cents,
                        category_id=line.category_id, on_hand=on_hand, reserved=0,
                        hidden=bool(line.hidden), created_at=now, updated_at=now)
                    created += 1
                    continue
                target = current.on_hand if line.on_hand is None else line.on_hand
                if target < current.reserved:
                    raise ImportBelowReserved(current.reserved, line.name, line.line)
                wanted = current.model_copy(update={
                    "name": line.name,
                    "price_cents": line.price_cents,
                    "on_hand": target,
                    # An empty cell (None) leaves what the product has.
                    "category_id": (current.category_id if line.category_id is None
                                    else line.category_id),
                    "description": (current.description if line.description is None
                                    else line.description),
                    "hidden": current.hidden if line.hidden is None else line.hidden,
                })
                if wanted == current:
                    continue
                delta = target - current.on_hand
                await conn.execute(
                    """UPDATE products SET name = ?, price_cents = ?, on_hand = ?,
                           category_id = ?, description = ?, hidden = ?, updated_at = ?,
                           restocked_at = CASE WHEN ? > 0 AND on_hand <= reserved THEN ?
                                          ELSE restocked_at END
                       WHERE id = ?""",
                    (wanted.name, wanted.price_cents, target, wanted.category_id,
                     wanted.description, int(wanted.hidden), stamp, delta, stamp, current.id),
                )
                if (wanted.name, wanted.description) != (current.name, current.description):
                    await index_product(conn, current.id, wanted.name, wanted.description,
                                        engine=self._db.engine)
                if delta:
                    await record_movement(conn, current.id, user_id, delta, target,
                                          StockReason.SET, None, now)
                existing[product_key(line.name)] = wanted
                updated += 1
        return created, updated

    async def get(self, product_id: int) -> Product | None:
        async with self._db.read() as conn:
            try:
                return await _product(conn, product_id)
            except NotFound:
                return None

    async def update_product(self, product_id: int, changes: ProductChanges,
                             now: datetime) -> Product:
        values = changes.model_dump(exclude_none=True)
        async with self._db.write() as conn:
            if values:
                assignments = ", ".join(f"{column} = :{column}" for column in values)
                await conn.execute(
                    f"UPDATE products SET {assignments}, updated_at = :now WHERE id = :id",
                    {**values, "now": rows.to_db_time(now), "id": product_id},
                )
            product = await _product(conn, product_id)
            if values.keys() & {"name", "description"}:
                await index_product(conn, product_id, product.name, product.description,
                                    engine=self._db.engine)
            return product

    async def set_photo(self, product_id: int, channel: Channel, file_ref: str) -> None:
        async with self._db.write() as conn:
            await _set_photo(conn, product_id, channel, file_ref)

    async def delete_product(self, product_id: int, now: datetime) -> Product:
        """Take a product out of the shop for good: its list, the search, every basket.
        Refused (``StillReserved``) while customers hold reservations of it; the row
        stays for the history of past reservations and of its stock."""
        async with self._db.write() as conn:
            product = await _product(conn, product_id)
            if product.reserved:
                raise StillReserved(product.name, product.reserved)
            await conn.execute(
                "UPDATE products SET deleted_at = ?, hidden = 1, updated_at = ? WHERE id = ?",
                (rows.to_db_time(now), rows.to_db_time(now), product_id))
            await conn.execute("DELETE FROM basket_lines WHERE product_id = ?", (product_id,))
            await unindex_product(conn, product_id)
        return product

    async def place(self, product_id: int, host_shop_id: int | None, now: datetime) -> Product:
        """Display a product at a host shop (``None``: back at its maker's)."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE products SET host_shop_id = ?, updated_at = ? WHERE id = ?",
                (host_shop_id, rows.to_db_time(now), product_id),
            )
            return await _product(conn, product_id)

    async def listed(self, product_id: int) -> ListedProduct | None:
        """The product as customers see it, or ``None`` if it is not listed anywhere."""
        listed = listed_products(await self._db.lookup(
            f"SELECT {LISTED_COLUMNS} {LISTED} AND p.id = ?", (product_id,)))
        return listed[0] if listed else None

    async def listed_ids(self, product_ids: list[int]) -> set[int]:
        """Which of these products customers can currently see and reserve."""
        marks = ", ".join("?" * len(product_ids))
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, f"SELECT p.id {LISTED} AND p.id IN ({marks})", product_ids)
        return {r[0] for r in found}

    async def shop_catalogue(self, shop_id: int, *, category_id: int | None = None,
                             offset: int = 0, limit: int = 8) -> Page[ListedProduct]:
        """What customers see in one shop: its own products and those it hosts."""
        where = (f"{LISTED} AND {PICKUP} = :shop"
                 " AND (:category IS NULL OR p.category_id = :category)")
        params = {"shop": shop_id, "category": category_id, "offset": offset, "limit": limit}
        async with self._db.read() as conn:
            total = await rows.fetch_value(conn, f"SELECT count(*) {where}", params)
            found = await rows.fetch_all(
                conn,
                f"SELECT {LISTED_COLUMNS} {where} ORDER BY sort_key(p.name), p.id"
                " LIMIT :limit OFFSET :offset",
                params,
            )
            items = listed_products(found)
        return ListedPage(items=tuple(items), total=total, offset=offset, limit=limit)

    async def shop_categories(self, shop_id: int) -> list[tuple[Category, int]]:
        """The categories present in a shop's catalogue, with how many products each."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn,
                f"""SELECT cat.*, count(*) AS products
                    FROM products p JOIN categories cat ON cat.id = p.category_id
                    {LISTED_JOINS}
                    WHERE {VISIBLE} AND {PICKUP} = ? AND cat.active = 1
                    GROUP BY cat.id ORDER BY cat.position, cat.name""",
                (shop_id,),
            )
        return [(rows.category(r), int(r["products"])) for r in found]

    async def products_of_maker(self, shop_id: int, *, offset: int = 0,
                                limit: int = 8) -> Page[Product]:
        """Everything a shop makes, hidden products included: the shopkeeper's own view."""
        async with self._db.read() as conn:
            total = await rows.fetch_value(
                conn, "SELECT count(*) FROM products WHERE shop_id = ? AND deleted_at IS NULL",
                (shop_id,))
            found = await rows.fetch_all(
                conn,
                f"SELECT p.*, {rows.PRODUCT_PHOTOS} FROM products p"
                " WHERE p.shop_id = ? AND p.deleted_at IS NULL"
                " ORDER BY sort_key(p.name), p.id LIMIT ? OFFSET ?",
                (shop_id, limit, offset),
            )
        items = tuple(rows.product(r) for r in found)
        return ProductPage(items=items, total=total, offset=offset, limit=limit)

    async def maker_product_ids(self, shop_id: int) -> list[int]:
        """The ids of every product a shop makes, hidden ones included, in the order of
        ``products_of_maker``: sorted once, to read the products a page at a time."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, "SELECT id FROM products WHERE shop_id = ? AND deleted_at IS NULL"
                " ORDER BY sort_key(name), id", (shop_id,))
        return [int(r[0]) for r in found]

    async def products_by_id(self, product_ids: Sequence[int]) -> list[Product]:
        """These products, in this order (those deleted meanwhile left out)."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, f"SELECT p.*, {rows.PRODUCT_PHOTOS} FROM products p"
                " WHERE p.id IN (SELECT value FROM json_each(?)) AND p.deleted_at IS NULL",
                (json.dumps(list(product_ids)),))
        by_id = {r["id"]: r for r in found}
        return [rows.product(by_id[i]) for i in product_ids if i in by_id]

    async def count(self) -> int:
        async with self._db.read() as conn:
            return int(await rows.fetch_value(
                conn, "SELECT count(*) FROM products WHERE deleted_at IS NULL"))

    # -- stock ------------------------------------------------------------------------

    async def change_stock(self, product_id: int, user_id: int | None, reason: StockReason,
                           quantity: int, now: datetime, *,
                           after: int | None = None) -> Product:
        """Set (``SET``), add (``ADDED``) or remove (``REMOVED``; ``SOLD`` at the counter)
        units of ``on_hand``.

        ``on_hand`` may never go below what customers have reserved (the refusal says how
        many are reserved), below zero, or above ``MAX_STOCK``; a refusal changes nothing.
        With ``after`` (a ledger line id, see ``last_movement``) the change is made only
        if the ledger has not moved since: when the next line is this very change by
        this person (a double tap) nothing more happens; any other raises
        ``StockChanged``. Checked in the write transaction, so two taps cannot both pass.
        """
        if quantity < 0:
            raise ValueError("a stock quantity is never negative; callers check it")
        async with self._db.write() as conn:
            current = await _product(conn, product_id)
            if after is not None:
                since = await rows.fetch_one(
                    conn, "SELECT user_id, reason, delta, on_hand_after FROM stock_movements"
                    " WHERE product_id = ? AND id > ? ORDER BY id LIMIT 1", (product_id, after))
                if since is not None:
                    if _same_change(since, user_id, reason, quantity):
                        return current
                    raise StockChanged(current.name, current.on_hand)
            target = {
                StockReason.SET: quantity,
                StockReason.ADDED: current.on_hand + quantity,
                StockReason.REMOVED: current.on_hand - quantity,
                StockReason.SOLD: current.on_hand - quantity,  # at the counter (#12 T)
            }[reason]
            if target < 0:
                raise NotEnoughOnHand(current.on_hand)
            if target < current.reserved:
                raise StockBelowReserved(current.reserved)
            if target > MAX_STOCK:
                raise StockOutOfRange(target, MAX_STOCK)
            delta = target - current.on_hand
            if delta == 0:
                return current
            stamp = rows.to_db_time(now)
            await conn.execute(
                "UPDATE products SET on_hand = ?, updated_at = ?,"
                # « Back in stock » (the digest) when none was left to sell before; the
                # right-hand side reads the row as it was.
                " restocked_at = CASE WHEN ? > 0 AND on_hand <= reserved THEN ?"
                " ELSE restocked_at END WHERE id = ?",
                (target, stamp, delta, stamp, product_id),
            )
            await record_movement(conn, product_id, user_id, delta, target, reason, None, now)
            return await _product(conn, product_id)

    async def last_movement(self, product_id: int) -> int:
        """The id of the product's latest stock ledger line (0 when it has none)."""
        async with self._db.read() as conn:
            return int(await rows.fetch_value(
                conn, "SELECT COALESCE(max(id), 0) FROM stock_movements WHERE product_id = ?",
                (product_id,)))

    async def stock_movements(self, product_id: int) -> list[StockMovement]:
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, "SELECT * FROM stock_movements WHERE product_id = ? ORDER BY id",
                (product_id,),
            )
        return [rows.stock_movement(r) for r in found]

async def _set_photo(conn: aiosqlite.Connection, product_id: int, channel: Channel,
                     file_ref: str) -> None:
    await conn.execute(
        "INSERT INTO product_photos (product_id, channel, file_ref) VALUES (?, ?, ?)"
        " ON CONFLICT (product_id, channel) DO UPDATE SET file_ref = excluded.file_ref",
        (product_id, channel, file_ref),
    )


def _same_change(line: aiosqlite.Row, user_id: int | None, reason: StockReason,
                 quantity: int) -> bool:
    """Whether a ledger line is the change asked (same person, same kind, same amount)."""
    if (line["user_id"], line["reason"]) != (user_id, reason.value):
        return False
    if reason is StockReason.SET:
        return bool(line["on_hand_after"] == quantity)
    return bool(line["delta"] == (quantity if reason is StockReason.ADDED else -quantity))


async def record_movement(conn: aiosqlite.Connection, product_id: int, user_id: int | None,
                          delta: int, on_hand_after: int, reason: StockReason,
                          reservation_id: int | None, now: datetime) -> None:
    """Write one line of the stock ledger, inside the caller's transaction."""
    await conn.execute(
        "INSERT INTO stock_movements (product_id, user_id, delta, on_hand_after, reason,"
        " reservation_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (product_id, user_id, delta, on_hand_after, reason.value, reservation_id,
         rows.to_db_time(now)),
    )


class SqliteCatalogueRepository(CatalogueSearch, _Catalogue):
    """The catalogue on SQLite."""


class PostgresCatalogueRepository(PostgresCatalogueSearch, _Catalogue):
    """The catalogue on PostgreSQL: the same repository, with PostgreSQL's search."""
