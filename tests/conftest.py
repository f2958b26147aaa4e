"""Shared fixtures: a fresh migrated database per test, services on a clock that tests
move by hand, and a small territory (a commune, a shop, its owner, a customer)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings

from chatshop.conversation.router import Conversation
from chatshop.demo import DEMO_OPERATOR, DEMO_OPERATOR_NAME, DemoShop, seed_demo
from chatshop.domain.models import Actor, Commune, Product, Role, Shop, User
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store
from tests.chat import Postbox

if TYPE_CHECKING:
    from tests.postgres_cluster import EmptiedDatabase
    from tests.world import Cast, DatabaseFile, World

OPERATOR = ("telegram", "1000")

# Shared, noisy machines: a slow example is not a failure (parsers are still checked on
# hundreds of generated inputs).
settings.register_profile("chatshop", deadline=None)
settings.load_profile("chatshop")


# -- every statement the tests run, for tests/test_query_plans.py ----------------------------


@pytest.fixture(scope="session", autouse=True)
def _statements_traced() -> Iterator[None]:
    """Trace the statements of every connection chatshop opens during the run."""
    from tests.test_query_plans import install

    with pytest.MonkeyPatch.context() as monkeypatch:
        install(monkeypatch)
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The query plans' check runs last, over the statements of every test before it."""
    last = [item for item in items if item.nodeid.endswith("test_no_press_scans_a_large_table")]
    items[:] = [item for item in items if item not in last] + last


# -- PostgreSQL (issue #14) -------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A throw-away PostgreSQL cluster for the session, started by the first test that asks
    (``tests/postgres_cluster.py``). Without server programs the test is skipped with
    the reason; under CI=1 that is a failure."""
    from tests.postgres_cluster import NoServer, cluster

    try:
        with cluster() as dsn:
            yield dsn
    except NoServer as why:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL: {why}")
        pytest.skip(f"PostgreSQL tests skipped: {why}")


class FakeClock:
    """A clock that only moves when a test says so."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CHATSHOP_ variable from the caller's shell, and a working folder without .env."""
    for name in list(os.environ):
        if name.upper().startswith("CHATSHOP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def clock() -> FakeClock:
    # A Thursday morning in Paris (09:00 UTC = 10:00 local).
    return FakeClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))


# Test modules whose tests that use a store run on both engines (issue #14): the
# storage's and the services' tests, and a chosen part of the conversation's.
BOTH_ENGINES = frozenset({
    "test_postgres_store", "test_alerts", "test_baskets", "test_catalogue",
    "test_channel_posts", "test_digest", "test_figures", "test_holidays", "test_pickups",
    "test_pickups_rules", "test_pickups_slots", "test_product_csv", "test_product_csv_export",
    "test_reservations", "test_search", "test_search_forgives", "test_shops", "test_today",
    "test_today_morning", "test_unit_of_work", "test_security_erasure",
    "test_security_invites", "test_security_matrix", "test_counter", "test_images",
    "test_concurrency", "test_digest_groups", "test_search_ranks", "test_pickup_deadline",
    # the conversation, a chosen part: what customers, shopkeepers and operators do most
    "test_conversation", "test_conversation_access", "test_customer_phrases",
    "test_security_chat", "test_window_chat", "test_merchant_ambiguity", "test_fairness",
    # several processes on one database (two stores), on both engines where it applies
    "test_processes",
})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "engine" in metafunc.fixturenames and module in BOTH_ENGINES:
        metafunc.parametrize("engine", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The storage engine of the test's store: SQLite, and PostgreSQL too in the
    modules of ``BOTH_ENGINES``."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres_tests_database(postgres_dsn: str) -> EmptiedDatabase:
    from tests.postgres_cluster import EmptiedDatabase

    return EmptiedDatabase(postgres_dsn)


@pytest.fixture
async def store(tmp_path: Path, engine: str,
                request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if engine == "postgresql":
        database: EmptiedDatabase = request.getfixturevalue("postgres_tests_database")
        opened = await open_store(database.empty())
    else:
        opened = await open_store(tmp_path / "chatshop.db")
    yield opened
    await opened.close()


async def written_down_before_a_stop(store: Store, channel: str,
                                    events: list[tuple[str, str]]) -> None:
    """``(event_id, payload)`` events written down by a process that has stopped since
    (another store on the same database, closed: its lease gone), for a start to find."""
    location = (store.db.dsn if getattr(store, "engine", "") == "postgresql"  # type: ignore[attr-defined]
                else store.db.path)  # type: ignore[attr-defined]
    before = await open_store(location)
    try:
        await before.inbox.receive(channel, events,  # type: ignore[arg-type]
                                   datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    finally:
        await before.close()


@pytest.fixture
def services(store: Store, clock: FakeClock) -> Services:
    return build_services(store, operators=frozenset({OPERATOR}), clock=clock)


@dataclass
class Territory:
    """A small territory for tests: one commune, one shop with its owner, a customer."""

    services: Services
    operator: Actor
    commune: Commune
    shop: Shop
    owner_user: User
    owner: Actor
    customer: User

    async def person(self, external_id: str, name: str = "") -> User:
        return await self.services.customers.seen("telegram", external_id, name or external_id)

    async def actor(self, external_id: str) -> Actor:
        return self.services.customers.actor(await self.person(external_id))

    async def open_shop(self, name: str, owner_external_id: str,
                        commune: Commune | None = None) -> tuple[Shop, Actor]:
        """A new shop and its owner, made the way the product makes them: by invite."""
        shop = await self.services.shops.create_shop(self.operator, name,
                                                     (commune or self.commune).id)
        invite = await self.services.shops.invite(self.operator, shop.id, Role.OWNER)
        owner = await self.person(owner_external_id)
        await self.services.shops.accept_invite(owner.id, invite.code)
        return shop, self.services.customers.actor(owner)

    async def product(self, name: str = "Miel de châtaignier", price_cents: int = 850,
                      on_hand: int = 10, shop: Shop | None = None,
                      owner: Actor | None = None, **fields: object) -> Product:
        return await self.services.catalogue.add_product(
            owner or self.owner, (shop or self.shop).id, name=name, price_cents=price_cents,
            on_hand=on_hand, **fields,  # type: ignore[arg-type]
        )


@pytest.fixture
async def territory(services: Services) -> Territory:
    operator_user = await services.customers.seen(*OPERATOR, "Office de tourisme")
    operator = services.customers.actor(operator_user)
    commune = await services.shops.add_commune(operator, "Rochechouart", "87600")
    partial = Territory(services, operator, commune, None, None, None, None)  # type: ignore[arg-type]
    shop, owner = await partial.open_shop("Épicerie du Château", "2000")
    partial.shop = shop
    partial.owner = owner
    owner_user = await services.customers.seen("telegram", "2000", "Léa")
    partial.owner_user = owner_user
    partial.customer = await services.customers.seen("telegram", "3000", "Jeanne")
    return partial


@pytest.fixture
def conversation(services: Services, store: Store) -> Conversation:
    return Conversation(services, territory="Porte Océane du Limousin",
                        tz=ZoneInfo("Europe/Paris"))


@pytest.fixture
def postbox() -> Postbox:
    return Postbox()


# -- the security tests' territory (tests/world.py, which imports this module) ---------------


@pytest.fixture(scope="module")
def cast_file(tmp_path_factory: pytest.TempPathFactory) -> DatabaseFile[Cast]:
    """The security tests' territory, built once per module; each test works on a copy."""
    from tests.world import DatabaseFile, build_cast

    return DatabaseFile.build(tmp_path_factory.mktemp("territory") / "chatshop.db", build_cast)


@pytest.fixture
async def world(cast_file: DatabaseFile[Cast], tmp_path: Path) -> AsyncIterator[World]:
    """This test's own copy of the security tests' territory, with services on it."""
    from tests.world import world_on

    async with world_on(cast_file.copy(tmp_path / "chatshop.db"), cast_file.cast) as opened:
        yield opened


# -- the demo territory, as `chatshop seed-demo` loads it -------------------------------


@pytest.fixture
def demo_services(store: Store, clock: FakeClock) -> Services:
    """Services whose operator is the demo's."""
    return build_services(store, operators=frozenset({DEMO_OPERATOR}), clock=clock)


@pytest.fixture
async def operator(demo_services: Services) -> Actor:
    """The demo territory's operator."""
    return demo_services.customers.actor(
        await demo_services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME))


@pytest.fixture
async def demo(demo_services: Services, operator: Actor) -> list[DemoShop]:
    """The demo territory loaded, its shops."""
    return await seed_demo(demo_services, operator=operator)
