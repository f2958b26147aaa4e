"""What services need from storage: one repository per aggregate, gathered in a ``Store``.

These protocols are the whole contract between services and persistence. They take and
return domain models and raise domain errors; no SQL, connection or row crosses them.
The other modules of this package implement them on SQLite (``SqliteStore``); another
engine (PostgreSQL) would implement the same protocols and services would not change.
Every write method is one transaction: it happens entirely or not at all. A use case
that writes several things does them in one ``UnitOfWork`` (``store.unit_of_work()``):
the same repositories, all in one transaction, kept only if committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from chatshop.domain.digest_news import Subscriber
from chatshop.domain.models import (
    Category,
    Channel,
    Commune,
    DigestProduct,
    DigestReport,
    DigestShopNews,
    Hosting,
    HostingStatus,
    Invite,
    ListedProduct,
    NewProduct,
    OpeningInterval,
    OutgoingMessage,
    Page,
    PendingEvent,
    Product,
    ProductChanges,
    ProductRow,
    Reservation,
    Session,
    Shop,
    ShopDetails,
    StaffMember,
    StockMovement,
    StockReason,
    Subscription,
    SubscriptionScope,
    TerritoryFigures,
    User,
)
from chatshop.domain.terms import Vocabulary
from chatshop.storage.alerts_protocol import AlertRepository
from chatshop.storage.channel_protocol import ChannelPostRepository
from chatshop.storage.day_protocol import DayRepository
from chatshop.storage.figures_protocol import FiguresRepository
from chatshop.storage.leases import ChatLocks, Roles, SendBudget
from chatshop.storage.media_protocol import MediaRepository
from chatshop.storage.migrations import MigrationReport
from chatshop.storage.orders_protocol import OrderRepository
from chatshop.storage.pickups_protocol import PickupRepository
from chatshop.storage.window_protocol import WindowRepository


class AlreadyReserved(Exception):
    """``OrderRepository.reserve`` was asked again with a spent idempotency key: nothing
    was done; ``reservations`` are those made the first time."""

    def __init__(self, reservations: list[Reservation]) -> None:
        super().__init__(f"{len(reservations)} reservations made before")
        self.reservations = reservations


class UserRepository(Protocol):
    async def seen(self, channel: Channel, external_id: str, display_name: str,
                   now: datetime) -> User:
        """Record that this person wrote now (creating them on first contact)."""
        ...

    async def get(self, user_id: int) -> User | None:
        ...

    async def find(self, channel: Channel, external_id: str) -> User | None:
        ...

    async def set_phone(self, user_id: int, phone: str | None) -> User:
        ...

    async def forget(self, user_id: int) -> None:
        """Erase name, phone, platform id, basket, conversation state, subscription and
        staff places (reservations stay, unnamed). Their messages are the outbox's
        (``OutboxRepository.forget_person``, before this, in the same unit of work)."""
        ...

    async def mark_unreachable(self, channel: Channel, external_id: str,
                               now: datetime) -> User | None:
        """The platform says this person blocked the bot (cleared when they write)."""
        ...


class ShopRepository(Protocol):
    async def add_commune(self, name: str, postcode: str = "") -> Commune:
        ...

    async def communes(self) -> list[Commune]:
        ...

    async def communes_with_shops(self) -> list[Commune]:
        """The communes where at least one active shop is (on holiday or not)."""
        ...

    async def commune(self, commune_id: int) -> Commune | None:
        ...

    async def create_shop(self, name: str, slug: str, commune_id: int, now: datetime,
                          details: ShopDetails) -> Shop:
        """A new shop; the slug gets ``-2``, ``-3``... if it is taken."""
        ...

    async def update_shop(self, shop_id: int, details: ShopDetails) -> Shop:
        ...

    async def set_hours(self, shop_id: int, intervals: Sequence[OpeningInterval]) -> Shop:
        """Replace the whole week's opening hours."""
        ...

    async def set_photo(self, shop_id: int, channel: Channel, file_ref: str) -> None:
        ...

    async def set_announcement(self, shop_id: int, text: str, now: datetime) -> Shop:
        """The shop's word for the weekly digest (empty text: none)."""
        ...

    async def get(self, shop_id: int) -> Shop | None:
        ...

    async def by_slug(self, slug: str) -> Shop | None:
        ...

    async def browse(self, *, commune_id: int | None = None, active_only: bool = True,
                   offset: int = 0, limit: int = 8) -> Page[Shop]:
        ...

    async def count(self) -> int:
        ...

    async def figures(self, since: datetime) -> TerritoryFigures:
        """Shops, listed products, and reservations made and collected since ``since``."""
        ...

    async def remove_staff(self, shop_id: int, user_id: int) -> None:
        """Remove someone from a shop's staff; the last owner stays (``Conflict``)."""
        ...

    async def staff_of(self, shop_id: int) -> list[StaffMember]:
        ...

    async def all_staff_users(self, channel: Channel) -> list[User]:
        """Everyone on ``channel`` who runs at least one shop."""
        ...

    async def staff_users(self, shop_id: int) -> list[User]:
        """The people who run a shop, owners first."""
        ...

    async def memberships(self, user_id: int) -> list[StaffMember]:
        """Every shop this person runs, and their role there."""
        ...

    async def create_invite(self, invite: Invite) -> Invite:
        ...

    async def use_invite(self, code: str, user_id: int, now: datetime) -> StaffMember:
        """Spend the invite and make ``user_id`` owner or staff, in one transaction."""
        ...

    async def propose_hosting(self, host_shop_id: int, maker_shop_id: int,
                              now: datetime) -> Hosting:
        ...

    async def decide_hosting(self, host_shop_id: int, maker_shop_id: int,
                             status: HostingStatus, now: datetime) -> Hosting:
        """Accept a proposal, or end an agreement (the products go back to their maker)."""
        ...

    async def hosting(self, host_shop_id: int, maker_shop_id: int) -> Hosting | None:
        ...

    async def hostings_of(self, shop_id: int) -> list[Hosting]:
        """Agreements where this shop is host or maker."""
        ...


class CatalogueRepository(Protocol):
    async def categories(self, *, include_inactive: bool = False) -> list[Category]:
        ...

    async def category(self, category_id: int) -> Category | None:
        ...

    async def save_category(self, name: str, *, category_id: int | None = None,
                            position: int | None = None, active: bool = True) -> Category:
        """Add a category (``category_id`` None) or rename / move / (de)activate one."""
        ...

    async def add_product(self, shop_id: int, new: NewProduct, user_id: int | None,
                          now: datetime) -> Product:
        ...

    async def import_products(self, shop_id: int, lines: Sequence[ProductRow],
                              user_id: int | None, now: datetime) -> tuple[int, int]:
        """Create or update a maker's products from checked import lines, all or none;
returns (created, changed). A line matches an existing product of the shop by name (case,
accents and spaces aside) and updates it; its stock is set with a ledger line and may not
go below what is reserved (``ImportBelowReserved``, nothing changes)."""
        ...

    async def get(self, product_id: int) -> Product | None:
        ...

    async def update_product(self, product_id: int, changes: ProductChanges,
                             now: datetime) -> Product:
        ...

    async def set_photo(self, product_id: int, channel: Channel, file_ref: str) -> None:
        ...

    async def delete_product(self, product_id: int, now: datetime) -> Product:
        """Gone from lists, search and baskets; ``StillReserved`` while reserved."""
        ...

    async def place(self, product_id: int, host_shop_id: int | None, now: datetime) -> Product:
        """Display a product at a host shop (``None``: back at its maker's)."""
        ...

    async def listed(self, product_id: int) -> ListedProduct | None:
        """The product as customers see it, or ``None`` if it is not listed anywhere."""
        ...

    async def listed_ids(self, product_ids: list[int]) -> set[int]:
        """Which of these products customers can currently see and reserve."""
        ...

    async def shop_catalogue(self, shop_id: int, *, category_id: int | None = None,
                             offset: int = 0, limit: int = 8) -> Page[ListedProduct]:
        """What customers see in one shop: its own products and those it hosts."""
        ...

    async def shop_categories(self, shop_id: int) -> list[tuple[Category, int]]:
        """The categories present in a shop's catalogue, with how many products each."""
        ...

    async def products_of_maker(self, shop_id: int, *, offset: int = 0,
                                limit: int = 8) -> Page[Product]:
        """Everything a shop makes, hidden products included: the shopkeeper's own view."""
        ...

    async def maker_product_ids(self, shop_id: int) -> list[int]:
        """The ids of all of them, in the same order (to read a large shop a page at a
        time: the CSV export)."""
        ...

    async def products_by_id(self, product_ids: Sequence[int]) -> list[Product]:
        """These products, in this order (deleted ones left out)."""
        ...

    async def count(self) -> int:
        ...

    async def change_stock(self, product_id: int, user_id: int | None, reason: StockReason,
                           quantity: int, now: datetime, *,
                           after: int | None = None) -> Product:
        """Set (``SET``), add (``ADDED``) or remove (``REMOVED``) units of ``on_hand``.

``on_hand`` may never go below what customers have reserved; the refusal says how
many are reserved and nothing changes. With ``after`` (a ledger line id): only if
the ledger did not move since; the same change again is a no-op (a double tap),
another raises ``StockChanged``."""
        ...

    async def last_movement(self, product_id: int) -> int:
        """The id of the product's latest stock ledger line (0 when it has none)."""
        ...

    async def stock_movements(self, product_id: int) -> list[StockMovement]:
        ...

    async def search(self, match: str, *, commune_id: int | None = None,
                     shop_id: int | None = None, category_id: int | None = None,
                     offset: int = 0, limit: int = 8) -> Page[ListedProduct]:
        """Listed products of shops taking reservations that match an FTS5 ``match``
expression (``services.search.match_expression``), those with every word in their name
first. Up to 200 hits, counted and ranked (a hit in the name weighs more than in the
description, a word as typed more than one sharing only its stem); past 200, the page is
``capped`` (the count stops there) and each group comes in id order."""
        ...

    async def first_match(self, match: str, *, commune_id: int | None = None,
                          shop_id: int | None = None,
                          category_id: int | None = None) -> Product | None:
        """Any one product ``search`` would find for ``match`` (unranked, so cheap)."""
        ...

    async def vocabulary(self) -> Vocabulary:
        """The words and stems of the search index as it is now, for typo suggestions."""
        ...


class ConversationRepository(Protocol):
    async def session(self, channel: Channel, external_id: str) -> Session | None:
        """The person, the shops they run and their conversation state, or None."""
        ...

    async def load(self, user_id: int) -> dict[str, Any]:
        """The person's conversation state ({} if none)."""
        ...

    async def save(self, user_id: int, state: dict[str, Any], now: datetime) -> None:
        ...


class InboxRepository(Protocol):
    async def receive(self, channel: Channel, events: Sequence[tuple[str, str]],
                      now: datetime) -> set[str]:
        """Write ``(event_id, payload)`` events down at once; returns the new ids."""
        ...

    async def handled(self, channel: Channel, event_id: str, now: datetime) -> None:
        ...

    async def waiting(self, channel: Channel, limit: int = 1_000) -> list[PendingEvent]:
        """Events received but not handled yet, oldest first."""
        ...

    async def take_over(self, channel: Channel, limit: int = 1_000) -> list[PendingEvent]:
        """Events received but not handled by a process that is gone, oldest first, now
        this process's to handle (never one a live process holds)."""
        ...

    async def forget_handled(self, channel: Channel, before: datetime) -> int:
        ...


class OutboxRepository(Protocol):
    async def add(self, messages: list[tuple[Channel, str, str, int | None]],
                  now: datetime) -> list[int]:
        """Queue ``(channel, recipient, message, regarding)`` messages, in order."""
        ...

    async def due(self, channel: Channel, now: datetime, limit: int = 100
                  ) -> list[OutgoingMessage]:
        """Messages whose time has come, in the order they were queued."""
        ...

    async def next_due_at(self, channel: Channel) -> datetime | None:
        ...

    async def sent(self, message_id: int, now: datetime,
                   platform_id: str | None = None) -> None:
        ...

    async def failed_later(self, channel: Channel, platform_id: str, now: datetime,
                           error: str, *, as_template: bool) -> str | None:
        """A message the platform took failed later: back once as a template, or
        given up; None if unknown."""
        ...

    async def keep_media(self, sha256: str, mime_type: str, data: bytes,
                         now: datetime) -> None:
        """Keep a file someone sent (content-addressed)."""
        ...

    async def media(self, sha256: str) -> tuple[str, bytes] | None:
        ...

    async def retry_at(self, message_id: int, when: datetime, error: str) -> None:
        ...

    async def give_up(self, message_id: int, now: datetime, error: str) -> None:
        ...

    async def waiting_count(self, channel: Channel) -> int:
        ...

    async def any_regarding(self, reservation_id: int) -> bool:
        """Whether a message about this reservation was ever queued."""
        ...

    async def forget_person(self, user_id: int) -> int:
        """Drop every message kept for this person or about their reservations (while
        they still have their platform id: before ``UserRepository.forget``)."""
        ...

    async def forget_sent(self, before: datetime) -> int:
        ...


class DigestRepository(Protocol):
    async def subscribe(self, user_id: int, scope: SubscriptionScope,
                        commune_ids: Sequence[int], shop_ids: Sequence[int],
                        now: datetime) -> Subscription:
        """Create or replace a subscription; the first consent's time is kept."""
        ...

    async def unsubscribe(self, user_id: int) -> bool:
        ...

    async def subscription(self, user_id: int) -> Subscription | None:
        ...

    async def subscribers(self, channel: Channel | None = None,
                          user_ids: Sequence[int] | None = None, *, after: int = 0,
                          limit: int = -1) -> list[Subscriber]:
        """Subscribers by user id from the first after ``after`` (a keyset page of
        ``limit``, -1: all), with when the news of their last digest were gathered; one
        query."""
        ...

    async def count(self) -> int:
        ...

    async def news(self, since: datetime) -> tuple[
            list[tuple[DigestProduct, int]], list[tuple[DigestProduct, int]],
            list[tuple[DigestShopNews, int]], list[tuple[DigestShopNews, int]]]:
        """New products, back in stock, announcements and closures since ``since``,
        each with its shop's commune."""
        ...

    async def start_run(self, channel: Channel, week: str, now: datetime, *,
                        forced: bool) -> int | None:
        """A run with a pending delivery per subscriber; None if this week's exists."""
        ...

    async def unfinished_runs(self, channel: Channel) -> list[tuple[int, str]]:
        ...

    def lease(self) -> AbstractAsyncContextManager[str]:
        """A sender's lease for the time of the block (its token): what it claims stays
        its own until the block ends or its process dies, however (SIGKILL, a crash), and
        is free at once then; never a timeout (SQLite: a file lock beside the database;
        PostgreSQL: a session advisory lock)."""
        ...

    async def claim(self, run_id: int, limit: int, now: datetime, owner: str) -> list[int]:
        """Take subscribers to send to now for the lease ``owner``: pending ones, and
        those of senders whose lease is gone; never the same for two live senders."""
        ...

    async def left(self, run_id: int) -> int:
        ...

    async def mark(self, run_id: int, user_ids: Sequence[int], status: str, now: datetime,
                   error: str | None = None, news_at: datetime | None = None) -> None:
        """How the delivery went; for one sent, when its news were gathered."""
        ...

    async def finish(self, run_id: int, now: datetime) -> None:
        ...

    async def report(self, run_id: int) -> DigestReport:
        ...


class SitemapRepository(Protocol):
    """What the window's sitemap reads (read-only)."""

    async def shops(self) -> list[tuple[Shop, datetime]]:
        """Every active shop by id, with the last change recorded of its page."""
        ...

    async def product_count(self) -> int:
        """How many products customers can see."""
        ...

    async def products(self, *, after_id: int = 0, skip: int = 0,
                       limit: int = 1000) -> list[Product]:
        """Listed products by id, after ``after_id``, past ``skip``, at most ``limit``."""
        ...


class Repositories(Protocol):
    """Every repository of the database."""

    @property
    def users(self) -> UserRepository: ...
    @property
    def shops(self) -> ShopRepository: ...
    @property
    def catalogue(self) -> CatalogueRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def conversations(self) -> ConversationRepository: ...
    @property
    def inbox(self) -> InboxRepository: ...
    @property
    def digest(self) -> DigestRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def channel_posts(self) -> ChannelPostRepository: ...
    @property
    def media(self) -> MediaRepository: ...
    @property
    def alerts(self) -> AlertRepository: ...
    @property
    def pickups(self) -> PickupRepository: ...
    @property
    def day(self) -> DayRepository: ...
    @property
    def figures(self) -> FiguresRepository: ...


class UnitOfWork(Repositories, Protocol):
    """Every repository on one transaction (cosmicpython's unit of work): what they
    write is kept only once ``commit()`` has been awaited; leaving the block without it,
    or on an exception, undoes it all. Reads see the unit's own writes. Await one
    repository call at a time, and write only through the unit inside it."""

    async def commit(self) -> None:
        ...

    async def rollback(self) -> None:
        ...


class Store(Repositories, Protocol):
    """Every repository over one database, each write its own transaction; and units
    of work for writes that go together."""

    @property
    def migration(self) -> MigrationReport:
        """What was migrated when the store was opened."""
        ...

    @property
    def window(self) -> WindowRepository: ...

    @property
    def sitemap(self) -> SitemapRepository:
        """The sitemap's reads."""
        ...

    @property
    def send_budget(self) -> SendBudget:
        """A platform's overall rate, shared by the processes on the database."""
        ...

    @property
    def roles(self) -> Roles:
        """Work one process at a time does for the database (nothing to share when one
        process serves it)."""
        ...

    @property
    def chat_locks(self) -> ChatLocks:
        """One lock per chat across the processes on the database (nothing to do when
        one process serves it)."""
        ...

    def change_stamp(self) -> str:
        """A short text that changes whenever anything was committed, by any process
        (cheap: no table is read); for the window's ETags."""
        ...

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """``async with store.unit_of_work() as uow: ... await uow.commit()``"""
        ...

    async def close(self) -> None:
        ...
