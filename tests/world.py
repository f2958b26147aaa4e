"""The world of the tests that check what an action may change (tests/test_security_*.py and
tests/test_fuzz.py): a territory built once per test module, a copy of its database file for
each test or example (so that a failure replays on the same data), and the rows of its tables
before and after.

The security tests' territory is here too (:class:`Cast`, and :class:`World` for one test's
copy, given by the ``world`` fixture of tests/conftest.py); the fuzz tests build their own,
with the same :class:`DatabaseFile`.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import httpx

from chatshop.channels.console import ConsolePlatform
from chatshop.channels.webhooks import webhook_app
from chatshop.channels.whatsapp.channel import WhatsAppChannel
from chatshop.conversation.messages import Reply
from chatshop.conversation.router import Conversation
from chatshop.delivery.outcome import Message, Outcome, Sent
from chatshop.delivery.pace import SlidingWindow
from chatshop.delivery.runtime import Delivery
from chatshop.domain.models import (
    Actor,
    Category,
    Channel,
    Commune,
    Product,
    Reservation,
    Role,
    Shop,
    User,
)
from chatshop.errors import NotAllowed, NotFound
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store
from chatshop.storage.store import SqliteStore
from tests.chat import Chat, Postbox
from tests.conftest import OPERATOR, FakeClock
from tests.fakes.graph_api import TOKEN as GRAPH_TOKEN
from tests.fakes.graph_api import FakeGraphAPI

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a Thursday, 10:00 in Paris
PARIS = ZoneInfo("Europe/Paris")

Row = dict[str, Any]
Snapshot = dict[str, list[Row]]

T = TypeVar("T")


def services_on(store: Store, clock: FakeClock) -> Services:
    """The services of the territory's bot (its operator is tests.conftest's OPERATOR)."""
    return build_services(store, operators=frozenset({OPERATOR}), clock=clock)


@dataclass
class DatabaseFile(Generic[T]):
    """A territory's database file, built once; each test or example works on its own copy.
    ``cast`` is what the builder returned: the ids (or objects) tests refer to, the same in
    every copy."""

    path: Path
    cast: T
    copies: Iterator[int] = field(default_factory=itertools.count)

    @classmethod
    def build(cls, path: Path, populate: Callable[[Services], Awaitable[T]]) -> DatabaseFile[T]:
        """Migrate a database at ``path`` and fill it with ``populate`` (at :data:`START`)."""

        async def build() -> T:
            store = await open_store(path)
            try:
                return await populate(services_on(store, FakeClock(START)))
            finally:
                await store.close()

        return cls(path, asyncio.run(build()))

    def copy(self, target: Path | None = None) -> Path:
        """A copy of the file (and of its write-ahead log, if any) at ``target``."""
        if target is None:
            target = self.path.with_name(f"copy-{next(self.copies)}.db")
        for suffix in ("", "-wal"):
            if Path(f"{self.path}{suffix}").exists():
                shutil.copyfile(f"{self.path}{suffix}", f"{target}{suffix}")
        return target

    @staticmethod
    def discard(copy: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)


def snapshot(source: Store | Path, *, skip: Iterable[str] = (),
             internal: bool = True) -> Snapshot:
    """Every committed row of every table, by table, in a stable order: read through an open
    store's connection, or from the file as another process would read it. ``skip``: tables
    left out; ``internal=False`` leaves out SQLite's own and the search index's tables too."""
    skipped = set(skip)
    if isinstance(source, Path):
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as conn:
            conn.row_factory = sqlite3.Row
            return _rows(lambda sql: conn.execute(sql).fetchall(), skipped, internal)
    assert isinstance(source, SqliteStore)
    return _rows(source.db.lookup_now, skipped, internal)


def _rows(query: Callable[[str], list[sqlite3.Row]], skipped: set[str],
          internal: bool) -> Snapshot:
    tables = [row[0] for row in query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if not internal:
        tables = [t for t in tables if not t.startswith(("sqlite_", "product_search"))]
    return {table: sorted((dict(row) for row in query(f'SELECT * FROM "{table}"')),
                          key=lambda row: repr(tuple(row.values())))
            for table in sorted(set(tables) - skipped)}


def refusals() -> set[str]:
    """The polite French sentences a refused action is answered with."""
    said = {NotAllowed("", needs=needs).message() for needs in ("staff", "owner", "operator")}
    said.add(NotFound("", None).message())
    assert all(text.startswith(("Désolé", "Nous ne")) for text in said), said  # French
    return said


# -- the security tests' territory -------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """Who and what is in the territory (plain data: the same in every copy of it).

    Shop A (the Épicerie) has an owner, a staff member and an apprentice; shop B (the
    Boulangerie) has its own owner and has asked A to display its products; shop C (the
    Poteries) is displayed at A, and A's products may be displayed at C."""

    actors: dict[str, Actor]
    commune: Commune
    other_commune: Commune
    category: Category
    shop_a: Shop
    shop_b: Shop
    shop_c: Shop
    honey: Product  # A's, 10 on the shelf, 1 reserved by the customer
    soap: Product  # A's, nothing reserved
    pottery: Product  # C's, displayed and collected at A
    reservation: Reservation  # the customer's, pending at A
    apprentice: User  # A's second staff member
    customer: User


async def build_cast(services: Services) -> Cast:
    """The security tests' territory, written through the services."""
    s = services
    operator = s.customers.actor(await s.customers.seen("telegram", OPERATOR[1],
                                                        "Office de tourisme"))
    commune = await s.shops.add_commune(operator, "Rochechouart", "87600")
    other_commune = await s.shops.add_commune(operator, "Oradour-sur-Vayres", "87150")

    async def person(external_id: str, name: str) -> User:
        return await s.customers.seen("telegram", external_id, name)

    async def open_shop(name: str, owner_id: str, owner_name: str) -> tuple[Shop, Actor]:
        shop = await s.shops.create_shop(operator, name, commune.id)
        invite = await s.shops.invite(operator, shop.id, Role.OWNER)
        owner = await person(owner_id, owner_name)
        await s.shops.accept_invite(owner.id, invite.code)
        return shop, s.customers.actor(owner)

    async def hire(owner: Actor, shop: Shop, external_id: str, name: str) -> User:
        hired = await person(external_id, name)
        invite = await s.shops.invite(owner, shop.id, Role.STAFF)
        await s.shops.accept_invite(hired.id, invite.code)
        return hired

    shop_a, owner_a = await open_shop("Épicerie du Château", "2000", "Léa")
    shop_b, owner_b = await open_shop("Boulangerie Martin", "2300", "Paul")
    shop_c, owner_c = await open_shop("Poteries de Marie", "2400", "Marie")
    staff_a = await hire(owner_a, shop_a, "2001", "Tom")
    apprentice = await hire(owner_a, shop_a, "2002", "Zoé")
    customer = await person("3000", "Jeanne")
    honey = await s.catalogue.add_product(owner_a, shop_a.id, name="Miel", price_cents=950,
                                          on_hand=10)
    soap = await s.catalogue.add_product(owner_a, shop_a.id, name="Savon lavande",
                                         price_cents=650, on_hand=4)
    await s.shops.ask_hosting(owner_c, shop_c.id, shop_a.id)
    await s.shops.accept_hosting(owner_a, shop_a.id, shop_c.id)
    pottery = await s.catalogue.add_product(owner_c, shop_c.id, name="Bol en grès",
                                            price_cents=2400, on_hand=3)
    pottery = await s.catalogue.place(owner_c, pottery.id, shop_a.id)
    await s.shops.ask_hosting(owner_a, shop_a.id, shop_c.id)
    await s.shops.accept_hosting(owner_c, shop_c.id, shop_a.id)
    await s.shops.ask_hosting(owner_b, shop_b.id, shop_a.id)  # proposed, not answered
    reservation = await s.reservations.reserve_now(customer.id, honey.id, 1, "first")
    return Cast(
        actors={"operator": operator, "owner_a": owner_a,
                "staff_a": s.customers.actor(staff_a), "owner_b": owner_b,
                "customer": s.customers.actor(customer),
                "unknown": Actor(user_id=987_654, is_operator=False)},
        commune=commune, other_commune=other_commune,
        category=(await s.catalogue.categories())[0],
        shop_a=await s.shops.get(shop_a.id), shop_b=shop_b, shop_c=shop_c,
        honey=await s.catalogue.product(honey.id), soap=soap, pottery=pottery,
        reservation=reservation, apprentice=apprentice, customer=customer)


# Who chats as whom in the security tests (« newcomer »: never seen before).
CHATS = {"customer": ("3000", "Jeanne"), "newcomer": ("4000", "Inconnu"),
         "owner_b": ("2300", "Paul"), "staff_a": ("2001", "Tom"), "owner_a": ("2000", "Léa"),
         "operator": (OPERATOR[1], "Office de tourisme")}

# The intruder's own conversation state is theirs to change (a refused press forgets what the
# bot was waiting for); nothing else may change.
THEIR_OWN = ("conversation_states",)


@dataclass
class World:
    """One test's copy of the security tests' territory, with services on it."""

    services: Services
    store: Store
    path: Path
    clock: FakeClock
    cast: Cast

    def snapshot(self, *, skip: tuple[str, ...] = ()) -> Snapshot:
        """Every row of every table (read from the file, as another process would)."""
        return snapshot(self.path, skip=skip)

    def conversation(self) -> Conversation:
        return Conversation(self.services, territory="Porte Océane", tz=PARIS)

    def chat(self, who: str) -> Chat:
        """A chat with the bot as one of :data:`CHATS`."""
        external_id, name = CHATS[who]
        return Chat(self.conversation(), external_id, name, Postbox())

    def payload(self, template: str) -> str:
        """A button payload naming the cast's objects: {a} shop A, {b} shop B, {c} shop C,
        {p} A's honey, {r} the customer's reservation, {m} the commune."""
        cast = self.cast
        return template.format(a=cast.shop_a.id, b=cast.shop_b.id, c=cast.shop_c.id,
                               p=cast.honey.id, r=cast.reservation.id, m=cast.commune.id)


@asynccontextmanager
async def world_on(copy: Path, cast: Cast) -> AsyncIterator[World]:
    """A :class:`World` on ``copy`` of the territory, its store closed at the end."""
    store = await open_store(copy)
    clock = FakeClock(START)
    try:
        yield World(services_on(store, clock), store, copy, clock, cast)
    finally:
        await store.close()


# -- WhatsApp, for the security tests that go through Meta's webhook ---------------------------

WA_SECRET = "app-s3cret"
ALBERTINE = "33612345678"  # on WhatsApp, the person's id is their phone number
LEA = "33698765432"


@dataclass
class Meta:
    """Meta's side: signed webhook deliveries of what people do on WhatsApp."""

    api: FakeGraphAPI
    http: httpx.AsyncClient
    channel: WhatsAppChannel

    async def deliver(self, payload: dict[str, Any]) -> httpx.Response:
        body, headers = self.api.signed(payload, WA_SECRET)
        response = await self.http.post("/whatsapp", content=body, headers=headers)
        await self.channel.settle()
        return response

    async def says(self, wa_id: str, name: str, text: str) -> None:
        assert (await self.deliver(self.api.text(wa_id, name, text))).status_code == 200

    async def taps(self, wa_id: str, name: str, title_start: str) -> None:
        last = self.api.last(wa_id)
        title = next((t for t in last.titles if t.startswith(title_start)), None)
        assert title is not None, (title_start, self.texts(wa_id)[-4:], last.titles)
        response = await self.deliver(self.api.choose(wa_id, title, name=name))
        assert response.status_code == 200

    async def settle(self) -> None:
        """Deliver the outbox, and post back Meta's delivery statuses."""
        await self.channel.deliver_outbox()
        for status in self.api.take_statuses():
            assert (await self.deliver(status)).status_code == 200

    def texts(self, wa_id: str) -> list[str]:
        return [m.text or "" for m in self.api.messages_to(wa_id)]


@asynccontextmanager
async def meta_on(world: World) -> AsyncIterator[Meta]:
    """WhatsApp's side of ``world``: the fake Cloud API, the channel and its webhook."""
    api = FakeGraphAPI(wall_clock=world.clock, report_delivery=True)
    channel = WhatsAppChannel(
        world.services, world.conversation(), token=GRAPH_TOKEN,
        phone_number_id=api.phone_number_id, app_secret=WA_SECRET, verify_token="verify-me",
        session=httpx.AsyncClient(transport=api.transport()))
    await channel.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=webhook_app(
                whatsapp=channel)), base_url="http://bot.test") as http:
            yield Meta(api, http, channel)
    finally:
        await channel.stop()


class Collecting(ConsolePlatform):
    """A platform of the delivery runtime that keeps every message it is given
    (``sent``) and answers ``answer``; named as the channel it stands for."""

    def __init__(self, name: Channel = "telegram") -> None:
        super().__init__()
        self._name = name
        self.sent: list[Message] = []
        self.answer: Outcome = Sent("id-1")

    @property
    def name(self) -> Channel:
        return self._name

    async def send(self, message: Message) -> Outcome:
        self.sent.append(message)
        await super().send(message)
        return self.answer


def runtime_of(services: Services, conversation: Conversation,
               *platforms: Collecting) -> Delivery:
    """A delivery runtime delivering through ``platforms``, unpaced."""
    delivery = Delivery(services, conversation, digest_pace=lambda: SlidingWindow(None))
    for platform in platforms:
        delivery.register(platform)
    return delivery


async def swept(delivery: Delivery, *platforms: Collecting) -> list[Reply]:
    """What one sweep (expiry, reminders) sends through ``platforms``."""
    await delivery.sweep()
    for platform in platforms:
        await delivery.outbox.deliver(platform.name)
    return [reply for platform in platforms for reply in platform.take()]

