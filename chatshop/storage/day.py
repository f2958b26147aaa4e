"""SQLite storage for the shop's day (#12 §2): its live reservations for the day's list, and
the messages told to its staff once a period (the morning message, the Monday figures).

SQLite; the contract is ``day_protocol.DayRepository``."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from chatshop.domain.models import Reservation
from chatshop.storage import rows
from chatshop.storage.database import Connections
from chatshop.storage.day_protocol import LIVE_LIMIT, MessageKind
from chatshop.storage.orders import _load


class SqliteDayRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db

    async def live(self, shop_id: int, limit: int = LIVE_LIMIT) -> list[Reservation]:
        # The WHERE repeats the partial index's own (reservations_live_by_shop), so that
        # SQLite reads only the shop's live rows, in deadline order.
        async with self._db.read() as conn:
            return await _load(
                conn, "WHERE reservations.shop_id = ? AND reservations.status IN"
                " ('pending', 'ready') ORDER BY reservations.deadline_at, reservations.id"
                " LIMIT ?", (shop_id, limit))

    async def morning_shops(self) -> list[int]:
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, "SELECT id FROM shops WHERE morning_message = 1 AND active = 1"
                " AND on_holiday = 0 ORDER BY id")
        return [int(row[0]) for row in found]

    async def was_told(self, shop_id: int, kind: MessageKind, period: str) -> bool:
        found = await self._db.lookup(
            "SELECT 1 FROM shop_messages WHERE shop_id = ? AND kind = ? AND period = ?",
            (shop_id, kind, period))
        return bool(found)

    async def claim_message(self, shop_id: int, kind: MessageKind, period: str,
                            now: datetime) -> bool:
        def claim(conn: sqlite3.Connection) -> bool:
            return conn.execute(
                "INSERT INTO shop_messages (shop_id, kind, period, sent_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (shop_id, kind, period) DO NOTHING RETURNING 1",
                (shop_id, kind, period, rows.to_db_time(now))).fetchone() is not None
        return await self._db.run_write(claim)
