"""Communes, shops, their staff and invites, and hosting agreements between shops."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from chatshop.domain.models import (
    Channel,
    Commune,
    Hosting,
    HostingStatus,
    Invite,
    OpeningInterval,
    Page,
    Role,
    Shop,
    ShopDetails,
    ShopPage,
    StaffMember,
    TerritoryFigures,
    User,
)
from chatshop.errors import Conflict, InviteUnusable, NotFound
from chatshop.storage import rows
from chatshop.storage.database import Connections

_SHOP_COLUMNS = (
    "name", "commune_id", "address", "phone", "latitude", "longitude", "description",
    "pickup_instructions", "hold_hours", "on_holiday", "holiday_message", "active",
    "asks_pickup_time", "morning_message", "weekly_figures", "opens_on_public_holidays",
    "max_units_per_product", "max_open_reservations",
)


async def _shop(conn: aiosqlite.Connection, where: str, key: object) -> Shop | None:
    row = await rows.fetch_one(conn, f"{rows.SHOP_SELECT} WHERE {where}", (key,))
    return None if row is None else rows.shop(row)


class SqliteShopRepository:
    """Shops and communes (remembered a few seconds: ``RecentShops``), and who runs
    them (the teams of ``RecentSessions``). Each write records what it changes
    (``touched_shops``, ``touched``); the transaction makes the caches forget it."""

    def __init__(self, db: Connections) -> None:
        self._db = db

    # -- communes ---------------------------------------------------------------------

    async def add_commune(self, name: str, postcode: str = "") -> Commune:
        async with self._db.write() as conn:
            try:
                row = await rows.fetch_one(
                    conn, "INSERT INTO communes (name, postcode) VALUES (?, ?) RETURNING *",
                    (name, postcode),
                )
            except rows.INTEGRITY_ERRORS:
                raise Conflict("commune", name) from None
            self._db.touched_shops()
        assert row is not None
        return rows.commune(row)

    async def _communes(self) -> dict[int, Commune]:
        """Every commune by id, in alphabetical order (a territory has a few dozen)."""
        kept = self._db.caches.shops.communes()
        if kept is None:
            generation = self._db.caches.shops.generation
            async with self._db.read() as conn:
                found = await rows.fetch_all(conn, "SELECT * FROM communes ORDER BY name")
            kept = {r["id"]: rows.commune(r) for r in found}
            self._db.caches.shops.keep_communes(kept, generation)
        return kept

    async def communes(self) -> list[Commune]:
        return list((await self._communes()).values())

    async def commune(self, commune_id: int) -> Commune | None:
        return (await self._communes()).get(commune_id)

    async def communes_with_shops(self) -> list[Commune]:
        """The communes that have an active shop (every customer's search offers them:
        remembered like the communes, not read from every shop at each search)."""
        found = self._db.caches.shops.served_communes()
        if found is None:
            generation = self._db.caches.shops.generation
            async with self._db.read() as conn:
                found = frozenset(r[0] for r in await rows.fetch_all(
                    conn, "SELECT DISTINCT commune_id FROM shops WHERE active = 1"))
            self._db.caches.shops.keep_served_communes(found, generation)
        return [c for c in (await self._communes()).values() if c.id in found]

    # -- shops ------------------------------------------------------------------------

    async def create_shop(self, name: str, slug: str, commune_id: int, now: datetime,
                          details: ShopDetails) -> Shop:
        """A new shop; the slug gets ``-2``, ``-3``... if it is taken."""
        async with self._db.write() as conn:
            if await rows.fetch_value(conn, "SELECT 1 FROM communes WHERE id = ?",
                                      (commune_id,)) is None:
                raise NotFound("commune", commune_id)
            taken = {
                r[0] for r in await rows.fetch_all(
                    conn, "SELECT slug FROM shops WHERE slug = ? OR slug LIKE ?",
                    (slug, slug + "-%"),
                )
            }
            unique, n = slug, 1
            while unique in taken:
                n += 1
                unique = f"{slug}-{n}"
            row = await rows.fetch_one(
                conn,
                "INSERT INTO shops (slug, name, commune_id, created_at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (unique, name, commune_id, rows.to_db_time(now)),
            )
            assert row is not None
            shop = await self._update(conn, row["id"], details)
        return shop

    async def update_shop(self, shop_id: int, details: ShopDetails) -> Shop:
        async with self._db.write() as conn:
            shop = await self._update(conn, shop_id, details)
        return shop

    async def _update(self, conn: aiosqlite.Connection, shop_id: int,
                      details: ShopDetails) -> Shop:
        self._db.touched_shops()
        changes = details.model_dump(exclude_none=True)
        if changes:
            assignments = ", ".join(f"{column} = :{column}" for column in changes
                                    if column in _SHOP_COLUMNS)
            await conn.execute(f"UPDATE shops SET {assignments} WHERE id = :id",
                               {**changes, "id": shop_id})
        shop = await _shop(conn, "s.id = ?", shop_id)
        if shop is None:
            raise NotFound("shop", shop_id)
        return shop

    async def set_hours(self, shop_id: int, intervals: Sequence[OpeningInterval]) -> Shop:
        """Replace the whole week's opening hours."""
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM shop_hours WHERE shop_id = ?", (shop_id,))
            await conn.executemany(
                "INSERT INTO shop_hours (shop_id, weekday, opens, closes) VALUES (?, ?, ?, ?)",
                [(shop_id, i.weekday, rows.clock_text(i.opens), rows.clock_text(i.closes))
                 for i in intervals],
            )
            shop = await self._update(conn, shop_id, ShopDetails())
        return shop

    async def set_photo(self, shop_id: int, channel: Channel, file_ref: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO shop_photos (shop_id, channel, file_ref) VALUES (?, ?, ?)"
                " ON CONFLICT (shop_id, channel) DO UPDATE SET file_ref = excluded.file_ref",
                (shop_id, channel, file_ref),
            )
            self._db.touched_shops()

    async def set_announcement(self, shop_id: int, text: str, now: datetime) -> Shop:
        """The shop's word for the weekly digest (empty: none), dated ``now``."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE shops SET announcement = ?, announcement_at = ? WHERE id = ?",
                (text, rows.to_db_time(now) if text else None, shop_id))
            self._db.touched_shops()
            shop = await _shop(conn, "s.id = ?", shop_id)
        if shop is None:
            raise NotFound("shop", shop_id)
        return shop

    async def get(self, shop_id: int) -> Shop | None:
        shop = self._db.caches.shops.shop(shop_id)
        if shop is None:
            generation = self._db.caches.shops.generation
            found = await self._db.lookup(f"{rows.SHOP_SELECT} WHERE s.id = ?", (shop_id,))
            shop = rows.shop(found[0]) if found else None
            if shop is not None:
                self._db.caches.shops.keep_shop(shop, generation)
        return shop

    async def by_slug(self, slug: str) -> Shop | None:
        async with self._db.read() as conn:
            return await _shop(conn, "s.slug = ?", slug)

    async def browse(self, *, commune_id: int | None = None, active_only: bool = True,
                   offset: int = 0, limit: int = 8) -> Page[Shop]:
        where = "WHERE (:commune IS NULL OR s.commune_id = :commune)"
        if active_only:
            where += " AND s.active = 1"
        params = {"commune": commune_id, "offset": offset, "limit": limit}
        async with self._db.read() as conn:
            total = await rows.fetch_value(conn, f"SELECT count(*) FROM shops s {where}",
                                           params)
            found = await rows.fetch_all(
                conn,
                f"{rows.SHOP_SELECT} {where} ORDER BY sort_key(s.name), s.id"
                " LIMIT :limit OFFSET :offset",
                params,
            )
        shops = tuple(rows.shop(r) for r in found)
        return ShopPage(items=shops, total=total, offset=offset, limit=limit)

    async def figures(self, since: datetime) -> TerritoryFigures:
        async with self._db.read() as conn:
            row = await rows.fetch_one(
                conn,
                """SELECT
                     (SELECT count(*) FROM shops WHERE active = 1) AS active_shops,
                     (SELECT count(*) FROM shops WHERE active = 0) AS inactive_shops,
                     (SELECT count(*) FROM products p JOIN shops s ON s.id = p.shop_id
                       WHERE p.hidden = 0 AND p.deleted_at IS NULL AND s.active = 1
                    ) AS listed_products,
                     (SELECT count(*) FROM reservations WHERE created_at >= :since)
                       AS reservations_week,
                     (SELECT count(*) FROM reservations WHERE status = 'collected'
                       AND closed_at >= :since) AS collected_week""",
                {"since": rows.to_db_time(since)},
            )
        assert row is not None
        return TerritoryFigures(**dict(row))

    async def count(self) -> int:
        async with self._db.read() as conn:
            return int(await rows.fetch_value(conn, "SELECT count(*) FROM shops"))

    # -- staff ------------------------------------------------------------------------

    async def _add_staff(self, conn: aiosqlite.Connection, shop_id: int, user_id: int,
                         role: Role, now: datetime) -> StaffMember:
        # An owner stays owner if they also accept a staff invite.
        row = await rows.fetch_one(
            conn,
            """INSERT INTO staff (shop_id, user_id, role, added_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (shop_id, user_id) DO UPDATE SET
                   role = CASE WHEN staff.role = 'owner' THEN 'owner' ELSE excluded.role END
               RETURNING *""",
            (shop_id, user_id, role.value, rows.to_db_time(now)),
        )
        assert row is not None
        return rows.staff_member(row)

    async def remove_staff(self, shop_id: int, user_id: int) -> None:
        """Remove someone from a shop's staff; the last owner stays (``Conflict``)."""
        async with self._db.write() as conn:
            role = await rows.fetch_value(
                conn, "SELECT role FROM staff WHERE shop_id = ? AND user_id = ?",
                (shop_id, user_id))
            if role is None:
                raise NotFound("staff", (shop_id, user_id))
            owners = await rows.fetch_value(
                conn, "SELECT count(*) FROM staff WHERE shop_id = ? AND role = 'owner'",
                (shop_id,))
            if role == Role.OWNER.value and owners == 1:
                raise Conflict("last_owner")
            await conn.execute("DELETE FROM staff WHERE shop_id = ? AND user_id = ?",
                               (shop_id, user_id))
            self._db.touched(user_id)

    async def staff_of(self, shop_id: int) -> list[StaffMember]:
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, "SELECT * FROM staff WHERE shop_id = ? ORDER BY role = 'staff', added_at",
                (shop_id,),
            )
        return [rows.staff_member(r) for r in found]

    async def staff_users(self, shop_id: int) -> list[User]:
        """The people who run a shop, owners first (read on every reservation)."""
        team = self._db.caches.sessions.team(shop_id)
        if team is None:
            found = await self._db.lookup(
                "SELECT u.* FROM staff s JOIN users u ON u.id = s.user_id WHERE s.shop_id = ?"
                " ORDER BY s.role = 'staff', s.added_at",
                (shop_id,),
            )
            team = [rows.user(r) for r in found]
            self._db.caches.sessions.keep_team(shop_id, team)
        return team

    async def all_staff_users(self, channel: Channel) -> list[User]:
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, "SELECT DISTINCT u.* FROM staff s JOIN users u ON u.id = s.user_id"
                " WHERE u.channel = ? ORDER BY u.id", (channel,))
        return [rows.user(r) for r in found]

    async def memberships(self, user_id: int) -> list[StaffMember]:
        """Every shop this person runs, and their role there."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn, "SELECT * FROM staff WHERE user_id = ? ORDER BY shop_id", (user_id,)
            )
        return [rows.staff_member(r) for r in found]

    # -- invites ----------------------------------------------------------------------

    async def create_invite(self, invite: Invite) -> Invite:
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO invites (code, shop_id, role, created_by, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (invite.code, invite.shop_id, invite.role.value, invite.created_by,
                 rows.to_db_time(invite.created_at), rows.to_db_time(invite.expires_at)),
            )
        return invite

    async def use_invite(self, code: str, user_id: int, now: datetime) -> StaffMember:
        """Spend the invite and make ``user_id`` owner or staff, in one transaction."""
        async with self._db.write() as conn:
            row = await rows.fetch_one(conn, "SELECT * FROM invites WHERE code = ?", (code,))
            if row is None:
                raise InviteUnusable("unknown")
            found = rows.invite(row)
            if found.used_at is not None:
                raise InviteUnusable("used")
            if found.expires_at <= now:
                raise InviteUnusable("expired")
            await conn.execute(
                "UPDATE invites SET used_at = ?, used_by = ? WHERE code = ?",
                (rows.to_db_time(now), user_id, code),
            )
            self._db.touched(user_id)
            return await self._add_staff(conn, found.shop_id, user_id, found.role, now)

    # -- hosting ----------------------------------------------------------------------

    async def propose_hosting(self, host_shop_id: int, maker_shop_id: int,
                              now: datetime) -> Hosting:
        async with self._db.write() as conn:
            row = await rows.fetch_one(
                conn,
                """INSERT INTO hostings (host_shop_id, maker_shop_id, status, proposed_at)
                   VALUES (?, ?, 'proposed', ?)
                   ON CONFLICT (host_shop_id, maker_shop_id) DO UPDATE SET
                       status = 'proposed', proposed_at = excluded.proposed_at,
                       decided_at = NULL
                   WHERE hostings.status = 'ended'
                   RETURNING *""",
                (host_shop_id, maker_shop_id, rows.to_db_time(now)),
            )
            if row is None:
                raise Conflict("hosting")
        return rows.hosting(row)

    async def decide_hosting(self, host_shop_id: int, maker_shop_id: int,
                             status: HostingStatus, now: datetime) -> Hosting:
        """Accept a proposal, or end an agreement (the products go back to their maker)."""
        allowed_from = {
            HostingStatus.ACCEPTED: ("proposed",),
            HostingStatus.ENDED: ("proposed", "accepted"),
        }[status]
        async with self._db.write() as conn:
            row = await rows.fetch_one(
                conn,
                f"""UPDATE hostings SET status = ?, decided_at = ?
                    WHERE host_shop_id = ? AND maker_shop_id = ?
                      AND status IN ({", ".join("?" * len(allowed_from))})
                    RETURNING *""",
                (status.value, rows.to_db_time(now), host_shop_id, maker_shop_id,
                 *allowed_from),
            )
            if row is None:
                raise NotFound("hosting", (host_shop_id, maker_shop_id))
            if status is HostingStatus.ENDED:
                await conn.execute(
                    "UPDATE products SET host_shop_id = NULL, updated_at = ?"
                    " WHERE shop_id = ? AND host_shop_id = ?",
                    (rows.to_db_time(now), maker_shop_id, host_shop_id),
                )
        return rows.hosting(row)

    async def hosting(self, host_shop_id: int, maker_shop_id: int) -> Hosting | None:
        async with self._db.read() as conn:
            row = await rows.fetch_one(
                conn, "SELECT * FROM hostings WHERE host_shop_id = ? AND maker_shop_id = ?",
                (host_shop_id, maker_shop_id),
            )
        return None if row is None else rows.hosting(row)

    async def hostings_of(self, shop_id: int) -> list[Hosting]:
        """Agreements where this shop is host or maker."""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn,
                "SELECT * FROM hostings WHERE host_shop_id = ? OR maker_shop_id = ?"
                " ORDER BY proposed_at",
                (shop_id, shop_id),
            )
        return [rows.hosting(r) for r in found]
