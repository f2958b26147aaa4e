"""SQLite storage for the week's figures (#12 §6): reservations by week, outcome and source,
the most reserved products; one query per figure.

Weeks are the territory's ISO weeks: their bounds are computed in Python (daylight saving
included) and passed as UTC, so SQL only compares stored UTC times and never needs a
timezone. For one shop the queries go through ``reservations_by_shop (shop_id, status)``:
only that shop's reservations are read, never the whole table.

SQLite; the contract is ``figures_protocol.FiguresRepository``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from chatshop.storage import rows
from chatshop.storage.database import Connections
from chatshop.storage.figures_protocol import ReservedProduct, WeekCount

_CLOSED = "('collected', 'expired', 'cancelled_by_customer', 'cancelled_by_shop')"
_KEPT = "('pending', 'ready', 'collected', 'expired')"  # reserved and not undone


class SqliteFiguresRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db

    async def closed_by_week(self, weeks: Sequence[tuple[datetime, datetime]],
                             shop_id: int | None) -> list[WeekCount]:
        if not weeks:
            return []
        values = ", ".join("(?, ?, ?)" for _week in weeks)
        params: list[object] = []
        for index, (start, end) in enumerate(weeks):
            params += [index, rows.to_db_time(start), rows.to_db_time(end)]
        shop = "AND r.shop_id = ?" if shop_id is not None else ""
        if shop_id is not None:
            params.append(shop_id)
        params += [rows.to_db_time(min(s for s, _e in weeks)),
                   rows.to_db_time(max(e for _s, e in weeks))]
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn,
                f"""WITH weeks (n, starts, ends) AS (VALUES {values})
                    SELECT w.n AS week,
                           CASE r.status WHEN 'collected' THEN 'collected'
                                         WHEN 'expired' THEN 'expired'
                                         ELSE 'cancelled' END AS outcome,
                           r.source AS source, count(*) AS reservations
                      FROM reservations r
                      CROSS JOIN weeks w  -- CROSS: each reservation read once
                     WHERE r.closed_at >= w.starts AND r.closed_at < w.ends
                       AND r.status IN {_CLOSED} {shop}
                       AND r.closed_at >= ? AND r.closed_at < ?
                     GROUP BY w.n, outcome, r.source
                     ORDER BY w.n, outcome, r.source""",
                params)
        return [WeekCount(row["week"], row["outcome"], row["source"], row["reservations"])
                for row in found]

    async def most_reserved(self, since: datetime, until: datetime, shop_id: int | None,
                            limit: int = 5) -> list[ReservedProduct]:
        shop = "AND r.shop_id = :shop" if shop_id is not None else ""
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn,
                f"""SELECT l.product_id AS product_id,
                           coalesce(p.name, max(l.name)) AS shown,
                           sum(l.quantity) AS units
                      FROM reservations r
                      JOIN reservation_lines l ON l.reservation_id = r.id
                      LEFT JOIN products p ON p.id = l.product_id
                     WHERE r.status IN {_KEPT} {shop}
                       AND r.created_at >= :since AND r.created_at < :until
                     GROUP BY l.product_id, p.name
                     ORDER BY units DESC, sort_key(coalesce(p.name, max(l.name))),
                              l.product_id
                     LIMIT :limit""",
                {"shop": shop_id, "since": rows.to_db_time(since),
                 "until": rows.to_db_time(until), "limit": limit})
        return [ReservedProduct(row["product_id"], row["shown"], row["units"])
                for row in found]

    async def weekly_shops(self, period: str) -> list[int]:
        async with self._db.read() as conn:
            found = await rows.fetch_all(
                conn,
                """SELECT s.id FROM shops s
                    WHERE s.weekly_figures = 1 AND s.active = 1
                      AND NOT EXISTS (SELECT 1 FROM shop_messages m WHERE m.shop_id = s.id
                                      AND m.kind = 'figures' AND m.period = ?)
                    ORDER BY s.id""", (period,))
        return [row[0] for row in found]
