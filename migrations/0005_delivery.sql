-- Platform events as they arrived (a Telegram update, a WhatsApp message), kept so that
-- a redelivered one is recognised and changes nothing, and so that one received but not
-- yet handled when the process stopped is handled after the restart. Handled events are
-- forgotten after a while (Telegram: 24 h; WhatsApp retries for days: 7 days).
CREATE TABLE inbound_events (
    channel     TEXT NOT NULL CHECK (channel IN ('telegram', 'whatsapp', 'console')),
    event_id    TEXT NOT NULL,
    payload     TEXT NOT NULL CHECK (json_valid(payload)),
    received_at TEXT NOT NULL,
    handled_at  TEXT,
    PRIMARY KEY (channel, event_id)
) WITHOUT ROWID;
CREATE INDEX inbound_events_waiting ON inbound_events(channel, received_at)
    WHERE handled_at IS NULL;
CREATE INDEX inbound_events_by_age ON inbound_events(received_at);

-- Messages for someone other than the person writing (a new reservation for the shop,
-- « ready » and reminders for the customer): written down first, then delivered, retried
-- until the platform takes them; never dropped. A recipient who blocked the bot ends a
-- message (given_up_at) and the shop is told.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL CHECK (channel IN ('telegram', 'whatsapp', 'console')),
    recipient       TEXT NOT NULL,  -- the platform's id of the person
    message         TEXT NOT NULL CHECK (json_valid(message)),
    regarding       INTEGER REFERENCES reservations(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    sent_at         TEXT,
    given_up_at     TEXT
);
CREATE INDEX outbox_due ON outbox(channel, next_attempt_at)
    WHERE sent_at IS NULL AND given_up_at IS NULL;
CREATE INDEX outbox_by_recipient ON outbox(channel, recipient);

-- Set when the platform says the person blocked the bot; cleared when they write again.
ALTER TABLE users ADD COLUMN unreachable_at TEXT;
CREATE INDEX outbox_regarding ON outbox(regarding) WHERE regarding IS NOT NULL;
