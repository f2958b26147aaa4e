"""Benchmark: the conversation core alone, in-process, on the demo territory.

200 simulated customers (coroutines) each run a short visit: open the menu, type a
search, open a product card, browse a shop and its products, and reserve one item from
its card (a fresh button each time). Every step is one ``Inbound`` event through
``Conversation.handle``, with the state loads and saves it implies. The figure is
inbound events handled per second, over several rounds (median, min, max).

Baseline in the same run: the cheapest event there is (the « Help » button, which reads
nothing but the person and their roles) sent by the same 200 customers, so the ratio
shows what browsing, searching and reserving cost over the router itself.

    python bench/conversation.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from _common import (
    Figure,
    Result,
    add_json_option,
    finish,
    machine_description,
    median,
    print_table,
    settings_of,
)

from chatshop.conversation.messages import Command, Event, Inbound, Press, Reply, Text
from chatshop.conversation.router import Conversation
from chatshop.demo import DEMO_OPERATOR, DEMO_TERRITORY, seed_demo
from chatshop.services import build_services
from chatshop.storage import open_store

TARGET = 2_000
SEARCHES = ["miel", "creme", "savon", "bracelet", "confiture", "shampoing", "bougie"]


def _payload(replies: Sequence[Reply], prefix: str) -> str | None:
    for reply in replies:
        for button in reply.all_buttons:
            if button.payload.startswith(prefix):
                return button.payload
    return None


async def visit(handle: Callable[[Event], Awaitable[list[Reply]]], n: int,
                counter: list[int]) -> None:
    """One customer's visit: menu, search, product card, shop, products, reserve."""
    async def send(event: Event) -> list[Reply]:
        counter[0] += 1
        return await handle(event)

    await send(Command(name="menu"))
    found = await send(Text(text=SEARCHES[n % len(SEARCHES)]))
    card = _payload(found, "p:")
    if card is None:
        return
    shown = await send(Press(payload=card))
    shop = _payload(shown, "s:")
    if shop is not None:
        at_shop = await send(Press(payload=shop))
        listing = _payload(at_shop, "k:")
        if listing is not None:
            await send(Press(payload=listing))
    reserve = _payload(shown, "r:")
    if reserve is not None:
        await send(Press(payload=reserve))


async def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark, print its tables, and return its figures and failed checks."""
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder:
        store = await open_store(Path(folder) / "bench.db")
        services = build_services(store, operators=frozenset({DEMO_OPERATOR}))
        operator = await services.customers.seen(*DEMO_OPERATOR, "Office")
        await seed_demo(services, operator=services.customers.actor(operator))
        # Plenty of stock, so that every round can reserve.
        for shop in (await services.shops.browse(limit=50)).items:
            page = await services.catalogue.maker_products(services.customers.actor(operator),
                                                           shop.id, limit=50)
            for product in page.items:
                await services.catalogue.set_stock(services.customers.actor(operator),
                                                   product.id, 100_000)
        conversation = Conversation(services, territory=DEMO_TERRITORY,
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
    figures = [Figure(f"conversation core events/s, {args.customers} customers",
                      median(mix_rates), "/s", baseline=median(base_rates),
                      baseline_name="« Aide » only", goal=TARGET, goal_op=">=")]
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
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.rounds = 50, 2
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
