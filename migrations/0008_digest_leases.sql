-- A digest delivery being sent belongs to the lease of the sender that took it
-- (claimed_by: the lease's token, see chatshop/storage/leases.py), not to a time: once
-- that sender's lease is gone (its process died), another takes it over at once. One
-- taken before this version has no owner and is free to take.
-- « outside_window »: WhatsApp refused it, the subscriber's 24-hour window being closed.
-- SQLite cannot change a CHECK constraint in place: the table is built again.
CREATE TABLE digest_deliveries_new (
    run_id       INTEGER NOT NULL REFERENCES digest_runs(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN (
                     'pending', 'sending', 'sent', 'no_news', 'unsubscribed', 'blocked',
                     'outside_window', 'failed')),
    claimed_by   TEXT,
    attempted_at TEXT,
    done_at      TEXT,
    error        TEXT,
    PRIMARY KEY (run_id, user_id)
) WITHOUT ROWID;
INSERT INTO digest_deliveries_new (run_id, user_id, status, attempted_at, done_at, error)
    SELECT run_id, user_id, status, attempted_at, done_at, error FROM digest_deliveries;
DROP TABLE digest_deliveries;
ALTER TABLE digest_deliveries_new RENAME TO digest_deliveries;
CREATE INDEX digest_deliveries_to_do ON digest_deliveries(run_id, status);
-- A subscriber's last digest: when it was taken to be sent (its news went up to then).
CREATE INDEX digest_deliveries_sent ON digest_deliveries(user_id, attempted_at)
    WHERE status = 'sent';
