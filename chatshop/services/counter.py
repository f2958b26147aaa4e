"""At the counter and on the phone (#12 §1): reservations the staff take for someone
(« /reserver savon x2 pour Mme Dupont 06 12 34 56 78 »), sales at the counter
(« /vendu savon 2 »), and the personal data of those reservations (shown to the staff
only, exported or erased on request, dropped 30 days after the reservation closed)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from chatshop.clock import Clock
from chatshop.domain.codes import reservation_code
from chatshop.domain.models import (
    Actor,
    Contact,
    PickupOrder,
    Product,
    Reservation,
    ReservationSource,
    StockReason,
)
from chatshop.domain.parsing import check_id, check_quantity, clean_phone
from chatshop.domain.phone_order import CONTACT_PHONE_MAX, contact_name
from chatshop.errors import (
    DomainError,
    InvalidInput,
    NoLongerOffered,
    NotAllowed,
    NotEnoughOnHand,
    NotFound,
    ShopUnavailable,
    StockBelowReserved,
)
from chatshop.i18n import _, format_number, ngettext
from chatshop.services.access import Access
from chatshop.services.reservations import IDEMPOTENCY_KEY_MAX, Placed
from chatshop.storage.interface import AlreadyReserved, Store

CONTACT_KEPT = timedelta(days=30)  # after the reservation closed


class CannotSell(DomainError):
    """A counter sale would take the shelf below what is reserved (or below zero)."""

    def __init__(self, name: str, on_hand: int, reserved: int) -> None:
        super().__init__(f"{name}: {on_hand} on hand, {reserved} reserved")
        self.name, self.on_hand, self.reserved = name, on_hand, reserved

    def message(self) -> str:
        most = max(self.on_hand - self.reserved, 0)
        left = ngettext("{n} « {name} » is left", "{n} « {name} » are left",
                        self.on_hand).format(n=format_number(self.on_hand), name=self.name)
        if not self.reserved:
            return _("{left}: you cannot sell more.").format(left=left)
        held = ngettext("{n} of them reserved", "{n} of them reserved",
                        self.reserved).format(n=format_number(self.reserved))
        if not most:
            return _("{left}, {held}: none can be sold.").format(left=left, held=held)
        return ngettext("{left}, {held}: you can sell {n} at most.",
                        "{left}, {held}: you can sell {n} at most.", most).format(
            left=left, held=held, n=format_number(most))


class CounterService:
    def __init__(self, store: Store, access: Access, clock: Clock, tz: ZoneInfo) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._tz = tz  # the territory's

    # -- reservations taken by the staff ------------------------------------------------

    async def product(self, actor: Actor, product_id: int) -> Product:
        """A product the staff may reserve or sell: their shop makes it or hosts it."""
        product = await self._store.catalogue.get(check_id(product_id, "product"))
        if product is None:
            raise NotFound("product", product_id)
        try:
            await self._access.require_staff(actor, product.shop_id)
        except NotAllowed:
            await self._access.require_staff(actor, product.pickup_shop_id)
        return product

    async def reserve(self, actor: Actor, product_id: int, quantity: int, contact: Contact,
                      idempotency_key: str) -> Placed:
        """Reserve for someone who phoned or came in: the same stock, hold, deadline and
        code as in the chat, recorded as the staff member's, with the person's name and
        phone (both optional). The same key again gives back the same reservation."""
        key = _checked_key(idempotency_key)
        product = await self.product(actor, product_id)
        person = Contact(name=contact_name(contact.name) if contact.name else "",
                         phone=_checked_phone(contact.phone))
        try:
            listed = await self._store.catalogue.listed(product.id)
            if listed is None:
                raise NoLongerOffered(product.name)
            shop = await self._store.shops.get(listed.product.pickup_shop_id)
            if shop is None:
                raise NotFound("shop", listed.product.pickup_shop_id)
            if not shop.takes_reservations:
                raise ShopUnavailable(shop.name,
                                      shop.holiday_message if shop.on_holiday else None)
            now = self._clock()
            order = PickupOrder(shop_id=shop.id, items=((product.id, check_quantity(quantity)),),
                                deadline_at=shop.pickup_deadline(now, self._tz))
            made = await self._store.orders.reserve(
                actor.user_id, key, [order], now, reservation_code, from_basket=False,
                source=ReservationSource.PHONE, contact=person if person.name or person.phone
                else None)
            return Placed(made, replayed=False)
        except AlreadyReserved as before:
            return Placed(before.reservations[:1], replayed=True)
        except DomainError:
            done = await self._store.orders.by_idempotency_key(actor.user_id, key)
            if not done:
                raise
            return Placed(done[:1], replayed=True)

    # -- a sale at the counter -----------------------------------------------------------

    async def sell(self, actor: Actor, product_id: int, quantity: int, *,
                   seen: int | None = None) -> Product:
        """Units sold at the counter (by the maker's shop, or the host shop where the
        product stands) leave the shelf with the ledger reason « sold »; never below
        what is reserved (checked in the write itself). ``seen``: the ledger line the
        button was made from, so that a double tap sells once."""
        product = await self.product(actor, product_id)
        wanted = check_quantity(quantity)
        try:
            return await self._store.catalogue.change_stock(
                product.id, actor.user_id, StockReason.SOLD, wanted, self._clock(),
                after=seen)
        except (StockBelowReserved, NotEnoughOnHand):
            now = await self._store.catalogue.get(product.id) or product
            raise CannotSell(now.name, now.on_hand, now.reserved) from None

    # -- the person a phone reservation is for ------------------------------------------

    async def phone_reservation(self, actor: Actor, reservation_id: int) -> Reservation:
        """A phone reservation, for the team of its pickup shop only: its person's data is
        theirs (not even the territory's operator sees it; anyone else: refused)."""
        reservation = await self._store.orders.get(check_id(reservation_id, "reservation"))
        if reservation is None or not reservation.by_phone:
            raise NotFound("reservation", reservation_id)
        if await self._access.role(actor, reservation.shop_id) is None:
            raise NotAllowed(f"user {actor.user_id} on reservation {reservation_id}")
        return reservation

    async def erase_contact(self, actor: Actor, reservation_id: int) -> Reservation:
        """The person asked to be forgotten: their name and phone go, the reservation
        stays."""
        reservation = await self.phone_reservation(actor, reservation_id)
        await self._store.orders.erase_contact(reservation.id)
        return reservation.model_copy(update={"contact": None})

    async def last_movement(self, actor: Actor, product_id: int) -> int:
        """The product's latest stock ledger line (for a « sell » button that sells once)."""
        product = await self.product(actor, product_id)
        return await self._store.catalogue.last_movement(product.id)

    async def drop_old_contacts(self) -> int:
        """The daily clean-up: contacts of reservations closed over 30 days ago go."""
        return await self._store.orders.drop_contacts_closed_before(
            self._clock() - CONTACT_KEPT)


def _checked_key(key: str) -> str:
    if not isinstance(key, str) or not 0 < len(key) <= IDEMPOTENCY_KEY_MAX:
        raise InvalidInput(_("This confirmation has expired. Please start again."))
    return key


def _checked_phone(phone: str) -> str:
    if not phone:
        return ""
    cleaned = clean_phone(phone)
    if len(cleaned) > CONTACT_PHONE_MAX:
        raise InvalidInput(_("That does not look like a phone number, for example "
                             "06 12 34 56 78."))
    return cleaned
