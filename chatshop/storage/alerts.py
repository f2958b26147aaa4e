"""SQLite storage for « Prévenez-moi quand il revient » (#12 §3): who waits for which sold-
out product, told once when it is back, lapsed after 60 days.

One open alert per person and product (the unique index ``product_alerts_open``); the
telling claims ``told_at`` in one statement, so of two sweeps each alert goes to one.
SQLite; the contract is ``alerts_protocol.AlertRepository``."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from chatshop.storage import rows
from chatshop.storage.alerts_protocol import AlertLine, ProductAlert
from chatshop.storage.database import Connections
from chatshop.storage.listing import LISTED_JOINS, VISIBLE

# An alert with its product and the shop where it is collected (the host's, if hosted).
_LINES = """SELECT a.*, p.name AS product_name, p.price_cents,
                   pickup.id AS pickup_id, pickup.name AS pickup_name
            FROM product_alerts a JOIN products p ON p.id = a.product_id
            JOIN shops pickup ON pickup.id = COALESCE(p.host_shop_id, p.shop_id)"""


def _alert(row: aiosqlite.Row | sqlite3.Row) -> ProductAlert:
    return ProductAlert(id=row["id"], user_id=row["user_id"], product_id=row["product_id"],
                        created_at=rows.from_db_time(row["created_at"]),
                        expires_at=rows.from_db_time(row["expires_at"]),
                        told_at=rows.maybe_time(row["told_at"]))


def _line(row: aiosqlite.Row) -> AlertLine:
    return AlertLine(alert=_alert(row), product_name=row["product_name"],
                     price_cents=row["price_cents"], shop_id=row["pickup_id"],
                     shop_name=row["pickup_name"])


class SqliteAlertRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db

    async def ask(self, user_id: int, product_id: int, now: datetime,
                  expires_at: datetime) -> tuple[ProductAlert | None, bool]:
        def transaction(conn: sqlite3.Connection) -> tuple[ProductAlert | None, bool]:
            # Looked at in the same transaction as the insert: units that came back a
            # moment ago are offered, not waited for.
            left = conn.execute("SELECT on_hand - reserved FROM products WHERE id = ?",
                                (product_id,)).fetchone()
            if left is not None and left[0] > 0:
                return None, False
            # A lapsed alert the daily clean-up has not reached yet must not block a new one.
            conn.execute(
                "DELETE FROM product_alerts WHERE user_id = ? AND product_id = ?"
                " AND told_at IS NULL AND expires_at <= ?",
                (user_id, product_id, rows.to_db_time(now)))
            made = conn.execute(
                "INSERT INTO product_alerts (user_id, product_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *",
                (user_id, product_id, rows.to_db_time(now),
                 rows.to_db_time(expires_at))).fetchone()
            if made is not None:
                return _alert(made), True
            found = conn.execute(
                "SELECT * FROM product_alerts WHERE user_id = ? AND product_id = ?"
                " AND told_at IS NULL", (user_id, product_id)).fetchone()
            return _alert(found), False
        return await self._db.run_write(transaction)

    async def open_for(self, user_id: int, product_id: int,
                       now: datetime) -> ProductAlert | None:
        found = await self._db.lookup(
            "SELECT * FROM product_alerts WHERE user_id = ? AND product_id = ?"
            " AND told_at IS NULL AND expires_at > ?",
            (user_id, product_id, rows.to_db_time(now)))
        return _alert(found[0]) if found else None

    async def has_asked_before(self, user_id: int) -> bool:
        found = await self._db.lookup(
            "SELECT 1 FROM product_alerts WHERE user_id = ? LIMIT 1", (user_id,))
        return bool(found)

    async def open_of_user(self, user_id: int, now: datetime,
                           limit: int = 20) -> list[AlertLine]:
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, f"""{_LINES} WHERE a.user_id = ? AND a.told_at IS NULL
                          AND a.expires_at > ? AND p.deleted_at IS NULL
                          ORDER BY a.expires_at, a.id LIMIT ?""",
                (user_id, rows.to_db_time(now), limit))
        return [_line(row) for row in found]

    async def of_user(self, user_id: int) -> list[AlertLine]:
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, f"{_LINES} WHERE a.user_id = ? ORDER BY a.created_at, a.id",
                (user_id,))
        return [_line(row) for row in found]

    async def cancel(self, user_id: int, alert_id: int) -> bool:
        async with self._db.write() as conn:
            gone = await rows.fetch_all(
                conn, "DELETE FROM product_alerts WHERE id = ? AND user_id = ?"
                " AND told_at IS NULL RETURNING id", (alert_id, user_id))
        return bool(gone)

    async def waiting(self, product_id: int, now: datetime) -> int:
        # product_alerts_waiting (product_id, expires_at) WHERE told_at IS NULL
        found = await self._db.lookup(
            "SELECT COUNT(*) FROM product_alerts WHERE product_id = ? AND told_at IS NULL"
            " AND expires_at > ?", (product_id, rows.to_db_time(now)))
        return int(found[0][0])

    async def due(self, now: datetime, limit: int = 200) -> list[AlertLine]:
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn,
                f"""SELECT a.*, p.name AS product_name, p.price_cents,
                           pickup.id AS pickup_id, pickup.name AS pickup_name
                    FROM product_alerts a JOIN products p ON p.id = a.product_id
                    {LISTED_JOINS}
                    WHERE a.told_at IS NULL AND a.expires_at > ? AND {VISIBLE}
                    AND pickup.on_holiday = 0 AND p.on_hand - p.reserved > 0
                    ORDER BY a.created_at, a.id LIMIT ?""",
                (rows.to_db_time(now), limit))
        return [_line(row) for row in found]

    async def claim(self, alert_ids: Sequence[int], now: datetime) -> list[int]:
        ids = list(dict.fromkeys(alert_ids))
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))

        def claim(conn: sqlite3.Connection) -> list[int]:
            at = rows.to_db_time(now)
            return [row[0] for row in conn.execute(
                f"UPDATE product_alerts SET told_at = ? WHERE id IN ({marks})"
                " AND told_at IS NULL AND expires_at > ? RETURNING id", (at, *ids, at))]
        return sorted(await self._db.run_write(claim))

    async def drop_finished(self, now: datetime) -> int:
        async with self._db.write() as conn:
            gone = await rows.fetch_all(
                conn, "DELETE FROM product_alerts WHERE told_at IS NOT NULL OR expires_at <= ?"
                " OR product_id IN (SELECT id FROM products WHERE deleted_at IS NOT NULL)"
                " RETURNING id", (rows.to_db_time(now),))
        return len(gone)
