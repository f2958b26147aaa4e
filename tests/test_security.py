"""The security guarantees, in one place: who may do what (the authorization matrix, at
the service level and through the chat), invitation codes, erasing one's data, and the
webhooks' secret and signature.

The matrix is derived from the code where it can be: every public coroutine method of
the service classes that takes an ``Actor`` must have a row in ``MATRIX``, and every
other one must be listed in ``NEEDS_NO_ACTOR`` with the reason it needs none; every
button verb and command of the conversation must be classified in ``PRESS_ROLES`` or
``COMMAND_ROLES``. A new method or button that nobody thought about fails here.

Related tests elsewhere, not repeated here:

- ``tests/test_conversation_access.py``: forged shopkeeper buttons from a customer and
  from another shop's owner, odd payloads, bad shopkeeper input;
- ``tests/test_hostile_input.py``: forged ids are simply not found;
- ``tests/test_shops.py``: invites (single use, expiry, staff cannot invite);
- ``tests/test_telegram.py``: ``test_the_webhook_refuses_a_missing_or_wrong_secret_and_``
  ``processes_nothing``, ``test_the_webhook_is_set_with_its_secret``;
- ``tests/test_whatsapp.py``: ``test_unsigned_wrongly_signed_and_replayed_webhooks_change_``
  ``nothing``, ``test_meta_verifies_the_webhook_with_our_token``,
  ``test_a_customer_s_photo_is_not_fetched_nor_kept``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import shutil
import sqlite3
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.channels.webhooks import SECRET_HEADER, SIGNATURE_HEADER, webhook_app
from chatshop.channels.whatsapp.channel import WhatsAppChannel
from chatshop.conversation.handlers import ANSWERS, COMMANDS, PRESSES
from chatshop.conversation.router import Conversation
from chatshop.domain.models import (
    Actor,
    Category,
    Commune,
    OpeningInterval,
    Product,
    ProductChanges,
    Reservation,
    ReservationStatus,
    Role,
    Shop,
    ShopDetails,
    StockReason,
    SubscriptionScope,
    User,
)
from chatshop.domain.parsing import StockChange
from chatshop.domain.product_csv import template_csv
from chatshop.errors import DomainError, InviteUnusable, NotAllowed, NotFound
from chatshop.services import Services, build_services
from chatshop.services.shops import INVITE_VALIDITY
from chatshop.storage import Store, open_store
from tests.chat import Chat, Postbox
from tests.conftest import OPERATOR, FakeClock
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.graph_api import TOKEN as GRAPH_TOKEN
from tests.fakes.graph_api import FakeGraphAPI

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a Thursday, 10:00 in Paris
PARIS = ZoneInfo("Europe/Paris")
ACTORS = ("operator", "owner_a", "staff_a", "owner_b", "customer", "unknown")


def refusals() -> set[str]:
    """The polite French sentences a refused action is answered with."""
    said = {NotAllowed("", needs=needs).message() for needs in ("staff", "owner", "operator")}
    said.add(NotFound("", None).message())
    assert all(text.startswith(("Désolé", "Nous ne")) for text in said), said  # French
    return said


# -- the territory every test starts from ----------------------------------------------


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


async def _build(services: Services) -> Cast:
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


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Cast]:
    """The territory, built once; each test works on its own copy of the file."""
    path = tmp_path_factory.mktemp("territory") / "chatshop.db"

    async def build() -> Cast:
        store = await open_store(path)
        try:
            return await _build(build_services(store, operators=frozenset({OPERATOR}),
                                               clock=FakeClock(START)))
        finally:
            await store.close()
    return path, asyncio.run(build())


@dataclass
class World:
    services: Services
    store: Store
    path: Path
    clock: FakeClock
    cast: Cast

    def snapshot(self, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
        return snapshot(self.path, skip=skip)


def snapshot(path: Path, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (read from the file, as another process would)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
                for table in tables if table not in skip}


@pytest.fixture
def copied(template: tuple[Path, Cast], tmp_path: Path) -> Path:
    """This test's own copy of the territory's database file."""
    source, _cast = template
    path = tmp_path / "chatshop.db"
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{path}{suffix}")
    return path


@pytest.fixture
async def world(template: tuple[Path, Cast], copied: Path) -> AsyncIterator[World]:
    _source, cast = template
    path = copied
    store = await open_store(path)
    clock = FakeClock(START)
    yield World(build_services(store, operators=frozenset({OPERATOR}), clock=clock),
                store, path, clock, cast)
    await store.close()


# -- 1. the authorization matrix, service by service ------------------------------------

OPERATOR_ONLY = frozenset({"operator"})
OWNERS = OPERATOR_ONLY | {"owner_a"}
STAFF = OWNERS | {"staff_a"}

Call = Callable[["World", Actor], Awaitable[Any]]
Check = Callable[["World", Any], bool]


@dataclass(frozen=True)
class Action:
    """One action on shop A's objects: who may do it, and how a refusal shows."""

    method: str  # ``Class.method``: what the coverage test counts
    allowed: frozenset[str]
    call: Call
    check: Check | None = None  # what an allowed call must return
    writes: bool = True  # an allowed call changes the database
    refused_with: type[DomainError] = NotAllowed
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.method}[{self.variant}]" if self.variant else self.method


def _ids(items: Any) -> set[int]:
    return {item.id for item in items}


MATRIX = [
    # -- shops, staff, hosting
    Action("ShopService.add_commune", OPERATOR_ONLY,
           lambda w, a: w.services.shops.add_commune(a, "Saint-Junien", "87200")),
    Action("ShopService.create_shop", OPERATOR_ONLY,
           lambda w, a: w.services.shops.create_shop(a, "Fromagerie", w.cast.commune.id)),
    Action("ShopService.update_shop", STAFF,
           lambda w, a: w.services.shops.update_shop(a, w.cast.shop_a.id,
                                                     ShopDetails(phone="05 55 03 00 00")),
           check=lambda w, shop: shop.phone == "+33555030000", variant="card"),
    Action("ShopService.update_shop", OPERATOR_ONLY,
           lambda w, a: w.services.shops.update_shop(a, w.cast.shop_a.id,
                                                     ShopDetails(active=False)),
           check=lambda w, shop: not shop.active, variant="deactivate"),
    Action("ShopService.update_shop", OPERATOR_ONLY,
           lambda w, a: w.services.shops.update_shop(
               a, w.cast.shop_a.id, ShopDetails(commune_id=w.cast.other_commune.id)),
           variant="move to another commune"),
    Action("ShopService.set_hours", STAFF,
           lambda w, a: w.services.shops.set_hours(a, w.cast.shop_a.id, [
               OpeningInterval(weekday=1, opens=time(9), closes=time(12))])),
    Action("ShopService.set_holiday", STAFF,
           lambda w, a: w.services.shops.set_holiday(a, w.cast.shop_a.id, True, "Lundi.")),
    Action("ShopService.set_announcement", STAFF,
           lambda w, a: w.services.shops.set_announcement(a, w.cast.shop_a.id,
                                                          "Nouvelle récolte !")),
    Action("ShopService.set_photo", STAFF,
           lambda w, a: w.services.shops.set_photo(a, w.cast.shop_a.id, "telegram",
                                                   "AgAC-devanture")),
    Action("ShopService.browse_all", OPERATOR_ONLY,
           lambda w, a: w.services.shops.browse_all(a),
           check=lambda w, page: w.cast.shop_a.id in _ids(page.items), writes=False),
    Action("ShopService.figures", OPERATOR_ONLY,
           lambda w, a: w.services.shops.figures(a, w.clock()),
           check=lambda w, figures: figures.active_shops == 3, writes=False),
    Action("ShopService.invite", OWNERS,
           lambda w, a: w.services.shops.invite(a, w.cast.shop_a.id, Role.STAFF),
           check=lambda w, invite: invite.shop_id == w.cast.shop_a.id, variant="staff"),
    Action("ShopService.invite", OPERATOR_ONLY,
           lambda w, a: w.services.shops.invite(a, w.cast.shop_a.id, Role.OWNER),
           variant="owner"),
    Action("ShopService.staff", STAFF,
           lambda w, a: w.services.shops.staff(a, w.cast.shop_a.id),
           check=lambda w, staff: len(staff) == 3, writes=False),
    Action("ShopService.remove_staff", OWNERS,
           lambda w, a: w.services.shops.remove_staff(a, w.cast.shop_a.id,
                                                      w.cast.apprentice.id)),
    Action("ShopService.ask_hosting", STAFF,  # A asks B to display its products
           lambda w, a: w.services.shops.ask_hosting(a, w.cast.shop_a.id, w.cast.shop_b.id)),
    Action("ShopService.accept_hosting", STAFF,  # B asked A: only A answers
           lambda w, a: w.services.shops.accept_hosting(a, w.cast.shop_a.id,
                                                        w.cast.shop_b.id)),
    Action("ShopService.end_hosting", STAFF | {"owner_b"},  # either side may end it
           lambda w, a: w.services.shops.end_hosting(a, w.cast.shop_a.id, w.cast.shop_b.id)),
    Action("ShopService.hostings", STAFF,
           lambda w, a: w.services.shops.hostings(a, w.cast.shop_a.id),
           check=lambda w, found: len(found) == 3, writes=False),
    # -- the catalogue
    Action("CatalogueService.add_category", OPERATOR_ONLY,
           lambda w, a: w.services.catalogue.add_category(a, "Produits du terroir")),
    Action("CatalogueService.edit_category", OPERATOR_ONLY,
           lambda w, a: w.services.catalogue.edit_category(a, w.cast.category.id,
                                                           name="Épicerie fine")),
    Action("CatalogueService.add_product", STAFF,
           lambda w, a: w.services.catalogue.add_product(a, w.cast.shop_a.id, name="Confiture",
                                                         price_cents=520, on_hand=6),
           check=lambda w, product: product.shop_id == w.cast.shop_a.id),
    Action("CatalogueService.update_product", STAFF,
           lambda w, a: w.services.catalogue.update_product(
               a, w.cast.honey.id, ProductChanges(price_cents=10)),
           check=lambda w, product: product.price_cents == 10),
    Action("CatalogueService.update_product", OPERATOR_ONLY,  # the host does not manage it
           lambda w, a: w.services.catalogue.update_product(
               a, w.cast.pottery.id, ProductChanges(hidden=True)),
           variant="hosted product"),
    Action("CatalogueService.delete_product", STAFF,
           lambda w, a: w.services.catalogue.delete_product(a, w.cast.soap.id)),
    Action("CatalogueService.set_photo", STAFF,
           lambda w, a: w.services.catalogue.set_photo(a, w.cast.honey.id, "telegram",
                                                       "AgAC-miel")),
    Action("CatalogueService.place", STAFF,
           lambda w, a: w.services.catalogue.place(a, w.cast.honey.id, w.cast.shop_c.id),
           check=lambda w, product: product.host_shop_id == w.cast.shop_c.id),
    Action("CatalogueService.maker_products", STAFF,
           lambda w, a: w.services.catalogue.maker_products(a, w.cast.shop_a.id),
           check=lambda w, page: _ids(page.items) == {w.cast.honey.id, w.cast.soap.id},
           writes=False),
    Action("CatalogueService.import_products", STAFF,
           lambda w, a: w.services.catalogue.import_products(a, w.cast.shop_a.id,
                                                             template_csv()),
           check=lambda w, report: report.updated == 1),  # the template's « Savon lavande »
    Action("CatalogueService.every_product", STAFF,
           lambda w, a: w.services.catalogue.every_product(a, w.cast.shop_a.id),
           check=lambda w, found: _ids(found) == {w.cast.honey.id, w.cast.soap.id},
           writes=False),
    Action("CatalogueService.export_products", STAFF,
           lambda w, a: w.services.catalogue.export_products(a, w.cast.shop_a.id),
           check=lambda w, data: "Savon lavande" in data.decode("utf-8-sig"), writes=False),
    Action("CatalogueService.set_stock", STAFF,
           lambda w, a: w.services.catalogue.set_stock(a, w.cast.honey.id, 7),
           check=lambda w, product: product.on_hand == 7),
    Action("CatalogueService.set_stock", OPERATOR_ONLY,  # the host does not manage it
           lambda w, a: w.services.catalogue.set_stock(a, w.cast.pottery.id, 7),
           variant="hosted product"),
    Action("CatalogueService.add_stock", STAFF,
           lambda w, a: w.services.catalogue.add_stock(a, w.cast.honey.id, 2)),
    Action("CatalogueService.remove_stock", STAFF,
           lambda w, a: w.services.catalogue.remove_stock(a, w.cast.honey.id, 2)),
    Action("CatalogueService.change_stock", STAFF,
           lambda w, a: w.services.catalogue.change_stock(
               a, w.cast.honey.id, StockChange(StockReason.ADDED, 2)),
           check=lambda w, product: product.on_hand == w.cast.honey.on_hand + 2),
    Action("CatalogueService.change_stock", OPERATOR_ONLY,  # the host does not manage it
           lambda w, a: w.services.catalogue.change_stock(
               a, w.cast.pottery.id, StockChange(StockReason.SET, 7)),
           variant="hosted product"),
    Action("CatalogueService.last_movement", STAFF,
           lambda w, a: w.services.catalogue.last_movement(a, w.cast.honey.id),
           check=lambda w, line: line > 0, writes=False),
    Action("CatalogueService.stock_history", STAFF,
           lambda w, a: w.services.catalogue.stock_history(a, w.cast.honey.id),
           check=lambda w, moves: len(moves) == 1, writes=False),
    # -- reservations
    Action("ReservationService.for_shop", STAFF,
           lambda w, a: w.services.reservations.for_shop(a, w.cast.shop_a.id),
           check=lambda w, found: _ids(found) == {w.cast.reservation.id}, writes=False),
    Action("ReservationService.for_staff", STAFF,
           lambda w, a: w.services.reservations.for_staff(a, w.cast.reservation.id),
           check=lambda w, found: found.id == w.cast.reservation.id, writes=False),
    Action("ReservationService.find_by_code", STAFF,  # others are not even told it exists
           lambda w, a: w.services.reservations.find_by_code(a, w.cast.reservation.code),
           check=lambda w, found: found.id == w.cast.reservation.id, writes=False,
           refused_with=NotFound),
    Action("ReservationService.mark_ready", STAFF,
           lambda w, a: w.services.reservations.mark_ready(a, w.cast.reservation.id),
           check=lambda w, done: done.status is ReservationStatus.READY),
    Action("ReservationService.mark_collected", STAFF,
           lambda w, a: w.services.reservations.mark_collected(a, w.cast.reservation.id),
           check=lambda w, done: done.status is ReservationStatus.COLLECTED),
    Action("ReservationService.cancel_by_shop", STAFF,
           lambda w, a: w.services.reservations.cancel_by_shop(a, w.cast.reservation.id,
                                                               "Plus de miel, désolée."),
           check=lambda w, done: done.status is ReservationStatus.CANCELLED_BY_SHOP),
    Action("ReservationService.cancel_by_customer", frozenset({"customer"}),
           # by user id (the writer's own, never one from a button): only theirs
           lambda w, a: w.services.reservations.cancel_by_customer(a.user_id,
                                                                   w.cast.reservation.id),
           check=lambda w, done: done.status is ReservationStatus.CANCELLED_BY_CUSTOMER,
           refused_with=NotFound),
    # -- the weekly digest
    Action("DigestService.preview", OPERATOR_ONLY,
           lambda w, a: w.services.digest.preview(a),
           check=lambda w, digest: digest.user_id == w.cast.actors["operator"].user_id,
           writes=False),
    Action("DigestService.start_week", OPERATOR_ONLY,
           lambda w, a: w.services.digest.start_week("telegram", actor=a),
           check=lambda w, run_id: run_id is not None, variant="send now"),
]

# Public use cases that take no Actor, and why none is needed. A new method must be added
# here (or to MATRIX): whoever adds it decides who may call it.
NEEDS_NO_ACTOR: dict[str, set[str]] = {
    "the person themselves: the conversation passes the writer's own user id or platform "
    "id, never one read from a button": {
        "CustomerService.seen", "CustomerService.session", "CustomerService.export",
        "CustomerService.erase", "CustomerService.set_phone",
        "CustomerService.blocked_the_bot",
        "BasketService.add", "BasketService.set_quantity", "BasketService.remove",
        "BasketService.baskets", "BasketService.item_count", "BasketService.clear",
        "ReservationService.confirm_basket", "ReservationService.place_basket",
        "ReservationService.reserve_now", "ReservationService.place_now",
        "ReservationService.of_customer",
        "DigestService.subscribe", "DigestService.toggle", "DigestService.unsubscribe",
        "DigestService.subscription", "DigestService.this_week",
        "ShopService.accept_invite",  # the code is the permission (tested below)
        "ShopService.memberships",
    },
    "what every customer may see": {
        "ShopService.communes", "ShopService.communes_with_shops", "ShopService.commune",
        "ShopService.get",
        "ShopService.by_slug", "ShopService.browse",
        "CatalogueService.categories", "CatalogueService.product", "CatalogueService.listed",
        "CatalogueService.shop_catalogue", "CatalogueService.shop_categories",
        "SearchService.search",
        "SearchService.suggest",  # only words that find listed products
    },
    "the bot's own work (scheduled jobs, channels, notifications); never reached from "
    "a button": {
        "CustomerService.get", "ShopService.people_to_notify",
        "ShopService.people_who_run_shops",
        "ReservationService.get", "ReservationService.expire_overdue",
        "ReservationService.due_for_reminder", "ReservationService.mark_reminded",
        "DigestService.compose", "DigestService.territory_news", "DigestService.start_if_due",
        "DigestService.unfinished_runs", "DigestService.claim", "DigestService.left",
        "DigestService.mark", "DigestService.finish", "DigestService.report",
        "DigestService.subscriber_count",
        "DeliveryService.receive", "DeliveryService.receive_many", "DeliveryService.handled",
        "DeliveryService.waiting", "DeliveryService.queue", "DeliveryService.due",
        "DeliveryService.delivered", "DeliveryService.failed_later",
        "DeliveryService.keep_media", "DeliveryService.media", "DeliveryService.retry_later",
        "DeliveryService.refused", "DeliveryService.unreachable", "DeliveryService.told_about",
        "DeliveryService.waiting_count", "DeliveryService.clean_up",
    },
}


def service_methods() -> dict[str, bool]:
    """Every public coroutine method of the services, and whether it takes an Actor."""
    found: dict[str, bool] = {}
    for service in typing.get_type_hints(Services).values():
        if not inspect.isclass(service):
            continue
        for name, method in inspect.getmembers(service, inspect.iscoroutinefunction):
            if name.startswith("_"):
                continue
            hints = typing.get_type_hints(method)
            found[f"{service.__name__}.{name}"] = any(
                hint in (Actor, Actor | None) for key, hint in hints.items() if key != "return")
    return found


def test_every_service_method_taking_an_actor_is_in_the_matrix() -> None:
    methods = service_methods()
    guarded = {name for name, takes_actor in methods.items() if takes_actor}
    assert guarded, "no service method takes an Actor: the introspection is broken"
    missing = guarded - {action.method for action in MATRIX}
    assert not missing, f"add these to MATRIX (who may call them?): {sorted(missing)}"


def test_every_other_service_method_says_why_it_needs_no_actor() -> None:
    methods = service_methods()
    excused = set().union(*NEEDS_NO_ACTOR.values())
    unguarded = {name for name, takes_actor in methods.items() if not takes_actor}
    in_matrix = {action.method for action in MATRIX}  # checked by user id there
    assert not unguarded - excused - in_matrix, (
        f"these take no Actor: add a permission check and a MATRIX row, or list them in "
        f"NEEDS_NO_ACTOR with the reason: {sorted(unguarded - excused - in_matrix)}")
    assert not excused - unguarded, f"stale NEEDS_NO_ACTOR entries: {sorted(excused - unguarded)}"
    assert {a.method for a in MATRIX} <= set(methods)


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("action", MATRIX, ids=lambda action: action.id)
async def test_the_authorization_matrix(world: World, action: Action, who: str) -> None:
    actor = world.cast.actors[who]
    before = world.snapshot()
    if who in action.allowed:
        result = await action.call(world, actor)
        if action.check is not None:
            assert action.check(world, result), result
        if action.writes:
            assert world.snapshot() != before, "allowed, yet nothing happened"
        return
    with pytest.raises(DomainError) as refused:
        await action.call(world, actor)
    assert type(refused.value) is action.refused_with, refused.value
    assert refused.value.message() in refusals()
    assert world.snapshot() == before


# -- 1b. the same through the chat: commands, forged buttons, stale answers --------------

# Every button verb: who may press it, and a payload naming shop A's objects ({a} shop A,
# {b} shop B, {c} shop C, {p} A's honey, {r} the customer's reservation, {m} a commune).
# « anyone »: customers' buttons, which act on the presser's own things only.
ANYONE = "anyone"
PRESS_ROLES: dict[str, tuple[str, str]] = {
    **{verb: (ANYONE, "") for verb in (
        "a", "b", "bc", "bq", "c", "cs", "ct", "er", "ery", "ex", "f", "h", "k", "l", "m",
        "p", "q", "r", "rs", "s", "sq", "na", "nc", "nct", "nh", "nht", "ns", "nw", "un",
        "rx",  # only asks « cancel this reservation? »; the answer (rxy) is checked
        "xt",  # the empty CSV template, the same for everyone
        "nophone",  # « Non merci » to sharing one’s number: stores nothing
        "br",  # reserves what is left of the writer's own basket (by their user id)
    )},
    "rxy": ("own reservation", "rxy:{r}"),
    # shopkeepers of shop A
    "d": ("staff", "d:{a}"), "dr": ("staff", "dr:{a}"), "dp": ("staff", "dp:{a}:0"),
    "da": ("staff", "da:{a}"), "st": ("staff", "st:{a}"), "se": ("staff", "se:{a}:phone"),
    "sk": ("staff", "sk:{a}"), "so": ("staff", "so:{a}"), "sf": ("staff", "sf:{a}"),
    "sv": ("staff", "sv:{a}"), "an": ("staff", "an:{a}"), "xe": ("staff", "xe:{a}"),
    "xp": ("staff", "xp:{a}"), "xr": ("staff", "xr:{a}"),
    "pp": ("staff", "pp:{p}"), "pm": ("staff", "pm:{p}"), "pd": ("staff", "pd:{p}"),
    "pdy": ("staff", "pdy:{p}"), "s+": ("staff", "s+:{p}"), "s-": ("staff", "s-:{p}"),
    "sa": ("staff", "sa:{p}:2:0"), "sr": ("staff", "sr:{p}:1:0"), "sn": ("staff", "sn:{p}:3:0"),
    "px": ("staff", "px:{p}:10"), "pn": ("staff", "pn:{a}:x"),
    "ss": ("staff", "ss:{p}"), "sp": ("staff", "sp:{p}"), "sh": ("staff", "sh:{p}"),
    "pc": ("staff", "pc:{p}:1"), "pl": ("staff", "pl:{p}"), "pla": ("staff", "pla:{p}:{c}"),
    "rv": ("staff", "rv:{r}"), "rr": ("staff", "rr:{r}"), "rc": ("staff", "rc:{r}"),
    "rk": ("staff", "rk:{r}"),
    "ho": ("staff", "ho:{a}"), "hq": ("staff", "hq:{a}:0"), "hr": ("staff", "hr:{a}:{b}"),
    "ha": ("staff", "ha:{a}:{b}"), "hx": ("staff", "hx:{a}:{c}"),
    "iv": ("owner", "iv:{a}"),
    # the territory's operator
    "o": ("operator", "o"), "oc": ("operator", "oc"), "om": ("operator", "om"),
    "on": ("operator", "on:{m}"), "ol": ("operator", "ol:0"), "os": ("operator", "os:{a}"),
    "ot": ("operator", "ot:{a}"), "oi": ("operator", "oi:{a}"), "ow": ("operator", "ow"),
    "owp": ("operator", "owp"), "ows": ("operator", "ows"), "owy": ("operator", "owy"),
    "owf": ("operator", "owf"),
}
COMMAND_ROLES: dict[str, tuple[str, str]] = {
    **{name: (ANYONE, "") for name in (
        "start", "menu", "aide", "help", "boutiques", "communes", "recherche", "chercher",
        "panier", "reservations", "mesreservations", "mesdonnees", "effacer", "abonnement",
        "nouvelles", "desabonnement", "stop",
        "invitation",  # the code is the permission: see the invite tests
    )},
    "boutique": ("staff", "/boutique"), "maboutique": ("staff", "/maboutique"),
    "produits": ("staff", "/produits"), "ajouter": ("staff", "/ajouter"),
    "stock": ("staff", "/stock miel 0"), "prix": ("staff", "/prix miel 0,10"),
    "annonce": ("staff", "/annonce Boutique fermée pour toujours"),
    "territoire": ("operator", "/territoire"), "admin": ("operator", "/admin"),
}
# What each person lacks on shop A: the buttons needing it must be refused to them.
LACKS = {
    "customer": {"staff", "owner", "operator"},
    "newcomer": {"staff", "owner", "operator", "own reservation"},  # first message ever
    "owner_b": {"staff", "owner", "operator", "own reservation"},
    "staff_a": {"owner", "operator", "own reservation"},
    "owner_a": {"operator", "own reservation"},
    "operator": {"own reservation"},
}
CHATS = {"customer": ("3000", "Jeanne"), "newcomer": ("4000", "Inconnu"),
         "owner_b": ("2300", "Paul"), "staff_a": ("2001", "Tom"), "owner_a": ("2000", "Léa"),
         "operator": (OPERATOR[1], "Office de tourisme")}
# The intruder's own conversation state is theirs to change (a refused press forgets
# what the bot was waiting for); nothing else may change.
THEIR_OWN = ("conversation_states",)


def test_every_button_and_command_has_a_known_role() -> None:
    assert set(PRESS_ROLES) == set(PRESSES), (
        f"classify these buttons: {sorted(set(PRESSES) - set(PRESS_ROLES))}; "
        f"gone: {sorted(set(PRESS_ROLES) - set(PRESSES))}")
    assert set(COMMAND_ROLES) == set(COMMANDS), (
        f"classify these commands: {sorted(set(COMMANDS) - set(COMMAND_ROLES))}; "
        f"gone: {sorted(set(COMMAND_ROLES) - set(COMMANDS))}")


def _payload(world: World, template: str) -> str:
    cast = world.cast
    return template.format(a=cast.shop_a.id, b=cast.shop_b.id, c=cast.shop_c.id,
                           p=cast.honey.id, r=cast.reservation.id, m=cast.commune.id)


def chat_of(world: World, who: str) -> Chat:
    conversation = Conversation(world.services, world.store, territory="Porte Océane",
                                tz=PARIS)
    external_id, name = CHATS[who]
    return Chat(conversation, external_id, name, Postbox())


@pytest.mark.parametrize("who", list(LACKS))
async def test_buttons_and_commands_beyond_ones_role_are_refused_politely(
        world: World, who: str) -> None:
    intruder = chat_of(world, who)
    await intruder.send("/menu")  # a newcomer is met first
    before = world.snapshot(skip=THEIR_OWN)
    wrong: list[str] = []
    tried = 0
    for roles, typed in [(PRESS_ROLES, False), (COMMAND_ROLES, True)]:
        for _verb, (role, template) in roles.items():
            if role not in LACKS[who] or (typed and who not in ("customer", "newcomer")
                                          and role != "operator"):
                continue  # a shopkeeper's commands act on their own shop
            line = _payload(world, template)
            await (intruder.send(line) if typed else intruder.forge(line))
            tried += 1
            if intruder.text not in refusals():
                wrong.append(f"{line} -> {intruder.text!r}")
            await intruder.send("0")  # whatever was asked, an answer must not act
            await intruder.send("Pirate")
            if world.snapshot(skip=THEIR_OWN) != before:
                wrong.append(f"{line} changed the database")
                before = world.snapshot(skip=THEIR_OWN)
    assert tried >= 1
    assert wrong == []


# What the bot may be waiting for, and a typed answer; planted in the state of someone
# who was never asked (a stale state, a tampered database): the answer is checked again.
ANSWER_STATES: dict[str, tuple[dict[str, Any], str]] = {
    "announcement": ({"shop": "{a}"}, "Fermé pour toujours"),
    "cancel_reason": ({"reservation": "{r}"}, "Parce que"),
    "holiday": ({"shop": "{a}"}, "Fermé"),
    "hours": ({"shop": "{a}"}, "lun 9h-12h"),
    "new_name": ({"shop": "{a}"}, "Contrefaçon"),
    "new_price": ({"shop": "{a}", "name": "Contrefaçon"}, "1,00"),
    "new_stock": ({"shop": "{a}", "name": "Contrefaçon", "price": 100}, "5"),
    "price": ({"product": "{p}"}, "0,10"),
    "setting": ({"shop": "{a}", "key": "phone"}, "05 55 00 00 00"),
    "stock": ({"product": "{p}"}, "1"),
    "commune": ({}, "Pirateville 87000"),
    "shop_name": ({"commune": "{m}"}, "Boutique pirate"),
    "search": ({}, "miel"),  # a customer's own
}


def test_every_awaited_answer_is_tried() -> None:
    assert set(ANSWER_STATES) == set(ANSWERS)


@pytest.mark.parametrize("who", ["customer", "owner_b"])
async def test_an_answer_the_bot_never_asked_for_is_checked_again(
        world: World, who: str) -> None:
    intruder = chat_of(world, who)
    await intruder.send("/menu")
    user_id = world.cast.actors[who].user_id
    before = world.snapshot(skip=THEIR_OWN)
    wrong: list[str] = []
    for kind, (details, typed) in ANSWER_STATES.items():
        filled = {key: int(_payload(world, value)) if isinstance(value, str)
                  and value.startswith("{") else value for key, value in details.items()}
        await world.store.conversations.save(user_id, {"await": {"kind": kind, **filled}},
                                             world.clock())
        await intruder.send(typed)
        if kind not in ("new_name", "new_price", "search") \
                and intruder.text not in refusals():
            wrong.append(f"{kind}: {intruder.text!r}")
        if world.snapshot(skip=THEIR_OWN) != before:
            wrong.append(f"{kind} changed the database")
            before = world.snapshot(skip=THEIR_OWN)
    # A photo sent while the state says « the shop's photo » or « that product's photo ».
    for kind, details in [("shop_photo", {"shop": world.cast.shop_a.id}),
                          ("photo", {"product": world.cast.honey.id})]:
        await world.store.conversations.save(user_id, {"await": {"kind": kind, **details}},
                                             world.clock())
        await intruder.photo("")
        if world.snapshot(skip=THEIR_OWN) != before:
            wrong.append(f"a photo for {kind} changed the database")
    assert wrong == []


async def test_someone_removed_from_the_team_mid_dialogue_is_refused(world: World) -> None:
    tom = chat_of(world, "staff_a")
    await tom.forge(f"ss:{world.cast.honey.id}")
    assert "Combien" in tom.text  # asked for the count on the shelf
    await world.services.shops.remove_staff(world.cast.actors["owner_a"],
                                            world.cast.shop_a.id,
                                            world.cast.actors["staff_a"].user_id)
    await tom.send("7")
    assert tom.text in refusals()
    assert (await world.services.catalogue.product(world.cast.honey.id)).on_hand == 10


# -- 2. invitation codes ------------------------------------------------------------------


async def _invite(world: World, role: Role = Role.STAFF) -> str:
    who = world.cast.actors["owner_a" if role is Role.STAFF else "operator"]
    return (await world.services.shops.invite(who, world.cast.shop_a.id, role)).code


async def _roles(world: World, user_id: int) -> dict[int, Role]:
    return {m.shop_id: m.role for m in await world.services.shops.memberships(user_id)}


async def test_an_invitation_works_once_and_the_second_person_is_told_in_french(
        world: World) -> None:
    code = await _invite(world)
    first, second = chat_of(world, "newcomer"), chat_of(world, "customer")
    await first.send(f"/invitation {code.lower()}")  # typed as it comes
    assert "Bienvenue" in first.text
    before = world.snapshot(skip=THEIR_OWN)
    await second.send(f"/invitation {code}")
    assert second.last[-1].text == "Cette invitation a déjà été utilisée."
    await first.send(f"/invitation {code}")  # nor twice by the same person
    assert first.text == "Cette invitation a déjà été utilisée."
    assert world.snapshot(skip=THEIR_OWN) == before
    assert await _roles(world, world.cast.customer.id) == {}


async def test_an_invitation_expires_after_its_validity(world: World) -> None:
    early, late = await _invite(world), await _invite(world, Role.OWNER)
    world.clock.advance(seconds=INVITE_VALIDITY.total_seconds() - 1)
    newcomer = chat_of(world, "newcomer")
    await newcomer.send(f"/invitation {early}")
    assert "Bienvenue" in newcomer.text  # still valid a second before
    world.clock.advance(seconds=1)
    customer = chat_of(world, "customer")
    await customer.send("/menu")  # seen a week later: their « last seen » moves
    before = world.snapshot(skip=THEIR_OWN)
    await customer.send(f"/invitation {late}")
    assert customer.text == "Cette invitation a expiré. Merci d’en demander une nouvelle."
    assert world.snapshot(skip=THEIR_OWN) == before


@pytest.mark.parametrize("typed", [
    "AAAAAAAAAA", "' OR 1=1 --", "%", "*", "é" * 10, "x" * 5000, "0" * 64, "\u200b",
    "{code}X", "{code_cut}", "{code_other}",
])
async def test_unknown_or_forged_codes_grant_nothing(world: World, typed: str) -> None:
    code = await _invite(world)
    other = await world.services.shops.invite(world.cast.actors["owner_b"],
                                              world.cast.shop_b.id, Role.STAFF)
    await world.services.shops.accept_invite(world.cast.apprentice.id, other.code)
    customer = chat_of(world, "customer")
    before = world.snapshot(skip=THEIR_OWN)
    await customer.send("/invitation " + typed.format(code=code, code_cut=code[:-1],
                                                      code_other=other.code))
    assert customer.last[-1].text in ("Ce code d’invitation n’est pas valable.",
                             "Cette invitation a déjà été utilisée.")
    assert world.snapshot(skip=THEIR_OWN) == before
    await customer.send("/invitation")
    assert customer.text == "Merci d’écrire le code d’invitation après /invitation."


async def test_a_code_for_shop_a_grants_shop_a_only_and_never_more_than_its_role(
        world: World) -> None:
    services, cast = world.services, world.cast
    newcomer = await services.customers.seen("telegram", "4000", "Inconnu")
    await services.shops.accept_invite(newcomer.id, await _invite(world))
    assert await _roles(world, newcomer.id) == {cast.shop_a.id: Role.STAFF}
    actor = services.customers.actor(newcomer)
    await services.catalogue.set_stock(actor, cast.honey.id, 9)  # A: yes
    with pytest.raises(NotAllowed):  # B: no
        await services.shops.set_announcement(actor, cast.shop_b.id, "Pirate")
    with pytest.raises(NotAllowed):  # staff, not owner
        await services.shops.invite(actor, cast.shop_a.id, Role.STAFF)


async def test_an_existing_member_using_a_code_is_never_demoted_nor_promoted_by_it(
        world: World) -> None:
    services, cast = world.services, world.cast
    owner_a, staff_a = cast.actors["owner_a"], cast.actors["staff_a"]
    await services.shops.accept_invite(owner_a.user_id, await _invite(world))
    await services.shops.accept_invite(staff_a.user_id, await _invite(world))
    assert await _roles(world, owner_a.user_id) == {cast.shop_a.id: Role.OWNER}
    assert await _roles(world, staff_a.user_id) == {cast.shop_a.id: Role.STAFF}
    # B's owner joins A's team with A's code: staff at A, still owner of B.
    owner_b = cast.actors["owner_b"]
    await services.shops.accept_invite(owner_b.user_id, await _invite(world))
    assert await _roles(world, owner_b.user_id) == {cast.shop_a.id: Role.STAFF,
                                                    cast.shop_b.id: Role.OWNER}


async def test_a_code_used_by_many_people_at_once_lets_one_in(world: World) -> None:
    code = await _invite(world)
    people = [await world.services.customers.seen("telegram", str(5000 + n), f"P{n}")
              for n in range(12)]
    results = await asyncio.gather(
        *(world.services.shops.accept_invite(p.id, code) for p in people),
        return_exceptions=True)
    joined = [r for r in results if not isinstance(r, BaseException)]
    assert len(joined) == 1
    assert all(isinstance(r, InviteUnusable) and r.why == "used"
               for r in results if isinstance(r, BaseException))
    staff = await world.services.shops.staff(world.cast.actors["owner_a"],
                                             world.cast.shop_a.id)
    assert len(staff) == 4


# -- 3. erasing one's data -----------------------------------------------------------------

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


@pytest.fixture
async def meta(world: World) -> AsyncIterator[Meta]:
    api = FakeGraphAPI(wall_clock=world.clock, report_delivery=True)
    conversation = Conversation(world.services, world.store, territory="Porte Océane",
                                tz=PARIS)
    channel = WhatsAppChannel(
        world.services, conversation, token=GRAPH_TOKEN, phone_number_id=api.phone_number_id,
        app_secret=WA_SECRET, verify_token="verify-me",
        session=httpx.AsyncClient(transport=api.transport()), jobs=False)
    await channel.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=webhook_app(
                whatsapp=channel)), base_url="http://bot.test") as http:
            yield Meta(api, http, channel)
    finally:
        await channel.stop()


def find_anywhere(path: Path, needles: list[str]) -> list[str]:
    """Every table, column and row where one of ``needles`` is written."""
    found = []
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [c[0] for c in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) \
                        else str(value)
                    found += [f"{table}.{column} holds {needle!r}: {text[:120]!r}"
                              for needle in needles if needle in text]
    return found


async def test_erasing_ones_data_forgets_the_person_and_keeps_the_shops_history(
        world: World, meta: Meta) -> None:
    """After « /effacer », no table holds her name or number (a WhatsApp id is the phone
    number); her live reservations are cancelled (stock back, the shop told without her
    name); every reservation stays, anonymous, with its ledger. Kept on purpose: her
    user row (id and dates only, for the reservations), and for 7 days the ids of her
    WhatsApp messages (needed to recognise Meta's retries; a wamid encodes the number in
    base64, which this scan does not decode)."""
    s, cast = world.services, world.cast
    owner_a = cast.actors["owner_a"]
    lea = await s.customers.seen("whatsapp", LEA, "Léa")
    await s.shops.accept_invite(lea.id, (await s.shops.invite(owner_a, cast.shop_a.id,
                                                              Role.STAFF)).code)
    await meta.says(LEA, "Léa", "/menu")  # Léa wrote today: inside her 24-hour window
    name = "Albertine Marcoux"
    # A reservation collected (the shop's history), one she cancelled herself, one live
    # (a hosted product: its maker is told too); a basket, a subscription, a phone.
    await meta.says(ALBERTINE, name, f"/start p_{cast.soap.id}")
    await meta.taps(ALBERTINE, name, "✅")
    await meta.settle()
    await meta.taps(LEA, "Léa", "✅")  # « ready », from Léa's notification
    await meta.settle()
    albertine = (await s.customers.session("whatsapp", ALBERTINE)).user  # type: ignore[union-attr]
    (collected,) = await s.reservations.of_customer(albertine.id)
    await s.reservations.mark_collected(owner_a, collected.id)
    await meta.says(ALBERTINE, name, f"/start p_{cast.honey.id}")
    await meta.taps(ALBERTINE, name, "✅")
    await meta.says(ALBERTINE, name, "/reservations")
    await meta.taps(ALBERTINE, name, "✖️")
    await meta.taps(ALBERTINE, name, "Oui")  # Léa is told « Albertine Marcoux cancelled… »
    await meta.says(ALBERTINE, name, f"/start p_{cast.pottery.id}")
    await meta.taps(ALBERTINE, name, "✅")
    await s.customers.set_phone(albertine.id, "06 12 34 56 78")
    await s.baskets.add(albertine.id, cast.honey.id, 2)
    await s.digest.subscribe(albertine.id, SubscriptionScope.TERRITORY)
    await meta.settle()
    needles = ["Albertine", "Marcoux", "612345678"]  # the phone, in any of its spellings
    assert find_anywhere(world.path, needles)  # (the scan does find her before)
    history = {r.id: r.status for r in await s.reservations.for_shop(
        owner_a, cast.shop_a.id, tuple(ReservationStatus))}
    ledger = world.snapshot()["stock_movements"]

    await meta.says(ALBERTINE, name, "/effacer")
    await meta.taps(ALBERTINE, name, "Oui")
    assert meta.texts(ALBERTINE)[-1] == "Vos données ont été effacées. Au revoir, et merci\u00a0!"
    await meta.settle()

    left = find_anywhere(world.path, needles)
    assert left == [], "\n".join(left)
    forgotten = await s.customers.get(albertine.id)
    assert forgotten is not None  # the shops' reservations still point to someone
    assert (forgotten.display_name, forgotten.phone) == ("", None)
    assert await s.baskets.baskets(albertine.id) == []
    assert await s.digest.subscription(albertine.id) is None
    # The shop keeps every reservation, anonymous; the live one was cancelled (the
    # shop is told, without her name) and its stock is back on the shelf.
    after = {r.id: r.status for r in await s.reservations.for_shop(
        owner_a, cast.shop_a.id, tuple(ReservationStatus))}
    live = [rid for rid, status in history.items() if status.is_live
            and rid != cast.reservation.id]
    assert len(live) == 1
    assert after == {**history, live[0]: ReservationStatus.CANCELLED_BY_CUSTOMER}
    assert world.snapshot()["stock_movements"] == ledger
    assert (await s.catalogue.product(cast.pottery.id)).reserved == 0
    assert (await s.catalogue.product(cast.soap.id)).on_hand == 3  # collected: sold
    assert "par le client" in meta.texts(LEA)[-1]
    figures = await s.shops.figures(cast.actors["operator"], world.clock())
    assert (figures.reservations_week, figures.collected_week) == (4, 1)
    # She comes back: a stranger to the bot.
    await meta.says(ALBERTINE, "Albertine", "/reservations")
    assert meta.texts(ALBERTINE)[-1].startswith("Bienvenue")  # welcomed again, then:
    assert meta.texts(ALBERTINE)[-1].endswith("Vous n’avez pas encore de réservation.")


async def test_a_shopkeeper_who_erases_their_data_leaves_the_team_and_the_operator_is_told(
        world: World) -> None:
    """Paul runs the bakery alone: after « /effacer » the shop's news has nobody to go to
    (not an address that no longer exists) and the operators are asked to invite
    someone; Léa's shop, with two more staff, just loses her."""
    s, cast = world.services, world.cast
    paul = chat_of(world, "owner_b")
    await paul.send("/effacer")
    assert "Boulangerie Martin" in paul.text  # warned that he leaves its team
    await paul.press("Oui")
    assert await s.shops.people_to_notify(cast.shop_b.id) == []
    (told,) = paul.postbox.inbox[OPERATOR[1]]
    assert "Paul" in told.text
    assert "Boulangerie Martin" in told.text
    assert "/territoire" in told.text  # nobody runs it any more: invite someone
    lea = chat_of(world, "owner_a")
    await lea.send("/effacer")
    await lea.press("Oui")
    assert {u.display_name for u in await s.shops.people_to_notify(cast.shop_a.id)} == {
        "Tom", "Zoé"}
    (told,) = lea.postbox.inbox[OPERATOR[1]]
    assert "Épicerie du Château" in told.text
    assert "/territoire" not in told.text
    # Back in the chat, he is a customer like any other.
    await paul.send("/boutique")
    assert "Boulangerie Martin" not in paul.text


# -- 4. webhooks: a compact cross-check (the thorough tests are in test_telegram.py and
#    test_whatsapp.py, see the module's docstring) -----------------------------------------

TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
async def telegram(world: World) -> AsyncIterator[tuple[FakeBotAPI, TelegramChannel]]:
    api = FakeBotAPI()
    conversation = Conversation(world.services, world.store, territory="Porte Océane",
                                tz=PARIS)
    channel = TelegramChannel(world.services, conversation, token=TELEGRAM_TOKEN,
                              request=api.request(), get_updates_request=api.request(),
                              jobs=False)
    await channel.start(polling=False)
    yield api, channel
    await channel.stop()


def _inbound_count(world: World) -> int:
    return len(world.snapshot()["inbound_events"])


@pytest.mark.parametrize(("configured", "given", "status"), [
    ("s3cret", "s3cret", 200),
    ("s3cret", "S3CRET", 403), ("s3cret", "s3cre", 403), ("s3cret", "s3cretX", 403),
    ("s3cret", None, 403),
    (None, "s3cret", 404),  # no secret configured: the route takes nothing at all
])
async def test_the_telegram_webhook_takes_only_the_exact_secret(
        world: World, telegram: tuple[FakeBotAPI, TelegramChannel], configured: str | None,
        given: str | None, status: int) -> None:
    api, channel = telegram
    app = webhook_app(telegram=channel, telegram_secret=configured)
    update = api.send_text(api.user(3000, "Jeanne"), "/stock miel 0")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://bot.test") as http:
        response = await http.post("/telegram", json=update,
                                   headers={} if given is None else {SECRET_HEADER: given})
    assert response.status_code == status
    assert _inbound_count(world) == (1 if status == 200 else 0)


async def test_the_whatsapp_webhook_takes_only_a_signature_of_this_very_body(
        world: World, meta: Meta) -> None:
    payload = meta.api.text(ALBERTINE, "Albertine", "/menu")
    body, headers = meta.api.signed(payload, WA_SECRET)
    forged = body.replace(b"/menu", b"/effacer")  # a captured signature, another body
    sha1 = "sha1=" + hmac.new(WA_SECRET.encode(), body, hashlib.sha1).hexdigest()
    wrong_key = meta.api.signed(payload, "verify-me")[1][SIGNATURE_HEADER]
    for content, signature in [(forged, headers[SIGNATURE_HEADER]), (body, sha1),
                               (body, wrong_key),
                               (body, headers[SIGNATURE_HEADER].removeprefix("sha256=")),
                               (body, headers[SIGNATURE_HEADER].upper())]:
        response = await meta.http.post("/whatsapp", content=content,
                                        headers={**headers, SIGNATURE_HEADER: signature})
        assert response.status_code == 403, signature
    await meta.channel.settle()
    assert _inbound_count(world) == 0
    assert meta.api.messages_to(ALBERTINE) == []
    assert (await meta.deliver(payload)).status_code == 200  # the real one, once
    assert len(meta.api.messages_to(ALBERTINE)) == 1
