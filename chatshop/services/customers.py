"""The people who write to the bot: first contact, last seen, phone number."""

from __future__ import annotations

import json
from datetime import timedelta

from chatshop.clock import Clock
from chatshop.domain.models import (
    Actor,
    Channel,
    Reservation,
    ReservationStatus,
    Session,
    User,
)
from chatshop.domain.parsing import clean_name, clean_phone
from chatshop.errors import InvalidInput, NotFound
from chatshop.services.access import Access
from chatshop.storage.interface import Store

DISPLAY_NAME_MAX = 64
LAST_SEEN_PRECISION = timedelta(minutes=10)


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
        now = self._clock()
        known = await self._store.users.find(channel, external_id)
        # "Last seen" need not be exact to the second: skip the write (the bot's busiest
        # path) while the person is in the middle of a conversation.
        if known is not None and known.display_name == (name or known.display_name) \
                and known.unreachable_at is None \
                and now - known.last_seen_at < LAST_SEEN_PRECISION:
            return known
        return await self._store.users.seen(channel, external_id,
                                            name or (known.display_name if known else ""), now)

    def actor(self, user: User) -> Actor:
        return self._access.actor(user)

    @property
    def operators(self) -> frozenset[tuple[str, str]]:
        """The territory's operators, as ``(channel, user_id)`` (from the settings)."""
        return self._access.operators

    def is_operator(self, channel: Channel, external_id: str) -> bool:
        return (channel, external_id) in self._access.operators

    async def session(self, channel: Channel, external_id: str) -> Session | None:
        """The person and the shops they run (one small read), or None if unknown."""
        return await self._store.conversations.session(channel, external_id)

    async def blocked_the_bot(self, channel: Channel, external_id: str) -> User | None:
        """The platform says this person blocked the bot: mark them unreachable."""
        return await self._store.users.mark_unreachable(channel, external_id, self._clock())

    async def get(self, user_id: int) -> User | None:
        return await self._store.users.get(user_id)

    async def set_phone(self, user_id: int, phone: str) -> User:
        return await self._store.users.set_phone(user_id, clean_phone(phone))

    async def export(self, user_id: int) -> bytes:
        """Everything kept about this person, as readable JSON (their right of access)."""
        user = await self._store.users.get(user_id)
        if user is None:
            raise NotFound("user", user_id)
        reservations = await self._store.orders.of_user(user_id, limit=10_000)
        baskets = await self._store.orders.baskets(user_id)
        subscription = await self._store.digest.subscription(user_id)
        alerts = await self._store.alerts.of_user(user_id)
        data = {
            "person": user.model_dump(mode="json"),
            "weekly_digest": None if subscription is None
            else subscription.model_dump(mode="json"),
            "reservations": [r.model_dump(mode="json") for r in reservations],
            "basket": [{"product": line.product.name, "quantity": line.quantity}
                       for b in baskets for line in b.lines],
            "product_alerts": [{"product": line.product_name, "shop": line.shop_name,
                                "asked_at": line.alert.created_at.isoformat(),
                                "until": line.alert.expires_at.isoformat(),
                                "told_at": None if line.alert.told_at is None
                                else line.alert.told_at.isoformat()} for line in alerts],
        }
        return json.dumps(data, ensure_ascii=False, indent=2).encode()

    async def erase(self, user_id: int) -> list[Reservation]:
        """Forget this person, all of it or nothing (one unit of work): live
        reservations are cancelled (stock goes back), the messages kept for them or
        about them are dropped, then name, phone, basket and conversation state are
        erased. Returns the cancelled reservations, whose shops are to be told.

        Only their own (chat) reservations: the phone reservations a staff member took
        are the shop's, for other people, and stay live for the shop to hand over; the
        export likewise lists none of them (nor their contacts)."""
        now = self._clock()
        async with self._store.unit_of_work() as uow:
            cancelled = [
                await uow.orders.transition(
                    reservation.id, ReservationStatus.CANCELLED_BY_CUSTOMER,
                    (ReservationStatus.PENDING, ReservationStatus.READY), now,
                    user_id=user_id)
                for reservation in await uow.orders.of_user(user_id, live_only=True,
                                                            limit=10_000)]
            await uow.outbox.forget_person(user_id)  # found by their platform id: first
            await uow.users.forget(user_id)
            await uow.commit()
        return cancelled
