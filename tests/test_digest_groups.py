"""The digest composed once per group (issue #13) gives every subscriber what the
composition of issue #5 gave them, subscriber by subscriber, on a generated territory:
communes and shops followed, first digests and old ones, hosted products, hidden,
deleted, sold-out and restocked products, announcements old and new, shops on holiday
and closed, people who blocked the bot. And a run that sends from news gathered a while
ago loses nothing added meanwhile: it is in the next digest."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta

from chatshop.delivery.broadcast import deliver_run
from chatshop.delivery.outcome import Message, Outcome, Sent
from chatshop.domain.digest_news import News
from chatshop.domain.models import (
    Digest,
    DigestProduct,
    DigestShopNews,
    ShopDetails,
    Subscription,
    SubscriptionScope,
)
from chatshop.services import Services
from chatshop.storage import rows
from chatshop.storage.interface import Store
from chatshop.storage.listing import LISTED_JOINS, VISIBLE
from tests.conftest import FakeClock, Territory
from tests.test_digest import subscribers_with_news

DAY = timedelta(days=1)


async def composed(services: Services, channel: str | None = None) -> dict[int, Digest]:
    """Every subscriber's digest, as the pages of ``compose_all`` give them."""
    found: dict[int, Digest] = {}
    async for page in services.digest.compose_all(channel, page=37):  # pages cut anywhere
        for subscriber, share in page:
            assert subscriber.user_id not in found
            found[subscriber.user_id] = share.to(subscriber)
    return found


# -- the composition of issue #5, kept as the reference ---------------------------------

def reference(conn: sqlite3.Connection, now: datetime) -> dict[int, Digest]:
    """Each subscriber's digest as issue #5 composed it: every subscriber with the time
    of their last digest, the territory's news since the oldest, and a filter of all the
    news for each subscriber."""
    conn.row_factory = sqlite3.Row
    subscribers = conn.execute("""
        SELECT s.scope, u.*,
            (SELECT group_concat(commune_id) FROM subscription_communes c
              WHERE c.user_id = s.user_id) AS communes,
            (SELECT group_concat(shop_id) FROM subscription_shops p
              WHERE p.user_id = s.user_id) AS shops,
            (SELECT max(attempted_at) FROM digest_deliveries d
              WHERE d.user_id = s.user_id AND d.status = 'sent') AS last_sent
        FROM subscriptions s JOIN users u ON u.id = s.user_id ORDER BY s.user_id""").fetchall()

    def since(last: str | None) -> datetime:
        return max(rows.from_db_time(last) if last else now - 7 * DAY, now - 14 * DAY)

    oldest = rows.to_db_time(min(since(r["last_sent"]) for r in subscribers))
    columns = ("p.id, p.name, p.price_cents, p.created_at, pickup.id AS shop_id,"
               " pickup.name AS shop_name, pickup.commune_id")
    added = conn.execute(f"""
        SELECT {columns}, p.created_at AS at FROM products p {LISTED_JOINS}
        WHERE {VISIBLE} AND p.created_at > ? ORDER BY p.created_at DESC, p.id DESC""",
        (oldest,)).fetchall()
    back = conn.execute(f"""
        SELECT {columns}, p.restocked_at AS at FROM products p {LISTED_JOINS}
        WHERE {VISIBLE} AND p.restocked_at > ? AND p.restocked_at > p.created_at
          AND p.on_hand > p.reserved ORDER BY p.restocked_at DESC, p.id DESC""",
        (oldest,)).fetchall()
    said = conn.execute("""
        SELECT id, name, commune_id, announcement, announcement_at FROM shops
        WHERE active = 1 AND announcement != '' AND announcement_at > ?
        ORDER BY announcement_at DESC""", (oldest,)).fetchall()
    closed = conn.execute("""
        SELECT id, name, commune_id, holiday_message FROM shops
        WHERE active = 1 AND on_holiday = 1 ORDER BY name""").fetchall()

    def product(r: sqlite3.Row) -> tuple[DigestProduct, int]:
        return (DigestProduct(id=r["id"], name=r["name"], price_cents=r["price_cents"],
                              shop_id=r["shop_id"], shop_name=r["shop_name"],
                              at=rows.from_db_time(r["at"]),
                              created_at=rows.from_db_time(r["created_at"])), r["commune_id"])

    news_added, news_back = [product(r) for r in added], [product(r) for r in back]
    news_said = [(DigestShopNews(shop_id=r["id"], shop_name=r["name"], text=r["announcement"],
                                 at=rows.from_db_time(r["announcement_at"])), r["commune_id"])
                 for r in said]
    news_closed = [(DigestShopNews(shop_id=r["id"], shop_name=r["name"],
                                   text=r["holiday_message"]), r["commune_id"]) for r in closed]
    found = {}
    for r in subscribers:
        sub = Subscription(user_id=r["id"], scope=SubscriptionScope(r["scope"]),
                           commune_ids=_ids(r["communes"]), shop_ids=_ids(r["shops"]),
                           consented_at=now)
        start = since(r["last_sent"])

        def followed(shop_id: int, commune_id: int, sub: Subscription = sub) -> bool:
            if sub.scope is SubscriptionScope.TERRITORY:
                return True
            if sub.scope is SubscriptionScope.COMMUNES:
                return commune_id in sub.commune_ids
            return shop_id in sub.shop_ids

        shops_said: dict[int, DigestShopNews] = {}
        for news, commune in news_said:
            if news.at is not None and news.at > start and followed(news.shop_id, commune):
                shops_said.setdefault(news.shop_id, news)
        found[sub.user_id] = Digest(
            user_id=r["id"], channel=r["channel"], external_id=r["external_id"],
            unreachable=r["unreachable_at"] is not None,
            new=tuple(p for p, c in news_added if p.at > start and followed(p.shop_id, c)),
            back_in_stock=tuple(p for p, c in news_back if p.at > start
                                and followed(p.shop_id, c) and p.created_at <= start),
            announcements=tuple(shops_said.values()),
            closures=tuple(n for n, c in news_closed if followed(n.shop_id, c)))
    return found


def _ids(text: str | None) -> frozenset[int]:
    return frozenset(int(part) for part in text.split(",")) if text else frozenset()


# -- a generated territory --------------------------------------------------------------

async def generate(territory: Territory, store: Store, clock: FakeClock,
                   rng: random.Random) -> None:
    services, operator = territory.services, territory.operator
    now = clock.now
    communes = [territory.commune.id] + [
        (await services.shops.add_commune(operator, f"Commune {n}", f"87{n:03d}")).id
        for n in range(1, 7)]
    shops = [territory.shop.id] + [
        (await services.shops.create_shop(operator, f"Boutique {n}", communes[n % 7])).id
        for n in range(1, 30)]
    for shop_id in shops[1:4]:
        await services.shops.set_holiday(operator, shop_id, True, "En congés.")
    await services.shops.update_shop(operator, shops[4], ShopDetails(active=False))

    def when(days: float) -> str:
        return rows.to_db_time(now - days * DAY)

    def write(conn: sqlite3.Connection) -> None:
        values = []
        for n in range(900):
            created = rng.uniform(0.01, 30)
            restocked = rng.uniform(0.005, created) if rng.random() < 0.3 else None
            on_hand = rng.choice([0, 0, 1, 3, 10])
            values.append((
                rng.choice(shops), f"Produit {n}", "", rng.randint(100, 5000), on_hand,
                min(on_hand, rng.choice([0, 0, 1])), int(rng.random() < 0.05),
                when(created), when(created),
                None if restocked is None else when(restocked),
                when(created / 2) if rng.random() < 0.03 else None,
                rng.choice(shops[5:]) if rng.random() < 0.1 else None))
        values = [(*v[:-1], None) if v[-1] == v[0] else v for v in values]
        conn.executemany(
            "INSERT INTO products (shop_id, name, description, price_cents, on_hand,"
            " reserved, hidden, created_at, updated_at, restocked_at, deleted_at,"
            " host_shop_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
        hosted = conn.execute("SELECT DISTINCT host_shop_id, shop_id FROM products"
                              " WHERE host_shop_id IS NOT NULL AND host_shop_id != shop_id")
        conn.executemany(
            "INSERT INTO hostings (host_shop_id, maker_shop_id, status, proposed_at)"
            " VALUES (?, ?, ?, ?)",
            [(h, m, rng.choice(["accepted", "accepted", "proposed", "ended"]), when(40))
             for h, m in hosted.fetchall()])
        conn.executemany("UPDATE shops SET announcement = ?, announcement_at = ? WHERE id = ?",
                         [(f"Nouvelle {n}", when(rng.uniform(0.01, 25)), shop_id)
                          for n, shop_id in enumerate(rng.sample(shops, 18))])
    await store.db.run_write(write)

    past_runs = []
    for weeks in (1, 2, 3):
        run_id = await store.db.run_write(lambda conn, w=weeks: int(conn.execute(
            "INSERT INTO digest_runs (channel, week, forced, started_at, finished_at)"
            " VALUES ('telegram', ?, 0, ?, ?) RETURNING id",
            (f"2026-W{48 - w}", when(7 * w), when(7 * w - 0.1))).fetchone()[0]))
        past_runs.append((weeks, run_id))
    for n in range(400):
        person = await territory.person(str(10_000 + n))
        draw = rng.random()
        if draw < 0.35:
            await services.digest.subscribe(person.id, SubscriptionScope.TERRITORY)
        elif draw < 0.65:
            await services.digest.subscribe(person.id, SubscriptionScope.COMMUNES,
                                            commune_ids=rng.sample(communes, rng.randint(1, 3)))
        else:
            await services.digest.subscribe(person.id, SubscriptionScope.SHOPS,
                                            shop_ids=rng.sample(shops[5:], rng.randint(1, 5)))
        if rng.random() < 0.05:
            await services.customers.blocked_the_bot("telegram", person.external_id)
        # Digests of before this version: sent when they were composed (the migration's
        # news_at is their sending time); some subscribers had none yet.
        for weeks, run_id in past_runs:
            if rng.random() < 0.6:
                sent = when(7 * weeks - rng.uniform(0, 0.1))
                await store.db.run_write(lambda conn, r=run_id, u=person.id, t=sent:
                                                   conn.execute(
                    "INSERT INTO digest_deliveries (run_id, user_id, status, attempted_at,"
                    " done_at, news_at) VALUES (?, ?, 'sent', ?, ?, ?)", (r, u, t, t, t)))


async def test_every_subscriber_gets_what_the_composition_of_issue_5_gave(
        territory: Territory, store: Store, clock: FakeClock) -> None:
    await generate(territory, store, clock, random.Random(1305))
    want = await store.db.run_write(lambda conn: reference(conn, clock.now))
    got = await composed(territory.services)
    assert set(got) == set(want)
    assert len(want) == 400
    differ = [u for u in want if got[u] != want[u]]
    assert differ == [], f"{len(differ)} digests differ, e.g. user {differ[:1]}"
    kinds = {(len(d.new) > 0, len(d.back_in_stock) > 0, len(d.announcements) > 0,
              len(d.closures) > 0, d.unreachable) for d in got.values()}
    assert len(kinds) >= 8  # the territory exercises the rules, not only empty digests


async def test_what_is_added_while_a_run_sends_is_in_the_next_digest(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    people, run_id = await subscribers_with_news(territory, clock, 120, first=5000)
    received: dict[str, list[str]] = {}
    added = []

    async def send(message: Message) -> Outcome:
        assert message.reply.to is not None
        received.setdefault(message.reply.to.user_id, []).append(message.reply.text)
        clock.now += timedelta(seconds=4)  # a paced run: the news gathered get older
        if len(received) == 60:  # halfway through the second batch: a product added
            added.append(await territory.product("Savon au lait d'ânesse", 650))
        return Sent()

    report = await deliver_run(services, "Territoire", run_id, send)
    assert report.sent == 120
    saw_savon = {who for who, texts in received.items() if "Savon" in texts[0]}
    # The third batch of 50 starts 400 s in: composed from news gathered again then.
    assert len(saw_savon) == 20
    clock.now += 7 * DAY - timedelta(hours=1)
    next_week = await composed(services, "telegram")
    for person in people:
        texts = next_week[person.id]
        names = [p.name for p in texts.new]
        # Once, in one digest or the other: never lost, never twice.
        assert (person.external_id in saw_savon) != ("Savon au lait d'ânesse" in names)
        assert "Miel de châtaignier" not in names


def test_what_is_written_while_the_news_are_read_goes_in_the_next_digest_only() -> None:
    gathered = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    since = gathered - 7 * DAY

    def product(n: int, at: datetime) -> tuple[DigestProduct, int]:
        return DigestProduct(id=n, name=f"Produit {n}", price_cents=500, shop_id=1,
                             shop_name="Boutique", at=at, created_at=at), 1

    # Product 2 was stamped a moment after the gathering began, and read by its queries.
    news = News(gathered, since, [product(1, gathered - DAY),
                                  product(2, gathered + timedelta(milliseconds=3))], [], [], [])
    everyone = SubscriptionScope.TERRITORY
    assert [p.id for p in news.share(everyone, frozenset(), since).new] == [1]
    later = News(gathered + 7 * DAY, gathered,
                 [product(2, gathered + timedelta(milliseconds=3))], [], [], [])
    assert [p.id for p in later.share(everyone, frozenset(), gathered).new] == [2]
