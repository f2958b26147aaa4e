"""Benchmark: the conversation core alone, in-process, on the demo territory or on a
territory of a given size.

200 simulated customers (coroutines) each run a short visit: open the menu, type a
search, open a product card, browse a shop and its products, and reserve one item from
its card (a fresh button each time). Every step is one ``Inbound`` event through
``Conversation.handle``, with the state loads and saves it implies. The figure is
inbound events handled per second, over several rounds (median, min, max).

Baseline in the same run: the cheapest event there is (the « Help » button, which reads
nothing but the person and their roles) sent by the same 200 customers, so the ratio
shows what browsing, searching and reserving cost over the router itself.

``--products N`` (with ``--shops M``, default N / 50) runs it on ``bench/memory.py``'s
territory of that size instead of the demo's (``bench/territory.py``: products named
from ``bench/search.py``'s vocabulary, a week of news; every product given plenty of
stock), and then also times each kind of step with one customer at a time, to show
what a press costs with a big catalogue. ``--cache DIR`` reuses a database built there
(``bench/run.py --scale`` builds each size once).

    python bench/conversation.py [--quick] [--products N [--shops M] [--cache DIR]]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import territory as sized
from _common import (
    Figure,
    Result,
    add_json_option,
    finish,
    fmt_number,
    machine_description,
    median,
    percentile,
    print_table,
    settings_of,
)

from chatshop.conversation.messages import Command, Event, Inbound, Press, Reply, Text
from chatshop.conversation.router import Conversation
from chatshop.demo import DEMO_OPERATOR, DEMO_TERRITORY, seed_demo
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store

TARGET = 2_000
GROWTH_GOAL = 0.8  # issue #13: events/s at 100 000 >= 0.8 of its figure at 10 000
SEARCHES = ["miel", "creme", "savon", "bracelet", "confiture", "shampoing", "bougie"]
PLENTY = 100_000
SIZED_TERRITORY = "Porte Océane du Limousin"  # bench/memory.py's


def _payload(replies: Sequence[Reply], prefix: str) -> str | None:
    for reply in replies:
        for button in reply.all_buttons:
            if button.payload.startswith(prefix):
                return button.payload
    return None


STEPS = ["menu", "search", "product card", "shop", "its products", "reserve", "« Aide »"]


async def visit(handle: Callable[[Event], Awaitable[list[Reply]]], n: int,
                counter: list[int], timings: dict[str, list[float]] | None = None) -> None:
    """One customer's visit: menu, search, product card, shop, products, reserve (each
    step's seconds added to ``timings`` under its name, if given)."""
    async def send(step: str, event: Event) -> list[Reply]:
        counter[0] += 1
        if timings is None:
            return await handle(event)
        started = time.perf_counter()
        replies = await handle(event)
        timings[step].append(time.perf_counter() - started)
        return replies

    await send("menu", Command(name="menu"))
    found = await send("search", Text(text=SEARCHES[n % len(SEARCHES)]))
    card = _payload(found, "p:")
    if card is None:
        return
    shown = await send("product card", Press(payload=card))
    shop = _payload(shown, "s:")
    if shop is not None:
        at_shop = await send("shop", Press(payload=shop))
        listing = _payload(at_shop, "k:")
        if listing is not None:
            await send("its products", Press(payload=listing))
    reserve = _payload(shown, "r:")
    if reserve is not None:
        await send("reserve", Press(payload=reserve))
    if timings is not None:
        await send("« Aide »", Press(payload="h"))


async def demo_services(folder: Path) -> tuple[Store, Services, str]:
    """The demo territory, every product with plenty of stock."""
    store = await open_store(folder / "bench.db")
    services = build_services(store, operators=frozenset({DEMO_OPERATOR}))
    operator = await services.customers.seen(*DEMO_OPERATOR, "Office")
    await seed_demo(services, operator=services.customers.actor(operator))
    for shop in (await services.shops.browse(limit=50)).items:
        page = await services.catalogue.maker_products(services.customers.actor(operator),
                                                       shop.id, limit=50)
        for product in page.items:
            await services.catalogue.set_stock(services.customers.actor(operator),
                                               product.id, PLENTY)
    return store, services, DEMO_TERRITORY


async def sized_services(args: argparse.Namespace, folder: Path, products: int, shops: int,
                         subscribers: int) -> tuple[Store, Services, str]:
    """A copy of the territory of that size, every product with plenty of stock."""
    # Built by its own event loop (bench/memory.py's build_database), in a thread.
    source = await asyncio.to_thread(
        sized.cached, args.cache or folder / "cache", products=products,
        subscribers=subscribers, shops=shops, seed=args.seed)
    (folder / f"run-{products}").mkdir()
    store = await open_store(sized.working_copy(source, folder / f"run-{products}"))

    def stock(conn: Any) -> None:
        conn.execute("UPDATE products SET on_hand = ? WHERE deleted_at IS NULL", (PLENTY,))

    await store.db.run_write(stock)
    return store, build_services(store, operators=frozenset()), SIZED_TERRITORY


@dataclass
class Setup:
    """One territory's conversation and what was measured on it."""

    products: int  # 0: the demo territory
    store: Store
    conversation: Conversation
    failures: list[str]
    mix: list[float] = field(default_factory=list)
    base: list[float] = field(default_factory=list)
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def label(self) -> str:
        return f"{fmt_number(self.products)} products" if self.products else "demo"

    def handler(self, n: int) -> Callable[[Event], Awaitable[list[Reply]]]:
        async def handle(event: Event) -> list[Reply]:
            replies = await self.conversation.handle(Inbound(
                channel="telegram", user_id=str(10_000 + n), display_name=f"Client {n}",
                event=event))
            if any("incident" in r.text.lower() for r in replies):
                self.failures.append(f"incident for {event!r} ({self.label})")
            return replies
        return handle


async def set_up(args: argparse.Namespace, folder: Path, products: int,
                 failures: list[str]) -> Setup:
    started = time.perf_counter()
    if products:
        shops = args.shops if products == args.products else max(6, products // 50)
        subscribers = args.subscribers if products == args.products else \
            args.subscribers * products // args.products
        store, services, territory = await sized_services(args, folder, products, shops,
                                                          subscribers)
        print(f"data    : {fmt_number(products)} products in {shops} shops, "
              f"{fmt_number(subscribers)} subscribers (bench/memory.py's territory), ready "
              f"in {time.perf_counter() - started:.1f} s")
    else:
        store, services, territory = await demo_services(folder)
        print("data    : the demo territory")
    conversation = Conversation(services, territory=territory, tz=ZoneInfo("Europe/Paris"))
    return Setup(products, store, conversation, failures)


async def one_round(setup: Setup, args: argparse.Namespace, round_: int) -> tuple[int, float]:
    """Every customer's visit at once: (events, events/s)."""
    counter = [0]
    started = time.perf_counter()
    await asyncio.gather(*(visit(setup.handler(n), n + round_, counter)
                           for n in range(args.customers)))
    mix = counter[0] / (time.perf_counter() - started)
    setup.mix.append(mix)
    return counter[0], mix


async def help_round(setup: Setup, args: argparse.Namespace) -> float:
    """Every customer pressing « Aide » a few times: events/s."""
    async def helps(n: int) -> None:
        handle = setup.handler(n)
        for _ in range(args.baseline_presses):
            await handle(Press(payload="h"))

    started = time.perf_counter()
    await asyncio.gather(*(helps(n) for n in range(args.customers)))
    base = args.customers * args.baseline_presses / (time.perf_counter() - started)
    setup.base.append(base)
    return base


async def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark, print its tables, and return its figures and failed checks."""
    failures: list[str] = []
    print("chatshop benchmark: conversation core, in-process")
    for line in machine_description():
        print(line)
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder:
        # Plenty of stock, so that every round can reserve.
        sizes = [args.products] + ([args.compare] if args.compare else [])
        setups = [await set_up(args, Path(folder), products, failures) for products in sizes]
        print(f"load    : {args.customers} customers x 1 visit (menu, search, card, shop, "
              f"products, reserve) per round, {args.rounds} rounds; baseline: the same "
              f"customers pressing « Help » {args.baseline_presses} times each"
              + ("; the two territories' rounds interleaved, in turn first"
                 if len(setups) > 1 else ""))
        print()
        for round_ in range(args.rounds):
            order = setups if round_ % 2 == 0 else setups[::-1]
            for setup in order:
                events, mix = await one_round(setup, args, round_)
                base = await help_round(setup, args)
                where = f" {setup.label}:" if len(setups) > 1 else ""
                print(f"  round {round_ + 1}/{args.rounds}:{where} mix {mix:,.0f} events/s "
                      f"({events} events), help-only {base:,.0f} events/s")
        if args.products:  # what each press costs, one customer at a time
            for n in range(args.solo_visits):
                for setup in setups:
                    await visit(setup.handler(args.customers + n), n, [0], setup.timings)
        for setup in setups:
            await setup.store.close()
    print()
    table = []
    for setup in setups:
        where = f" ({setup.label})" if len(setups) > 1 else ""
        table += [[f"browse/search/reserve mix{where}", str(args.rounds),
                   f"{median(setup.mix):,.0f}", f"{min(setup.mix):,.0f}",
                   f"{max(setup.mix):,.0f}", f"{median(setup.mix) / median(setup.base):.2f}"],
                  [f"« Help » only (baseline){where}", str(args.rounds),
                   f"{median(setup.base):,.0f}", f"{min(setup.base):,.0f}",
                   f"{max(setup.base):,.0f}", "1.00"]]
    print_table(["series", "rounds", "median/s", "min/s", "max/s", "vs baseline"], table)
    main = setups[0]
    verdict = "MET" if median(main.mix) >= TARGET else "NOT MET"
    print(f"\nTarget >= {TARGET:,} inbound events/s: median {median(main.mix):,.0f}/s -> "
          f"{verdict}")
    figures = []
    for setup in setups:
        note = ""
        if setup.timings:
            print(f"\nEach step alone, ms, {setup.label} ({args.solo_visits} visits, one "
                  "customer at a time):")
            print_table(["step", "n", "p50", "p95", "max"],
                        [[step, str(len(setup.timings[step])),
                          f"{percentile(setup.timings[step], 50) * 1e3:.2f}",
                          f"{percentile(setup.timings[step], 95) * 1e3:.2f}",
                          f"{max(setup.timings[step]) * 1e3:.2f}"]
                         for step in STEPS if setup.timings[step]])
            note = "p50 ms alone: " + ", ".join(
                f"{step} {percentile(setup.timings[step], 50) * 1e3:.2f}" for step in STEPS
                if setup.timings[step])
        size = f", {setup.label}" if setup.products else ""
        figures.append(Figure(f"conversation core events/s, {args.customers} customers{size}",
                              median(setup.mix), "/s", baseline=median(setup.base),
                              baseline_name="« Aide » only", goal=TARGET, goal_op=">=",
                              note=note))
    if len(setups) > 1:
        small, large = sorted(setups, key=lambda x: x.products)
        growth = median(large.mix) / median(small.mix)
        by_round = median([b / a for a, b in zip(small.mix, large.mix, strict=True)])
        print(f"\nGrowth: at {large.label} the mix runs at {growth:.2f} of its rate at "
              f"{small.label} (median of each round's ratio {by_round:.2f}); goal >= "
              f"{GROWTH_GOAL:g}")
        figures.append(Figure(f"conversation core growth, {small.label} -> {large.label}",
                              growth, "×", goal=GROWTH_GOAL, goal_op=">=",
                              note=f"median of each round's ratio {by_round:.2f}"))
    return Result("conversation", figures, failures, "No incident in any reply.",
                  settings_of(args))


async def run(args: argparse.Namespace) -> int:
    return finish(await measure(args), args)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a small fast run")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-presses", type=int, default=5)
    sized.add_size_options(parser)
    parser.add_argument("--compare", type=int, default=0, metavar="M",
                        help="with --products: also a territory of M products (M / 50 shops, "
                             "subscribers in the same proportion), its rounds interleaved "
                             "with the first's: the growth between them in one run")
    parser.add_argument("--solo-visits", type=int, default=40,
                        help="with --products: visits timed step by step, one customer at "
                             "a time (default 40)")
    parser.add_argument("--seed", type=int, default=sized.SEED)
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.rounds = 50, 2
        args.solo_visits = min(args.solo_visits, 10)
    if args.products:
        args.shops = args.shops or max(6, args.products // 50)
        if args.shops < 6 or args.products < args.shops:
            parser.error("need at least 6 shops and one product per shop")
    if args.compare and (not args.products or args.compare < 300
                         or args.compare == args.products):
        parser.error("--compare needs --products, and another size of at least 300")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
