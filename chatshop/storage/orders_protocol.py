"""The ``Store`` protocol's part for reservations (beside ``storage/interface.py``, which
imports it): holding stock, the reservations' life, their lists. No SQL here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from chatshop.domain.models import (
    Basket,
    Contact,
    PickupOrder,
    Reservation,
    ReservationSource,
    ReservationStatus,
)


class OrderRepository(Protocol):
    async def add_to_basket(self, user_id: int, product_id: int, quantity: int,
                            now: datetime) -> None:
        ...

    async def set_basket_quantity(self, user_id: int, product_id: int, quantity: int,
                                  now: datetime) -> None:
        """Change a line's quantity; 0 removes the line."""
        ...

    async def baskets(self, user_id: int) -> list[Basket]:
        """The customer's baskets, one per pickup shop, oldest first."""
        ...

    async def items_in_baskets(self, user_id: int) -> int:
        """How many units the customer has in all their baskets (for the menu)."""
        ...

    async def clear_basket(self, user_id: int, product_ids: Sequence[int] | None = None) -> None:
        ...

    async def reserve(self, user_id: int, idempotency_key: str, orders: Sequence[PickupOrder],
                      now: datetime, code: Callable[[], str], *,
                      from_basket: bool, source: ReservationSource = ReservationSource.CHAT,
                      contact: Contact | None = None) -> list[Reservation]:
        """Hold stock and create one reservation per order, all in one transaction.

If this customer already confirmed with ``idempotency_key``, the reservations made
then are returned and nothing else happens. A short line raises ``OutOfStock``
naming it, and nothing is reserved. A chat reservation keeps to the shop's caps
(``TooManyUnits``, ``TooManyReservations``); a phone one (``source``, ``user_id`` the
staff member who took it) records its ``contact`` and has no caps: the staff decide."""
        ...

    async def transition(self, reservation_id: int, to: ReservationStatus,
                         allowed_from: Sequence[ReservationStatus], now: datetime, *,
                         reason: str | None = None, user_id: int | None = None) -> Reservation:
        """Move a reservation to ``to`` if it is in one of ``allowed_from``; closing it
gives its stock back (and, once collected, takes it out of ``on_hand``)."""
        ...

    async def expire_overdue(self, now: datetime) -> list[Reservation]:
        """Expire every live reservation past its deadline and give its stock back."""
        ...

    async def due_for_reminder(self, now: datetime, lead: timedelta) -> list[Reservation]:
        """Live reservations whose deadline is within ``lead`` and not yet reminded."""
        ...

    async def claim_reminders(self, reservation_ids: Sequence[int],
                              now: datetime) -> list[int]:
        """Mark reminded now those of these reservations still live and not reminded;
        returns the ids this call marked (a reservation is claimed once, ever)."""
        ...

    async def by_idempotency_key(self, user_id: int, key: str) -> list[Reservation]:
        ...

    async def get(self, reservation_id: int) -> Reservation | None:
        ...

    async def live_by_code(self, code: str) -> Reservation | None:
        ...

    async def of_user(self, user_id: int, *, live_only: bool = False,
                      limit: int = 20) -> list[Reservation]:
        """The person's own reservations (made in the chat), newest first."""
        ...

    async def erase_contact(self, reservation_id: int) -> bool:
        """Forget a phone reservation's name and phone (the reservation stays)."""
        ...

    async def drop_contacts_closed_before(self, cutoff: datetime) -> int:
        """Forget the contacts of reservations closed before ``cutoff``; how many."""
        ...

    async def of_shop(self, shop_id: int, statuses: Sequence[ReservationStatus], *,
                      limit: int = 20) -> list[Reservation]:
        ...

    async def live_quantities(self) -> dict[int, int]:
        """Units held by live reservations, per product (for audits and tests)."""
        ...
