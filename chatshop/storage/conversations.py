"""Conversation state: one small JSON object per person, read and replaced whole."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from chatshop.domain.models import Channel, Session, StaffMember
from chatshop.storage import rows
from chatshop.storage.caches import as_session
from chatshop.storage.database import Connections

_SESSION = """
    SELECT u.*,
        (SELECT json_group_array(json_array(shop_id, role, added_at))
           FROM staff WHERE user_id = u.id) AS memberships_json,
        (SELECT state FROM conversation_states WHERE user_id = u.id) AS state_json
    FROM users u WHERE u.channel = ? AND u.external_id = ?"""


class SqliteConversationRepository:
    """Sessions (remembered a few seconds: ``RecentSessions``) and conversation states
    (written through to the remembered session once saved)."""

    def __init__(self, db: Connections) -> None:
        self._db = db

    async def session(self, channel: Channel, external_id: str) -> Session | None:
        """Who writes, the shops they run and where their conversation is: one query
        (or none, if they wrote a moment ago), on every event."""
        sessions = self._db.caches.sessions
        kept = sessions.get(channel, external_id)
        if kept is not None:
            return kept
        found = await self._db.lookup(_SESSION, (channel, external_id))
        if not found:
            return None
        row = found[0]
        user = rows.user(row)
        memberships = tuple(sorted(
            (StaffMember(shop_id=shop_id, user_id=user.id, role=role,
                         added_at=rows.from_db_time(added_at))
             for shop_id, role, added_at in json.loads(row["memberships_json"])),
            key=lambda m: m.shop_id))
        sessions.keep(user, memberships, row["state_json"])
        return as_session(user, memberships, row["state_json"])

    async def load(self, user_id: int) -> dict[str, Any]:
        async with self._db.read() as conn:
            text = await rows.fetch_value(
                conn, "SELECT state FROM conversation_states WHERE user_id = ?", (user_id,))
        found = json.loads(text) if text else {}
        return found if isinstance(found, dict) else {}

    async def save(self, user_id: int, state: dict[str, Any], now: datetime) -> None:
        text = json.dumps(state, ensure_ascii=False)
        params = (user_id, text, rows.to_db_time(now))

        def save(conn: sqlite3.Connection) -> None:
            conn.execute(
                """INSERT INTO conversation_states (user_id, state, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT (user_id) DO UPDATE SET state = excluded.state,
                       updated_at = excluded.updated_at""", params)
            self._db.saved_state(user_id, text)
        await self._db.run_write(save)
