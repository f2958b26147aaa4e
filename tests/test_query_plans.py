"""Every statement the tests run, read through an index (issue #13, « everything else at
that size »): no customer's, shopkeeper's or operator's press scans every product, every
subscriber or every reservation of a territory of 100 000 products.

While the tests run, the connections chatshop opens (``storage.database.connect`` and
``connect_for_lookups``, wrapped by ``tests/conftest.py``) report each statement to
``SEEN`` (SQLite's trace callback, with the bound values written in). The last test of
the run (conftest moves it there) first runs a few visits of its own, so that it checks
something when run alone (``-k``) and can never pass on nothing, then asks SQLite for
the plan (``EXPLAIN QUERY PLAN``) of each distinct statement on a freshly migrated
database and fails on a ``SCAN`` of a large table, except the statements of
``ALLOWED``, each with its reason. The database is empty and not analysed: SQLite then
plans from the schema alone (indexes and their columns), which is what a territory's
first days get too and close to what it gets later (chatshop never runs ANALYZE).
"""

from __future__ import annotations

import functools
import re
import sqlite3
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

from chatshop.conversation.messages import Press
from chatshop.conversation.router import Conversation
from chatshop.delivery.pace import SlidingWindow
from chatshop.delivery.runtime import Delivery
from chatshop.demo import (
    DEMO_OPERATOR,
    DEMO_OPERATOR_NAME,
    DEMO_TERRITORY,
    DemoClock,
    seed_demo,
)
from chatshop.resources import migrations_dir
from chatshop.services import build_services
from chatshop.storage import database as database_module
from chatshop.storage import open_store
from chatshop.storage import search_index as search_index_module
from chatshop.storage.database import sort_key
from chatshop.storage.listing import LISTED_JOINS, VISIBLE
from tests.chat import Chat, Postbox

TESTS = str(Path(__file__).parent)
T = TypeVar("T")

# Tables that grow with the territory (products, people, their reservations, the
# messages and events): a statement on a customer's or shopkeeper's press must not read
# all of one. Small ones (communes, categories, a shop's hours, digest runs, the shops
# themselves: a few thousand at most) are left out.
LARGE_TABLES = frozenset({
    "products", "product_photos", "product_alerts", "basket_lines",
    "users", "conversation_states", "staff", "invites",
    "subscriptions", "subscription_communes", "subscription_shops", "digest_deliveries",
    "reservations", "reservation_lines", "reservation_contacts", "stock_movements",
    "outbox", "inbound_events", "media", "media_sizes", "shop_messages", "channel_posts",
})

_BLOB = re.compile(r"[xX]'[0-9a-fA-F]*'")
_COMMENT = re.compile(r"--[^\n]*")
_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?!\w)")
_PARAMETER = re.compile(r"[:@$][A-Za-z_]\w*|\?\d*")
_LIST = re.compile(r"\?(?:\s*,\s*\?)+")
_SPACE = re.compile(r"\s+")
_EXPLAINED = re.compile(r"^\s*(?:SELECT|WITH|UPDATE|DELETE|INSERT|REPLACE)\b", re.IGNORECASE)


def normalise(sql: str) -> str:
    """The statement with every value a ``?`` (a list of values one ``?``) and its
    spaces collapsed: the same statement with other values is the same text."""
    text = _BLOB.sub("?", sql)
    text = _STRING.sub("?", text)
    text = _COMMENT.sub(" ", text)
    text = _NUMBER.sub("?", text)
    text = _PARAMETER.sub("?", text)
    text = _LIST.sub("?", text)
    return _SPACE.sub(" ", text).strip().rstrip(";").rstrip()


# Statements allowed to scan a large table (a part of their normalised text, see
# ``normalise``; a part ending in « $ » ends it), each with its reason: background and
# maintenance work, counts of the whole territory, never a customer's or shop's page.
ALLOWED: dict[str, str] = {
    # The operator's /territoire figures: how many products are on show in the whole
    # territory is a count of every one; it reads an index (products_by_shop, with the
    # columns that say whether a product is on show), not the table.
    "FROM products p JOIN shops s ON s.id = p.shop_id WHERE p.hidden = ? AND":
        "the operator's count of every listed product, from an index",
    # Once a day, the runtime's clean-up (runtime/jobs): what is done is dropped.
    "DELETE FROM outbox WHERE created_at < ?": "daily clean-up of sent messages",
    "DELETE FROM product_alerts WHERE told_at IS NOT NULL OR expires_at <= ?":
        "daily clean-up of finished alerts",
    # chatshop db copy: every row of every table, once, with the bot stopped.
    "SELECT * FROM products": "db copy reads the whole table, with the bot stopped",
    # When the database is opened: the search index brought up to date.
    "SELECT id FROM products WHERE deleted_at IS NULL": "full reindex at open",
    "LEFT JOIN product_search_content s ON s.id = p.id WHERE p.deleted_at IS NULL AND s.id IS"
    " NULL": "products missing from the search index, at open",
    # The stock audit (orders.live_quantities, for audits and tests): every live unit.
    "SELECT l.product_id, sum(l.quantity) FROM reservation_lines l JOIN reservations r":
        "the stock audit: units held by every live reservation, not on any press",
    # `chatshop` command-line summaries.
    "SELECT count(*) FROM products WHERE deleted_at IS NULL": "the CLI's count of products",
    # Photos: kept from Telegram in the background, once; images kept before cleaning was
    # done cleaned once, in the background.
    "FROM product_photos pp JOIN products p ON p.id = pp.product_id WHERE pp.channel = ?":
        "background keeping of Telegram photos",
    "SELECT sha256 FROM media WHERE cleaned = ?": "one-time cleaning of old images",
    "DELETE FROM media WHERE sha256 = ? AND NOT EXISTS":
        "one-time cleaning of old images: is the old file still in a message or draft",
    # Jobs of the runtime that read the live rows only, through a partial index.
    "SELECT id, shop_id FROM reservations WHERE pickup_reminded_at IS NULL":
        "pickup reminders: the live reservations only (reservations_live_by_shop)",
    "WHERE a.told_at IS NULL AND a.expires_at > ?":
        "the alerts sender: open alerts only (product_alerts_due), oldest first, a page",
    # The operator's digest desk: how many subscribe (storage/digest.py, the digest's).
    "SELECT count(*) FROM subscriptions": "the operator's count of every subscriber",
    # The public window's sitemap.xml (for search engines, not people): each shop's last
    # change, which is the latest of its products', and how many products it lists.
    "MAX(p.updated_at) AS changed FROM products p": "the sitemap: every listed product",
    normalise(f"SELECT count(*) FROM products p {LISTED_JOINS} WHERE {VISIBLE}") + "$":
        "the sitemap's count of every listed product",
}


def migration_statements() -> set[str]:
    """The statements of the migrations (run once per database, allowed to scan)."""
    found: set[str] = set()
    for path in sorted(migrations_dir().glob("*.sql")):
        statement = ""
        for line in path.read_text().splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                found.add(normalise(statement))
                statement = ""
    return found


@dataclass
class Statements:
    """The distinct statements seen, each with one example as it ran."""

    examples: dict[str, str] = field(default_factory=dict)  # normalised -> as it ran
    _raw: set[str] = field(default_factory=set)
    _from_tests: set[str] = field(default_factory=set)  # as the tests wrote them

    def trace(self, sql: str) -> None:
        """The trace callback (run in the thread that runs the statement). A statement a
        test runs itself, on a connection chatshop opened, is not chatshop's: its caller
        is the test when it is run straight (sqlite3, as in ``run_write``), and known to
        ``from_test`` when it goes through aiosqlite."""
        if not sys._getframe(1).f_code.co_filename.startswith(TESTS):
            self._add(sql)

    def trace_lookup(self, sql: str) -> None:
        """The trace callback of the event loop's connection, where the caller of
        ``lookup`` (or ``read_briefly``) is known."""
        if not sys._getframe(2).f_code.co_filename.startswith(TESTS):
            self._add(sql)

    def _add(self, sql: str) -> None:
        raw = self._raw
        raw.add(sql)
        if len(raw) > 20_000:  # statements differing by their values only
            self._fold()

    def from_test(self, sql: str) -> None:
        self._from_tests.add(sql)

    def _fold(self) -> None:
        raw, self._raw = self._raw, set()
        for sql in list(raw):  # (a copy: another thread may still add to it)
            self.examples.setdefault(normalise(sql), sql)

    def distinct(self) -> dict[str, str]:
        """Every statement seen, normalised, with one example as it ran."""
        self._fold()
        tests = {normalise(sql) for sql in self._from_tests}
        return {key: sql for key, sql in self.examples.items() if key not in tests}


SEEN = Statements()


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trace every connection chatshop opens from now on (called by conftest)."""
    connect = database_module.connect
    connect_for_lookups = database_module.connect_for_lookups

    async def traced_connect(path: str | Path, *, shared: bool = False) -> aiosqlite.Connection:
        conn = await connect(path, shared=shared)
        await conn.set_trace_callback(SEEN.trace)
        return conn

    def traced_lookups(path: str | Path) -> sqlite3.Connection:
        conn = connect_for_lookups(path)
        conn.set_trace_callback(SEEN.trace_lookup)
        return conn

    # What a test runs itself through aiosqlite (its worker thread does not know who).
    for name in ("execute", "execute_fetchall", "execute_insert", "executemany"):
        monkeypatch.setattr(aiosqlite.Connection, name,
                            _noting_tests(getattr(aiosqlite.Connection, name)))
    monkeypatch.setattr(database_module, "connect", traced_connect)
    monkeypatch.setattr(database_module, "connect_for_lookups", traced_lookups)
    monkeypatch.setattr(search_index_module, "connect_for_lookups", traced_lookups)


def _noting_tests(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(method)
    def noting(self: aiosqlite.Connection, sql: str, *args: Any) -> Awaitable[T]:
        if sys._getframe(1).f_code.co_filename.startswith(TESTS):
            SEEN.from_test(sql)
        return method(self, sql, *args)
    return noting


# -- reading the plans -----------------------------------------------------------------------

# A scan reads every row of a table, or every entry of an index (as long, in rows): both
# count. (« SCAN t USING INDEX » walks the index in its order, « SEARCH » seeks in it.)
_SCAN = re.compile(r"^SCAN (\w+)(?: USING (?:COVERING )?INDEX \w+)?$")
_NEEDS = re.compile(r"uses (\d+), and there are 0 supplied")


@dataclass(frozen=True)
class Scan:
    table: str
    statement: str
    plan: str


def plan_of(conn: sqlite3.Connection, sql: str) -> list[str]:
    try:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    except sqlite3.ProgrammingError as problem:  # run without its values written in
        needed = _NEEDS.search(str(problem))
        if needed is None:
            raise
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, [None] * int(needed[1])).fetchall()
    return [row[3] for row in rows]


def table_of(name: str, sql: str) -> str:
    """The table a plan's name stands for (plans name a table by its alias)."""
    alias = re.search(rf"(?:FROM|JOIN|,)\s+(\w+)\s+(?:AS\s+)?{name}\b", sql, re.IGNORECASE)
    return alias[1] if alias else name


def scans(conn: sqlite3.Connection, statements: dict[str, str]) -> tuple[list[Scan], int]:
    """The full scans of large tables, and how many statements were explained."""
    found: list[Scan] = []
    explained = 0
    migrations = migration_statements()
    for normalised, example in sorted(statements.items()):
        if not _EXPLAINED.match(normalised) or normalised in migrations:
            continue
        try:
            plan = plan_of(conn, example)
        except sqlite3.OperationalError as problem:
            if "no such table" in str(problem):  # a test's own table
                continue
            raise AssertionError(f"{problem}: {example}") from problem
        explained += 1
        for line in plan:
            scan = _SCAN.match(line.strip())
            if scan is None:
                continue
            table = table_of(scan[1], example)
            if table in LARGE_TABLES and not allowed(normalised):
                found.append(Scan(table, normalised, "\n".join(plan)))
    return found, explained


def allowed(normalised: str) -> bool:
    return any(normalised.endswith(part[:-1]) if part.endswith("$") else part in normalised
               for part in ALLOWED)


def migrated(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.create_function("sort_key", 1, sort_key, deterministic=True)
    return conn


# -- the visits ----------------------------------------------------------------------------

# Presses a visit leaves alone: they end the visit (the person is gone) or do the same as
# a press already made, at length.
_NOT_PRESSED = ("effacer", "supprimer", "désabonner", "stop", "imprimer", "graphique",
                "affiche", "étiquettes")
PRESSES = 120  # per person: every screen two or three presses deep


async def crawl(chat: Chat, starts: list[str], presses: int = PRESSES) -> int:
    """Open each of ``starts`` and press, breadth first, every button not pressed yet
    (each distinct button once, up to ``presses``): every screen a few presses deep."""
    queue: deque[str] = deque()
    pressed: set[str] = set()

    def shown() -> None:
        queue.extend(button.payload for reply in chat.last for button in reply.all_buttons
                     if not any(word in button.label.casefold() for word in _NOT_PRESSED))
    for start in starts:
        await chat.send(start)
        shown()
    while queue and len(pressed) < presses:
        payload = queue.popleft()
        if payload in pressed:
            continue
        pressed.add(payload)
        await chat.event(Press(payload=payload))
        shown()
    return len(pressed)


async def visit_everything(path: Path) -> None:
    """The demo territory with its farm shop's past weeks, then a customer, each shop's
    owner and the operator pressing every button a few screens deep, then one pass of
    each of the runtime's jobs (sweep, alerts, reminders, the morning's and the week's
    messages, the clean-up) and the exports."""
    clock = DemoClock()  # the real time, after the farm shop's past weeks
    store = await open_store(path)
    try:
        services = build_services(store, operators=frozenset({DEMO_OPERATOR}), clock=clock)
        operator = services.customers.actor(
            await services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME))
        demo = await seed_demo(services, operator=operator, history=clock)
        conversation = Conversation(services, territory=DEMO_TERRITORY,
                                    tz=ZoneInfo("Europe/Paris"))
        postbox = Postbox()
        customer = Chat(conversation, "9000", "Jeanne", postbox)
        await customer.send("/start")
        for word in ("miel", "savon", "confiture"):
            await customer.send(word)
        await crawl(customer, ["/menu", "/boutiques", "/panier", "/reservations",
                               "/alertes", "/abonnement"])
        for shop in demo:
            channel, external_id = shop.owner
            owner = Chat(conversation, external_id, shop.name, postbox, channel=channel)
            await owner.send("/stock miel 3")
            await crawl(owner, ["/boutique", "/aujourdhui", "/produits", "/chiffres"])
        office = Chat(conversation, DEMO_OPERATOR[1], DEMO_OPERATOR_NAME, postbox,
                      channel=DEMO_OPERATOR[0])
        await crawl(office, ["/territoire"])
        delivery = Delivery(services, conversation, digest_pace=lambda: SlidingWindow(None))
        for job in delivery.jobs():
            await job.work()
        await delivery.clean_up()
    finally:
        await store.close()


async def test_no_press_scans_a_large_table(tmp_path: Path) -> None:
    await visit_everything(tmp_path / "visits.db")
    statements = SEEN.distinct()
    schema_path = tmp_path / "schema.db"
    store = await open_store(schema_path)
    await store.close()
    with migrated(schema_path) as conn:
        found, explained = scans(conn, statements)
    assert explained >= 100, f"only {explained} statements seen: is the trace installed?"
    assert not found, report(found)


def report(found: list[Scan]) -> str:
    """Each offending statement once, with the large tables it scans and its plan."""
    tables: dict[str, list[str]] = {}
    plans: dict[str, str] = {}
    for scan in found:
        tables.setdefault(scan.statement, []).append(scan.table)
        plans[scan.statement] = scan.plan
    return f"{len(tables)} statements scan a large table:\n\n" + "\n\n".join(
        f"SCAN {', '.join(sorted(set(names)))}: {statement}\n  "
        + plans[statement].replace("\n", "\n  ") for statement, names in tables.items())
