"""Turning SQLite values into domain values and back: times, flags, models."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time
from typing import Any

import aiosqlite

from chatshop.domain.models import (
    Category,
    Commune,
    Contact,
    Hosting,
    Invite,
    OpeningInterval,
    Product,
    Reservation,
    ReservationLine,
    Shop,
    StaffMember,
    StockMovement,
    User,
)
from chatshop.storage.postgres_sql import IntegrityError as PostgresIntegrityError

# A constraint refused a write (a name taken), on either engine.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, PostgresIntegrityError)


def to_db_time(moment: datetime) -> str:
    """``2026-11-26T14:09:53.123456Z``: UTC, fixed width, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("chatshop stores aware datetimes only")
    # isoformat is several times faster than strftime and, in UTC with microseconds,
    # writes the same fixed-width text (…T14:09:53.123456+00:00 -> …T14:09:53.123456Z).
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)  # reads the trailing "Z" as UTC


def maybe_time(text: str | None) -> datetime | None:
    return None if text is None else from_db_time(text)


def clock_text(value: time) -> str:
    return value.strftime("%H:%M")


# Each call below is a single hop to aiosqlite's thread (``execute_fetchall``): a cursor
# opened, fetched and closed from the event loop would cost three.


async def fetch_one(conn: aiosqlite.Connection, sql: str,
                    params: Iterable[Any] | Mapping[str, Any] = ()) -> aiosqlite.Row | None:
    found = await conn.execute_fetchall(sql, params)
    return next(iter(found), None)


async def fetch_all(conn: aiosqlite.Connection, sql: str,
                    params: Iterable[Any] | Mapping[str, Any] = ()) -> list[aiosqlite.Row]:
    return list(await conn.execute_fetchall(sql, params))


async def fetch_value(conn: aiosqlite.Connection, sql: str,
                      params: Iterable[Any] | Mapping[str, Any] = ()) -> Any:
    row = await fetch_one(conn, sql, params)
    return None if row is None else row[0]


def commune(row: aiosqlite.Row) -> Commune:
    return Commune(id=row["id"], name=row["name"], postcode=row["postcode"])


# A shop or product comes with its opening hours and photos folded into JSON columns,
# so that loading one is a single query.
SHOP_SELECT = """SELECT s.*,
    (SELECT json_group_array(json_array(weekday, opens, closes))
       FROM (SELECT * FROM shop_hours WHERE shop_id = s.id ORDER BY weekday, opens) AS h
    ) AS hours_json,
    (SELECT json_group_object(channel, file_ref) FROM shop_photos WHERE shop_id = s.id
    ) AS photos_json
    FROM shops s"""
PRODUCT_PHOTOS = """(SELECT json_group_object(channel, file_ref) FROM product_photos
    WHERE product_id = p.id) AS photos_json"""


def shop(row: aiosqlite.Row) -> Shop:
    """A shop from a row of ``SHOP_SELECT``."""
    return Shop(
        id=row["id"], slug=row["slug"], name=row["name"], commune_id=row["commune_id"],
        address=row["address"], phone=row["phone"],
        latitude=row["latitude"], longitude=row["longitude"],
        description=row["description"], pickup_instructions=row["pickup_instructions"],
        hold_hours=row["hold_hours"], on_holiday=bool(row["on_holiday"]),
        holiday_message=row["holiday_message"], active=bool(row["active"]),
        hours=tuple(
            OpeningInterval(weekday=weekday, opens=time.fromisoformat(opens),
                            closes=time.fromisoformat(closes))
            for weekday, opens, closes in json.loads(row["hours_json"])
        ),
        photos=json.loads(row["photos_json"]),
        announcement=row["announcement"],
        announcement_at=maybe_time(row["announcement_at"]),
        created_at=from_db_time(row["created_at"]),
        asks_pickup_time=bool(row["asks_pickup_time"]),
        morning_message=bool(row["morning_message"]),
        weekly_figures=bool(row["weekly_figures"]),
        opens_on_public_holidays=bool(row["opens_on_public_holidays"]),
        max_units_per_product=row["max_units_per_product"],
        max_open_reservations=row["max_open_reservations"],
    )


def user(row: aiosqlite.Row) -> User:
    return User(
        id=row["id"], channel=row["channel"], external_id=row["external_id"],
        display_name=row["display_name"], phone=row["phone"],
        created_at=from_db_time(row["created_at"]),
        last_seen_at=from_db_time(row["last_seen_at"]),
        unreachable_at=maybe_time(row["unreachable_at"]),
    )


def staff_member(row: aiosqlite.Row) -> StaffMember:
    return StaffMember(shop_id=row["shop_id"], user_id=row["user_id"], role=row["role"],
                       added_at=from_db_time(row["added_at"]))


def invite(row: aiosqlite.Row) -> Invite:
    return Invite(
        code=row["code"], shop_id=row["shop_id"], role=row["role"],
        created_by=row["created_by"], created_at=from_db_time(row["created_at"]),
        expires_at=from_db_time(row["expires_at"]), used_at=maybe_time(row["used_at"]),
        used_by=row["used_by"],
    )


def category(row: aiosqlite.Row) -> Category:
    return Category(id=row["id"], name=row["name"], position=row["position"],
                    active=bool(row["active"]))


def hosting(row: aiosqlite.Row) -> Hosting:
    return Hosting(host_shop_id=row["host_shop_id"], maker_shop_id=row["maker_shop_id"],
                   status=row["status"], proposed_at=from_db_time(row["proposed_at"]),
                   decided_at=maybe_time(row["decided_at"]))


def product(row: aiosqlite.Row) -> Product:
    """A product from a row of ``products p`` selected with ``PRODUCT_PHOTOS``."""
    return Product(
        id=row["id"], shop_id=row["shop_id"], host_shop_id=row["host_shop_id"],
        name=row["name"], description=row["description"], price_cents=row["price_cents"],
        category_id=row["category_id"], on_hand=row["on_hand"], reserved=row["reserved"],
        hidden=bool(row["hidden"]), photos=json.loads(row["photos_json"]),
        created_at=from_db_time(row["created_at"]),
        updated_at=from_db_time(row["updated_at"]),
        restocked_at=maybe_time(row["restocked_at"]),
    )


def stock_movement(row: aiosqlite.Row) -> StockMovement:
    return StockMovement(
        id=row["id"], product_id=row["product_id"], user_id=row["user_id"],
        delta=row["delta"], on_hand_after=row["on_hand_after"], reason=row["reason"],
        reservation_id=row["reservation_id"], at=from_db_time(row["at"]),
    )


def reservation(row: aiosqlite.Row, lines: Iterable[aiosqlite.Row]) -> Reservation:
    return Reservation(
        id=row["id"], code=row["code"], user_id=row["user_id"], shop_id=row["shop_id"],
        status=row["status"], total_cents=row["total_cents"],
        created_at=from_db_time(row["created_at"]),
        deadline_at=from_db_time(row["deadline_at"]),
        ready_at=maybe_time(row["ready_at"]), closed_at=maybe_time(row["closed_at"]),
        cancel_reason=row["cancel_reason"], reminded_at=maybe_time(row["reminded_at"]),
        source=row["source"],
        contact=None if row["contact_name"] is None else Contact(
            name=row["contact_name"], phone=row["contact_phone"]),
        pickup_from=maybe_time(row["pickup_from"]),
        pickup_until=maybe_time(row["pickup_until"]),
        pickup_reminded_at=maybe_time(row["pickup_reminded_at"]),
        lines=tuple(
            ReservationLine(product_id=li["product_id"], maker_shop_id=li["maker_shop_id"],
                            name=li["name"], unit_price_cents=li["unit_price_cents"],
                            quantity=li["quantity"])
            for li in lines
        ),
    )
