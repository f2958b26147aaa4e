"""People known to the bot, one row per channel identity."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from chatshop.domain.models import Channel, User
from chatshop.errors import NotFound
from chatshop.storage import rows
from chatshop.storage.database import Connections


class SqliteUserRepository:
    """People; every change to one is recorded as touching them (``touched``), so that
    the recent sessions read them afresh once it has committed."""

    def __init__(self, db: Connections) -> None:
        self._db = db

    async def seen(self, channel: Channel, external_id: str, display_name: str,
                   now: datetime) -> User:
        """Record that this person wrote now (creating them on first contact)."""
        stamp = rows.to_db_time(now)

        def seen(conn: sqlite3.Connection) -> User:
            row = conn.execute(
                """INSERT INTO users (channel, external_id, display_name, created_at, last_seen_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (channel, external_id) DO UPDATE SET
                       display_name = excluded.display_name,
                       last_seen_at = excluded.last_seen_at,
                       unreachable_at = NULL
                   RETURNING *""",
                (channel, external_id, display_name, stamp, stamp),
            ).fetchone()
            user = rows.user(row)
            self._db.touched(user.id)
            return user
        return await self._db.run_write(seen)

    async def mark_unreachable(self, channel: Channel, external_id: str,
                               now: datetime) -> User | None:
        """The platform says this person blocked the bot (until they write again)."""
        async with self._db.write() as conn:
            row = await rows.fetch_one(
                conn, "UPDATE users SET unreachable_at = ? WHERE channel = ?"
                " AND external_id = ? RETURNING *",
                (rows.to_db_time(now), channel, external_id))
            if row is None:
                return None
            self._db.touched(row["id"])
        return rows.user(row)

    async def get(self, user_id: int) -> User | None:
        async with self._db.read() as conn:
            row = await rows.fetch_one(conn, "SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else rows.user(row)

    async def find(self, channel: Channel, external_id: str) -> User | None:
        async with self._db.read() as conn:
            row = await rows.fetch_one(
                conn, "SELECT * FROM users WHERE channel = ? AND external_id = ?",
                (channel, external_id),
            )
        return None if row is None else rows.user(row)

    async def set_phone(self, user_id: int, phone: str | None) -> User:
        async with self._db.write() as conn:
            row = await rows.fetch_one(
                conn, "UPDATE users SET phone = ? WHERE id = ? RETURNING *", (phone, user_id))
            self._db.touched(user_id)
        if row is None:
            raise NotFound("user", user_id)
        return rows.user(row)

    async def forget(self, user_id: int) -> None:
        """Erase what identifies a person: name, phone, platform id (on WhatsApp, their
        phone number), basket, conversation state, subscription and alerts. Their past
        reservations stay (the shops' records) but no longer name them; if they write
        again, they are someone new. They leave the teams of the shops they ran. The
        messages to them or about them in the outbox are the outbox's to forget
        (``OutboxRepository.forget_person``, first: it finds them by the platform id),
        in the same unit of work."""
        async with self._db.write() as conn:
            # Their platform id is no longer theirs: forgotten once erased.
            self._db.touched(user_id)
            await conn.execute(
                "UPDATE users SET display_name = '', phone = NULL,"
                " external_id = 'erased:' || id WHERE id = ?", (user_id,))
            # Someone who erased their data runs no shop any more (news for the shop
            # would go to an address that no longer exists).
            await conn.execute("DELETE FROM staff WHERE user_id = ?", (user_id,))
            await conn.execute("DELETE FROM basket_lines WHERE user_id = ?", (user_id,))
            await conn.execute("DELETE FROM conversation_states WHERE user_id = ?", (user_id,))
            await conn.execute("DELETE FROM subscriptions WHERE user_id = ?", (user_id,))
            await conn.execute("DELETE FROM product_alerts WHERE user_id = ?", (user_id,))
