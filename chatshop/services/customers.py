"""The people who write to the bot: first contact, last seen, phone number."""

from __future__ import annotations

from chatshop.clock import Clock
from chatshop.domain.models import Actor, Channel, User
from chatshop.domain.parsing import clean_name, clean_phone
from chatshop.errors import InvalidInput
from chatshop.services.access import Access
from chatshop.storage.interface import Store

DISPLAY_NAME_MAX = 64


class CustomerService:
    def __init__(self, store: Store, access: Access, clock: Clock) -> None:
        self._store = store
        self._access = access
        self._clock = clock

    async def seen(self, channel: Channel, external_id: str, display_name: str) -> User:
        """Record a message from this person and return who they are."""
        try:  # a platform name is not the user's input to refuse: shorten it instead
            name = clean_name(" ".join(display_name.split())[:DISPLAY_NAME_MAX],
                              max_length=DISPLAY_NAME_MAX)
        except InvalidInput:
            name = ""
        return await self._store.users.seen(channel, external_id, name, self._clock())

    def actor(self, user: User) -> Actor:
        return self._access.actor(user)

    async def set_phone(self, user_id: int, phone: str) -> User:
        return await self._store.users.set_phone(user_id, clean_phone(phone))
