-- The shopkeeper's day (issue #12): reservations taken by phone or at the counter, sales
-- at the counter, pickup times, alerts when a product is back, the shop's own rules
-- (caps, public holidays, morning message, weekly figures).

-- source: « chat » (the customer reserved in the chat) or « phone » (the staff took it
-- by phone or at the counter: user_id is then the staff member who took it, and nobody
-- is told of it as a customer).
-- pickup_from/pickup_until: the opening slot the customer chose to come (never past
-- deadline_at: a slot does not extend the hold); pickup_reminded_at: the morning
-- reminder of that day went.
ALTER TABLE reservations ADD COLUMN source TEXT NOT NULL DEFAULT 'chat'
    CHECK (source IN ('chat', 'phone'));
ALTER TABLE reservations ADD COLUMN pickup_from TEXT;
ALTER TABLE reservations ADD COLUMN pickup_until TEXT;
ALTER TABLE reservations ADD COLUMN pickup_reminded_at TEXT;
CREATE INDEX reservations_live_by_shop ON reservations(shop_id, deadline_at)
    WHERE status IN ('pending', 'ready');
CREATE INDEX reservations_by_user_shop ON reservations(user_id, shop_id, status);

-- The person a phone reservation is for: personal data, shown only to the shop's staff,
-- erased on request or 30 days after the reservation closed (the row goes, the
-- reservation stays for the figures).
CREATE TABLE reservation_contacts (
    reservation_id INTEGER PRIMARY KEY REFERENCES reservations(id) ON DELETE CASCADE,
    name           TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 80),
    phone          TEXT NOT NULL DEFAULT '' CHECK (length(phone) <= 20)
);

-- « sold »: a sale at the counter, its own reason in the ledger. SQLite cannot change a
-- CHECK in place: the ledger is copied into a table that allows it.
CREATE TABLE stock_movements_new (
    id             INTEGER PRIMARY KEY,
    product_id     INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    user_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    delta          INTEGER NOT NULL,
    on_hand_after  INTEGER NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('created', 'set', 'added', 'removed',
                                                   'collected', 'sold')),
    reservation_id INTEGER REFERENCES reservations(id) ON DELETE SET NULL,
    at             TEXT NOT NULL
);
INSERT INTO stock_movements_new SELECT id, product_id, user_id, delta, on_hand_after, reason,
    reservation_id, at FROM stock_movements;
DROP TABLE stock_movements;
ALTER TABLE stock_movements_new RENAME TO stock_movements;
CREATE INDEX stock_movements_by_product ON stock_movements(product_id, at);
CREATE INDEX stock_movements_sold ON stock_movements(at) WHERE reason = 'sold';

-- A shop's own rules. asks_pickup_time: customers are asked « Quand passez-vous ? »;
-- morning_message: the staff get the day's count at opening; weekly_figures: the
-- week's chart on Monday; opens_on_public_holidays: 1er mai, 25 décembre… are opening
-- days like any other (else closed); the caps: units of one product one customer may
-- hold, and open reservations one customer may have, at this shop.
ALTER TABLE shops ADD COLUMN asks_pickup_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shops ADD COLUMN morning_message INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shops ADD COLUMN weekly_figures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shops ADD COLUMN opens_on_public_holidays INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shops ADD COLUMN max_units_per_product INTEGER NOT NULL DEFAULT 5
    CHECK (max_units_per_product BETWEEN 1 AND 999);
ALTER TABLE shops ADD COLUMN max_open_reservations INTEGER NOT NULL DEFAULT 10
    CHECK (max_open_reservations BETWEEN 1 AND 999);

-- What the bot told a shop's staff once per period: « morning » once a day (period
-- « 2026-12-07 »), « figures » once a week (« 2026-W50 »). Claimed in the same unit of
-- work as the outbox rows, so that two sweeps or a restart tell once.
CREATE TABLE shop_messages (
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('morning', 'figures')),
    period  TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (shop_id, kind, period)
) WITHOUT ROWID;

-- « Prévenez-moi quand il revient »: one open alert per person and product; told_at
-- once the person was told (once), expires_at 60 days after it was asked.
CREATE TABLE product_alerts (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    told_at    TEXT
);
CREATE UNIQUE INDEX product_alerts_open ON product_alerts(user_id, product_id)
    WHERE told_at IS NULL;
CREATE INDEX product_alerts_waiting ON product_alerts(product_id, expires_at)
    WHERE told_at IS NULL;

-- The week's figures (#12 §6): the territory's reservations closed in a span of weeks, and
-- those made in it, found without reading every reservation ever made (one shop's go
-- through reservations_by_shop).
CREATE INDEX reservations_closed ON reservations(closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX reservations_created ON reservations(created_at);
