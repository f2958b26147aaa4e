"""The territory's channel: its feed (since when the bot posts there, and whether it
cannot), per shop the last post and how far its news is covered, and the news itself —
products that came on the shelves or back, and announcements — past those watermarks.

The news reads products through the catalogue's own rule of what customers see
(``VISIBLE``): a product hidden or deleted before its post, or a shop made inactive, is
simply not there. ``waiting`` reads the outbox's rows for the channel's chat: a feed does
not compose more while its last posts have not gone (an outage, a bot without rights).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from chatshop.domain.models import ListedProduct
from chatshop.storage import rows
from chatshop.storage.channel_protocol import ChannelChange, ChannelMark
from chatshop.storage.database import Connections
from chatshop.storage.listing import LISTED_JOINS, VISIBLE


class SqliteChannelPostRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db

    async def start(self, chat: str, now: datetime) -> tuple[datetime, bool]:
        """The feed of ``chat``: the time up to which its news is all covered, and
        whether the feed starts now (then, what came before is no news)."""
        stamp = rows.to_db_time(now)

        def write(conn: sqlite3.Connection) -> tuple[str, bool]:
            new = conn.execute("INSERT INTO channel_feeds (chat, started_at, covered_to)"
                               " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                               (chat, stamp, stamp)).rowcount == 1
            covered = conn.execute("SELECT covered_to FROM channel_feeds WHERE chat = ?",
                                   (chat,)).fetchone()[0]
            return str(covered), new
        covered, new = await self._db.run_write(write)
        return rows.from_db_time(covered), new

    async def advance(self, chat: str, covered_to: datetime) -> None:
        """Every shop's news up to ``covered_to`` is posted or dropped."""
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE channel_feeds SET covered_to = max(covered_to, ?)"
                         " WHERE chat = ?", (rows.to_db_time(covered_to), chat))
        await self._db.run_write(write)

    async def waiting(self, chat: str) -> int:
        """Posts to ``chat`` that Telegram has not taken yet (nor refused for good)."""
        async with self._db.read() as conn:
            return int(await rows.fetch_value(
                conn, "SELECT count(*) FROM outbox WHERE channel = 'telegram'"
                " AND recipient = ? AND sent_at IS NULL AND given_up_at IS NULL", (chat,)))

    async def marks(self, chat: str) -> dict[int, ChannelMark]:
        """Each shop's last post and watermark in this feed."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, "SELECT shop_id, posted_at, covered_to FROM channel_posts"
                " WHERE chat = ?", (chat,))
        return {r["shop_id"]: ChannelMark(rows.maybe_time(r["posted_at"]),
                                          rows.from_db_time(r["covered_to"]))
                for r in found}

    async def changes(self, chat: str, since: datetime) -> list[ChannelChange]:
        """The news of every shop past its watermark and ``since`` (the feed's), oldest
        first. A shop on holiday keeps its products' news for when it reopens."""
        params = {"chat": chat, "since": rows.to_db_time(since)}
        mark = "max(COALESCE(cp.covered_to, :since), :since)"
        async with self._db.read() as conn:
            products = await rows.fetch_all(conn, f"""
                SELECT p.*, {rows.PRODUCT_PHOTOS}, maker.name AS maker_name,
                    pickup.name AS pickup_shop_name, c.name AS commune_name,
                    pickup.id AS pickup_id, pickup.on_holiday, p.restocked_at AS at,
                    NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.product_id = p.id
                        AND m.on_hand_after > 0 AND m.at <= {mark}) AS first_time
                FROM products p {LISTED_JOINS}
                LEFT JOIN channel_posts cp ON cp.chat = :chat AND cp.shop_id = pickup.id
                WHERE {VISIBLE} AND p.on_hand > p.reserved AND p.restocked_at > :since
                  AND p.restocked_at > {mark}
                ORDER BY p.restocked_at, p.id""", params)
            said = await rows.fetch_all(conn, f"""
                SELECT s.id, s.announcement, s.announcement_at AS at, c.name AS commune_name
                FROM shops s JOIN communes c ON c.id = s.commune_id
                LEFT JOIN channel_posts cp ON cp.chat = :chat AND cp.shop_id = s.id
                WHERE s.active = 1 AND s.announcement != '' AND s.announcement_at > :since
                  AND s.announcement_at > {mark}
                ORDER BY s.announcement_at""", params)
        changes = [ChannelChange(
            shop_id=r["pickup_id"], at=rows.from_db_time(r["at"]),
            kind="new" if r["first_time"] else "back", commune_name=r["commune_name"],
            waits=bool(r["on_holiday"]),
            product=ListedProduct(product=rows.product(r), maker_name=r["maker_name"],
                                  pickup_shop_name=r["pickup_shop_name"],
                                  commune_name=r["commune_name"]))
            for r in products]
        changes += [ChannelChange(shop_id=r["id"], at=rows.from_db_time(r["at"]),
                                  kind="said", commune_name=r["commune_name"],
                                  text=r["announcement"]) for r in said]
        return sorted(changes, key=lambda change: change.at)

    async def covered(self, chat: str, shop_id: int, covered_to: datetime,
                      posted_at: datetime | None, outbox_id: int | None) -> None:
        """``shop_id``'s news is covered up to ``covered_to``; with ``posted_at``, by a
        post then (its outbox row ``outbox_id``), else without one (nothing was left)."""
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO channel_posts (chat, shop_id, posted_at, covered_to, outbox_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat, shop_id) DO UPDATE SET"
                " covered_to = excluded.covered_to,"
                " posted_at = COALESCE(excluded.posted_at, channel_posts.posted_at),"
                " outbox_id = COALESCE(excluded.outbox_id, channel_posts.outbox_id)",
                (chat, shop_id, None if posted_at is None else rows.to_db_time(posted_at),
                 rows.to_db_time(covered_to), outbox_id))
        await self._db.run_write(write)

    async def trouble(self, chat: str, reason: str, now: datetime) -> bool:
        """The bot cannot post in ``chat``: True if it could until now."""
        def write(conn: sqlite3.Connection) -> bool:
            return conn.execute(
                "UPDATE channel_feeds SET trouble_at = ?, trouble = ? WHERE chat = ?"
                " AND trouble_at IS NULL", (rows.to_db_time(now), reason[:500], chat)
            ).rowcount == 1
        return await self._db.run_write(write)

    async def reached(self, chat: str) -> bool:
        """A post went to ``chat``: True if the bot could not post there until now."""
        def write(conn: sqlite3.Connection) -> bool:
            return conn.execute(
                "UPDATE channel_feeds SET trouble_at = NULL, trouble = NULL WHERE chat = ?"
                " AND trouble_at IS NOT NULL", (chat,)).rowcount == 1
        return await self._db.run_write(write)
