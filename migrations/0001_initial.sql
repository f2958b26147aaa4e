-- chatshop schema, version 1: the territory, its shops and people, products,
-- baskets, reservations and the stock ledger. Times are ISO-8601 UTC text,
-- money is integer cents. Each migration runs in one transaction with its
-- PRAGMA user_version bump: do not put BEGIN/COMMIT in these files.

CREATE TABLE communes (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE COLLATE NOCASE,
    postcode TEXT NOT NULL DEFAULT ''
);

CREATE TABLE shops (
    id                  INTEGER PRIMARY KEY,
    slug                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    commune_id          INTEGER NOT NULL REFERENCES communes(id),
    address             TEXT NOT NULL DEFAULT '',
    phone               TEXT NOT NULL DEFAULT '',
    latitude            REAL CHECK (latitude BETWEEN -90 AND 90),
    longitude           REAL CHECK (longitude BETWEEN -180 AND 180),
    description         TEXT NOT NULL DEFAULT '',
    pickup_instructions TEXT NOT NULL DEFAULT '',
    hold_hours          INTEGER NOT NULL DEFAULT 48 CHECK (hold_hours BETWEEN 1 AND 720),
    on_holiday          INTEGER NOT NULL DEFAULT 0 CHECK (on_holiday IN (0, 1)),
    holiday_message     TEXT NOT NULL DEFAULT '',
    active              INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at          TEXT NOT NULL
);
CREATE INDEX shops_by_commune ON shops(commune_id);

-- Several intervals a day: French shops close for lunch.
CREATE TABLE shop_hours (
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens   TEXT NOT NULL,
    closes  TEXT NOT NULL CHECK (closes > opens),
    PRIMARY KEY (shop_id, weekday, opens)
);

CREATE TABLE shop_photos (
    shop_id  INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    channel  TEXT NOT NULL CHECK (channel IN ('telegram', 'whatsapp', 'console')),
    file_ref TEXT NOT NULL,
    PRIMARY KEY (shop_id, channel)
);

CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    channel      TEXT NOT NULL CHECK (channel IN ('telegram', 'whatsapp', 'console')),
    external_id  TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    phone        TEXT,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    UNIQUE (channel, external_id)
);

CREATE TABLE staff (
    shop_id  INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    added_at TEXT NOT NULL,
    PRIMARY KEY (shop_id, user_id)
);
CREATE INDEX staff_by_user ON staff(user_id);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    shop_id    INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    used_by    INTEGER REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE categories (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 40),
    position INTEGER NOT NULL DEFAULT 0,
    active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);

-- A maker shop's agreement with a host shop (dépôt).
CREATE TABLE hostings (
    host_shop_id  INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    maker_shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    status        TEXT NOT NULL CHECK (status IN ('proposed', 'accepted', 'ended')),
    proposed_at   TEXT NOT NULL,
    decided_at    TEXT,
    PRIMARY KEY (host_shop_id, maker_shop_id),
    CHECK (host_shop_id <> maker_shop_id)
);

CREATE TABLE products (
    id           INTEGER PRIMARY KEY,
    shop_id      INTEGER NOT NULL REFERENCES shops(id),
    host_shop_id INTEGER REFERENCES shops(id),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    description  TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 800),
    price_cents  INTEGER NOT NULL CHECK (price_cents BETWEEN 1 AND 1000000),
    category_id  INTEGER REFERENCES categories(id),
    on_hand      INTEGER NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    -- The last line of defence against overselling.
    reserved     INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
    hidden       INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    restocked_at TEXT
);
CREATE INDEX products_by_shop ON products(shop_id);
CREATE INDEX products_by_host ON products(host_shop_id) WHERE host_shop_id IS NOT NULL;
CREATE INDEX products_by_category ON products(category_id);

CREATE TABLE product_photos (
    product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    channel    TEXT NOT NULL CHECK (channel IN ('telegram', 'whatsapp', 'console')),
    file_ref   TEXT NOT NULL,
    PRIMARY KEY (product_id, channel)
);

-- Accent- and case-insensitive search with prefixes: "creme" and "crè" find "Crème".
CREATE VIRTUAL TABLE product_search USING fts5(
    name, description,
    tokenize = "unicode61 remove_diacritics 2",
    prefix = '2 3'
);
CREATE TRIGGER product_search_insert AFTER INSERT ON products BEGIN
    INSERT INTO product_search(rowid, name, description) VALUES (new.id, new.name, new.description);
END;
CREATE TRIGGER product_search_update AFTER UPDATE OF name, description ON products BEGIN
    UPDATE product_search SET name = new.name, description = new.description WHERE rowid = new.id;
END;
CREATE TRIGGER product_search_delete AFTER DELETE ON products BEGIN
    DELETE FROM product_search WHERE rowid = old.id;
END;

CREATE TABLE stock_movements (
    id             INTEGER PRIMARY KEY,
    product_id     INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    user_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    delta          INTEGER NOT NULL,
    on_hand_after  INTEGER NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('created', 'set', 'added', 'removed', 'collected')),
    reservation_id INTEGER REFERENCES reservations(id) ON DELETE SET NULL,
    at             TEXT NOT NULL
);
CREATE INDEX stock_movements_by_product ON stock_movements(product_id, at);

CREATE TABLE basket_lines (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    quantity   INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    added_at   TEXT NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

CREATE TABLE reservations (
    id              INTEGER PRIMARY KEY,
    code            TEXT NOT NULL CHECK (length(code) = 5),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    shop_id         INTEGER NOT NULL REFERENCES shops(id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'collected',
                        'cancelled_by_customer', 'cancelled_by_shop', 'expired')),
    total_cents     INTEGER NOT NULL CHECK (total_cents >= 0),
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    deadline_at     TEXT NOT NULL,
    ready_at        TEXT,
    closed_at       TEXT,
    cancel_reason   TEXT,
    reminded_at     TEXT,
    UNIQUE (user_id, idempotency_key, shop_id)
);
-- A code identifies one live reservation; old codes may come back.
CREATE UNIQUE INDEX reservations_live_code ON reservations(code)
    WHERE status IN ('pending', 'ready');
CREATE INDEX reservations_live_deadline ON reservations(deadline_at)
    WHERE status IN ('pending', 'ready');
CREATE INDEX reservations_by_user ON reservations(user_id, created_at);
CREATE INDEX reservations_by_shop ON reservations(shop_id, status);

CREATE TABLE reservation_lines (
    reservation_id   INTEGER NOT NULL REFERENCES reservations(id) ON DELETE CASCADE,
    product_id       INTEGER NOT NULL REFERENCES products(id),
    maker_shop_id    INTEGER NOT NULL REFERENCES shops(id),
    name             TEXT NOT NULL,
    unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents > 0),
    quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    PRIMARY KEY (reservation_id, product_id)
);
CREATE INDEX reservation_lines_by_product ON reservation_lines(product_id);
