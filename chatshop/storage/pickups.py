"""SQLite storage for pickup times and fairness (#12 §4-5): the slot a customer chose, the
reminders of the day, the reservations not picked up.

Each write is one conditional statement (whose reservation, live, by chat, within its
deadline), so that a forged or stale button changes nothing. SQLite; the contract is
``pickups_protocol.PickupRepository``."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from chatshop.storage import rows
from chatshop.storage.database import Connections

_LIVE_CHAT = "status IN ('pending', 'ready') AND source = 'chat'"


class SqlitePickupRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db

    async def choose(self, reservation_id: int, user_id: int, starts: datetime | None,
                     ends: datetime | None, *, reminded_at: datetime | None) -> bool:
        if (starts is None) != (ends is None):
            raise ValueError("a slot has a start and an end, or neither")
        start, end = (None, None) if starts is None or ends is None else (
            rows.to_db_time(starts), rows.to_db_time(ends))

        def write(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(
                "UPDATE reservations SET pickup_from = ?, pickup_until = ?,"
                " pickup_reminded_at = ?"
                f" WHERE id = ? AND user_id = ? AND {_LIVE_CHAT}"
                " AND (? IS NULL OR ? <= deadline_at)",
                (start, end, None if reminded_at is None else rows.to_db_time(reminded_at),
                 reservation_id, user_id, end, end))
            return changed.rowcount == 1
        return await self._db.run_write(write)

    async def not_collected(self, user_id: int, shop_id: int) -> int:
        # reservations_by_user_shop (user_id, shop_id, status) answers it from the index.
        async with self._db.read() as conn:
            cursor = await conn.execute(
                "SELECT count(*) FROM reservations WHERE user_id = ? AND shop_id = ?"
                " AND status = 'expired' AND source = 'chat'", (user_id, shop_id))
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def due_for_pickup_reminder(self, starts_after: datetime, starts_before: datetime,
                                      now: datetime) -> list[tuple[int, int]]:
        # A scan of the live reservations' partial index (reservations_live_by_shop), not
        # of the history: a few ms for 5 000 live ones (/tmp measure in #12 G's report).
        async with self._db.read() as conn:
            cursor = await conn.execute(
                "SELECT id, shop_id FROM reservations WHERE pickup_reminded_at IS NULL"
                " AND pickup_from >= ? AND pickup_from < ? AND pickup_until > ?"
                f" AND {_LIVE_CHAT} ORDER BY pickup_from, id",
                (rows.to_db_time(starts_after), rows.to_db_time(starts_before),
                 rows.to_db_time(now)))
            return [(row[0], row[1]) for row in await cursor.fetchall()]

    async def claim_pickup_reminders(self, reservation_ids: Sequence[int],
                                     now: datetime) -> list[int]:
        ids = list(dict.fromkeys(reservation_ids))
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))

        def claim(conn: sqlite3.Connection) -> list[int]:
            return [row[0] for row in conn.execute(
                f"UPDATE reservations SET pickup_reminded_at = ? WHERE id IN ({marks})"
                f" AND pickup_reminded_at IS NULL AND pickup_from IS NOT NULL AND {_LIVE_CHAT}"
                " RETURNING id", (rows.to_db_time(now), *ids))]
        return sorted(await self._db.run_write(claim))
