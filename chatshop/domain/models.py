"""The territory's data: communes, shops, staff, products, baskets and reservations.

Models are frozen pydantic models. Money is an ``int`` of cents, times are aware UTC
datetimes, ids are ints. Pure rules that need no storage (is a shop open, what is
available, which shops must be told of a reservation) live here as methods.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import datetime, time
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatshop.domain import opening
from chatshop.domain.limits import MAX_PRICE_CENTS, MAX_STOCK

T = TypeVar("T")

Channel = Literal["telegram", "whatsapp", "console"]
CHANNELS: tuple[Channel, ...] = ("telegram", "whatsapp", "console")


class Model(BaseModel):
    """Base of every domain model: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Commune(Model):
    """A commune of the territory, where shops are."""

    id: int
    name: str
    postcode: str = ""


class OpeningInterval(Model):
    """One opening interval on one weekday (Monday = 0), e.g. Tuesday 09:00-12:30."""

    weekday: int = Field(ge=0, le=6)
    opens: time
    closes: time

    @model_validator(mode="after")
    def _closes_after_opening(self) -> OpeningInterval:
        if self.closes <= self.opens:
            raise ValueError("an interval must close after it opens")
        return self


class Shop(Model):
    """A shop of the territory: its card, its rules for holding reservations, its state."""

    id: int
    slug: str
    name: str
    commune_id: int
    address: str = ""
    phone: str = ""
    latitude: float | None = None
    longitude: float | None = None
    description: str = ""
    pickup_instructions: str = ""
    hold_hours: int = 48
    on_holiday: bool = False
    holiday_message: str = ""
    active: bool = True
    hours: tuple[OpeningInterval, ...] = ()
    photos: dict[Channel, str] = Field(default_factory=dict)
    announcement: str = ""  # for the weekly digest
    announcement_at: datetime | None = None
    created_at: datetime
    # The shop's own rules (#12): ask customers when they come; the staff's morning
    # message and Monday figures; public holidays as opening days; what one customer
    # may hold (units of one product, open reservations) at this shop.
    asks_pickup_time: bool = False
    morning_message: bool = False
    weekly_figures: bool = False
    opens_on_public_holidays: bool = False
    max_units_per_product: int = 5
    max_open_reservations: int = 10

    @property
    def takes_reservations(self) -> bool:
        """Whether customers can reserve for collection here now."""
        return self.active and not self.on_holiday

    def is_open_at(self, moment: datetime, tz: ZoneInfo) -> bool:
        """Whether the shop's door is open at ``moment`` (local opening hours in ``tz``;
        a public holiday is closed unless the shop opens on them)."""
        return opening.is_open(self, moment, tz)

    def pickup_deadline(self, start: datetime, tz: ZoneInfo) -> datetime:
        """Until when a reservation made at ``start`` is held: ``hold_hours`` later, moved
        to the end of the next opening when the shop is closed then (``opening``)."""
        return opening.hold_deadline(self, start, tz)


class ShopDetails(Model):
    """The editable part of a shop's card; ``None`` leaves a field as it is."""

    name: str | None = None
    commune_id: int | None = None
    address: str | None = None
    phone: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    description: str | None = None
    pickup_instructions: str | None = None
    hold_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    on_holiday: bool | None = None
    holiday_message: str | None = None
    active: bool | None = None
    asks_pickup_time: bool | None = None
    morning_message: bool | None = None
    weekly_figures: bool | None = None
    opens_on_public_holidays: bool | None = None
    max_units_per_product: int | None = Field(default=None, ge=1, le=999)
    max_open_reservations: int | None = Field(default=None, ge=1, le=999)


class Role(enum.StrEnum):
    """What a person may do in a shop. The owner also invites staff."""

    OWNER = "owner"
    STAFF = "staff"


class StaffMember(Model):
    """A person who runs a shop."""

    shop_id: int
    user_id: int
    role: Role
    added_at: datetime


class Invite(Model):
    """A single-use code that makes whoever uses it owner or staff of a shop."""

    code: str
    shop_id: int
    role: Role
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by: int | None = None


class User(Model):
    """A person talking to the bot on one channel: customer, shopkeeper or operator."""

    id: int
    channel: Channel
    external_id: str
    display_name: str
    phone: str | None = None
    created_at: datetime
    last_seen_at: datetime
    unreachable_at: datetime | None = None  # the platform said they blocked the bot


class Actor(Model):
    """Who is acting, as services need to know it for permission checks."""

    user_id: int
    is_operator: bool = False


class Category(Model):
    """A product category of the territory-wide list, e.g. « Alimentation »."""

    id: int
    name: str
    position: int
    active: bool = True


class Product(Model):
    """An item a shop sells. ``shop_id`` is the maker; ``host_shop_id`` the shop where it
    is displayed and collected when it is hosted (dépôt), else ``None``."""

    id: int
    shop_id: int
    host_shop_id: int | None = None
    name: str
    description: str = ""
    price_cents: int
    category_id: int | None = None
    on_hand: int
    reserved: int
    hidden: bool = False
    photos: dict[Channel, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    restocked_at: datetime | None = None

    @property
    def available(self) -> int:
        """What customers can still reserve."""
        return self.on_hand - self.reserved

    @property
    def pickup_shop_id(self) -> int:
        """The shop where a customer collects this product."""
        return self.host_shop_id if self.host_shop_id is not None else self.shop_id

    @property
    def is_hosted(self) -> bool:
        return self.host_shop_id is not None


class NewProduct(Model):
    """What a shopkeeper gives to add a product (already parsed and checked)."""

    name: str
    description: str = ""
    price_cents: int = Field(gt=0, le=MAX_PRICE_CENTS)
    category_id: int | None = None
    on_hand: int = Field(default=0, ge=0, le=MAX_STOCK)
    photo: tuple[Channel, str] | None = None


class ProductChanges(Model):
    """Edits to a product's card; ``None`` leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    price_cents: int | None = Field(default=None, gt=0, le=MAX_PRICE_CENTS)
    category_id: int | None = None
    hidden: bool | None = None


class ProductRow(Model):
    """One product line of an imported file, checked. ``None`` means the cell was empty
    or the column absent: a new product gets the default (0 in stock, no category, no
    description, shown), an existing one keeps what it has."""

    line: int
    name: str
    price_cents: int = Field(gt=0, le=MAX_PRICE_CENTS)
    on_hand: int | None = Field(default=None, ge=0, le=MAX_STOCK)
    category_id: int | None = None
    description: str | None = None
    hidden: bool | None = None


class ListedProduct(Model):
    """A product as a customer sees it in a list: with the names of its maker and pickup shop."""

    product: Product
    maker_name: str
    pickup_shop_name: str
    commune_name: str


class HostingStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    ENDED = "ended"


class Hosting(Model):
    """A host shop's agreement to display and collect a maker's products (dépôt)."""

    host_shop_id: int
    maker_shop_id: int
    status: HostingStatus
    proposed_at: datetime
    decided_at: datetime | None = None


class StockReason(enum.StrEnum):
    CREATED = "created"
    SET = "set"
    ADDED = "added"
    REMOVED = "removed"
    COLLECTED = "collected"
    SOLD = "sold"  # a sale at the counter (#12), not through a reservation


class StockMovement(Model):
    """One change of a product's ``on_hand``, for the ledger."""

    id: int
    product_id: int
    user_id: int | None
    delta: int
    on_hand_after: int
    reason: StockReason
    reservation_id: int | None = None
    at: datetime


class BasketLine(Model):
    product: Product
    quantity: int

    @property
    def total_cents(self) -> int:
        return self.product.price_cents * self.quantity


class Basket(Model):
    """What a customer intends to reserve at one pickup shop. No stock is held."""

    user_id: int
    shop_id: int
    lines: tuple[BasketLine, ...]

    @property
    def total_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


class ReservationStatus(enum.StrEnum):
    PENDING = "pending"
    READY = "ready"
    COLLECTED = "collected"
    CANCELLED_BY_CUSTOMER = "cancelled_by_customer"
    CANCELLED_BY_SHOP = "cancelled_by_shop"
    EXPIRED = "expired"

    @property
    def is_live(self) -> bool:
        """Whether stock is still held for it."""
        return self in (ReservationStatus.PENDING, ReservationStatus.READY)


class ReservationSource(enum.StrEnum):
    """How a reservation came: the customer in the chat, or the staff taking it by
    phone or at the counter (then ``user_id`` is that staff member, and the person it
    is for is its ``contact``)."""

    CHAT = "chat"
    PHONE = "phone"


class Contact(Model):
    """The person a phone reservation is for, as the staff wrote them down: personal
    data, shown only to the shop's staff."""

    name: str = ""
    phone: str = ""


class ReservationLine(Model):
    """One product of a reservation, with its name and price as they were when reserved."""

    product_id: int
    maker_shop_id: int
    name: str
    unit_price_cents: int
    quantity: int

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


class PickupOrder(Model):
    """What to reserve at one pickup shop: product ids with quantities, and the deadline."""

    shop_id: int
    deadline_at: datetime
    items: tuple[tuple[int, int], ...]


class Reservation(Model):
    """Items held for a customer at one shop until ``deadline_at``, paid at collection."""

    id: int
    code: str
    user_id: int
    shop_id: int
    status: ReservationStatus
    total_cents: int
    created_at: datetime
    deadline_at: datetime
    ready_at: datetime | None = None
    closed_at: datetime | None = None
    cancel_reason: str | None = None
    reminded_at: datetime | None = None
    lines: tuple[ReservationLine, ...]
    source: ReservationSource = ReservationSource.CHAT
    # A phone reservation's person (None once erased, or for a chat reservation).
    contact: Contact | None = None
    # The opening slot the customer chose to come in (both or neither), never past
    # ``deadline_at``; ``pickup_reminded_at``: the morning reminder of that day went.
    pickup_from: datetime | None = None
    pickup_until: datetime | None = None
    pickup_reminded_at: datetime | None = None

    @property
    def by_phone(self) -> bool:
        """Taken by the staff (phone, counter): nobody is told of it as a customer."""
        return self.source is ReservationSource.PHONE

    @property
    def shops_to_notify(self) -> frozenset[int]:
        """The pickup shop and the maker of every hosted line: all are told."""
        return frozenset({self.shop_id, *(line.maker_shop_id for line in self.lines)})


class Session(Model):
    """A person as the conversation needs them on each event: who, which shops they run,
    and the conversation state (a small JSON object owned by the conversation)."""

    user: User
    memberships: list[StaffMember]
    state: dict[str, Any]
    talked: bool = True  # False until the bot has answered them once (no state kept yet)


class TerritoryFigures(Model):
    """What the operator watches: shops, products on show, recent reservations."""

    active_shops: int
    inactive_shops: int
    listed_products: int
    reservations_week: int
    collected_week: int


class Page(Model, Generic[T]):
    """One page of a longer list.

    ``total`` is how many items the list has, or, when ``capped``, how many it has at
    least: a count that stops early (a search counts up to 200 hits) says there are more
    than ``total``, and a capped page with items always has a next one."""

    items: tuple[T, ...]
    total: int
    offset: int
    limit: int
    capped: bool = False

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total or (self.capped and bool(self.items))

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


async def every_item(page_of: Callable[[int], Awaitable[Page[T]]]) -> list[T]:
    """Every item of a list read a page at a time: ``page_of(offset)`` gives the page
    that starts at ``offset``; stops at the last page (or an empty one, should the list
    shrink meanwhile)."""
    items: list[T] = []
    while True:
        page = await page_of(len(items))
        items.extend(page.items)
        if not page.items or not page.has_next:
            return items


# The pages the repositories build, parametrised once and kept: pydantic forgets a
# parametrised model as soon as nothing refers to it, and building it again costs
# ~0.5 ms (measured: 3 % of the Telegram stack's time went to re-creating the search's
# page class after each garbage collection).
ShopPage = Page[Shop]
ProductPage = Page[Product]
ListedPage = Page[ListedProduct]


class PendingEvent(Model):
    """A platform event received but not yet handled (the process stopped meanwhile)."""

    channel: Channel
    event_id: str
    payload: str  # the platform's JSON, as received


class OutgoingMessage(Model):
    """A notification waiting in the outbox: for whom, what (a reply, as JSON owned by
    the conversation), about which reservation, and how its delivery goes."""

    id: int
    channel: Channel
    recipient: str
    message: str
    regarding: int | None = None
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None
    template_only: bool = False  # the platform refused it as a free message: template


class SubscriptionScope(enum.StrEnum):
    TERRITORY = "territory"
    COMMUNES = "communes"
    SHOPS = "shops"


class Subscription(Model):
    """Someone who asked for the weekly digest, when, and for what."""

    user_id: int
    scope: SubscriptionScope
    commune_ids: frozenset[int] = frozenset()
    shop_ids: frozenset[int] = frozenset()
    consented_at: datetime


class DigestProduct(Model):
    """A product in a digest: new, or back in stock."""

    id: int
    name: str
    price_cents: int
    shop_id: int  # where it is collected
    shop_name: str
    at: datetime  # when it was added, or restocked
    created_at: datetime


class DigestShopNews(Model):
    """A shop's word (its announcement) or its holiday closure."""

    shop_id: int
    shop_name: str
    text: str
    at: datetime | None = None


class Digest(Model):
    """What is new for one subscriber this week."""

    user_id: int
    channel: Channel
    external_id: str
    unreachable: bool = False  # they blocked the bot: not to be sent
    new: tuple[DigestProduct, ...] = ()
    back_in_stock: tuple[DigestProduct, ...] = ()
    announcements: tuple[DigestShopNews, ...] = ()
    closures: tuple[DigestShopNews, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing new: a shop on holiday alone is not news, week after week."""
        return not (self.new or self.back_in_stock or self.announcements)


class DigestReport(Model):
    """How a digest run went: one count per outcome. Refused: ``blocked`` (the person
    blocked the bot) and ``outside_window`` (WhatsApp's 24-hour window was closed);
    ``failures`` are the most frequent reasons of the ``failed`` ones, with how many
    each; ``pending`` are still waiting (not sent yet, or being sent)."""

    run_id: int
    week: str
    sent: int = 0
    no_news: int = 0
    unsubscribed: int = 0
    blocked: int = 0
    outside_window: int = 0
    failed: int = 0
    failures: tuple[tuple[str, int], ...] = ()
    pending: int = 0

    @property
    def refused(self) -> int:
        return self.blocked + self.outside_window

    @property
    def total(self) -> int:
        return (self.sent + self.no_news + self.unsubscribed + self.refused + self.failed
                + self.pending)
