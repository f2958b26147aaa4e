"""The throw-away PostgreSQL cluster the suite starts for #14's second storage engine:
it answers on the loopback address only, and a conditional UPDATE under concurrent
connections (the reservation's primitive) never takes more than there is."""

from __future__ import annotations

import asyncio

import asyncpg


async def test_the_cluster_listens_on_the_loopback_address_only(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
        assert int(await conn.fetchval("SHOW server_version_num")) >= 150000
    finally:
        await conn.close()


async def test_concurrent_conditional_updates_never_take_more_than_there_is(
        postgres_dsn: str) -> None:
    setup = await asyncpg.connect(postgres_dsn)
    try:
        await setup.execute("DROP TABLE IF EXISTS stock_probe")
        await setup.execute("CREATE TABLE stock_probe (id int PRIMARY KEY, on_hand int NOT NULL,"
                            " reserved int NOT NULL DEFAULT 0, CHECK (reserved <= on_hand))")
        await setup.execute("INSERT INTO stock_probe (id, on_hand) VALUES (1, 10)")
        pool = await asyncpg.create_pool(postgres_dsn, min_size=8, max_size=8)
        assert pool is not None

        async def reserve() -> bool:
            async with pool.acquire() as conn:
                done = await conn.execute(
                    "UPDATE stock_probe SET reserved = reserved + 1"
                    " WHERE id = 1 AND on_hand - reserved >= 1")
                return bool(done == "UPDATE 1")

        try:
            granted = await asyncio.gather(*(reserve() for _ in range(50)))
        finally:
            await pool.close()
        assert sum(granted) == 10
        assert await setup.fetchval("SELECT reserved FROM stock_probe WHERE id = 1") == 10
    finally:
        await setup.execute("DROP TABLE IF EXISTS stock_probe")
        await setup.close()
