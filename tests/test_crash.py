"""Crash tests: a real ``chatshop`` process on a database file, killed with SIGKILL at
random moments and started again, while Telegram (the fake Bot API, served over HTTP on
the loopback address from this process, so that what it saw survives the kills) is used
by many people.

- A burst of reservations by many customers on a few products with little stock, with
  the shopkeepers restocking and handing over reservations meanwhile, killed 20 times:
  afterwards no confirmed reservation is lost, none is half-written, ``reserved`` is the
  sum of the live reservations' lines, the stock ledger explains every ``on_hand``, every
  reservation was confirmed to its customer and told to its shop.
- An outage of Telegram while notifications are due: each is delivered once it is back.

The digest's crash tests (``chatshop digest send`` killed 20 times, then run again at
once) are in ``test_crash_digest.py``, on this machinery. Everything runs at chatshop's
real timeouts: nothing is shortened for the test.

The moments are drawn from a seeded random generator (``CHATSHOP_CRASH_SEED`` changes
the seed). Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import re
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError
from telegram.request import HTTPXRequest

from chatshop.domain.models import Actor, Product, Role, SubscriptionScope
from chatshop.services import Services, build_services
from chatshop.storage import open_store
from tests.fakes.bot_api import TINY_PNG, FakeBotAPI, FakeCall, FakeMessage, FakeUser
from tests.fakes.bot_api_http import BotAPIServer

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
ROOT = Path(__file__).resolve().parents[1]
KILLS = 20
SEED = int(os.environ.get("CHATSHOP_CRASH_SEED", "20261126"))
OPERATOR = 1000
OWNERS = (2000, 2001, 2002, 2003)
SHOP_NAMES = ("Épicerie du Château", "Miellerie des Monts", "Savonnerie du Lac",
              "Bougies de Coco")
STEP = 45.0  # seconds a person waits for the bot before the test gives up on them

_CODE = re.compile(r"Code\s*:\s*([A-Z0-9]{5})")
_NEWS = re.compile(r"Nouvelle réservation ([A-Z0-9]{5})")

pytestmark = pytest.mark.usefixtures("clean_environment")


# -- the bot as a separate process --------------------------------------------------------



def _die_with_parent() -> None:
    """In the child, before it runs: SIGKILL it if pytest itself dies (a CI timeout), so
    that no bot is left trying to reach a fake Bot API that is gone (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

class BotProcess:
    """``chatshop`` in a child process, on ``database``, talking to the fake over HTTP."""

    def __init__(self, folder: Path, database: Path, server: BotAPIServer,
                 name: str = "bot") -> None:
        self.folder = folder
        self.database = database
        self.server = server
        self.api = server.api
        self.process: asyncio.subprocess.Process | None = None
        self.log_path = folder / f"{name}.log"
        self.starts = 0
        self.kills = 0
        self._signalled = False

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHATSHOP_")}
        env.update(self.server.environment())
        env.update({
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "CHATSHOP_DATABASE": str(self.database),
            "CHATSHOP_WEB_ENABLED": "false",  # (the window is served in test_window_served)
            "CHATSHOP_TELEGRAM_TOKEN": TOKEN,
            "CHATSHOP_OPERATORS": f"telegram:{OPERATOR}",
            "CHATSHOP_TERRITORY": "Porte Océane du Limousin",
        })
        return env

    async def start(self, *args: str) -> int:
        """Start ``chatshop <args>``; returns the index of its first call in ``api.calls``
        once it made one (it is up and talking to Telegram)."""
        assert self.process is None or self.process.returncode is not None
        mark = len(self.api.calls)
        command = [sys.executable, "-m", "chatshop", *args]
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts}: {' '.join(args)}\n".encode())
            self.process = await asyncio.create_subprocess_exec(
                *command, cwd=self.folder, env=self.environment(),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=_die_with_parent)
        self.starts += 1
        self._signalled = False
        process = self.process
        await self.api.wait_for(
            lambda: process.returncode is not None or len(self.api.calls) > mark, timeout=20)
        if len(self.api.calls) == mark:
            raise AssertionError(f"chatshop exited with {process.returncode}:\n{self.tail()}")
        return mark

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def kill_now(self) -> None:
        """SIGKILL: no clean-up of any kind, like a power cut or the OOM killer."""
        if self.running and not self._signalled:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self._signalled = True
            self.kills += 1

    def signalled(self) -> None:
        """A SIGKILL was just sent to the process from outside (``_kill_after_commits``,
        which raises if the process was already gone)."""
        if not self._signalled:
            self._signalled = True
            self.kills += 1

    async def kill(self) -> None:
        """SIGKILL (unless sent already), then the process is gone."""
        self.kill_now()
        await self.wait()

    async def stop(self) -> int:
        """SIGTERM: the bot finishes what it fetched and stops."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
        return await self.wait()

    async def wait(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def output(self) -> str:
        """What the last start printed (stdout and stderr)."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace").rpartition("\n=== start ")[2]


@pytest.fixture
async def server() -> AsyncIterator[BotAPIServer]:
    async with BotAPIServer(FakeBotAPI()) as running:
        yield running


@pytest.fixture
async def bot(tmp_path: Path, server: BotAPIServer) -> AsyncIterator[BotProcess]:
    process = BotProcess(tmp_path, tmp_path / "chatshop.db", server)
    try:
        yield process
    finally:
        if process.running:
            await process.kill()
        assert server.failures == []


# -- the territory, set up in this process before the bot starts -------------------------


@dataclass
class Seeded:
    products: list[Product]
    owner_of_shop: dict[int, int]  # shop id -> its owner's Telegram id
    names: dict[int, str] = field(default_factory=dict)  # product id -> name


async def seed(database: Path, stock: dict[int, list[tuple[str, int]]],
               subscribers: Sequence[int] = ()) -> Seeded:
    """Shops (one per owner in ``stock``, with their products and stock), and
    ``subscribers`` (Telegram ids) who subscribed to the whole territory's digest."""
    store = await open_store(database)
    try:
        services = build_services(store, operators=frozenset({("telegram", str(OPERATOR))}))
        operator = services.customers.actor(
            await services.customers.seen("telegram", str(OPERATOR), "Office de tourisme"))
        commune = await services.shops.add_commune(operator, "Rochechouart", "87600")
        seeded = Seeded([], {})
        for n, (owner_id, products) in enumerate(stock.items()):
            shop = await services.shops.create_shop(operator, SHOP_NAMES[n], commune.id)
            invite = await services.shops.invite(operator, shop.id, Role.OWNER)
            owner = await services.customers.seen("telegram", str(owner_id), f"Owner {n}")
            await services.shops.accept_invite(owner.id, invite.code)
            actor: Actor = services.customers.actor(owner)
            seeded.owner_of_shop[shop.id] = owner_id
            for name, on_hand in products:
                made = await services.catalogue.add_product(
                    actor, shop.id, name=name, price_cents=650, on_hand=on_hand)
                seeded.products.append(made)
                seeded.names[made.id] = name
        await _subscribe(services, subscribers)
        return seeded
    finally:
        await store.close()


async def _subscribe(services: Services, subscribers: Sequence[int]) -> None:
    for external_id in subscribers:
        user = await services.customers.seen("telegram", str(external_id), f"Abonné {external_id}")
        await services.digest.subscribe(user.id, SubscriptionScope.TERRITORY)


def read_database(database: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(database, timeout=10)
    connection.row_factory = sqlite3.Row
    return connection


def sent_texts(api: FakeBotAPI, chat: int | FakeUser) -> list[str]:
    """Every message the bot got through to this chat (the calls Telegram took)."""
    return [str(c.result.get("text") or c.result.get("caption") or "")
            for c in api.sent_to(chat) if c.method.startswith("send")
            and isinstance(c.result, dict)]


class Handled:
    """Waits, from the test, until the bot has handled an update (it is marked in
    ``inbound_events``): one reader polls for every waiting person at once."""

    def __init__(self, database: Path) -> None:
        self._database = database
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Handled:
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def wait(self, update: dict[str, Any], timeout: float = STEP) -> None:  # noqa: ASYNC109
        future = asyncio.get_running_loop().create_future()
        self._waiting[str(update["update_id"])] = future
        await asyncio.wait_for(future, timeout)

    async def _poll(self) -> None:
        connection = read_database(self._database)
        try:
            while True:
                await asyncio.sleep(0.05)
                ids = [i for i, f in self._waiting.items() if not f.done()]
                if not ids:
                    continue
                marks = ", ".join("?" * len(ids))
                try:
                    done = connection.execute(
                        "SELECT event_id FROM inbound_events WHERE channel = 'telegram'"
                        f" AND handled_at IS NOT NULL AND event_id IN ({marks})", ids).fetchall()
                except sqlite3.OperationalError:
                    continue  # the bot is migrating or recovering: look again
                for (event_id,) in done:
                    future = self._waiting.pop(event_id)
                    if not future.done():
                        future.set_result(None)
        finally:
            connection.close()


# -- the HTTP wrapper itself ---------------------------------------------------------------


async def test_the_fake_bot_api_over_http_answers_python_telegram_bot_like_in_process(
        server: BotAPIServer) -> None:
    api = server.api
    marie = api.user(1001, "Marie", started=True)
    bot = Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url,
              request=HTTPXRequest(), get_updates_request=HTTPXRequest())
    async with bot:
        assert bot.username == "chatshop_test_bot"
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Réserver 1",
                                                               callback_data="r:12:1:x")]])
        sent = await bot.send_message(marie.id, "<b>12</b> pots de miel", parse_mode="HTML",
                                      reply_markup=keyboard)
        photo = await bot.send_photo(marie.id, TINY_PNG, caption="true")  # multipart
        api.send_text(marie, "/start p_12")
        (update,) = await bot.get_updates(timeout=1)
        file = await bot.get_file(photo.photo[-1].file_id)
        downloaded = bytes(await file.download_as_bytearray())
        api.go_down()
        with pytest.raises(NetworkError):
            await bot.send_message(marie.id, "pendant la panne")
        api.come_back()
    assert update.message is not None
    assert update.message.text == "/start p_12"
    first, second = api.messages(marie)
    assert (first.message_id, first.text) == (sent.message_id, "12 pots de miel")
    assert first.entities == [{"offset": 0, "length": 2, "type": "bold"}]
    assert first.button_data("✅ Réserver 1") == "r:12:1:x"
    assert second.text == "true"  # a string that looks like JSON stays a string
    assert downloaded == TINY_PNG
    assert [c.outcome for c in api.calls if c.method == "sendMessage"] == ["ok", "network"]


# -- a burst of reservations, killed 20 times ----------------------------------------------


@dataclass
class Burst:
    """Customers reserving and shopkeepers restocking and handing over, until told to
    stop; what they did, for the report."""

    api: FakeBotAPI
    handled: Handled
    seeded: Seeded
    database: Path
    rng: random.Random
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    presses: int = 0
    sold_out_cards: int = 0
    restocks: int = 0
    handovers: int = 0
    stuck: list[str] = field(default_factory=list)

    async def customer(self, person: FakeUser) -> None:
        """Open a product from its link; reserve one if the card offers it; again."""
        rng = random.Random(self.rng.random())
        while not self.stop.is_set():
            product = rng.choice(self.seeded.products)
            name = self.seeded.names[product.id]
            before = len(self.api.messages(person))
            if not await self._step(person, self.api.send_text(person, f"/start p_{product.id}")):
                return
            try:
                card = await self.api.wait_for(
                    functools.partial(self._card, person, before, name), timeout=STEP)
            except AssertionError:
                self.stuck.append(f"{person.id}: no card of {name}")
                return
            reserve = [label for label in card.labels if label.startswith("✅ Réserver")]
            if not reserve:
                self.sold_out_cards += 1
            else:
                self.presses += 1
                update = self.api.press(person, card.message_id, card.button_data(reserve[0]))
                if not await self._step(person, update):
                    return
            await asyncio.sleep(rng.uniform(0.0, 0.4))

    def _card(self, person: FakeUser, before: int, name: str) -> FakeMessage | None:
        """The product's card, once the bot has shown it (the last one shown)."""
        return next((m for m in reversed(self.api.messages(person)[before:])
                     if m.text and name in m.text and not m.text.startswith("✅")), None)

    async def shopkeeper(self, owner: FakeUser, shop_id: int) -> None:
        """Put a few more on the shelf (``/stock``), or hand a reservation over
        (« Retirée et payée »), every now and then."""
        rng = random.Random(self.rng.random())
        mine = [p for p in self.seeded.products if p.shop_id == shop_id]
        connection = read_database(self.database)
        try:
            while not self.stop.is_set():
                await asyncio.sleep(rng.uniform(1.0, 2.5))
                handover = [m for m in self.api.messages(owner)
                            if any(label.startswith("🤝") for label in m.labels)]
                if handover and rng.random() < 0.5:
                    message = rng.choice(handover)
                    label = next(label for label in message.labels if label.startswith("🤝"))
                    update = self.api.press(owner, message.message_id,
                                            message.button_data(label))
                    self.handovers += 1
                else:
                    product = rng.choice(mine)
                    try:
                        (on_hand,) = connection.execute(
                            "SELECT on_hand FROM products WHERE id = ?",
                            (product.id,)).fetchone()
                    except sqlite3.OperationalError:
                        continue
                    update = self.api.send_text(
                        owner, f"/stock {self.seeded.names[product.id]} {on_hand + 3}")
                    self.restocks += 1
                if not await self._step(owner, update):
                    return
        finally:
            connection.close()

    async def _step(self, person: FakeUser, update: dict[str, Any]) -> bool:
        try:
            await self.handled.wait(update)
        except TimeoutError:
            self.stuck.append(f"{person.id}: update {update['update_id']} never handled")
            return False
        return True


async def test_a_burst_of_reservations_survives_20_kills(
        tmp_path: Path, server: BotAPIServer, bot: BotProcess) -> None:
    api = server.api
    rng = random.Random(SEED)
    seeded = await seed(bot.database, {
        OWNERS[0]: [("Confiture de cerises", 6)],
        OWNERS[1]: [("Miel de montagne", 5)],
        OWNERS[2]: [("Savon lavande", 7)],
        OWNERS[3]: [("Bougie cire", 4)],
    })
    owners = {shop_id: api.user(owner, f"Owner {owner}", started=True)
              for shop_id, owner in seeded.owner_of_shop.items()}
    customers = [api.user(3000 + n, f"Client {n}") for n in range(30)]
    began = time.monotonic()
    async with Handled(bot.database) as handled:
        burst = Burst(api, handled, seeded, bot.database, random.Random(SEED + 2))
        people = [asyncio.create_task(burst.customer(c)) for c in customers]
        people += [asyncio.create_task(burst.shopkeeper(owner, shop_id))
                   for shop_id, owner in owners.items()]
        try:
            for kill in range(KILLS):
                await bot.start("run")
                if kill % 2 == 0:
                    await asyncio.sleep(rng.uniform(0.05, 1.5))
                else:
                    # Every other kill lands while reservations are being made, right
                    # after one of the first database commits that follow a fetch of
                    # presses on « Réserver » (updates written down, stock taken,
                    # notifications queued, updates marked handled...): where a use case
                    # split over two transactions would be caught halfway.
                    await asyncio.sleep(rng.uniform(0.05, 0.5))
                    await _reserve_presses_fetched(server)
                    assert bot.process is not None
                    if await asyncio.to_thread(_kill_after_commits, bot.process.pid,
                                               bot.database, rng.randint(1, 8)):
                        # Counted now: asyncio may reap the process before kill() looks.
                        bot.signalled()
                await bot.kill()
            burst.stop.set()
            await bot.start("run")  # the last start: everything is finished and drained
            await asyncio.wait_for(asyncio.gather(*people), 4 * STEP)
            await _drained(bot)
            assert await bot.stop() == 0, bot.tail()
        finally:
            burst.stop.set()
            for task in people:
                task.cancel()
            await asyncio.gather(*people, return_exceptions=True)
    elapsed = time.monotonic() - began
    assert burst.stuck == [], bot.tail()
    assert bot.kills == KILLS

    with contextlib.closing(read_database(bot.database)) as db:
        figures = _check_reservations(db, api, seeded, customers)
    print(f"\nreservation burst (seed {SEED}): {bot.kills} kills in {elapsed:.0f} s;"
          f" {burst.presses} presses on « Réserver », {burst.sold_out_cards} sold-out cards,"
          f" {burst.restocks} restocks, {burst.handovers} hand-overs; {figures}")


async def _reserve_presses_fetched(server: BotAPIServer) -> None:
    """Until the bot fetches updates with a press on « Réserver » among them."""
    fetched = asyncio.Event()

    def answered(call: FakeCall) -> None:
        if call.method == "getUpdates" and call.ok and any(
                str(update.get("callback_query", {}).get("data", "")).startswith("r:")
                for update in call.result):
            fetched.set()

    server.answered = answered
    try:
        await asyncio.wait_for(fetched.wait(), STEP)
    finally:
        server.answered = None


def _kill_after_commits(pid: int, database: Path, commits: int,
                        timeout: float = 1.0) -> bool:
    """SIGKILL the bot right after its ``commits``-th write transaction from now (or
    after ``timeout`` seconds). SQLite counts them in the WAL index: ``iChange``, bytes
    8-11 of the ``-shm`` file, native order, incremented by each commit. False if the
    database has no WAL index yet (no signal sent)."""
    try:
        fd = os.open(f"{database}-shm", os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        def counter() -> int:
            return int.from_bytes(os.pread(fd, 4, 8), sys.byteorder)
        start, deadline = counter(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (counter() - start) % 2**32 >= commits:
                break
            time.sleep(0)  # let the other threads run; be back within microseconds
        os.kill(pid, signal.SIGKILL)  # ProcessLookupError if it had died already
        return True
    finally:
        os.close(fd)


async def _drained(bot: BotProcess, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Every update handled and every notification delivered (or given up)."""
    with contextlib.closing(read_database(bot.database)) as db:
        def done() -> bool:
            left = db.execute(
                "SELECT (SELECT count(*) FROM inbound_events WHERE handled_at IS NULL)"
                " + (SELECT count(*) FROM outbox WHERE sent_at IS NULL"
                "    AND given_up_at IS NULL)").fetchone()[0]
            return bool(left == 0)
        await bot.api.wait_for(done, timeout=timeout)


def _check_reservations(db: sqlite3.Connection, api: FakeBotAPI, seeded: Seeded,
                        customers: list[FakeUser]) -> str:
    """The invariants after the burst; returns the figures for the report."""
    user_of = {row["external_id"]: row["id"]
               for row in db.execute("SELECT id, external_id FROM users")}
    reservations = {row["id"]: row for row in db.execute("SELECT * FROM reservations")}
    lines: dict[int, list[sqlite3.Row]] = {}
    for line in db.execute("SELECT * FROM reservation_lines"):
        lines.setdefault(line["reservation_id"], []).append(line)

    # None half-written: every reservation has its lines, and its total is theirs.
    for rid, row in reservations.items():
        assert lines.get(rid), f"reservation {row['code']} has no lines"
        assert row["total_cents"] == sum(
            line["quantity"] * line["unit_price_cents"] for line in lines[rid])
    # Nothing expired or cancelled on its own: all are live or handed over.
    assert {row["status"] for row in reservations.values()} <= {"pending", "collected"}

    # No confirmed reservation lost: what a customer was shown exists, is theirs, holds.
    by_code = {(row["user_id"], row["code"]): row for row in reservations.values()}
    shown: Counter[tuple[int, str]] = Counter()
    for person in customers:
        for text in sent_texts(api, person):
            if text.startswith("✅ Réservation confirmée"):
                match = _CODE.search(text)
                assert match, text
                shown[(user_of[str(person.id)], match.group(1))] += 1
    for key in shown:
        assert key in by_code, f"customer {key[0]} was shown {key[1]}, which is lost"
    # ...and each reservation made was confirmed to its customer.
    assert set(by_code) == set(shown), set(by_code) ^ set(shown)

    # Stock: reserved = the live lines; reserved <= on_hand; the ledger explains on_hand.
    live: Counter[int] = Counter()
    for rid, row in reservations.items():
        if row["status"] in ("pending", "ready"):
            for line in lines[rid]:
                live[line["product_id"]] += line["quantity"]
    collected: Counter[int] = Counter()
    for rid, row in reservations.items():
        if row["status"] == "collected":
            for line in lines[rid]:
                collected[line["product_id"]] += line["quantity"]
    for product in db.execute("SELECT * FROM products"):
        pid = product["id"]
        assert product["reserved"] == live[pid], product["name"]
        assert 0 <= product["reserved"] <= product["on_hand"], product["name"]
        ledger = db.execute("SELECT * FROM stock_movements WHERE product_id = ? ORDER BY id",
                            (pid,)).fetchall()
        running = 0
        for movement in ledger:
            running += movement["delta"]
            assert movement["on_hand_after"] == running, (product["name"], dict(movement))
        assert running == product["on_hand"], product["name"]
        assert -sum(m["delta"] for m in ledger if m["reason"] == "collected") \
            == collected[pid], product["name"]

    # Each shop was told of each of its reservations, at least once.
    told: Counter[tuple[int, str]] = Counter()
    for owner in OWNERS:
        for text in sent_texts(api, owner):
            match = _NEWS.search(text)
            if match:
                told[(owner, match.group(1))] += 1
    made = {(seeded.owner_of_shop[row["shop_id"]], row["code"])
            for row in reservations.values()}
    assert set(told) == made, set(told) ^ made
    assert db.execute("SELECT count(*) FROM outbox WHERE given_up_at IS NOT NULL"
                      ).fetchone()[0] == 0

    statuses = Counter(row["status"] for row in reservations.values())
    return (f"{len(reservations)} reservations ({dict(statuses)}), units held"
            f" {sum(live.values())}; proofs shown twice: "
            f"{sum(n - 1 for n in shown.values())}; shop news sent twice: "
            f"{sum(n - 1 for n in told.values())} of {sum(told.values())}")


# -- an outage of Telegram ------------------------------------------------------------------


async def test_notifications_due_during_an_outage_are_delivered_once_it_is_over(
        tmp_path: Path, server: BotAPIServer, bot: BotProcess) -> None:
    """The in-process variant (five minutes on a manual clock) is in test_telegram.py;
    this one is the real process, real backoff, a few seconds of outage."""
    api = server.api
    seeded = await seed(bot.database, {OWNERS[0]: [("Savon lavande", 50)]})
    (soap,) = seeded.products
    api.user(OWNERS[0], "Owner", started=True)
    customers = [api.user(3000 + n, f"Client {n}") for n in range(6)]
    await bot.start("run")
    for person in customers:
        api.send_text(person, f"/start p_{soap.id}")
    cards = await api.wait_for(lambda: [api.last(p) for p in customers], timeout=STEP)

    def down_after_the_presses_are_fetched(call: FakeCall) -> None:
        if call.method == "getUpdates" and call.result:
            api.go_down()  # Telegram is unreachable just after giving the bot the taps
            server.answered = None

    server.answered = down_after_the_presses_are_fetched
    for person, card in zip(customers, cards, strict=True):
        api.press(person, card.message_id, card.button_data("✅ Réserver 1"))
    await api.wait_for(lambda: api.is_down, timeout=STEP)
    down_at = len(api.calls)
    await asyncio.sleep(4.0)  # « minutes », at the scale of the backoff (2 s, 4 s, ...)
    refused = [c for c in api.calls[down_at:] if c.outcome == "network"]
    api.come_back()

    def everyone_told() -> bool:
        proofs = [t for p in customers for t in sent_texts(api, p) if "Code" in t]
        news = [t for t in sent_texts(api, OWNERS[0]) if _NEWS.search(t)]
        return len(proofs) >= len(customers) and len(news) >= len(customers)
    await api.wait_for(everyone_told, timeout=STEP)
    await _drained(bot)
    await asyncio.sleep(2.5)  # one more outbox round: nothing goes twice
    assert await bot.stop() == 0, bot.tail()

    assert any(c.method == "sendMessage" for c in refused), "the outage met no message"
    for person in customers:
        assert sum("Code" in t for t in sent_texts(api, person)) == 1
    news = Counter(m.group(1) for t in sent_texts(api, OWNERS[0]) if (m := _NEWS.search(t)))
    assert len(news) == len(customers)
    assert set(news.values()) == {1}
    print(f"\noutage: {len(refused)} calls refused while down; {len(customers)} proofs and"
          f" {len(news)} shop notifications delivered once each after it")

