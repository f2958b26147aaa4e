-- The weekly digest. A subscription exists only with the consent it was given at
-- (consented_at); unsubscribing deletes it. The scope is the whole territory, some
-- communes or some shops.
CREATE TABLE subscriptions (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    scope        TEXT NOT NULL CHECK (scope IN ('territory', 'communes', 'shops')),
    consented_at TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE TABLE subscription_communes (
    user_id    INTEGER NOT NULL REFERENCES subscriptions(user_id) ON DELETE CASCADE,
    commune_id INTEGER NOT NULL REFERENCES communes(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, commune_id)
) WITHOUT ROWID;
CREATE TABLE subscription_shops (
    user_id INTEGER NOT NULL REFERENCES subscriptions(user_id) ON DELETE CASCADE,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, shop_id)
) WITHOUT ROWID;

-- One run per channel and week (a forced run may come again the same week). Its
-- deliveries are written when it starts, one per subscriber, and each is done once:
-- a run interrupted by a crash or a stop goes on where it was.
CREATE TABLE digest_runs (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL CHECK (channel IN ('telegram', 'whatsapp', 'console')),
    week        TEXT NOT NULL,  -- ISO week, « 2026-W48 »
    forced      INTEGER NOT NULL DEFAULT 0 CHECK (forced IN (0, 1)),
    started_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE UNIQUE INDEX digest_runs_once_a_week ON digest_runs(channel, week) WHERE forced = 0;

CREATE TABLE digest_deliveries (
    run_id       INTEGER NOT NULL REFERENCES digest_runs(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN (
                     'pending', 'sending', 'sent', 'no_news', 'unsubscribed', 'blocked',
                     'failed')),
    attempted_at TEXT,
    done_at      TEXT,
    error        TEXT,
    PRIMARY KEY (run_id, user_id)
) WITHOUT ROWID;
CREATE INDEX digest_deliveries_to_do ON digest_deliveries(run_id, status);
-- A subscriber's last digest: when it was taken to be sent (its news went up to then).
CREATE INDEX digest_deliveries_sent ON digest_deliveries(user_id, attempted_at)
    WHERE status = 'sent';
CREATE INDEX products_by_creation ON products(created_at);
CREATE INDEX products_by_restock ON products(restocked_at) WHERE restocked_at IS NOT NULL;
