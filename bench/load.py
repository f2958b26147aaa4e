"""Benchmark: many customers browsing and reserving at once through the whole Telegram stack.

``TelegramChannel`` (python-telegram-bot's ``Application`` long-polling, chatshop's adapter,
the conversation core, SQLite on disk) on the demo territory, against the in-process fake
Bot API of ``bench/telegram_stack.py`` (rate limits lifted, 1 ms a call). 500 simulated
customers (coroutines) make visits for 60 s, each one step at a time, thinking between
steps (0.5-1.5 s, 1 s on average: a very busy afternoon, not a saturation test; ``--think
0`` for that):

* the menu, a typed search, a result opened from the search (sometimes its shop too);
* a product opened by its shared link (``/start p_<id>``), half the time one of a few
  **scarce** products (20 units each), « ✅ Réserver 1 » pressed if the card offers it;
* one visit in five: « my reservations », « ✖️ Annuler » on one, confirmed, which puts
  the unit back on the shelf for the others.

A step's latency runs from the moment its update is available to ``getUpdates`` to the
first answer (a message sent or edited in the customer's chat) reaching the fake; the
customer waits until the bot has finished with the update before thinking about the next
step (a handler after chatshop's own, in python-telegram-bot's next handler group).

Checks (exit status 1 if one fails): no error logged by chatshop or python-telegram-bot,
no call refused by the fake, no incident apology, every update answered within 30 s; no
oversell: for every product ``reserved <= on_hand`` and ``reserved`` equals the units of
its live reservation lines (``store.orders.live_quantities()``).

``--products N`` (with ``--shops M``, default N / 50) runs it on ``bench/memory.py``'s
territory of that size instead of the demo's (``bench/territory.py``, ``--cache DIR`` to
reuse one built there): products named from ``bench/search.py``'s vocabulary, every
listed one given plenty of stock but the scarce ones; the oversell audit then covers
every product of the database. ``bench/run.py --scale`` runs ``--customers 5000 --think
10 --seconds 60`` (about 500 updates/s offered) on the 100 000-product territory.

    python bench/load.py [--quick] [--customers N] [--seconds S] [--think T]
                         [--products N [--shops M] [--cache DIR]]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes

import territory as sized
from _common import (
    Figure,
    Result,
    add_json_option,
    finish,
    fmt_number,
    machine_description,
    percentile,
    print_table,
    settings_of,
)
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram_stack import SEARCHES, TOKEN, WatchedAPI, demo_territory

from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.channels.telegram.inbound import person as person_of_update
from chatshop.conversation.router import Conversation
from chatshop.demo import DEMO_OPERATOR, DEMO_TERRITORY
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store

FIRST_CHAT = 300_000
ENTRIES = (0, 1, 4)  # a visit's steps that need no earlier screen (menu, search, link)
PLENTY = 100_000
SIZED_TERRITORY = "Porte Océane du Limousin"  # bench/memory.py's
ANSWER_WITHIN = 30.0  # seconds: an update not handled by then is an error


class ErrorLog(logging.Handler):
    """Keeps every record at WARNING and above, from chatshop and python-telegram-bot."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def errors(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno >= logging.ERROR]

    def warnings(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno < logging.ERROR]


@dataclass
class Tally:
    """What the customers did and saw."""

    latencies: list[float] = field(default_factory=list)  # to the first answer, s
    sent_at: list[float] = field(default_factory=list)  # of each latency, perf_counter s
    steps: int = 0
    late: int = 0  # not handled within ANSWER_WITHIN
    silent: int = 0  # handled, but nothing sent or edited in the chat
    no_button: int = 0  # a button the script looked for was not offered
    reserve_presses: int = 0
    cancels: int = 0


class Crowd:
    """Simulated customers of a running ``TelegramChannel`` over a ``WatchedAPI``."""

    def __init__(self, api: WatchedAPI, application: Application[Any, Any, Any, Any, Any, Any],
                 *, products: Sequence[int], scarce: Sequence[int], think: float,
                 cancel_share: float = 0.2, seed: int = 7,
                 searches: Sequence[str] = SEARCHES, spread: bool = False) -> None:
        self.api = api
        self.products = list(products)
        self.scarce = list(scarce)
        self.think = think
        self.cancel_share = cancel_share
        self.seed = seed
        self.searches = list(searches)
        self.spread = spread
        self.tally = Tally()
        self.started = 0.0
        self._stop_at = float("inf")
        self._max_updates: int | None = None
        self._finished: dict[int, asyncio.Future[float]] = {}
        # After chatshop's own handler (group 0) is done with an update.
        application.add_handler(TypeHandler(Update, self._handled), group=1)

    async def _handled(self, update: Update,
                       _context: ContextTypes.DEFAULT_TYPE) -> None:
        person = person_of_update(update)
        waiter = self._finished.pop(person, None) if person is not None else None
        if waiter is not None and not waiter.done():
            waiter.set_result(time.perf_counter())

    async def _step(self, chat: int, push: Callable[[], object]) -> None:
        """One update from ``chat``, until the bot is done with it."""
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[float] = loop.create_future()
        finished: asyncio.Future[float] = loop.create_future()
        self.api.waiting[chat] = answered
        self._finished[chat] = finished
        started = time.perf_counter()
        push()
        self.tally.steps += 1
        try:
            await asyncio.wait_for(finished, ANSWER_WITHIN)
        except TimeoutError:
            self.tally.late += 1
            return
        finally:
            self.api.waiting.pop(chat, None)
            self._finished.pop(chat, None)
        if answered.done():
            self.tally.latencies.append(answered.result() - started)
            self.tally.sent_at.append(started)
        else:
            self.tally.silent += 1

    async def _send(self, chat: int, text: str) -> None:
        await self._step(chat, lambda: self.api.send_text(chat, text))

    async def _press(self, chat: int, label_start: str) -> bool:
        """Press the newest button whose label starts so; False if none is shown."""
        for message in reversed(self.api.messages(chat)[-4:]):
            label = next((x for x in message.labels if x.startswith(label_start)), None)
            if label is not None:
                await self._step(chat, lambda m=message, x=label: self.api.press_label(
                    chat, x, m.message_id))
                return True
        self.tally.no_button += 1
        return False

    async def _press_first(self, chat: int, skip: tuple[str, ...]) -> bool:
        """Press the first button of the last message whose label does not start with
        one of ``skip`` (a search result, a confirmation)."""
        message = self.api.last(chat)
        label = next((x for x in message.labels if not x.startswith(skip)), None)
        if label is None:
            self.tally.no_button += 1
            return False
        await self._step(chat, lambda: self.api.press_label(chat, label, message.message_id))
        return True

    def over(self) -> bool:
        return time.perf_counter() >= self._stop_at or (
            self._max_updates is not None and self.tally.steps >= self._max_updates)

    async def _pause(self, rng: random.Random) -> None:
        """A customer thinking (cut short when the run is over)."""
        if self.think > 0:
            pause = self.think * rng.uniform(0.5, 1.5)
            await asyncio.sleep(max(0.0, min(pause, self._stop_at - time.perf_counter())))

    async def customer(self, n: int) -> None:
        """One customer's visits, one step at a time, until the run is over."""
        rng = random.Random(self.seed * 1_000_003 + n)
        chat = FIRST_CHAT + n
        self.api.user(chat, f"Client {n}", started=True)
        if self.think > 0:  # not all at the same instant
            await asyncio.sleep(min(self.think * rng.random(),
                                    max(0.0, self._stop_at - time.perf_counter())))
        steps: list[Callable[[], Any]] = [
            lambda: self._send(chat, "/menu"),
            lambda: self._send(chat, rng.choice(self.searches)),
            lambda: self._press_first(chat, ("🏠", "⬅", "➡", "🔎")),
            lambda: self._press(chat, "🏪") if rng.random() < 0.3 else None,
            lambda: self._send(chat, f"/start p_{self._product(rng)}"),
            self._reserve_step(chat),
            lambda: self._cancel(chat, rng) if rng.random() < self.cancel_share else None,
        ]
        # With spread, the first visit starts at the menu, a typed search or a shared
        # link (steps that need no earlier screen), so that the customers are not all at
        # the same step of their visit at the same time.
        skip = rng.choice(ENTRIES) if self.spread else 0
        while not self.over():
            for make in steps[skip:]:
                if self.over():
                    return
                pending = make()
                if pending is None:
                    continue
                await pending
                await self._pause(rng)
            skip = 0

    def _product(self, rng: random.Random) -> int:
        if self.scarce and rng.random() < 0.5:
            return rng.choice(self.scarce)
        return rng.choice(self.products)

    def _reserve_step(self, chat: int) -> Callable[[], Any]:
        def make() -> Any:
            card = self.api.last(chat)
            if not any(x.startswith("✅") for x in card.labels):
                return None  # sold out: no « Réserver » on the card
            self.tally.reserve_presses += 1
            return self._press(chat, "✅")
        return make

    async def _cancel(self, chat: int, rng: random.Random) -> None:
        await self._send(chat, "/reservations")
        cancels = [x for x in self.api.last(chat).labels if x.startswith("✖")]
        if not cancels:
            return
        await self._pause(rng)
        if self.over():
            return
        if await self._press(chat, rng.choice(cancels)):
            await self._pause(rng)
            if self.over():
                return
            if await self._press_first(chat, ("🏠",)):  # « Oui, annuler »
                self.tally.cancels += 1

    async def run(self, customers: int, *, seconds: float | None = None,
                  updates: int | None = None) -> float:
        """``customers`` at once for ``seconds``, or until about ``updates`` updates were
        sent; returns the wall time."""
        started = self.started = time.perf_counter()
        self._stop_at = started + seconds if seconds is not None else float("inf")
        self._max_updates = None if updates is None else self.tally.steps + updates
        await asyncio.gather(*(self.customer(n) for n in range(customers)))
        return time.perf_counter() - started


@dataclass
class Audit:
    products: int
    oversold: int  # units reserved beyond on_hand, over all products
    mismatched: list[str]  # products whose reserved != live reservation lines
    by_status: dict[str, int]


async def audit(store: Store, services: Services, products: Sequence[int] | None) -> Audit:
    """Over ``products`` (read one by one through the services), or over every product of
    the database (``None``: one query)."""
    live = await store.orders.live_quantities()
    oversold, mismatched = 0, []
    if products is None:
        stock = [(int(r[0]), int(r[1]), int(r[2])) for r in store.db.lookup_now(
            "SELECT id, on_hand, reserved FROM products ORDER BY id")]
    else:
        stock = []
        for product_id in products:
            product = await services.catalogue.product(product_id)
            stock.append((product_id, product.on_hand, product.reserved))
    for product_id, on_hand, reserved in stock:
        oversold += max(0, reserved - on_hand)
        if reserved != live.get(product_id, 0):
            mismatched.append(f"product {product_id}: reserved {reserved}, live "
                              f"reservation lines {live.get(product_id, 0)}")
    by_status = {str(status): int(count) for status, count in store.db.lookup_now(
        "SELECT status, count(*) FROM reservations GROUP BY status")}
    return Audit(len(stock), oversold, mismatched, by_status)


async def demo(folder: Path, args: argparse.Namespace
               ) -> tuple[Store, Services, list[int], list[int], str]:
    """The demo territory: (store, services, listed products, scarce ones, its name)."""
    store, services, products = await demo_territory(folder / "bench.db")
    rng = random.Random(args.seed)
    scarce = rng.sample(products, k=min(args.scarce, len(products)))
    operator = services.customers.actor(
        await services.customers.seen(*DEMO_OPERATOR, "Office"))
    for product_id in products:
        await services.catalogue.set_stock(
            operator, product_id, args.scarce_stock if product_id in scarce else PLENTY)
    return store, services, products, scarce, DEMO_TERRITORY


async def sized_territory(folder: Path, args: argparse.Namespace
                          ) -> tuple[Store, Services, list[int], list[int], str]:
    """A copy of the territory of ``args``' sizes, its listed products given stock (bulk
    SQL: set_stock one by one would take minutes at 100 000)."""
    # Built by its own event loop (bench/memory.py's build_database), in a thread.
    source = await asyncio.to_thread(
        sized.cached, args.cache or folder / "cache", products=args.products,
        subscribers=args.subscribers, shops=args.shops, seed=args.seed)
    (folder / "run").mkdir()
    store = await open_store(sized.working_copy(source, folder / "run"))
    products = [int(r[0]) for r in store.db.lookup_now(
        "SELECT p.id FROM products p JOIN shops s ON s.id = p.shop_id"
        " WHERE p.hidden = 0 AND p.deleted_at IS NULL AND s.active = 1"
        " AND s.on_holiday = 0 ORDER BY p.id")]
    rng = random.Random(args.seed)
    scarce = rng.sample(products, k=min(args.scarce, len(products)))

    def stock(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE products SET on_hand = ? WHERE deleted_at IS NULL",
                     (PLENTY,))
        conn.executemany("UPDATE products SET on_hand = ? WHERE id = ?",
                         [(args.scarce_stock, product_id) for product_id in scarce])

    await store.db.run_write(stock)
    return store, build_services(store, operators=frozenset()), products, scarce, \
        SIZED_TERRITORY


async def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark, print its tables, and return its figures and failed checks."""
    failures: list[str] = []
    print("chatshop benchmark: customers browsing and reserving through the Telegram stack")
    for line in machine_description():
        print(line)
    print(f"load    : {args.customers} customers for {args.seconds:g} s, thinking "
          f"{args.think:g} s on average between steps; {args.scarce} scarce products of "
          f"{args.scarce_stock} units; fake Bot API at {args.latency * 1000:g} ms a call"
          + ("; first visits spread over menu, search and link" if args.spread else ""))
    errors = ErrorLog()
    root = logging.getLogger()
    root.addHandler(errors)
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder:
        started = time.perf_counter()
        store, services, products, scarce, name = await (
            sized_territory(Path(folder), args) if args.products else demo(Path(folder), args))
        where = (f"{fmt_number(args.products)} products in {args.shops} shops "
                 "(bench/memory.py's territory)" if args.products else "the demo territory")
        print(f"data    : {where}, ready in {time.perf_counter() - started:.1f} s")
        api = WatchedAPI(args.latency)
        conversation = Conversation(services, territory=name, tz=ZoneInfo("Europe/Paris"))
        channel = TelegramChannel(services, conversation, token=TOKEN, request=api.request(),
                                  get_updates_request=api.request())
        crowd = Crowd(api, channel.application, products=products, scarce=scarce,
                      think=args.think, cancel_share=args.cancel_share, seed=args.seed,
                      spread=args.spread)
        await channel.start(polling=True)
        try:
            print(f"running : {len(products)} products, {len(scarce)} of them scarce ...",
                  flush=True)
            elapsed = await crowd.run(args.customers, seconds=args.seconds)
            await channel.deliver_outbox()
        finally:
            await channel.stop()
            root.removeHandler(errors)
        checked = await audit(store, services, None if args.products else products)
        await store.close()

    tally = crowd.tally
    handled = tally.steps - tally.late
    rate = handled / elapsed if elapsed else float("nan")
    refused = api.refused  # checked by the fake as each call ended
    logged = errors.errors()
    error_count = len(logged) + len(refused) + api.incidents + tally.late + tally.silent

    def ms(pct: float) -> float:
        return percentile(tally.latencies, pct) * 1000

    print()
    print_table(["customers", "seconds", "updates", "per s", "p50 ms", "p95 ms", "p99 ms",
                 "max ms"],
                [[str(args.customers), f"{elapsed:.1f}", fmt_number(handled), f"{rate:,.0f}",
                  f"{ms(50):.1f}", f"{ms(95):.1f}", f"{ms(99):.1f}",
                  f"{max(tally.latencies, default=float('nan')) * 1000:.1f}"]])
    if args.think:
        offered = args.customers / args.think
        print(f"offered : about {offered:,.0f} updates/s ({args.customers} customers / "
              f"{args.think:g} s of thought, less while they wait for answers); achieved "
              f"{rate:,.0f}/s ({rate / offered:.0%})")
    print()
    slice_ = max(1.0, round(args.seconds / 6))
    slices: dict[int, list[float]] = {}
    for at, latency in zip(tally.sent_at, tally.latencies, strict=True):
        slices.setdefault(int((at - crowd.started) // slice_), []).append(latency)
    print(f"Latency through the run, by slices of {slice_:g} s (ms):")
    print_table(["from s", "updates", "per s", "p50", "p95", "p99", "max"],
                [[f"{k * slice_:g}", fmt_number(len(v)), f"{len(v) / slice_:,.0f}",
                  f"{percentile(v, 50) * 1000:.1f}", f"{percentile(v, 95) * 1000:.1f}",
                  f"{percentile(v, 99) * 1000:.1f}", f"{max(v) * 1000:.1f}"]
                 for k, v in sorted(slices.items())])
    print()
    print(f"reservations: « Réserver 1 » pressed {tally.reserve_presses:,} times, "
          f"{tally.cancels:,} cancelled by the customers; in the database: "
          + ", ".join(f"{status} {count:,}" for status, count in
                      sorted(checked.by_status.items())))
    print(f"oversell audit over {checked.products} products: {checked.oversold} units "
          f"oversold, {len(checked.mismatched)} products whose reserved differs from "
          f"their live reservation lines")
    print(f"errors: {len(logged)} logged, {len(refused)} calls refused by the fake, "
          f"{api.incidents} incident apologies, {tally.late} updates not handled within "
          f"{ANSWER_WITHIN:g} s, {tally.silent} handled without an answer; "
          f"{len(errors.warnings())} warnings logged; {tally.no_button} steps skipped "
          f"(the button looked for was not shown)")

    if logged:
        failures.append(f"{len(logged)} errors logged, e.g. {logged[0].name}: "
                        f"{logged[0].getMessage()[:200]}")
    if refused:
        failures.append(f"{len(refused)} calls refused by the fake Bot API, e.g. "
                        f"{refused[0]}")
    if api.incidents:
        failures.append(f"{api.incidents} replies were incident apologies")
    if tally.late:
        failures.append(f"{tally.late} updates not handled within {ANSWER_WITHIN:g} s")
    if tally.silent:
        failures.append(f"{tally.silent} updates handled without any answer")
    if checked.oversold:
        failures.append(f"{checked.oversold} units oversold")
    if checked.mismatched:
        failures.append(f"{len(checked.mismatched)} products with reserved != live lines, "
                        f"e.g. {checked.mismatched[0]}")
    if not handled:
        failures.append("no update handled at all")

    size = f"{args.customers} customers × {args.seconds:g} s"
    if args.products:
        size += f", {fmt_number(args.products)} products"
    figures = [
        Figure(f"load: updates/s, {size}", rate, "/s",
               baseline=args.customers / args.think if args.think else None,
               baseline_name="offered: customers / think",
               note=f"{handled:,} updates; think {args.think:g} s"),
        Figure("load: latency p50", ms(50), "ms"),
        Figure("load: latency p95", ms(95), "ms"),
        Figure("load: latency p99", ms(99), "ms"),
        Figure("load: errors", error_count, "", goal=0, goal_op="==",
               note="logged, refused by the fake, apologies, late or silent"),
        Figure("load: units oversold", checked.oversold + len(checked.mismatched), "",
               goal=0, goal_op="==",
               note="beyond on_hand, or reserved != live reservation lines"),
    ]
    return Result("load", figures, failures,
                  "No error, no call refused, every update answered; no oversell "
                  "(reserved <= on_hand and == live reservation lines for every product).",
                  settings_of(args))


async def run(args: argparse.Namespace) -> int:
    return finish(await measure(args), args)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="a short run (50 customers for 5 s)")
    parser.add_argument("--customers", type=int, default=500,
                        help="simulated customers at once (default 500)")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="how long they keep coming (default 60)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds between a customer's steps, drawn in "
                             "[0.5, 1.5] x this (default 1; 0: no pause, saturation)")
    parser.add_argument("--scarce", type=int, default=8,
                        help="products with little stock, half the product openings "
                             "(default 8)")
    parser.add_argument("--scarce-stock", type=int, default=20,
                        help="units of each scarce product (default 20)")
    parser.add_argument("--cancel-share", type=float, default=0.2,
                        help="share of visits that end by cancelling a reservation")
    parser.add_argument("--latency", type=float, default=0.001,
                        help="seconds each fake Bot API call takes (default 1 ms)")
    parser.add_argument("--spread", action="store_true",
                        help="each customer's first visit starts at a random one of the "
                             "menu, a typed search or a shared link: a steady mix from the "
                             "start instead of every customer at the same step in the same "
                             "think time")
    sized.add_size_options(parser)
    parser.add_argument("--seed", type=int, default=87600)
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.seconds = 50, 5.0
    if args.customers < 1 or args.seconds <= 0 or args.think < 0:
        parser.error("need customers, a positive duration and a think time >= 0")
    if args.products:
        args.shops = args.shops or max(6, args.products // 50)
        if args.shops < 6 or args.products < args.shops:
            parser.error("need at least 6 shops and one product per shop")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
