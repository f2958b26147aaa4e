"""Many customers at once on the last units: never oversold, never a lost refusal."""

import asyncio
import json
from datetime import UTC, datetime
from itertools import cycle

from chatshop.domain.models import PickupOrder, ShopDetails
from chatshop.errors import OutOfStock
from chatshop.storage import Store
from tests.conftest import Territory

CUSTOMERS = 200
AVAILABLE = 10
ROUNDS = 20


async def test_200_customers_on_10_units_get_exactly_10_reservations_every_time(
        territory: Territory, store: Store) -> None:
    services = territory.services
    customers = [await territory.person(f"c{n}") for n in range(CUSTOMERS)]
    # A lucky customer may win every round: the cap of open reservations is not tested here.
    await store.shops.update_shop(territory.shop.id, ShopDetails(max_open_reservations=999))
    for round_ in range(ROUNDS):
        product = await territory.product(f"Galette des rois n°{round_}", 1800,
                                          on_hand=AVAILABLE)

        async def reserve(user_id: int, product_id: int = product.id,
                          key: str = f"round-{round_}") -> str:
            try:
                await services.reservations.reserve_now(user_id, product_id, 1, key)
            except OutOfStock as refusal:
                return f"out of stock, {refusal.available} left"
            return "reserved"

        outcomes = await asyncio.gather(*(reserve(c.id) for c in customers))
        assert outcomes.count("reserved") == AVAILABLE
        assert outcomes.count("out of stock, 0 left") == CUSTOMERS - AVAILABLE
        after = await services.catalogue.product(product.id)
        assert (after.on_hand, after.reserved) == (AVAILABLE, AVAILABLE)
    live = await store.orders.live_quantities()
    for product_id, quantity in live.items():
        assert (await services.catalogue.product(product_id)).reserved == quantity
    assert sum(live.values()) == AVAILABLE * ROUNDS


async def test_concurrent_multi_line_baskets_are_all_or_nothing(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product("Miel", 850, on_hand=7)
    jam = await territory.product("Confiture", 550, on_hand=5)
    customers = [await territory.person(f"b{n}") for n in range(40)]
    for customer in customers:
        await services.baskets.add(customer.id, honey.id, 1)
        await services.baskets.add(customer.id, jam.id, 1)

    async def confirm(user_id: int) -> bool:
        try:
            await services.reservations.confirm_basket(user_id, "basket")
        except OutOfStock:
            return False
        return True

    outcomes = await asyncio.gather(*(confirm(c.id) for c in customers))
    assert outcomes.count(True) == 5  # jam runs out first; no honey is held for the rest
    assert (await services.catalogue.product(honey.id)).reserved == 5
    assert (await services.catalogue.product(jam.id)).reserved == 5


async def test_a_taken_code_is_drawn_again(territory: Territory, store: Store) -> None:
    honey = await territory.product("Miel", 850, on_hand=5)
    order = PickupOrder(shop_id=territory.shop.id, items=((honey.id, 1),),
                        deadline_at=datetime(2026, 12, 1, tzinfo=UTC))
    codes = cycle(["AAAAA", "AAAAA", "BBBBB"])
    now = datetime(2026, 11, 26, tzinfo=UTC)
    (first,) = await store.orders.reserve(territory.customer.id, "a", [order], now,
                                          lambda: next(codes), from_basket=False)
    (second,) = await store.orders.reserve(territory.customer.id, "b", [order], now,
                                           lambda: next(codes), from_basket=False)
    assert (first.code, second.code) == ("AAAAA", "BBBBB")


async def test_notifications_queued_at_the_same_moment_each_get_their_own_rows_in_order(
        store: Store) -> None:
    # Queued at once, they share transactions: each caller must still get the ids of
    # its own messages, in its own order, and every message must be kept.
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    async def queue(n: int) -> list[int]:
        return await store.outbox.add(
            [("telegram", str(1000 + n), json.dumps({"text": f"{n}.{part}"}), None)
             for part in range(3)], now)

    ids = await asyncio.gather(*(queue(n) for n in range(50)))
    assert len({i for batch in ids for i in batch}) == 150
    for n, batch in enumerate(ids):
        assert batch == sorted(batch)
        kept = [(await store.db.lookup(  # type: ignore[attr-defined]
            "SELECT recipient, message FROM outbox WHERE id = ?", (i,)))[0] for i in batch]
        assert [tuple(row) for row in kept] == [
            (str(1000 + n), json.dumps({"text": f"{n}.{part}"})) for part in range(3)]


async def test_events_written_down_and_marked_handled_at_the_same_moment_all_count(
        store: Store) -> None:
    # Receipts and "handled" marks share transactions: a mark must not be lost to a
    # receipt beside it, nor a receipt to a mark.
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    first = [(str(n), json.dumps({"n": n})) for n in range(20)]
    assert await store.inbox.receive("telegram", first, now) == {e for e, _ in first}
    later = [(str(n), json.dumps({"n": n})) for n in range(20, 40)]
    received, *_marks = await asyncio.gather(
        store.inbox.receive("telegram", [*later, first[0]], now),
        *(store.inbox.handled("telegram", event_id, now) for event_id, _ in first))
    assert received == {e for e, _ in later}  # the first one came again: not new
    waiting = await store.inbox.waiting("telegram")
    assert {w.event_id for w in waiting} == {e for e, _ in later}
    assert (await store.db.lookup(  # type: ignore[attr-defined]
        "SELECT count(*) FROM inbound_events WHERE handled_at IS NOT NULL"
        " AND payload = '{}'"))[0][0] == 20
