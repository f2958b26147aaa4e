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


async def sized_services(args: argparse.Namespace, folder: Path
                         ) -> tuple[Store, Services, str]:
    """A copy of the territory of ``args``' sizes, every product with plenty of stock."""
    # Built by its own event loop (bench/memory.py's build_database), in a thread.
    source = await asyncio.to_thread(
        sized.cached, args.cache or folder / "cache", products=args.products,
        subscribers=args.subscribers, shops=args.shops, seed=args.seed)
    (folder / "run").mkdir()
    store = await open_store(sized.working_copy(source, folder / "run"))

    def stock(conn: Any) -> None:
        conn.execute("UPDATE products SET on_hand = ? WHERE deleted_at IS NULL", (PLENTY,))

    await store.db.run_write(stock)
    return store, build_services(store, operators=frozenset()), SIZED_TERRITORY


async def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark, print its tables, and return its figures and failed checks."""
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder:
        # Plenty of stock, so that every round can reserve.
        started = time.perf_counter()
        store, services, territory = await (
            sized_services(args, Path(folder)) if args.products else demo_services(Path(folder)))
        built = time.perf_counter() - started
        conversation = Conversation(services, territory=territory,
                                    tz=ZoneInfo("Europe/Paris"))

        def handler(n: int) -> Callable[[Event], Awaitable[list[Reply]]]:
            async def handle(event: Event) -> list[Reply]:
                replies = await conversation.handle(Inbound(
                    channel="telegram", user_id=str(10_000 + n), display_name=f"Client {n}",
                    event=event))
                if any("incident" in r.text.lower() for r in replies):
                    failures.append(f"incident for {event!r}")
                return replies
            return handle

        print("chatshop benchmark: conversation core, in-process")
        for line in machine_description():
            print(line)
        if args.products:
            print(f"data    : {fmt_number(args.products)} products in {args.shops} shops "
                  f"(bench/memory.py's territory), ready in {built:.1f} s")
        else:
            print("data    : the demo territory")
        print(f"load    : {args.customers} customers x 1 visit (menu, search, card, shop, "
              f"products, reserve) per round, {args.rounds} rounds; baseline: the same "
              f"customers pressing « Help » {args.baseline_presses} times each")
        print()
        mix_rates, base_rates = [], []
        for round_ in range(args.rounds):
            counter = [0]
            started = time.perf_counter()
            await asyncio.gather(*(visit(handler(n), n + round_, counter)
                                   for n in range(args.customers)))
            mix = counter[0] / (time.perf_counter() - started)
            mix_rates.append(mix)

            async def helps(n: int) -> None:
                handle = handler(n)
                for _ in range(args.baseline_presses):
                    await handle(Press(payload="h"))

            started = time.perf_counter()
            await asyncio.gather(*(helps(n) for n in range(args.customers)))
            base = args.customers * args.baseline_presses / (time.perf_counter() - started)
            base_rates.append(base)
            print(f"  round {round_ + 1}/{args.rounds}: mix {mix:,.0f} events/s "
                  f"({counter[0]} events), help-only {base:,.0f} events/s")
        timings: dict[str, list[float]] = defaultdict(list)
        if args.products:  # what each press costs, one customer at a time
            for n in range(args.solo_visits):
                await visit(handler(args.customers + n), n, [0], timings)
        await store.close()
    print()
    table = [["browse/search/reserve mix", str(args.rounds), f"{median(mix_rates):,.0f}",
              f"{min(mix_rates):,.0f}", f"{max(mix_rates):,.0f}",
              f"{median(mix_rates) / median(base_rates):.2f}"],
             ["« Help » only (baseline)", str(args.rounds), f"{median(base_rates):,.0f}",
              f"{min(base_rates):,.0f}", f"{max(base_rates):,.0f}", "1.00"]]
    print_table(["series", "rounds", "median/s", "min/s", "max/s", "vs baseline"], table)
    verdict = "MET" if median(mix_rates) >= TARGET else "NOT MET"
    print(f"\nTarget >= {TARGET:,} inbound events/s: median {median(mix_rates):,.0f}/s -> "
          f"{verdict}")
    size = f", {fmt_number(args.products)} products" if args.products else ""
    note = ""
    if timings:
        print(f"\nEach step alone, ms ({args.solo_visits} visits, one customer at a time):")
        print_table(["step", "n", "p50", "p95", "max"],
                    [[step, str(len(timings[step])), f"{percentile(timings[step], 50) * 1e3:.2f}",
                      f"{percentile(timings[step], 95) * 1e3:.2f}",
                      f"{max(timings[step]) * 1e3:.2f}"]
                     for step in STEPS if timings[step]])
        note = "p50 ms alone: " + ", ".join(
            f"{step} {percentile(timings[step], 50) * 1e3:.2f}" for step in STEPS
            if timings[step])
    figures = [Figure(f"conversation core events/s, {args.customers} customers{size}",
                      median(mix_rates), "/s", baseline=median(base_rates),
                      baseline_name="« Aide » only", goal=TARGET, goal_op=">=", note=note)]
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
    parser.add_argument("--products", type=int, default=0,
                        help="products of a territory of that size (bench/memory.py's); "
                             "default 0: the demo territory")
    parser.add_argument("--shops", type=int, default=None,
                        help="its shops (default: products / 50)")
    parser.add_argument("--subscribers", type=int, default=0,
                        help="its digest subscribers (default 0)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="a folder of built territories to reuse (bench/territory.py)")
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
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
