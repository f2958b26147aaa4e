"""Reservations: a customer's items held at one shop until a deadline, paid in the shop.

Life of a reservation::

    pending ──► ready ──► collected
       │  │                   ▲
       │  └───────────────────┘  (a customer may come before the shop marked it ready)
       └──► cancelled_by_customer | cancelled_by_shop (with a reason) | expired
            (from pending or ready)

Confirming a basket makes one reservation per pickup shop, all in one transaction. The
same idempotency key (one per confirmation screen) always returns the same reservations,
so a double tap or a redelivered message never reserves twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from chatshop.clock import Clock
from chatshop.domain.codes import normalise_code, reservation_code
from chatshop.domain.models import (
    Actor,
    Basket,
    PickupOrder,
    Reservation,
    ReservationStatus,
    Shop,
)
from chatshop.domain.parsing import check_id, check_quantity, clean_description
from chatshop.errors import (
    DomainError,
    EmptyBasket,
    InvalidInput,
    NoLongerOffered,
    NotAllowed,
    NotFound,
    ShopUnavailable,
)
from chatshop.i18n import _
from chatshop.services.access import Access
from chatshop.services.delivery import Outgoing, queue_claimed
from chatshop.storage.interface import AlreadyReserved, Store

REMINDER_LEAD = timedelta(hours=6)
CANCEL_REASON_MAX = 200
IDEMPOTENCY_KEY_MAX = 100

_LIVE = (ReservationStatus.PENDING, ReservationStatus.READY)

# The messages of a reminder, as the outbox keeps them: (channel, recipient, text,
# the reservation they are about).


class Placed(NamedTuple):
    """Reservations made by one confirmation, and whether they had been made before
    (the same idempotency key again)."""

    reservations: list[Reservation]
    replayed: bool


class ReservationService:
    def __init__(self, store: Store, access: Access, clock: Clock, tz: ZoneInfo) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._tz = tz  # the territory's: opening hours are local times

    # -- customers --------------------------------------------------------------------

    async def confirm_basket(self, user_id: int, idempotency_key: str,
                             shop_id: int | None = None) -> list[Reservation]:
        """Reserve the basket (or only the one for ``shop_id``): one reservation per
        pickup shop, all or none; the basket lines reserved are emptied."""
        return (await self.place_basket(user_id, idempotency_key, shop_id)).reservations

    async def place_basket(self, user_id: int, idempotency_key: str,
                           shop_id: int | None = None, *,
                           at_most: Mapping[int, int] | None = None) -> Placed:
        """``confirm_basket``, saying whether this key had already placed them.

        ``at_most`` caps lines by product id (what is left of a product that fell
        short; 0 leaves its line out, in the basket)."""
        key = _checked_key(idempotency_key)
        try:
            baskets = [b for b in await self._store.orders.baskets(user_id)
                       if shop_id is None or b.shop_id == check_id(shop_id, "shop")]
            if not baskets:
                raise EmptyBasket()
            await self._check_still_offered(baskets)
            wanted = [(b.shop_id, _items(b, at_most or {})) for b in baskets]
            if not any(items for _shop, items in wanted):
                raise EmptyBasket()
            orders = [await self._order(each, items) for each, items in wanted if items]
            return Placed(await self._store.orders.reserve(
                user_id, key, orders, self._clock(), reservation_code, from_basket=True),
                replayed=False)
        except AlreadyReserved as before:
            return Placed(before.reservations, replayed=True)
        except DomainError as refusal:
            return Placed(await self._replay(user_id, key, refusal), replayed=True)

    async def reserve_now(self, user_id: int, product_id: int, quantity: int,
                          idempotency_key: str) -> Reservation:
        """Reserve one product straight from its card, without touching the basket."""
        return (await self.place_now(user_id, product_id, quantity,
                                     idempotency_key)).reservations[0]

    async def place_now(self, user_id: int, product_id: int, quantity: int,
                        idempotency_key: str) -> Placed:
        """``reserve_now``, saying whether this key had already placed it (a double tap,
        a redelivered update: then nobody should be told again)."""
        key = _checked_key(idempotency_key)
        try:
            listed = await self._store.catalogue.listed(check_id(product_id, "product"))
            if listed is None:
                raise NotFound("product", product_id)
            order = await self._order(listed.product.pickup_shop_id,
                                      ((product_id, check_quantity(quantity)),))
            return Placed(await self._store.orders.reserve(
                user_id, key, [order], self._clock(), reservation_code, from_basket=False),
                replayed=False)
        except AlreadyReserved as before:
            return Placed(before.reservations[:1], replayed=True)
        except DomainError as refusal:
            # A replayed key answers with what it made then (the first, if a basket
            # made more).
            return Placed((await self._replay(user_id, key, refusal))[:1], replayed=True)

    async def _replay(self, user_id: int, key: str,
                      refusal: DomainError) -> list[Reservation]:
        """After a refusal: if this confirmation already went through (a double tap, a
        redelivered message), its reservations are the answer; else the refusal stands.
        Checking only here keeps the common path free of an extra read."""
        done = await self._store.orders.by_idempotency_key(user_id, key)
        if not done:
            raise refusal
        return done

    async def _order(self, shop_id: int, items: Sequence[tuple[int, int]]) -> PickupOrder:
        shop = await self._pickup_shop(shop_id)
        return PickupOrder(shop_id=shop.id, items=tuple(items),
                           deadline_at=shop.pickup_deadline(self._clock(), self._tz))

    async def _check_still_offered(self, baskets: Sequence[Basket]) -> None:
        """Refuse a basket holding a product that was hidden or withdrawn since."""
        products = {line.product.id: line.product for b in baskets for line in b.lines}
        gone = set(products) - await self._store.catalogue.listed_ids(list(products))
        if gone:
            raise NoLongerOffered(products[min(gone)].name)

    async def _pickup_shop(self, shop_id: int) -> Shop:
        shop = await self._store.shops.get(shop_id)
        if shop is None:
            raise NotFound("shop", shop_id)
        if not shop.takes_reservations:
            raise ShopUnavailable(shop.name, shop.holiday_message if shop.on_holiday else None)
        return shop

    async def of_customer(self, user_id: int, *, live_only: bool = False) -> list[Reservation]:
        """The customer's reservations, newest first."""
        return await self._store.orders.of_user(user_id, live_only=live_only)

    async def cancel_by_customer(self, user_id: int, reservation_id: int) -> Reservation:
        reservation = await self._get(reservation_id)
        if reservation.user_id != user_id or reservation.by_phone:
            # Not theirs (a phone reservation is the shop's, handled by its staff): do
            # not even confirm it exists.
            raise NotFound("reservation", reservation_id)
        return await self._store.orders.transition(
            reservation_id, ReservationStatus.CANCELLED_BY_CUSTOMER, _LIVE, self._clock(),
            user_id=user_id)

    # -- shop staff -------------------------------------------------------------------

    async def for_shop(self, actor: Actor, shop_id: int,
                       statuses: Sequence[ReservationStatus] = _LIVE) -> list[Reservation]:
        """The shop's reservations to handle, soonest deadline first."""
        await self._access.require_staff(actor, shop_id)
        return await self._store.orders.of_shop(shop_id, statuses) if statuses else []

    async def for_staff(self, actor: Actor, reservation_id: int) -> Reservation:
        """One reservation, for the staff of its pickup shop."""
        return await self._staffed(actor, reservation_id)

    async def find_by_code(self, actor: Actor, code: str) -> Reservation:
        """A live reservation by the code the customer shows at the counter."""
        reservation = await self._store.orders.live_by_code(normalise_code(code))
        if reservation is None:
            raise NotFound("reservation", code)
        try:
            await self._access.require_staff(actor, reservation.shop_id)
        except NotAllowed:
            raise NotFound("reservation", code) from None
        return reservation

    async def mark_ready(self, actor: Actor, reservation_id: int) -> Reservation:
        """The items are set aside: the customer can come."""
        await self._staffed(actor, reservation_id)
        return await self._store.orders.transition(
            reservation_id, ReservationStatus.READY, (ReservationStatus.PENDING,),
            self._clock(), user_id=actor.user_id)

    async def mark_collected(self, actor: Actor, reservation_id: int) -> Reservation:
        """Paid and taken away: the units leave the shelf (``on_hand``) for good."""
        await self._staffed(actor, reservation_id)
        return await self._store.orders.transition(
            reservation_id, ReservationStatus.COLLECTED, _LIVE, self._clock(),
            user_id=actor.user_id)

    async def cancel_by_shop(self, actor: Actor, reservation_id: int,
                             reason: str) -> Reservation:
        """The shop cancels and says why; the customer is told the reason."""
        await self._staffed(actor, reservation_id)
        text = clean_description(reason, max_length=CANCEL_REASON_MAX)
        if not text:
            raise InvalidInput(_("Please give the customer a reason."))
        return await self._store.orders.transition(
            reservation_id, ReservationStatus.CANCELLED_BY_SHOP, _LIVE, self._clock(),
            reason=text, user_id=actor.user_id)

    async def _staffed(self, actor: Actor, reservation_id: int) -> Reservation:
        reservation = await self._get(reservation_id)
        await self._access.require_staff(actor, reservation.shop_id)
        return reservation

    async def _get(self, reservation_id: int) -> Reservation:
        reservation = await self._store.orders.get(check_id(reservation_id, "reservation"))
        if reservation is None:
            raise NotFound("reservation", reservation_id)
        return reservation

    # -- scheduled work ---------------------------------------------------------------

    async def get(self, reservation_id: int) -> Reservation | None:
        """A reservation by id, for the bot itself (no actor: never shown as such)."""
        return await self._store.orders.get(reservation_id)

    async def expire_overdue(self) -> list[Reservation]:
        """Expire reservations past their deadline and give their stock back. Run it
        periodically and at start-up; the customers of the result are to be told."""
        return await self._store.orders.expire_overdue(self._clock())

    async def send_reminders(
            self, compose: Callable[[Reservation], Awaitable[Sequence[Outgoing]]],
            lead: timedelta = REMINDER_LEAD) -> list[Reservation]:
        """Remind the customers whose reservation ends within ``lead``: ``compose``
        writes each one's messages, then, in one unit of work, the reservations are
        claimed and the messages of those this call claimed are queued in the outbox.
        Returns those reminded. Two sweeps at once (two tasks, two processes) remind
        each reservation once, and a stop after the commit loses nothing: the messages
        wait in the outbox."""
        now = self._clock()
        due = await self._store.orders.due_for_reminder(now, lead)
        if not due:
            return []
        messages = {each.id: list(await compose(each)) for each in due}
        claimed = await queue_claimed(
            self._store, messages, lambda uow, ids: uow.orders.claim_reminders(ids, now), now)
        return [each for each in due if each.id in claimed]



def _items(basket: Basket, at_most: Mapping[int, int]) -> tuple[tuple[int, int], ...]:
    capped = ((line.product.id, min(line.quantity, at_most.get(line.product.id,
                                                               line.quantity)))
              for line in basket.lines)
    return tuple((product_id, quantity) for product_id, quantity in capped if quantity > 0)


def _checked_key(key: str) -> str:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise ValueError("an idempotency key has 1 to 100 characters")
    return key
