"""Benchmark (issue #14): which PostgreSQL driver for chatshop's second storage engine,
asyncpg or psycopg 3 with psycopg-pool, measured on a throw-away cluster started here
(``tests/postgres_cluster.py``: initdb in a temporary folder, 127.0.0.1, a free port).

For each driver, through a pool of 8 connections, interleaved rounds:

- reservations/s: ``--customers`` concurrent tasks each taking one unit of one product
  with chatshop's conditional UPDATE (``on_hand - reserved >= 1``), the stock far larger
  than the demand, so every one is granted; the count taken is checked (0 oversold);
- a product by id: concurrent ``SELECT`` by primary key, lookups/s.

The figures are medians of ``--rounds`` rounds; each driver's ratio is against asyncpg
in the same run. No chatshop code is measured: this picks the driver the engine is
built on.

    python bench/pg_drivers.py [--quick] [--customers N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import psycopg_pool
from _common import print_table

from tests.postgres_cluster import cluster

TABLE = """CREATE TABLE IF NOT EXISTS stock (id int PRIMARY KEY, name text NOT NULL,
    on_hand int NOT NULL, reserved int NOT NULL DEFAULT 0, CHECK (reserved <= on_hand))"""
TAKE = "UPDATE stock SET reserved = reserved + 1 WHERE id = {p} AND on_hand - reserved >= 1"
READ = "SELECT id, name, on_hand, reserved FROM stock WHERE id = {p}"
POOL = 8


async def timed(tasks: int, one: Callable[[int], Awaitable[int]]) -> tuple[float, int]:
    started = time.perf_counter()
    done = await asyncio.gather(*(one(n) for n in range(tasks)))
    return tasks / (time.perf_counter() - started), sum(done)


async def with_asyncpg(dsn: str, customers: int) -> tuple[float, float, int]:
    pool = await asyncpg.create_pool(dsn, min_size=POOL, max_size=POOL)
    assert pool is not None
    try:
        async def take(_n: int) -> int:
            async with pool.acquire() as conn:
                return int(await conn.execute(TAKE.format(p="$1"), 1) == "UPDATE 1")

        async def read(n: int) -> int:
            async with pool.acquire() as conn:
                return int(await conn.fetchrow(READ.format(p="$1"), 1 + n % 100) is not None)

        reserved, granted = await timed(customers, take)
        lookups, _found = await timed(customers, read)
        return reserved, lookups, granted
    finally:
        await pool.close()


async def with_psycopg(dsn: str, customers: int) -> tuple[float, float, int]:
    pool = psycopg_pool.AsyncConnectionPool(dsn, min_size=POOL, max_size=POOL, open=False)
    await pool.open(wait=True)
    try:
        async def take(_n: int) -> int:
            async with pool.connection() as conn:
                done = await conn.execute(TAKE.format(p="%s"), (1,))
                return int(done.rowcount == 1)

        async def read(n: int) -> int:
            async with pool.connection() as conn:
                cursor = await conn.execute(READ.format(p="%s"), (1 + n % 100,))
                return int(await cursor.fetchone() is not None)

        reserved, granted = await timed(customers, take)
        lookups, _found = await timed(customers, read)
        return reserved, lookups, granted
    finally:
        await pool.close()


async def main(args: argparse.Namespace) -> int:
    with cluster() as dsn:
        setup = await asyncpg.connect(dsn)
        try:
            await setup.execute(TABLE)
            await setup.execute("INSERT INTO stock (id, name, on_hand) SELECT n, 'produit '"
                                " || n, 1000000 FROM generate_series(1, 100) n")
            drivers = {"asyncpg": with_asyncpg, "psycopg 3 + psycopg-pool": with_psycopg}
            seen: dict[str, list[tuple[float, float, int]]] = {name: [] for name in drivers}
            for _round in range(args.rounds):
                for name, run in drivers.items():
                    before = await setup.fetchval("SELECT reserved FROM stock WHERE id = 1")
                    figures = await run(dsn, args.customers)
                    after = await setup.fetchval("SELECT reserved FROM stock WHERE id = 1")
                    if after - before != figures[2]:
                        print(f"FAILED: {name} granted {figures[2]}, took {after - before}")
                        return 1
                    seen[name].append(figures)
        finally:
            await setup.close()
    base = {k: statistics.median(f[k] for f in seen["asyncpg"]) for k in (0, 1)}
    rows = []
    for name, figures in seen.items():
        reserve = statistics.median(f[0] for f in figures)
        look = statistics.median(f[1] for f in figures)
        rows.append([name, f"{reserve:,.0f}/s".replace(",", " "), f"{reserve / base[0]:.2f}",
                     f"{look:,.0f}/s".replace(",", " "), f"{look / base[1]:.2f}"])
    print(f"PostgreSQL drivers: {args.customers} concurrent tasks, a pool of {POOL},"
          f" median of {args.rounds} rounds\n")
    print_table(["driver", "reservations", "vs asyncpg", "lookups by id", "vs asyncpg"],
                rows)
    print("\nEvery reservation counted as granted was taken in the table: 0 oversold.")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of 500 tasks")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.customers, arguments.rounds = 500, 3
    sys.exit(asyncio.run(main(arguments)))
