"""Baskets and reservations: holding stock for customers, and giving it back.

Stock is only ever taken with one conditional ``UPDATE`` per product inside the writer
transaction (``reserved + q`` only where ``on_hand - reserved >= q``), so two customers
can never both get the last unit, and a multi-line reservation is all or nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import aiosqlite

from chatshop.domain.models import (
    Basket,
    BasketLine,
    Contact,
    PickupOrder,
    Reservation,
    ReservationLine,
    ReservationSource,
    ReservationStatus,
    StockReason,
)
from chatshop.errors import (
    NoLongerOffered,
    NotFound,
    OutOfStock,
    ShopUnavailable,
    TooManyReservations,
    TooManyUnits,
    WrongState,
)
from chatshop.storage import rows
from chatshop.storage.catalogue import record_movement
from chatshop.storage.database import Connections
from chatshop.storage.interface import AlreadyReserved
from chatshop.storage.listing import LISTED_JOINS, VISIBLE

_LIVE = ("pending", "ready")
_CODE_ATTEMPTS = 50


async def _load(conn: aiosqlite.Connection, where: str,
                params: Sequence[Any] = ()) -> list[Reservation]:
    found = await rows.fetch_all(
        conn, "SELECT reservations.*, c.name AS contact_name, c.phone AS contact_phone"
        " FROM reservations LEFT JOIN reservation_contacts c ON c.reservation_id ="
        f" reservations.id {where}", params)
    if not found:
        return []
    ids = [r["id"] for r in found]
    marks = ", ".join("?" * len(ids))
    lines: dict[int, list[aiosqlite.Row]] = {i: [] for i in ids}
    for line in await rows.fetch_all(
        conn, f"SELECT * FROM reservation_lines WHERE reservation_id IN ({marks})"
        " ORDER BY rowid", ids,
    ):
        lines[line["reservation_id"]].append(line)
    return [rows.reservation(r, lines[r["id"]]) for r in found]


class SqliteOrderRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db

    # -- baskets ----------------------------------------------------------------------

    async def add_to_basket(self, user_id: int, product_id: int, quantity: int,
                            now: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """INSERT INTO basket_lines (user_id, product_id, quantity, added_at)
                   VALUES (?, ?, ?, ?)
                   ON CONFLICT (user_id, product_id) DO UPDATE SET
                       quantity = basket_lines.quantity + excluded.quantity""",
                (user_id, product_id, quantity, rows.to_db_time(now)),
            )

    async def set_basket_quantity(self, user_id: int, product_id: int, quantity: int,
                                  now: datetime) -> None:
        """Change a line's quantity; 0 removes the line."""
        async with self._db.write() as conn:
            if quantity == 0:
                await conn.execute(
                    "DELETE FROM basket_lines WHERE user_id = ? AND product_id = ?",
                    (user_id, product_id),
                )
                return
            await conn.execute(
                """INSERT INTO basket_lines (user_id, product_id, quantity, added_at)
                   VALUES (?, ?, ?, ?)
                   ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = excluded.quantity""",
                (user_id, product_id, quantity, rows.to_db_time(now)),
            )

    async def items_in_baskets(self, user_id: int) -> int:
        found = await self._db.lookup(
            "SELECT COALESCE(SUM(quantity), 0) FROM basket_lines WHERE user_id = ?", (user_id,))
        return int(found[0][0])

    async def baskets(self, user_id: int) -> list[Basket]:
        """The customer's baskets, one per pickup shop, oldest first."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn,
                f"""SELECT p.*, {rows.PRODUCT_PHOTOS}, b.quantity,
                          COALESCE(p.host_shop_id, p.shop_id) AS pickup
                   FROM basket_lines b JOIN products p ON p.id = b.product_id
                   WHERE b.user_id = ? ORDER BY b.added_at, p.id""",
                (user_id,),
            )
        by_shop: dict[int, list[BasketLine]] = {}
        for row in found:
            by_shop.setdefault(row["pickup"], []).append(
                BasketLine(product=rows.product(row), quantity=row["quantity"])
            )
        return [Basket(user_id=user_id, shop_id=shop_id, lines=tuple(lines))
                for shop_id, lines in by_shop.items()]

    async def clear_basket(self, user_id: int, product_ids: Sequence[int] | None = None) -> None:
        await self._db.run_write(partial(_clear_basket, user_id=user_id,
                                         product_ids=product_ids))

    # -- reservations -----------------------------------------------------------------

    async def reserve(self, user_id: int, idempotency_key: str, orders: Sequence[PickupOrder],
                      now: datetime, code: Callable[[], str], *,
                      from_basket: bool, source: ReservationSource = ReservationSource.CHAT,
                      contact: Contact | None = None) -> list[Reservation]:
        """Hold stock and create one reservation per order, all in one transaction.

        If this customer already confirmed with ``idempotency_key``, nothing happens and
        ``AlreadyReserved`` carries the reservations made then. A short line raises
        ``OutOfStock`` naming it, and nothing is reserved. A chat reservation keeps to
        the pickup shop's caps, checked in the same transaction (``TooManyUnits``,
        ``TooManyReservations``); a phone one records its ``contact`` instead.
        """
        def transaction(conn: sqlite3.Connection) -> list[Reservation]:
            if conn.execute(
                "SELECT 1 FROM reservations WHERE user_id = ? AND idempotency_key = ? LIMIT 1",
                (user_id, idempotency_key),
            ).fetchone():
                raise _AlreadyConfirmed  # whatever is asked now: the key was spent then
            return [_create(conn, user_id, idempotency_key, order, now, code, from_basket,
                            source, contact)
                    for order in orders]

        try:
            return await self._db.run_write(transaction)
        except _AlreadyConfirmed:
            # A double tap, a redelivered update: the first one's reservations stand.
            raise AlreadyReserved(
                await self.by_idempotency_key(user_id, idempotency_key)) from None

    async def transition(self, reservation_id: int, to: ReservationStatus,
                         allowed_from: Sequence[ReservationStatus], now: datetime, *,
                         reason: str | None = None, user_id: int | None = None) -> Reservation:
        """Move a reservation to ``to`` if it is in one of ``allowed_from``; closing it
        gives its stock back (and, once collected, takes it out of ``on_hand``)."""
        async with self._db.write() as conn:
            return await _transition(conn, reservation_id, to, allowed_from, now, reason,
                                     user_id)

    async def expire_overdue(self, now: datetime) -> list[Reservation]:
        """Expire every live reservation past its deadline and give its stock back."""
        async with self._db.write() as conn:
            ids = [r[0] for r in await rows.fetch_all(
                conn,
                "SELECT id FROM reservations WHERE status IN ('pending', 'ready')"
                " AND deadline_at <= ? ORDER BY deadline_at",
                (rows.to_db_time(now),),
            )]
            return [
                await _transition(
                    conn, rid, ReservationStatus.EXPIRED,
                    (ReservationStatus.PENDING, ReservationStatus.READY), now, None, None)
                for rid in ids
            ]

    async def due_for_reminder(self, now: datetime, lead: timedelta) -> list[Reservation]:
        """Live reservations whose deadline is within ``lead`` and not yet reminded."""
        async with self._db.read() as conn:
            return await _load(
                conn,
                "WHERE status IN ('pending', 'ready') AND reminded_at IS NULL"
                " AND deadline_at > ? AND deadline_at <= ? ORDER BY deadline_at",
                (rows.to_db_time(now), rows.to_db_time(now + lead)),
            )

    async def claim_reminders(self, reservation_ids: Sequence[int],
                              now: datetime) -> list[int]:
        """Mark these reservations reminded now, those still live and not reminded yet
        (in one statement: of two sweeps at once, each reservation goes to one); returns
        the ids this call marked."""
        ids = list(dict.fromkeys(reservation_ids))
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))

        def claim(conn: sqlite3.Connection) -> list[int]:
            return [row[0] for row in conn.execute(
                f"UPDATE reservations SET reminded_at = ? WHERE id IN ({marks})"
                " AND reminded_at IS NULL AND status IN ('pending', 'ready') RETURNING id",
                (rows.to_db_time(now), *ids))]
        return sorted(await self._db.run_write(claim))

    async def by_idempotency_key(self, user_id: int, key: str) -> list[Reservation]:
        async with self._db.read() as conn:
            return await _load(conn, "WHERE user_id = ? AND idempotency_key = ? ORDER BY id",
                               (user_id, key))

    async def get(self, reservation_id: int) -> Reservation | None:
        async with self._db.read() as conn:
            found = await _load(conn, "WHERE id = ?", (reservation_id,))
        return found[0] if found else None

    async def live_by_code(self, code: str) -> Reservation | None:
        async with self._db.read() as conn:
            found = await _load(conn, "WHERE code = ? AND status IN ('pending', 'ready')",
                                (code,))
        return found[0] if found else None

    async def of_user(self, user_id: int, *, live_only: bool = False,
                      limit: int = 20) -> list[Reservation]:
        """The person's own reservations, newest first: those made in the chat only (a
        phone reservation a staff member took is the shop's, for someone else)."""
        live = " AND status IN ('pending', 'ready')" if live_only else ""
        async with self._db.read() as conn:
            return await _load(
                conn, f"WHERE user_id = ? AND source = 'chat'{live}"
                " ORDER BY created_at DESC, id DESC LIMIT ?",
                (user_id, limit),
            )

    # -- the person a phone reservation is for (#12 T) ----------------------------------

    async def erase_contact(self, reservation_id: int) -> bool:
        """Forget the name and phone of a phone reservation (the reservation stays), and
        the team's messages about it that name them (kept in the outbox); whether there
        was one."""
        def erase(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM outbox WHERE regarding = ?", (reservation_id,))
            return conn.execute("DELETE FROM reservation_contacts WHERE reservation_id = ?",
                                (reservation_id,)).rowcount > 0
        return await self._db.run_write(erase)

    async def drop_contacts_closed_before(self, cutoff: datetime) -> int:
        """Forget the contacts of reservations closed (collected, cancelled, expired)
        before ``cutoff``, and the messages about them still kept; how many went."""
        def drop(conn: sqlite3.Connection) -> int:
            closed = ("SELECT reservation_id FROM reservation_contacts WHERE reservation_id IN"
                      " (SELECT id FROM reservations WHERE closed_at IS NOT NULL"
                      " AND closed_at < ? AND status NOT IN ('pending', 'ready'))")
            when = (rows.to_db_time(cutoff),)
            conn.execute(f"DELETE FROM outbox WHERE regarding IN ({closed})", when)
            return conn.execute(
                f"DELETE FROM reservation_contacts WHERE reservation_id IN ({closed})",
                when).rowcount
        return await self._db.run_write(drop)

    async def of_shop(self, shop_id: int, statuses: Sequence[ReservationStatus], *,
                      limit: int = 20) -> list[Reservation]:
        marks = ", ".join("?" * len(statuses))
        async with self._db.read() as conn:
            return await _load(
                conn,
                f"WHERE shop_id = ? AND status IN ({marks}) ORDER BY deadline_at, id LIMIT ?",
                (shop_id, *(s.value for s in statuses), limit),
            )

    async def live_quantities(self) -> dict[int, int]:
        """Units held by live reservations, per product (for audits and tests)."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn,
                """SELECT l.product_id, sum(l.quantity) FROM reservation_lines l
                   JOIN reservations r ON r.id = l.reservation_id
                   WHERE r.status IN ('pending', 'ready') GROUP BY l.product_id""",
            )
        return {r[0]: r[1] for r in found}


# The reservation transaction runs synchronously in the writer's thread (``run_write``):
# plain sqlite3 calls, no await between reading the stock and taking it.


def _hold(conn: sqlite3.Connection, product_id: int, quantity: int) -> sqlite3.Row:
    """Reserve ``quantity`` units or raise ``OutOfStock``; returns the price snapshot."""
    row: sqlite3.Row | None = conn.execute(
        """UPDATE products SET reserved = reserved + :q
           WHERE id = :id AND on_hand - reserved >= :q
           RETURNING id, shop_id, name, price_cents""",
        {"q": quantity, "id": product_id},
    ).fetchone()
    if row is not None:
        return row
    short = conn.execute(
        "SELECT name, on_hand - reserved AS available FROM products WHERE id = ?",
        (product_id,),
    ).fetchone()
    if short is None:
        raise NotFound("product", product_id)
    raise OutOfStock(product_id, short["name"], short["available"])


def _check_offered(conn: sqlite3.Connection, order: PickupOrder) -> sqlite3.Row:
    """The shop takes reservations and lists every product of the order, now: checked
    in the transaction, so a product hidden or a shop closed a moment ago is refused.
    Returns the shop's row (its name and caps)."""
    shop: sqlite3.Row | None = conn.execute(
        "SELECT name, active, on_holiday, holiday_message, max_units_per_product,"
        " max_open_reservations FROM shops WHERE id = ?", (order.shop_id,)).fetchone()
    if shop is None:
        raise NotFound("shop", order.shop_id)
    if shop["on_holiday"] or not shop["active"]:
        raise ShopUnavailable(shop["name"],
                              shop["holiday_message"] if shop["on_holiday"] else None)
    wanted = [product_id for product_id, _ in order.items]
    marks = ", ".join("?" * len(wanted))
    offered = {row[0] for row in conn.execute(
        f"SELECT p.id FROM products p {LISTED_JOINS} WHERE {VISIBLE}"
        f" AND pickup.id = ? AND p.id IN ({marks})", (order.shop_id, *wanted))}
    for product_id in wanted:
        if product_id not in offered:
            row = conn.execute("SELECT name FROM products WHERE id = ?",
                               (product_id,)).fetchone()
            if row is None:
                raise NotFound("product", product_id)
            raise NoLongerOffered(row["name"])
    return shop


def _check_caps(conn: sqlite3.Connection, user_id: int, order: PickupOrder,
                shop: sqlite3.Row) -> None:
    """One customer may not lock the shop's stock: at most ``max_open_reservations``
    live chat reservations there, and ``max_units_per_product`` units of one product
    held (with what they hold already). Checked in the writer's transaction."""
    open_here = conn.execute(
        "SELECT count(*) FROM reservations WHERE user_id = ? AND shop_id = ?"
        " AND status IN ('pending', 'ready') AND source = 'chat'",
        (user_id, order.shop_id)).fetchone()[0]
    if open_here >= shop["max_open_reservations"]:
        raise TooManyReservations(shop["name"], shop["max_open_reservations"])
    limit = shop["max_units_per_product"]
    wanted: dict[int, int] = {}  # the same product twice in one order counts once, summed
    for product_id, quantity in order.items:
        wanted[product_id] = wanted.get(product_id, 0) + quantity
    for product_id, quantity in wanted.items():
        # From this customer's few live reservations here (CROSS JOIN keeps them the
        # outer loop), never from every line of a product many people reserve.
        held = conn.execute(
            "SELECT COALESCE(sum(l.quantity), 0) FROM reservations r"
            " CROSS JOIN reservation_lines l ON l.reservation_id = r.id AND l.product_id = ?"
            " WHERE r.user_id = ? AND r.shop_id = ? AND r.status IN ('pending', 'ready')"
            " AND r.source = 'chat'", (product_id, user_id, order.shop_id)).fetchone()[0]
        if held + quantity > limit:
            name = conn.execute("SELECT name FROM products WHERE id = ?",
                                (product_id,)).fetchone()[0]
            raise TooManyUnits(name, limit, held)


class _AlreadyConfirmed(Exception):
    """This customer already used this idempotency key: roll back and return theirs."""


def _create(conn: sqlite3.Connection, user_id: int, key: str, order: PickupOrder,
            now: datetime, code: Callable[[], str], from_basket: bool,
            source: ReservationSource, contact: Contact | None) -> Reservation:
    """Hold every line of ``order`` and record the reservation (inside a transaction)."""
    shop = _check_offered(conn, order)
    if source is ReservationSource.CHAT:
        _check_caps(conn, user_id, order, shop)
    lines = []
    for product_id, quantity in order.items:
        held = _hold(conn, product_id, quantity)
        lines.append(ReservationLine(
            product_id=product_id, maker_shop_id=held["shop_id"], name=held["name"],
            unit_price_cents=held["price_cents"], quantity=quantity))
    total = sum(line.total_cents for line in lines)
    reservation_id, reservation_code = _insert_reservation(
        conn, user_id, order, total, key, now, code, source)
    if contact is not None:
        conn.execute("INSERT INTO reservation_contacts (reservation_id, name, phone)"
                     " VALUES (?, ?, ?)", (reservation_id, contact.name, contact.phone))
    conn.executemany(
        "INSERT INTO reservation_lines (reservation_id, product_id, maker_shop_id,"
        " name, unit_price_cents, quantity) VALUES (?, ?, ?, ?, ?, ?)",
        [(reservation_id, line.product_id, line.maker_shop_id, line.name,
          line.unit_price_cents, line.quantity) for line in lines],
    )
    if from_basket:
        _clear_basket(conn, user_id, [product_id for product_id, _ in order.items])
    return Reservation(
        id=reservation_id, code=reservation_code, user_id=user_id, shop_id=order.shop_id,
        status=ReservationStatus.PENDING, total_cents=total, created_at=now,
        deadline_at=order.deadline_at, lines=tuple(lines), source=source, contact=contact)


def _insert_reservation(conn: sqlite3.Connection, user_id: int, order: PickupOrder,
                        total: int, key: str, now: datetime,
                        code: Callable[[], str], source: ReservationSource) -> tuple[int, str]:
    """Insert the reservation under a code no live reservation uses (a taken code or
    key inserts nothing: no error, which would end a PostgreSQL transaction)."""
    for _attempt in range(_CODE_ATTEMPTS):
        candidate = code()
        row = conn.execute(
            """INSERT INTO reservations (code, user_id, shop_id, status, total_cents,
                   idempotency_key, created_at, deadline_at, source)
               VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id""",
            (candidate, user_id, order.shop_id, total, key, rows.to_db_time(now),
             rows.to_db_time(order.deadline_at), source.value),
        ).fetchone()
        if row is not None:
            return int(row["id"]), candidate
        if conn.execute("SELECT 1 FROM reservations WHERE user_id = ? AND idempotency_key = ?"
                        " AND shop_id = ?", (user_id, key, order.shop_id)).fetchone():
            raise _AlreadyConfirmed
        # else the code is a live reservation's: draw another
    raise RuntimeError("no free reservation code after many attempts")


def _clear_basket(conn: sqlite3.Connection, user_id: int,
                  product_ids: Sequence[int] | None) -> None:
    if product_ids is None:
        conn.execute("DELETE FROM basket_lines WHERE user_id = ?", (user_id,))
        return
    marks = ", ".join("?" * len(product_ids))
    conn.execute(
        f"DELETE FROM basket_lines WHERE user_id = ? AND product_id IN ({marks})",
        (user_id, *product_ids),
    )


async def _transition(conn: aiosqlite.Connection, reservation_id: int, to: ReservationStatus,
                      allowed_from: Sequence[ReservationStatus], now: datetime,
                      reason: str | None, user_id: int | None) -> Reservation:
    stamp = rows.to_db_time(now)
    marks = ", ".join("?" * len(allowed_from))
    row = await rows.fetch_one(
        conn,
        f"""UPDATE reservations SET status = ?,
                ready_at = CASE WHEN ? = 'ready' THEN ? ELSE ready_at END,
                closed_at = CASE WHEN ? IN ('pending', 'ready') THEN NULL ELSE ? END,
                cancel_reason = COALESCE(?, cancel_reason)
            WHERE id = ? AND status IN ({marks}) RETURNING id""",
        (to.value, to.value, stamp, to.value, stamp, reason, reservation_id,
         *(s.value for s in allowed_from)),
    )
    if row is None:
        current = await rows.fetch_value(conn, "SELECT status FROM reservations WHERE id = ?",
                                         (reservation_id,))
        if current is None:
            raise NotFound("reservation", reservation_id)
        raise WrongState(current, to.value)
    (reservation,) = await _load(conn, "WHERE id = ?", (reservation_id,))
    if not to.is_live:
        collected = to is ReservationStatus.COLLECTED
        for line in reservation.lines:
            after = await rows.fetch_value(
                conn,
                """UPDATE products SET reserved = reserved - :q,
                       on_hand = on_hand - CASE WHEN :collected = 1 THEN :q ELSE 0 END
                   WHERE id = :id RETURNING on_hand""",
                {"q": line.quantity, "collected": collected, "id": line.product_id},
            )
            if collected:
                await record_movement(conn, line.product_id, user_id, -line.quantity, int(after),
                                StockReason.COLLECTED, reservation_id, now)
    return reservation
