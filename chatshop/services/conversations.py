"""The conversation's own records: who is writing (their shops and their saved state),
and saving that state after each event. The conversation reads and writes them here,
never through the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chatshop.domain.models import Channel, Session
from chatshop.storage.interface import Store


class ConversationService:
    """One person's session (the person, the shops they run, their state) and its saving."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def session(self, channel: Channel, external_id: str) -> Session | None:
        """The person writing on ``channel`` as ``external_id``, or None before first contact."""
        return await self._store.conversations.session(channel, external_id)

    async def save(self, user_id: int, state: dict[str, Any], now: datetime) -> None:
        """Keep the person's state, so that a restart loses nothing."""
        await self._store.conversations.save(user_id, state, now)
