"""Benchmark: reservations on ONE product under contention, and the oversell check.

Many customers (coroutines gathered on one event loop, as the bot serves them) reserve one
unit at a time of the same product with ``services.reservations.reserve_now``, each call
with a fresh idempotency key. Reported: reservations per second (median, min, max over
several rounds) and, after every round, that nothing was oversold:

* the product's ``reserved`` equals the number of reservations granted,
* ``reserved <= on_hand``,
* ``reserved`` equals the sum of live reservation lines (``store.orders.live_quantities``).

Baselines measured in the same run, round by round, on the same database:

* ``bare SQL``: the same number of conditional UPDATEs
  (``reserved = reserved + 1 WHERE on_hand - reserved >= 1``), one write transaction each
  through the same ``Database.write()``: the floor any reservation pays here, so the ratio
  is what the service layer (reads, checks, reservation rows, re-reading) costs over it;
* ``spread``: the same service calls, but each customer on their own product, to show
  whether contention on one row costs anything.

Then a round where demand exceeds stock (refusals must match exactly) and a round where
every call is sent twice at once with the same idempotency key (a double tap).

Run: ``python bench/reservations.py`` (``--quick`` for a small run, ``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    Figure,
    Result,
    Territory,
    add_json_option,
    finish,
    machine_description,
    median,
    open_territory,
    percentile,
    print_table,
    settings_of,
)

from chatshop.domain.models import Actor, Shop, ShopDetails, User
from chatshop.errors import OutOfStock
from chatshop.storage import Database

TARGET_PER_SECOND = 1_000

# One statement, one hop to the writer's thread: with BEGIN and COMMIT, three hops.
BARE_RESERVE = ("UPDATE products SET reserved = reserved + 1"
                " WHERE id = ? AND on_hand - reserved >= 1 RETURNING id")


@dataclass
class Outcome:
    """What one contended burst of reservations did."""

    seconds: float
    granted: int = 0
    refused: int = 0
    errors: int = 0
    first_error: str = ""
    latencies: list[float] = field(default_factory=list)
    reservation_ids: set[int] = field(default_factory=set)

    @property
    def attempts(self) -> int:
        return self.granted + self.refused + self.errors

    @property
    def per_second(self) -> float:
        return self.attempts / self.seconds if self.seconds else float("nan")


@dataclass
class Check:
    """The oversell audit of one product after a burst."""

    on_hand: int
    reserved: int
    live_lines: int
    granted: int

    @property
    def oversold(self) -> int:
        """Units promised beyond the shelf, by any of the three counts."""
        return max(0, self.reserved - self.on_hand, self.granted - self.on_hand,
                   self.live_lines - self.on_hand)

    @property
    def consistent(self) -> bool:
        return self.reserved == self.granted == self.live_lines and self.reserved <= self.on_hand

    @property
    def consistent_without_lines(self) -> bool:
        """For the bare UPDATE, which writes no reservation rows."""
        return self.reserved == self.granted and self.reserved <= self.on_hand


# A call returns the reservation id (or 0 for the bare UPDATE) or raises OutOfStock.
Call = Callable[[int, int, str], Awaitable[int | None]]


async def burst(users: Sequence[User], per_customer: int, product_of: Callable[[int], int],
                call: Call, tag: str, *, double_tap: bool = False) -> Outcome:
    """Every customer, concurrently, makes ``per_customer`` calls one after the other."""
    outcome = Outcome(seconds=0.0)

    async def one(user_id: int, product_id: int, key: str) -> None:
        started = time.perf_counter()
        try:
            result = await call(user_id, product_id, key)
        except OutOfStock:
            outcome.refused += 1
        except Exception as exc:
            outcome.errors += 1
            outcome.first_error = outcome.first_error or f"{type(exc).__name__}: {exc}"
        else:
            if result is None:  # bare UPDATE that found no stock
                outcome.refused += 1
            else:
                outcome.granted += 1
                if result:
                    outcome.reservation_ids.add(result)
        outcome.latencies.append(time.perf_counter() - started)

    async def customer(index: int, user: User) -> None:
        product_id = product_of(index)
        for n in range(per_customer):
            key = f"{tag}-{user.id}-{n}"
            if double_tap:
                await asyncio.gather(one(user.id, product_id, key),
                                     one(user.id, product_id, key))
            else:
                await one(user.id, product_id, key)

    started = time.perf_counter()
    await asyncio.gather(*(customer(i, u) for i, u in enumerate(users)))
    outcome.seconds = time.perf_counter() - started
    return outcome


def service_call(territory: Territory) -> Call:
    reservations = territory.services.reservations

    async def call(user_id: int, product_id: int, key: str) -> int:
        return (await reservations.reserve_now(user_id, product_id, 1, key)).id

    return call


def bare_call(db: Database) -> Call:
    async def call(_user_id: int, product_id: int, _key: str) -> int | None:
        async with db.write() as conn:
            held = await conn.execute_fetchall(BARE_RESERVE, (product_id,))
        return 0 if held else None

    return call


def constant(product_id: int) -> Callable[[int], int]:
    """Every customer on the same product."""
    return lambda _index: product_id


async def audit(territory: Territory, product_id: int, granted: int) -> Check:
    product = await territory.services.catalogue.product(product_id)
    live = await territory.store.orders.live_quantities()
    return Check(on_hand=product.on_hand, reserved=product.reserved,
                 live_lines=live.get(product_id, 0), granted=granted)


async def new_product(territory: Territory, owner: Actor, shop: Shop, name: str,
                      on_hand: int) -> int:
    product = await territory.services.catalogue.add_product(
        owner, shop.id, name=name, price_cents=850, on_hand=on_hand,
        description="Récolté en Haute-Vienne, pot de 500 g.")
    return product.id


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


async def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark, print its tables, and return its figures and failed checks."""
    customers: int = args.customers
    per_customer: int = args.per_customer
    rounds: int = args.rounds
    total = customers * per_customer
    print("chatshop benchmark: reservations on one product under contention")
    for line in machine_description():
        print(line)
    print(f"load    : {customers} concurrent customers x {per_customer} reservations"
          f" = {total} reservations per round, {rounds} rounds"
          f" (service and baselines alternate within each round)")
    print()

    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder:
        territory = await open_territory(Path(folder))
        try:
            commune = await territory.commune("Rochechouart", "87600")
            shop, owner = await territory.open_shop("Épicerie du Château", commune, "2000",
                                                    "Léa")
            # The same 200 customers reserve round after round: the shop lifts its caps
            # per customer (#12), whose checks still run in every reservation measured.
            await territory.store.shops.update_shop(shop.id, ShopDetails(
                max_open_reservations=999, max_units_per_product=999))
            users = [await territory.services.customers.seen("telegram", str(10_000 + i),
                                                             f"Client {i}")
                     for i in range(customers)]
            # One product per customer for the "spread" baseline, stocked for every round.
            own_products = [await new_product(territory, owner, shop, f"Savon n°{i}",
                                              per_customer * rounds)
                            for i in range(customers)]
            service = service_call(territory)
            bare = bare_call(territory.store.db)

            series: dict[str, list[Outcome]] = {"service": [], "bare SQL": [], "spread": []}
            checks: dict[str, list[Check]] = {"service": [], "bare SQL": []}
            for r in range(rounds):
                hot = await new_product(territory, owner, shop,
                                        f"Miel de châtaignier, tour {r}", total)
                floor = await new_product(territory, owner, shop,
                                          f"Miel d'acacia, tour {r}", total)
                plan: list[tuple[str, Callable[[int], int], Call]] = [
                    ("service", constant(hot), service),
                    ("bare SQL", constant(floor), bare),
                    ("spread", own_products.__getitem__, service),
                ]
                if r % 2:  # alternate the order so that drift on a shared machine evens out
                    plan.reverse()
                for name, product_of, call in plan:
                    series[name].append(
                        await burst(users, per_customer, product_of, call, f"{name}-{r}"))
                s, b = series["service"][-1], series["bare SQL"][-1]
                checks["service"].append(await audit(territory, hot, s.granted))
                checks["bare SQL"].append(await audit(territory, floor, b.granted))
                print(f"  round {r + 1}/{rounds}: service {fmt_rate(s.per_second)}/s,"
                      f" bare SQL {fmt_rate(b.per_second)}/s,"
                      f" spread {fmt_rate(series['spread'][-1].per_second)}/s")

            # The spread products: every customer's own product, audited once at the end.
            live = await territory.store.orders.live_quantities()
            spread_granted = sum(o.granted for o in series["spread"])
            spread_reserved = 0
            spread_oversold = 0
            for pid in own_products:
                p = await territory.services.catalogue.product(pid)
                spread_reserved += p.reserved
                spread_oversold += max(0, p.reserved - p.on_hand)
                if p.reserved != live.get(pid, 0):
                    failures.append(f"spread product {pid}: reserved {p.reserved}"
                                    f" != live lines {live.get(pid, 0)}")
            if spread_reserved != spread_granted:
                failures.append(f"spread: reserved {spread_reserved} != granted"
                                f" {spread_granted}")

            # Demand beyond stock: exactly on_hand granted, the rest refused.
            short_stock = total // 2
            scarce = await new_product(territory, owner, shop, "Confiture de fraises",
                                       short_stock)
            refusals = await burst(users, per_customer, constant(scarce), service, "x")
            scarce_check = await audit(territory, scarce, refusals.granted)

            # Double tap: every key sent twice at once; each key must reserve once.
            taps = max(1, per_customer // 2)
            tapped = await new_product(territory, owner, shop, "Bougie parfumée",
                                       customers * taps)
            doubled = await burst(users, taps, constant(tapped), service, "d",
                                  double_tap=True)
            tapped_check = await audit(territory, tapped, len(doubled.reservation_ids))
        finally:
            await territory.close()

    # -- report ------------------------------------------------------------------------
    base = median([o.per_second for o in series["bare SQL"]])
    print()
    print(f"Throughput, {rounds} rounds of {total} reservations on one product"
          f" (reservations per second; ratio = median / median of bare SQL):")
    table = []
    for name, outcomes in series.items():
        rates = [o.per_second for o in outcomes]
        lat = [x for o in outcomes for x in o.latencies]
        if name == "spread":
            oversold = str(spread_oversold)
        else:
            oversold = str(sum(c.oversold for c in checks[name]))
        table.append([
            {"service": "reserve_now, one product", "bare SQL": "bare SQL UPDATE (baseline)",
             "spread": "reserve_now, own product each"}[name],
            str(len(outcomes)), fmt_rate(median(rates)), fmt_rate(min(rates)),
            fmt_rate(max(rates)), f"{median(rates) / base:.2f}",
            fmt_ms(percentile(lat, 50)), fmt_ms(percentile(lat, 95)),
            str(sum(o.errors for o in outcomes)), oversold,
        ])
    print_table(["series", "rounds", "median/s", "min/s", "max/s", "vs bare",
                 "p50 ms", "p95 ms", "errors", "oversold"], table)

    service_median = median([o.per_second for o in series["service"]])
    per_round = median([b.per_second / s.per_second
                        for s, b in zip(series["service"], series["bare SQL"], strict=True)])
    print()
    print(f"Target >= {fmt_rate(TARGET_PER_SECOND)} reservations/s on one product:"
          f" median {fmt_rate(service_median)}/s ->"
          f" {'MET' if service_median >= TARGET_PER_SECOND else 'NOT MET'}"
          f" (service layer costs {base / service_median:.1f}x the bare conditional UPDATE;"
          f" {per_round:.1f}x as the median of per-round ratios)")

    for name in ("service", "bare SQL"):
        for r, (outcome, check) in enumerate(zip(series[name], checks[name], strict=True)):
            if outcome.errors:
                failures.append(f"{name} round {r + 1}: {outcome.errors} errors,"
                                f" first: {outcome.first_error}")
            if outcome.granted != total:
                failures.append(f"{name} round {r + 1}: {outcome.granted}/{total} granted"
                                " with enough stock")
            ok = check.consistent if name == "service" else check.consistent_without_lines
            if not ok or check.oversold:
                failures.append(f"{name} round {r + 1}: {check}")
    for r, outcome in enumerate(series["spread"]):
        if outcome.errors or outcome.granted != total:
            failures.append(f"spread round {r + 1}: {outcome.granted}/{total} granted,"
                            f" {outcome.errors} errors {outcome.first_error}")

    print()
    print("Correctness under contention:")
    print_table(
        ["scenario", "demand", "on_hand", "granted", "refused", "errors", "reserved",
         "live lines", "oversold", "per s"],
        [["stock < demand", str(refusals.attempts), str(scarce_check.on_hand),
          str(refusals.granted), str(refusals.refused), str(refusals.errors),
          str(scarce_check.reserved), str(scarce_check.live_lines),
          str(scarce_check.oversold), fmt_rate(refusals.per_second)],
         ["double tap (same key x2)", f"{customers * taps} keys", str(tapped_check.on_hand),
          str(len(doubled.reservation_ids)), str(doubled.refused), str(doubled.errors),
          str(tapped_check.reserved), str(tapped_check.live_lines),
          str(tapped_check.oversold), fmt_rate(doubled.per_second)]],
    )
    if (refusals.granted != short_stock or refusals.refused != total - short_stock
            or refusals.errors or not scarce_check.consistent or scarce_check.oversold):
        failures.append(f"stock < demand: {refusals.granted} granted, {refusals.refused}"
                        f" refused, {refusals.errors} errors ({refusals.first_error}),"
                        f" {scarce_check}")
    if (len(doubled.reservation_ids) != customers * taps or doubled.errors
            or doubled.granted != 2 * customers * taps or not tapped_check.consistent):
        failures.append(f"double tap: {len(doubled.reservation_ids)} distinct reservations for"
                        f" {customers * taps} keys, but of {doubled.attempts} calls"
                        f" {doubled.refused} got OutOfStock instead of the reservation their"
                        f" key already made and {doubled.errors} failed"
                        f" ({doubled.first_error or 'no error'}); {tapped_check}")

    oversold = (sum(c.oversold for checks_ in checks.values() for c in checks_)
                + spread_oversold + scarce_check.oversold + tapped_check.oversold)
    figures = [
        Figure(f"reservations/s, one product, {customers} customers", service_median, "/s",
               baseline=base, baseline_name="bare SQL UPDATE", goal=TARGET_PER_SECOND,
               goal_op=">="),
        Figure("reservations: units oversold", oversold, "", goal=0, goal_op="=="),
    ]
    return Result("reservations", figures, failures,
                  "All checks passed: 0 oversold, reserved == granted == live reservation"
                  " lines.", settings_of(args))


async def run(args: argparse.Namespace) -> int:
    return finish(await measure(args), args)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="a small fast run (50 customers x 4, 3 rounds)")
    parser.add_argument("--customers", type=int, default=200,
                        help="concurrent customers (default 200)")
    parser.add_argument("--per-customer", type=int, default=5,
                        help="reservations each customer makes, one after the other (default 5)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.per_customer, args.rounds = 50, 4, 3
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
