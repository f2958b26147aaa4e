"""The week's figures' queries (#12 §6), one per figure, on a hand-made history: the
reservations closed in each week by outcome and source (the territory's weeks, daylight
saving and midnight in Paris included), and the five most reserved products of a shop
(its hosted makers' products with it) or of the territory; for one shop the database
reads that shop's reservations only."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from itertools import count

from chatshop.storage import Store
from chatshop.storage.figures_protocol import ReservedProduct, WeekCount
from tests.conftest import Territory

_codes = count(10_000)


def utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# The territory's weeks of 16 and 23 November 2026 (Paris, UTC+1): Monday 00:00 local.
WEEK_16 = (utc(15, 23), utc(22, 23))
WEEK_23 = (utc(22, 23), utc(29, 23))


async def made(store: Store, *, user: int, shop: int, status: str, source: str = "chat",
               created: datetime, closed: datetime | None = None,
               lines: tuple[tuple[int, int, int], ...] = ()) -> None:
    """One reservation written as it would be stored; ``lines`` are (product, maker
    shop, quantity)."""
    def write(conn: sqlite3.Connection) -> None:
        number = next(_codes)
        found = conn.execute(
            "INSERT INTO reservations (code, user_id, shop_id, status, total_cents,"
            " idempotency_key, created_at, deadline_at, closed_at, source)"
            " VALUES (?, ?, ?, ?, 100, ?, ?, ?, ?, ?) RETURNING id",
            (f"C{number % 10_000:04d}", user, shop, status, f"k{number}",
             _db(created), _db(created + timedelta(days=2)),
             _db(closed) if closed else None, source)).fetchone()
        conn.executemany(
            "INSERT INTO reservation_lines (reservation_id, product_id, maker_shop_id, name,"
            " unit_price_cents, quantity) VALUES (?, ?, ?, 'old name', 100, ?)",
            [(found[0], product, maker, quantity) for product, maker, quantity in lines])
    await store.db.run_write(write)  # type: ignore[attr-defined]


def _db(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def test_closed_reservations_count_in_the_week_they_closed_in_by_outcome_and_source(
        store: Store, territory: Territory) -> None:
    shop, user = territory.shop.id, territory.customer.id
    other, _owner = await territory.open_shop("Salon Coiffure", "2100")
    created = utc(10, 9)
    for status, source, closed in (
            ("collected", "chat", utc(17, 10)),
            ("collected", "chat", utc(22, 22, 59)),  # Sunday 23:59 in Paris: still the 16th
            ("collected", "phone", utc(18, 10)),
            ("expired", "chat", utc(19, 10)),
            ("cancelled_by_customer", "chat", utc(20, 10)),
            ("cancelled_by_shop", "phone", utc(20, 11)),
            ("collected", "chat", utc(22, 23, 30)),  # Monday 00:30 in Paris: the 23rd
            ("collected", "chat", utc(15, 22, 59))):  # Sunday before: neither week
        await made(store, user=user, shop=shop, status=status, source=source,
                   created=created, closed=closed)
    await made(store, user=user, shop=shop, status="pending", created=utc(17, 9))
    await made(store, user=user, shop=other.id, status="collected", created=created,
               closed=utc(17, 12))

    counts = await store.figures.closed_by_week([WEEK_16, WEEK_23], shop)

    assert counts == [
        WeekCount(0, "cancelled", "chat", 1), WeekCount(0, "cancelled", "phone", 1),
        WeekCount(0, "collected", "chat", 2), WeekCount(0, "collected", "phone", 1),
        WeekCount(0, "expired", "chat", 1),
        WeekCount(1, "collected", "chat", 1)]
    territory_counts = await store.figures.closed_by_week([WEEK_16, WEEK_23], None)
    assert WeekCount(0, "collected", "chat", 3) in territory_counts


async def test_the_most_reserved_products_count_units_not_cancelled_hosted_makers_included(
        store: Store, territory: Territory) -> None:
    shop, user = territory.shop.id, territory.customer.id
    maker, maker_owner = await territory.open_shop("Savonnerie", "2200")
    soap = await territory.product("Savon lavande", shop=maker, owner=maker_owner)
    honey = await territory.product("Miel", 850)
    jam = await territory.product("Confiture", 500)
    tea = await territory.product("Tisane", 400)
    # The soap is the maker's, collected at the Épicerie: it counts for the Épicerie.
    for status, lines in (
            ("collected", ((soap.id, maker.id, 4), (honey.id, shop, 1))),
            ("pending", ((soap.id, maker.id, 2),)),
            ("expired", ((honey.id, shop, 2),)),
            ("cancelled_by_customer", ((jam.id, shop, 9),)),  # undone: not counted
            ("collected", ((tea.id, shop, 1),))):
        await made(store, user=user, shop=shop, status=status, created=utc(17, 9),
                   closed=utc(18, 9) if status != "pending" else None, lines=lines)
    await made(store, user=user, shop=shop, status="collected", created=utc(1, 9),
               closed=utc(2, 9), lines=((jam.id, shop, 50),))  # before the span
    await made(store, user=user, shop=maker.id, status="collected", created=utc(17, 9),
               closed=utc(18, 9), lines=((soap.id, maker.id, 3),))  # at the maker's own

    top = await store.figures.most_reserved(utc(8, 23), WEEK_23[1], shop)

    assert top == [ReservedProduct(soap.id, "Savon lavande", 6),
                   ReservedProduct(honey.id, "Miel", 3),
                   ReservedProduct(tea.id, "Tisane", 1)]
    assert (await store.figures.most_reserved(utc(8, 23), WEEK_23[1], None))[0] == \
        ReservedProduct(soap.id, "Savon lavande", 9)
    assert len(await store.figures.most_reserved(utc(8, 23), WEEK_23[1], None, limit=2)) == 2


async def test_for_one_shop_the_queries_read_its_reservations_through_an_index(
        store: Store, territory: Territory) -> None:
    await made(store, user=territory.customer.id, shop=territory.shop.id,
               status="collected", created=utc(17, 9), closed=utc(18, 9))
    plans: list[str] = []
    db = store.db  # type: ignore[attr-defined]
    original = db.read

    # The plan of the very statements the repository runs, read as it runs them.
    def explaining():  # type: ignore[no-untyped-def]
        class Explained:
            async def __aenter__(self):  # type: ignore[no-untyped-def]
                self.inner = original()
                conn = await self.inner.__aenter__()

                class Conn:
                    async def execute_fetchall(self, sql, params=()):  # type: ignore[no-untyped-def]
                        plan = await conn.execute_fetchall("EXPLAIN QUERY PLAN " + sql, params)
                        plans.append("\n".join(row[3] for row in plan))
                        return await conn.execute_fetchall(sql, params)
                return Conn()

            async def __aexit__(self, *exc):  # type: ignore[no-untyped-def]
                return await self.inner.__aexit__(*exc)
        return Explained()

    db.read = explaining
    try:
        await store.figures.closed_by_week([WEEK_16, WEEK_23], territory.shop.id)
        await store.figures.most_reserved(utc(8, 23), WEEK_23[1], territory.shop.id)
    finally:
        db.read = original
    assert len(plans) == 2
    for plan in plans:
        reservations = [line for line in plan.splitlines() if " r " in line + " "
                        or "reservations" in line]
        assert reservations, plan
        assert all("USING" in line for line in reservations), plan
        assert "SCAN r\n" not in plan + "\n", plan
