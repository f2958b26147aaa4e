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
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from engines import (
    add_engine_options,
    database,
    engines_of,
    label_result,
    labelled,
    merge,
    server,
)

from chatshop.domain.models import Actor, Shop, ShopDetails
from chatshop.errors import OutOfStock
from chatshop.storage import Database, rows

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


async def burst(users: Sequence[int], per_customer: int, product_of: Callable[[int], int],
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

    async def customer(index: int, user_id: int) -> None:
        product_id = product_of(index)
        for n in range(per_customer):
            key = f"{tag}-{user_id}-{n}"
            if double_tap:
                await asyncio.gather(one(user_id, product_id, key),
                                     one(user_id, product_id, key))
            else:
                await one(user_id, product_id, key)

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


async def measure_engine(args: argparse.Namespace, engine: str,
                         server_dsn: str | None) -> Result:
    """The benchmark on one engine: its tables printed, its figures and failed checks."""
    customers: int = args.customers
    per_customer: int = args.per_customer
    rounds: int = args.rounds
    total = customers * per_customer
    print(f"chatshop benchmark: reservations on one product under contention ({engine})")
    for line in machine_description():
        print(line)
    print(f"load    : {customers} concurrent customers x {per_customer} reservations"
          f" = {total} reservations per round, {rounds} rounds"
          f" (service and baselines alternate within each round)")
    print()

    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder, \
            database(engine, Path(folder), server_dsn) as db:
        territory = await open_territory(Path(folder), db)
        try:
            commune = await territory.commune("Rochechouart", "87600")
            shop, owner = await territory.open_shop("Épicerie du Château", commune, "2000",
                                                    "Léa")
            # The same 200 customers reserve round after round: the shop lifts its caps
            # per customer (#12), whose checks still run in every reservation measured.
            await territory.store.shops.update_shop(shop.id, ShopDetails(
                max_open_reservations=999, max_units_per_product=999))
            users = [(await territory.services.customers.seen(
                "telegram", str(10_000 + i), f"Client {i}")).id for i in range(customers)]
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


# -- the curve of client processes on one database (issue #14) -------------------------

WORKER_MARK = "@@"  # a worker's answers on its stdout start with this
SPREAD_PRODUCTS = 100
WORKLOADS = ("one product", f"{SPREAD_PRODUCTS} products")


def processes_label(n: int) -> str:
    return f"{n} process{'es' if n > 1 else ''}"


def curve_name(n: int, workload: str) -> str:
    return f"reservations/s, {processes_label(n)}, {workload}"


async def worker(db: str) -> int:
    """One client process of the curve: opens its own store on ``db``, says it is ready,
    then for each job read on stdin (its customers' ids and each one's product) runs the
    burst of reservations and answers with what it did and when (``time.monotonic``, the
    same clock in every process of the machine)."""
    from chatshop.services import build_services
    from chatshop.storage import open_store

    store = await open_store(db)
    services = build_services(store, operators=frozenset())
    reservations = services.reservations

    async def call(user_id: int, product_id: int, key: str) -> int:
        return (await reservations.reserve_now(user_id, product_id, 1, key)).id

    print(f"{WORKER_MARK}ready", flush=True)
    try:
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line.strip():
                break
            job = json.loads(line)
            users, products = job["users"], job["products"]
            started = time.monotonic()
            outcome = await burst(users, job["per_customer"], products.__getitem__, call,
                                  job["tag"])
            ended = time.monotonic()
            print(WORKER_MARK + json.dumps({
                "start": started, "end": ended, "granted": outcome.granted,
                "refused": outcome.refused, "errors": outcome.errors,
                "first_error": outcome.first_error,
                "p95": percentile(outcome.latencies, 95)}), flush=True)
    finally:
        await store.close()
    return 0


class Workers:
    """``n`` worker processes on one database, each serving its share of the customers."""

    def __init__(self, db: str, n: int) -> None:
        self.processes = [subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
            for _ in range(n)]
        try:
            for process in self.processes:
                self._answer(process)
        except BaseException:
            for process in self.processes:
                process.kill()
                process.wait()
            raise

    def _answer(self, process: subprocess.Popen[str]) -> str:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(WORKER_MARK):
                return line[len(WORKER_MARK):].strip()
        raise RuntimeError(f"a worker process ended (status {process.wait()}) without"
                           " answering: its traceback is above")

    def run(self, users: Sequence[int], products: Sequence[int], per_customer: int,
            tag: str) -> dict[str, Any]:
        """Every worker its share of ``users`` (``products[i]``: customer i's), at once."""
        n = len(self.processes)
        for k, process in enumerate(self.processes):
            assert process.stdin is not None
            process.stdin.write(json.dumps({
                "users": list(users[k::n]), "products": list(products[k::n]),
                "per_customer": per_customer, "tag": f"{tag}-w{k}"}) + "\n")
            process.stdin.flush()
        answers = [json.loads(self._answer(process)) for process in self.processes]
        seconds = max(a["end"] for a in answers) - min(a["start"] for a in answers)
        attempts = sum(a["granted"] + a["refused"] + a["errors"] for a in answers)
        return {"seconds": seconds, "per_second": attempts / seconds if seconds else 0.0,
                "granted": sum(a["granted"] for a in answers),
                "refused": sum(a["refused"] for a in answers),
                "errors": sum(a["errors"] for a in answers),
                "first_error": next((a["first_error"] for a in answers if a["first_error"]),
                                    ""),
                "p95": max(a["p95"] for a in answers)}

    def close(self) -> None:
        for process in self.processes:
            assert process.stdin is not None
            with contextlib.suppress(OSError):
                process.stdin.write("\n")
                process.stdin.close()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class CurveSetup:
    """One engine's database for the curve: its territory, customers, shop."""

    engine: str
    db: str
    territory: Territory
    users: list[int]
    owner: Actor
    shop: Shop


async def curve_setup(engine: str, folder: Path, db: str, customers: int) -> CurveSetup:
    territory = await open_territory(folder, db)
    commune = await territory.commune("Saint-Junien", "87200")
    shop, owner = await territory.open_shop("Ganterie de la Glane", commune, "3000", "Marc")
    await territory.store.shops.update_shop(shop.id, ShopDetails(
        max_open_reservations=999, max_units_per_product=999))
    users = [(await territory.services.customers.seen(
        "telegram", str(30_000 + i), f"Client {i}")).id for i in range(customers)]
    return CurveSetup(engine, db, territory, users, owner, shop)


async def curve_audit(setup: CurveSetup, products: Sequence[int], granted: int,
                      total: int) -> tuple[int, list[str]]:
    """(units oversold, what does not add up) for the products of one job."""
    live = await setup.territory.store.orders.live_quantities()
    marks = ", ".join("?" for _ in products)
    async with setup.territory.store.db.read() as conn:
        found = await rows.fetch_all(
            conn, f"SELECT id, on_hand, reserved FROM products WHERE id IN ({marks})",
            tuple(products))
    oversold, wrong = 0, []
    reserved_total = 0
    for pid, on_hand, reserved in ((int(r[0]), int(r[1]), int(r[2])) for r in found):
        oversold += max(0, reserved - on_hand)
        reserved_total += reserved
        if reserved != live.get(pid, 0):
            wrong.append(f"product {pid}: reserved {reserved} != live lines"
                         f" {live.get(pid, 0)}")
    if reserved_total != granted:
        wrong.append(f"reserved {reserved_total} != granted {granted}")
    if granted != total:
        wrong.append(f"{granted}/{total} granted with enough stock")
    return oversold, wrong


async def process_curve(args: argparse.Namespace, server_dsn: str | None) -> Result:
    """N client processes (each its own store) reserving at once on one database, for
    each N of ``--processes``, on one hot product and across 100 products, rounds
    interleaved with one SQLite process doing the same (the reference of the goals)."""
    customers, per_customer, rounds = args.customers, args.per_customer, args.rounds
    total = customers * per_customer
    on_postgresql = "postgresql" in engines_of(args)
    configs = ([("sqlite", 1)] + [("postgresql", n) for n in args.process_counts]
               if on_postgresql else [("sqlite", n) for n in args.process_counts])
    print(f"chatshop benchmark: reservations from {', '.join(map(str, args.process_counts))}"
          f" client processes on one {'PostgreSQL' if on_postgresql else 'SQLite'}"
          f" database{', against one SQLite process' if on_postgresql else ''}")
    print(f"load    : the same {customers} customers shared between the processes, x"
          f" {per_customer} reservations = {total} per job, on one product and across"
          f" {SPREAD_PRODUCTS} products, {rounds} rounds (configurations interleaved, order"
          " alternating); each process opens its own store")
    failures: list[str] = []
    rates: dict[tuple[str, int, str], list[float]] = defaultdict(list)
    p95s: dict[tuple[str, int, str], list[float]] = defaultdict(list)
    oversold = 0
    engines_used = sorted({engine for engine, _n in configs})
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-curve-") as folder, \
            contextlib.ExitStack() as stack:
        setups: dict[str, CurveSetup] = {}
        workers: dict[tuple[str, int], Workers] = {}
        try:
            for engine in engines_used:
                db = stack.enter_context(database(engine, Path(folder), server_dsn, "curve"))
                setups[engine] = await curve_setup(engine, Path(folder), db, customers)
            for engine, n in configs:
                workers[engine, n] = Workers(setups[engine].db, n)
            for r in range(rounds):
                order = [(c, w) for c in configs for w in WORKLOADS]
                if r % 2:
                    order.reverse()
                for (engine, n), workload in order:
                    setup = setups[engine]
                    catalogue = setup.territory.services.catalogue
                    count = 1 if workload == "one product" else SPREAD_PRODUCTS
                    products = [(await catalogue.add_product(
                        setup.owner, setup.shop.id, name=f"Gants n°{r}-{n}-{k}",
                        price_cents=4_500, on_hand=total)).id for k in range(count)]
                    of_customer = [products[i % count] for i in range(customers)]
                    done = workers[engine, n].run(setup.users, of_customer, per_customer,
                                                  f"c{r}-{engine}-{n}-{count}")
                    key = (engine, n, workload)
                    rates[key].append(done["per_second"])
                    p95s[key].append(done["p95"])
                    units, wrong = await curve_audit(setup, products, done["granted"], total)
                    oversold += units
                    label = f"{engine}, {processes_label(n)}, {workload}, round {r + 1}"
                    if done["errors"]:
                        failures.append(f"{label}: {done['errors']} errors, first:"
                                        f" {done['first_error']}")
                    failures += [f"{label}: {text}" for text in wrong]
                print(f"  round {r + 1}/{rounds}: " + ", ".join(
                    f"{engine[:6]} x{n} {w.split()[0]} {fmt_rate(rates[engine, n, w][-1])}/s"
                    for engine, n in configs for w in WORKLOADS))
        finally:
            for pool in workers.values():
                pool.close()
            for setup in setups.values():
                await setup.territory.close()

    reference = {w: median(rates["sqlite", 1, w]) for w in WORKLOADS}
    print()
    print(f"Reservations per second (all processes together, median of {rounds} rounds;"
          " x SQLite = / one SQLite process, same workload):")
    table = []
    for engine, n in configs:
        row = [f"{engine}, {processes_label(n)}"]
        for w in WORKLOADS:
            value = median(rates[engine, n, w])
            row += [fmt_rate(value), f"{value / reference[w]:.2f}",
                    fmt_ms(median(p95s[engine, n, w]))]
        table.append(row)
    print_table(["configuration", *[c for w in WORKLOADS for c in
                                    (f"{w} /s", "x SQLite", "p95 ms")]], table)
    figures = []
    for engine, n in configs:
        for w in WORKLOADS:
            value = median(rates[engine, n, w])
            reference_figure = engine != "sqlite" or n != 1
            figures.append(Figure(
                labelled(curve_name(n, w), engine), value, "/s",
                baseline=reference[w] if reference_figure else None,
                baseline_name="SQLite, 1 process" if reference_figure else "",
                note=f"min {fmt_rate(min(rates[engine, n, w]))}, max"
                     f" {fmt_rate(max(rates[engine, n, w]))}; {rounds} rounds of {total}"))
    if on_postgresql:
        three = max(args.process_counts)
        for w, goal in zip(WORKLOADS, (0.5, 1.0), strict=True):
            value = median(rates["postgresql", three, w]) / reference[w]
            figures.append(Figure(labelled(f"{processes_label(three)} / 1 SQLite process,"
                                           f" {w}", "postgresql"), value, "×",
                                  goal=goal, goal_op=">="))
            print(f"Goal: {processes_label(three)} on PostgreSQL >= {goal:g}x one SQLite"
                  f" process, {w}: {value:.2f}x -> {'MET' if value >= goal else 'NOT MET'}")
    figures.append(Figure("reservations across processes: units oversold", oversold, "",
                          goal=0, goal_op="=="))
    print(f"oversold across processes: {oversold}")
    print()
    return Result("reservations", figures, failures, "", settings_of(args))


async def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark on each engine asked for (and the curve of processes), print
    its tables, and return its figures and failed checks."""
    with server(args) as server_dsn:
        results = []
        for engine in engines_of(args):
            results.append(label_result(await measure_engine(args, engine, server_dsn),
                                        engine))
            print()
        if args.processes:
            results.append(await process_curve(args, server_dsn))
    return merge(results)


async def run(args: argparse.Namespace) -> int:
    if args.worker is not None:
        return await worker(args.worker)
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
    parser.add_argument("--processes", metavar="N[,N...]", default=None,
                        help="the curve of client processes on one database: for each N, N"
                             " processes each opening its own store and reserving at once,"
                             " the customers shared between them, on one product and across"
                             " 100 products, against one SQLite process (default with"
                             " --engine postgresql or both: 1,2,3; none on sqlite alone; a"
                             " single N means 1..N)")
    parser.add_argument("--worker", metavar="DATABASE", default=None,
                        help=argparse.SUPPRESS)  # one client process of the curve
    add_engine_options(parser)
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.per_customer, args.rounds = 50, 4, 3
    if args.processes is None:
        args.processes = "1,2,3" if "postgresql" in engines_of(args) else ""
    try:
        counts = [int(n) for n in args.processes.split(",") if n.strip()]
    except ValueError:
        parser.error("--processes: numbers separated by commas")
    if len(counts) == 1:
        counts = list(range(1, counts[0] + 1))
    if any(n < 1 for n in counts) or len(set(counts)) != len(counts):
        parser.error("--processes: distinct counts of at least 1")
    args.process_counts = counts
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
