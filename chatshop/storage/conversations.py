"""Conversation state: one small JSON object per person, read and replaced whole."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from chatshop.domain.models import Channel, Session, StaffMember, User
from chatshop.storage import rows
from chatshop.storage.database import Database

_SESSION = """
    SELECT u.*,
        (SELECT json_group_array(json_array(shop_id, role, added_at))
           FROM staff WHERE user_id = u.id) AS memberships_json,
        (SELECT state FROM conversation_states WHERE user_id = u.id) AS state_json
    FROM users u WHERE u.channel = ? AND u.external_id = ?"""

_Kept = tuple[float, User, tuple[StaffMember, ...], str | None]
T = TypeVar("T")


class RecentSessions:
    """The sessions of the people who wrote in the last few seconds, so that each of
    their messages does not read the same rows again; and the teams of the shops (who
    is told of a new reservation), for the same reason.

    Why: the session is read on every update, and under load each read finds SQLite's
    page cache emptied by the writes committed since the last one (WAL: a connection
    drops its cached pages whenever another connection has committed); measured in the
    Telegram stack, 65 µs a read instead of 7 µs.

    Kept right: the conversation's own state is written through (``kept_state`` after
    its save has committed); every other write in this process to a person's row or to
    shop teams forgets what it touches once committed (``forget``, ``forget_all``; every
    team, since a person's row is part of their shops' teams), before the writer's next
    step, so the next read is fresh. A write by another process
    (``chatshop digest send`` marking someone unreachable) is seen at most ``ttl``
    seconds late, and never matters for permissions: services check the shop team in
    the database on every action. The state is kept as its JSON text and read afresh
    each time, so a handler changing its copy changes nothing here.
    """

    def __init__(self, ttl: float = 5.0, now: Callable[[], float] = time.monotonic,
                 limit: int = 20_000) -> None:
        self._ttl = ttl
        self._now = now
        self._limit = limit
        self._kept: dict[tuple[Channel, str], _Kept] = {}
        self._keys: dict[int, tuple[Channel, str]] = {}  # user id -> key
        self._teams: dict[int, tuple[float, tuple[User, ...]]] = {}  # shop id ->

    def get(self, channel: Channel, external_id: str) -> Session | None:
        kept = self._kept.get((channel, external_id))
        if kept is None or self._now() - kept[0] > self._ttl:
            return None
        _at, user, memberships, state_json = kept
        return _session(user, memberships, state_json)

    def keep(self, user: User, memberships: tuple[StaffMember, ...],
             state_json: str | None) -> None:
        if len(self._kept) >= self._limit:
            self._drop_old()
        key = (user.channel, user.external_id)
        self._kept[key] = (self._now(), user, memberships, state_json)
        self._keys[user.id] = key

    def team(self, shop_id: int) -> list[User] | None:
        kept = self._teams.get(shop_id)
        if kept is None or self._now() - kept[0] > self._ttl:
            return None
        return list(kept[1])

    def keep_team(self, shop_id: int, people: list[User]) -> None:
        if len(self._teams) >= self._limit:
            self._teams.clear()
        self._teams[shop_id] = (self._now(), tuple(people))

    def kept_state(self, user_id: int, state_json: str) -> None:
        """The conversation state of ``user_id`` was just saved as ``state_json``."""
        key = self._keys.get(user_id)
        kept = self._kept.get(key) if key is not None else None
        if key is not None and kept is not None:
            self._kept[key] = (kept[0], kept[1], kept[2], state_json)

    def forget(self, user_id: int) -> None:
        """``user_id``'s row or team changed: read them afresh next time."""
        key = self._keys.pop(user_id, None)
        if key is not None:
            self._kept.pop(key, None)
        self._teams.clear()

    def forget_all(self) -> None:
        self._kept.clear()
        self._keys.clear()
        self._teams.clear()

    def __len__(self) -> int:
        return len(self._kept)

    async def after(self, write: Coroutine[Any, Any, T],
                    then: Callable[[asyncio.Future[T]], None]) -> T:
        """Run ``write``, then ``then(its outcome)`` once it has really finished, before
        its caller goes on. A write whose caller is cancelled goes on to its end (a
        transaction handed to the writer's thread commits anyway): what it changes must
        be forgotten after its commit, never before, or a read in between would keep
        the old rows."""
        task = asyncio.ensure_future(write)
        task.add_done_callback(then)  # runs before the caller is woken
        return await asyncio.shield(task)

    def forgetting(self, *user_ids: int | None) -> Callable[[asyncio.Future[Any]], None]:
        """For ``after``: forget these people (everyone if None is among them)."""
        def forget(done: asyncio.Future[Any]) -> None:
            if not done.cancelled():
                done.exception()  # retrieved here: a caller cancelled meanwhile cannot
            if None in user_ids:
                self.forget_all()
            for user_id in user_ids:
                if user_id is not None:
                    self.forget(user_id)
        return forget

    def _drop_old(self) -> None:
        now = self._now()
        for key, kept in list(self._kept.items()):
            if now - kept[0] > self._ttl:
                del self._kept[key]
                self._keys.pop(kept[1].id, None)
        if len(self._kept) >= self._limit:  # all recent: a burst of new people
            self.forget_all()


def _session(user: User, memberships: tuple[StaffMember, ...],
             state_json: str | None) -> Session:
    state = json.loads(state_json) if state_json else {}
    return Session(user=user, memberships=list(memberships),
                   state=state if isinstance(state, dict) else {},
                   talked=state_json is not None)


class SqliteConversationRepository:
    def __init__(self, db: Database, sessions: RecentSessions) -> None:
        self._db = db
        self._sessions = sessions

    async def session(self, channel: Channel, external_id: str) -> Session | None:
        """Who writes, the shops they run and where their conversation is: one query
        (or none, if they wrote a moment ago), on every event."""
        kept = self._sessions.get(channel, external_id)
        if kept is not None:
            return kept
        found = self._db.lookup(_SESSION, (channel, external_id))
        if not found:
            return None
        row = found[0]
        user = rows.user(row)
        memberships = tuple(sorted(
            (StaffMember(shop_id=shop_id, user_id=user.id, role=role,
                         added_at=rows.from_db_time(added_at))
             for shop_id, role, added_at in json.loads(row["memberships_json"])),
            key=lambda m: m.shop_id))
        self._sessions.keep(user, memberships, row["state_json"])
        return _session(user, memberships, row["state_json"])

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
        def kept(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is None:
                self._sessions.kept_state(user_id, text)
            else:  # committed or not: read it again
                self._sessions.forget(user_id)
        await self._sessions.after(self._db.run_write(save), kept)
