"""What travels between the bot and the platforms: events received (the inbox, for
recognising redeliveries and finishing what a stop interrupted) and notifications to
deliver (the outbox, kept until the platform takes them)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from chatshop.domain.models import Channel, OutgoingMessage, PendingEvent
from chatshop.storage import rows
from chatshop.storage.database import Connections
from chatshop.storage.grouped import GroupedWrites
from chatshop.storage.leases import Holder


class _Received(NamedTuple):
    """Events to write down as they came, ``(event_id, payload)``, by ``holder``."""
    channel: Channel
    events: Sequence[tuple[str, str]]
    at: str
    holder: str


class _Handled(NamedTuple):
    at: str
    channel: Channel
    event_id: str


def _write_inbox(conn: sqlite3.Connection,
                 items: list[_Received | _Handled]) -> list[set[str] | None]:
    """Batches of events written down (for each, the ids that were new) and events
    marked handled. A mark always concerns an event written down in an earlier
    transaction, so the order between the two kinds does not matter."""
    results: list[set[str] | None] = []
    for item in items:
        if not isinstance(item, _Received):
            results.append(None)
            continue
        new: set[str] = set()
        for event_id, payload in item.events:
            if conn.execute(
                    "INSERT INTO inbound_events (channel, event_id, payload, received_at,"
                    " received_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (item.channel, event_id, payload, item.at, item.holder)).rowcount == 1:
                new.add(event_id)
        results.append(new)
    # Once handled, only the id is needed (to recognise a redelivery): the payload, which
    # names the person and holds what they wrote, is dropped.
    conn.executemany("UPDATE inbound_events SET handled_at = ?, payload = '{}'"
                     " WHERE channel = ? AND event_id = ?",
                     [item for item in items if isinstance(item, _Handled)])
    return results


class SqliteInboxRepository:
    """Events as they came, each held by the process that wrote it down (``received_by``,
    ``holder``'s token) until handled: if that process dies first, another takes it."""

    def __init__(self, db: Connections, holder: Holder) -> None:
        self._db = db
        self._holder = holder
        # On every update or webhook delivery: events written down and events handled
        # meanwhile share transactions.
        self._inbox: GroupedWrites[_Received | _Handled, set[str] | None] = GroupedWrites(
            db, _write_inbox)

    async def receive(self, channel: Channel, events: Sequence[tuple[str, str]],
                      now: datetime) -> set[str]:
        """Write ``(event_id, payload)`` events down; returns the ids that were new (the
        others were received before: redeliveries). Concurrent calls share a
        transaction (100 webhook deliveries at once wait for a few commits, not 100)."""
        new = await self._inbox.add(_Received(channel, list(events), rows.to_db_time(now),
                                              self._holder.token))
        return new or set()

    async def handled(self, channel: Channel, event_id: str, now: datetime) -> None:
        await self._inbox.add(_Handled(rows.to_db_time(now), channel, event_id))

    async def waiting(self, channel: Channel, limit: int = 1_000) -> list[PendingEvent]:
        """Events received but not handled, oldest first (whoever holds them)."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, "SELECT channel, event_id, payload FROM inbound_events"
                " WHERE channel = ? AND handled_at IS NULL ORDER BY received_at LIMIT ?",
                (channel, limit))
        return [PendingEvent(channel=r["channel"], event_id=r["event_id"],
                             payload=r["payload"]) for r in found]

    async def take_over(self, channel: Channel, limit: int = 1_000) -> list[PendingEvent]:
        """Events received but not handled whose process is gone (killed after it wrote
        them down, or this one's predecessor), oldest first: taken over by this process,
        in one transaction, so that two processes never take the same. Events a live
        process holds are left to it."""
        holder = self._holder

        def take_over(conn: sqlite3.Connection) -> list[PendingEvent]:
            holders = [r[0] for r in conn.execute(
                "SELECT DISTINCT received_by FROM inbound_events WHERE channel = ?"
                " AND handled_at IS NULL", (channel,))]
            gone = holder.dead(holders)
            if not gone and None not in holders:  # (None: written by an older version)
                return []
            found = conn.execute(
                f"""UPDATE inbound_events SET received_by = ?
                    WHERE channel = ? AND event_id IN (
                        SELECT event_id FROM inbound_events WHERE channel = ?
                           AND handled_at IS NULL AND (received_by IS NULL
                            OR received_by IN ({', '.join('?' * len(gone))}))
                         ORDER BY received_at, event_id LIMIT ?)
                    RETURNING channel, event_id, payload, received_at""",
                (holder.token, channel, channel, *gone, limit)).fetchall()
            return [PendingEvent(channel=r["channel"], event_id=r["event_id"],
                                 payload=r["payload"])
                    for r in sorted(found, key=lambda r: (r["received_at"], r["event_id"]))]
        return await self._db.run_write(take_over)

    async def forget_handled(self, channel: Channel, before: datetime) -> int:
        """Drop handled events received before ``before``; returns how many."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM inbound_events WHERE channel = ? AND received_at < ?"
                " AND handled_at IS NOT NULL", (channel, rows.to_db_time(before)))
            return cursor.rowcount


def _outgoing(row: sqlite3.Row) -> OutgoingMessage:
    return OutgoingMessage(
        id=row["id"], channel=row["channel"], recipient=row["recipient"],
        message=row["message"], regarding=row["regarding"],
        created_at=rows.from_db_time(row["created_at"]), attempts=row["attempts"],
        last_error=row["last_error"], template_only=bool(row["template_only"]))


_Outgoing = tuple[Channel, str, str, int | None]  # channel, recipient, message, regarding


def _add(conn: sqlite3.Connection, batches: list[tuple[list[_Outgoing], str]]
         ) -> list[list[int]]:
    """Each batch of messages queued at its time; the ids of each batch's rows."""
    return [[conn.execute(
        "INSERT INTO outbox (channel, recipient, message, regarding,"
        " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (channel, recipient, message, regarding, stamp, stamp)).fetchone()[0]
        for channel, recipient, message, regarding in messages]
        for messages, stamp in batches]


# The messages due on a channel at a time: for each person the oldest not done with.
_DUE = """FROM outbox o WHERE o.channel = ? AND o.sent_at IS NULL
    AND o.given_up_at IS NULL AND o.next_attempt_at <= ?
    AND NOT EXISTS (SELECT 1 FROM outbox earlier
         WHERE earlier.channel = o.channel AND earlier.recipient = o.recipient
           AND earlier.id < o.id AND earlier.sent_at IS NULL
           AND earlier.given_up_at IS NULL)"""


class SqliteOutboxRepository:
    """The outbox; a message is claimed by the process that sends it (``claimed_by``,
    ``holder``'s token), left alone by the others while that process lives."""

    def __init__(self, db: Connections, holder: Holder) -> None:
        self._db = db
        self._holder = holder
        # Notifications of reservations made at the same time share a transaction.
        self._added: GroupedWrites[tuple[list[_Outgoing], str], list[int]] = GroupedWrites(
            db, _add)

    async def add(self, messages: list[_Outgoing], now: datetime) -> list[int]:
        """Queue ``(channel, recipient, message, regarding)`` messages, in this order."""
        return await self._added.add((list(messages), rows.to_db_time(now)))

    async def _update(self, sql: str, params: tuple[object, ...]) -> None:
        """One statement, as a whole transaction in the writer's thread."""
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(sql, params)
        await self._db.run_write(update)

    async def due(self, channel: Channel, now: datetime, limit: int = 100
                  ) -> list[OutgoingMessage]:
        """Messages whose time has come, in the order they were queued: for each person
        the oldest not sent yet (the next one waits for it, whoever sends it), claimed
        for this process. A message another live process claimed is left to it; one
        whose process died is taken over. Asked after every notification queued: a
        quick read first (``read_briefly``), a write only when something is due."""
        stamp = rows.to_db_time(now)
        found = await self._db.read_briefly(
            f"SELECT o.id, o.claimed_by {_DUE} ORDER BY o.id LIMIT ?", (channel, stamp, limit))
        if not found:
            return []
        holder = self._holder

        def claim(conn: sqlite3.Connection) -> list[OutgoingMessage]:
            holders = [r[0] for r in conn.execute(
                "SELECT DISTINCT claimed_by FROM outbox WHERE channel = ? AND sent_at IS NULL"
                " AND given_up_at IS NULL AND claimed_by IS NOT NULL", (channel,))]
            free = ["o.claimed_by IS NULL", "o.claimed_by = ?"]
            gone = holder.dead(holders)
            if gone:
                free.append(f"o.claimed_by IN ({', '.join('?' * len(gone))})")
            claimed = conn.execute(
                f"""UPDATE outbox SET claimed_by = ? WHERE id IN (
                        SELECT o.id {_DUE} AND ({' OR '.join(free)}) ORDER BY o.id LIMIT ?)
                    RETURNING *""",
                (holder.token, channel, stamp, holder.token, *gone, limit)).fetchall()
            return sorted((_outgoing(r) for r in claimed), key=lambda m: m.id)
        return await self._db.run_write(claim)

    async def next_due_at(self, channel: Channel) -> datetime | None:
        async with self._db.read() as conn:
            found = await rows.fetch_value(
                conn, "SELECT min(next_attempt_at) FROM outbox WHERE channel = ?"
                " AND sent_at IS NULL AND given_up_at IS NULL", (channel,))
        return rows.maybe_time(found)

    async def sent(self, message_id: int, now: datetime,
                   platform_id: str | None = None) -> None:
        await self._update(
            "UPDATE outbox SET sent_at = ?, attempts = attempts + 1, platform_id = ?"
            " WHERE id = ?", (rows.to_db_time(now), platform_id, message_id))

    async def failed_later(self, channel: Channel, platform_id: str, now: datetime,
                           error: str, *, as_template: bool) -> str | None:
        """The platform says a message it took could not be delivered. With
        ``as_template`` (the free message was refused) it goes back in the outbox once,
        to be sent as a template (``"again"``); otherwise, or if it already was a
        template, it ends there (``"given up"``). None if no such message."""
        stamp = rows.to_db_time(now)

        def write(conn: sqlite3.Connection) -> str | None:
            if as_template and conn.execute(
                    "UPDATE outbox SET sent_at = NULL, next_attempt_at = ?, last_error = ?,"
                    " template_only = 1, platform_id = NULL WHERE channel = ?"
                    " AND platform_id = ? AND template_only = 0",
                    (stamp, error[:500], channel, platform_id)).rowcount:
                return "again"
            if conn.execute(
                    "UPDATE outbox SET given_up_at = ?, last_error = ? WHERE channel = ?"
                    " AND platform_id = ?", (stamp, error[:500], channel,
                                             platform_id)).rowcount:
                return "given up"
            return None
        return await self._db.run_write(write)

    async def keep_media(self, sha256: str, mime_type: str, data: bytes,
                         now: datetime) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO media (sha256, mime_type, data, created_at)"
                         " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (sha256, mime_type, data, rows.to_db_time(now)))
        await self._db.run_write(write)

    async def media(self, sha256: str) -> tuple[str, bytes] | None:
        # A photo may weigh megabytes: read by a pooled reader, not on the event loop.
        async with self._db.read() as conn:
            row = await rows.fetch_one(
                conn, "SELECT mime_type, data FROM media WHERE sha256 = ?", (sha256,))
        return (row[0], bytes(row[1])) if row is not None else None

    async def retry_at(self, message_id: int, when: datetime, error: str) -> None:
        await self._update(
            "UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1,"
            " last_error = ?, claimed_by = NULL WHERE id = ?",  # anyone's to try again
            (rows.to_db_time(when), error[:500], message_id))

    async def give_up(self, message_id: int, now: datetime, error: str) -> None:
        await self._update(
            "UPDATE outbox SET given_up_at = ?, attempts = attempts + 1, last_error = ?"
            " WHERE id = ?", (rows.to_db_time(now), error[:500], message_id))

    async def any_regarding(self, reservation_id: int) -> bool:
        found = await self._db.lookup("SELECT 1 FROM outbox WHERE regarding = ? LIMIT 1",
                                (reservation_id,))
        return bool(found)

    async def waiting_count(self, channel: Channel) -> int:
        async with self._db.read() as conn:
            return int(await rows.fetch_value(
                conn, "SELECT count(*) FROM outbox WHERE channel = ? AND sent_at IS NULL"
                " AND given_up_at IS NULL", (channel,)))

    async def forget_person(self, user_id: int) -> int:
        """Drop the messages kept for this person or about their reservations (which
        name them), sent or not; returns how many. Before the person's own row is
        erased: they are found by their platform id."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM outbox WHERE (channel, recipient) ="
                " (SELECT channel, external_id FROM users WHERE id = ?)"
                " OR regarding IN (SELECT id FROM reservations WHERE user_id = ?)",
                (user_id, user_id))
            return cursor.rowcount

    async def forget_sent(self, before: datetime) -> int:
        """Drop delivered or abandoned messages older than ``before``."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM outbox WHERE created_at < ?"
                " AND (sent_at IS NOT NULL OR given_up_at IS NOT NULL)",
                (rows.to_db_time(before),))
            return cursor.rowcount
