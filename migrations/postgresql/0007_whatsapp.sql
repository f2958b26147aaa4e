-- What the platform calls a message once it took it (WhatsApp's wamid), so that a status
-- callback saying it failed later (outside the 24-hour window, 131047) finds it and puts
-- it back in the outbox, this time as an approved template.
ALTER TABLE outbox ADD COLUMN platform_id TEXT;
ALTER TABLE outbox ADD COLUMN template_only INTEGER NOT NULL DEFAULT 0
    CHECK (template_only IN (0, 1));
CREATE INDEX outbox_by_platform_id ON outbox(platform_id) WHERE platform_id IS NOT NULL;

-- Files people send (a product photo taken on WhatsApp), kept so they can be shown again.
-- (SQLite's WITHOUT ROWID: a plain table with the same primary key.)
CREATE TABLE media (
    sha256     TEXT PRIMARY KEY,
    mime_type  TEXT NOT NULL,
    data       BYTEA NOT NULL CHECK (length(data) <= 16777216),
    created_at TEXT NOT NULL
);
