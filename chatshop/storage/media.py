"""Kept photos and their sizes, in the database.

Images live in the database, not in a folder beside it: the kept file in ``media`` (the
table the WhatsApp photos already used, content-addressed by the SHA-256 of its bytes)
and its display, thumbnail and link-preview JPEGs in ``media_sizes``. So they are in
every backup of the database (#15) and any process that opens it reads them (#14), with
no second store to keep in step. A repository of its own rather than more methods on the
outbox: the shop window reads these, and they outlive any message.

A photo kept before this version is the file as it came (its EXIF, GPS included):
``replace`` moves its products and shops to its cleaned copy and forgets it.

Which photo the window may serve is decided here too (``shown``): only one that a listed
product or an active shop shows. Customers' photos are never kept (the channels fetch
only shopkeepers' files), and a hidden product's photo is not served.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from chatshop.storage import rows
from chatshop.storage.database import Connections
from chatshop.storage.listing import LISTED_JOINS, VISIBLE
from chatshop.storage.media_protocol import MediaSize, UnkeptPhoto

_SHOWN = f"""SELECT 1 FROM product_photos pp JOIN products p ON p.id = pp.product_id
    {LISTED_JOINS} WHERE pp.file_ref = :ref AND {VISIBLE}
    UNION ALL SELECT 1 FROM shop_photos sp JOIN shops s ON s.id = sp.shop_id
    WHERE sp.file_ref = :ref AND s.active = 1 LIMIT 1"""

# Photos that are only a Telegram file id: nothing of them is kept (``media:``) yet.
_UNKEPT = """SELECT 'product', pp.product_id, pp.file_ref FROM product_photos pp
    JOIN products p ON p.id = pp.product_id
    WHERE pp.channel = 'telegram' AND pp.file_ref NOT LIKE 'media:%' AND p.deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM product_photos o WHERE o.product_id = pp.product_id
                    AND o.file_ref LIKE 'media:%')
    UNION ALL SELECT 'shop', sp.shop_id, sp.file_ref FROM shop_photos sp
    WHERE sp.channel = 'telegram' AND sp.file_ref NOT LIKE 'media:%'
    AND NOT EXISTS (SELECT 1 FROM shop_photos o WHERE o.shop_id = sp.shop_id
                    AND o.file_ref LIKE 'media:%')
    ORDER BY 1, 2"""


def _write_sizes(conn: sqlite3.Connection, sha256: str, sizes: Sequence[MediaSize],
                 stamp: str) -> None:
    conn.executemany(
        "INSERT INTO media_sizes (sha256, variant, width, height, data, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(sha256, size.variant, size.width, size.height, size.data, stamp)
         for size in sizes])


class SqliteMediaRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db

    async def keep(self, sha256: str, mime_type: str, data: bytes,
                   sizes: Sequence[MediaSize], now: datetime) -> None:
        """The cleaned file and its sizes, in one transaction (again: nothing changes)."""
        stamp = rows.to_db_time(now)

        def write(conn: sqlite3.Connection) -> None:
            # A file kept before as it came may be the very bytes of its clean copy.
            conn.execute("INSERT INTO media (sha256, mime_type, data, created_at, cleaned)"
                         " VALUES (?, ?, ?, ?, 1)"
                         " ON CONFLICT (sha256) DO UPDATE SET cleaned = 1",
                         (sha256, mime_type, data, stamp))
            _write_sizes(conn, sha256, sizes, stamp)
        await self._db.run_write(write)

    async def add_sizes(self, sha256: str, sizes: Sequence[MediaSize],
                        now: datetime) -> None:
        """Sizes made later for a file kept before this version (still as it came)."""
        stamp = rows.to_db_time(now)
        await self._db.run_write(lambda conn: _write_sizes(conn, sha256, sizes, stamp))

    async def file(self, sha256: str) -> tuple[str, bytes] | None:
        """A kept file's type and bytes."""
        # A photo may weigh megabytes: read by a pooled reader, not on the event loop.
        async with self._db.read() as conn:
            row = await rows.fetch_one(
                conn, "SELECT mime_type, data FROM media WHERE sha256 = ?", (sha256,))
        return (row[0], bytes(row[1])) if row is not None else None

    async def size(self, sha256: str, variant: str) -> bytes | None:
        """One size of a kept photo (a JPEG), if it was made."""
        async with self._db.read() as conn:
            data = await rows.fetch_value(
                conn, "SELECT data FROM media_sizes WHERE sha256 = ? AND variant = ?",
                (sha256, variant))
        return bytes(data) if data is not None else None

    async def cleaned(self, sha256: str) -> bool:
        """Whether this file was kept cleaned (by this version), with its sizes."""
        found = await self._db.lookup("SELECT cleaned FROM media WHERE sha256 = ?", (sha256,))
        return bool(found and found[0][0])

    async def not_cleaned(self) -> list[str]:
        """The images kept before this version, as they came, oldest first."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, "SELECT sha256 FROM media WHERE cleaned = 0"
                " AND mime_type LIKE 'image/%' ORDER BY created_at, sha256")
        return [str(row[0]) for row in found]

    async def replace(self, old: str, new: str) -> bool:
        """Point the products' and shops' photos at ``new`` instead of ``old`` (a file
        kept as it came, before this version, now cleaned and kept again), and forget
        ``old`` unless something may still send it (a message waiting in the outbox, a
        conversation's draft). Returns whether ``old`` is gone."""
        refs = {"old": f"media:{old}", "new": f"media:{new}", "sha": old,
                "pattern": f"%media:{old}%"}
        async with self._db.write() as conn:
            await conn.execute("UPDATE product_photos SET file_ref = :new"
                               " WHERE file_ref = :old", refs)
            await conn.execute("UPDATE shop_photos SET file_ref = :new"
                               " WHERE file_ref = :old", refs)
            gone = await conn.execute(
                "DELETE FROM media WHERE sha256 = :sha AND NOT EXISTS (SELECT 1 FROM outbox"
                " WHERE sent_at IS NULL AND given_up_at IS NULL AND message LIKE :pattern)"
                " AND NOT EXISTS (SELECT 1 FROM conversation_states WHERE state LIKE"
                " :pattern)", refs)
            self._db.touched_shops()
        return gone.rowcount == 1

    async def shown(self, sha256: str) -> bool:
        """Whether a listed product or an active shop shows this kept photo."""
        return bool(await self._db.lookup(_SHOWN, {"ref": f"media:{sha256}"}))

    async def unkept_photos(self) -> list[UnkeptPhoto]:
        """Products (not deleted) and shops whose photo is only a Telegram file id."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(conn, _UNKEPT)
        return [UnkeptPhoto(kind=row[0], owner_id=int(row[1]), file_ref=str(row[2]))
                for row in found]
