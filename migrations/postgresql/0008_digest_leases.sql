-- A digest delivery being sent belongs to the lease of the sender that took it
-- (claimed_by: the lease's token, see chatshop/storage/leases.py), not to a time: once
-- that sender's lease is gone (its process died), another takes it over at once. One
-- taken before this version has no owner and is free to take.
-- « outside_window »: WhatsApp refused it, the subscriber's 24-hour window being closed.
--
-- As in SQLite the table is built again, so that claimed_by comes after status as there
-- (ADD COLUMN would put it last). Nothing references digest_deliveries.
CREATE TABLE digest_deliveries_new (
    run_id       BIGINT NOT NULL REFERENCES digest_runs(id) ON DELETE CASCADE,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN (
                     'pending', 'sending', 'sent', 'no_news', 'unsubscribed', 'blocked',
                     'outside_window', 'failed')),
    claimed_by   TEXT,
    attempted_at TEXT,
    done_at      TEXT,
    error        TEXT,
    PRIMARY KEY (run_id, user_id)
);
INSERT INTO digest_deliveries_new (run_id, user_id, status, attempted_at, done_at, error)
    SELECT run_id, user_id, status, attempted_at, done_at, error FROM digest_deliveries;
DROP TABLE digest_deliveries;
ALTER TABLE digest_deliveries_new RENAME TO digest_deliveries;
-- The constraints keep the names they were given under the old name: give them the
-- names a table created as digest_deliveries has.
ALTER TABLE digest_deliveries RENAME CONSTRAINT digest_deliveries_new_pkey
    TO digest_deliveries_pkey;
ALTER TABLE digest_deliveries RENAME CONSTRAINT digest_deliveries_new_run_id_fkey
    TO digest_deliveries_run_id_fkey;
ALTER TABLE digest_deliveries RENAME CONSTRAINT digest_deliveries_new_user_id_fkey
    TO digest_deliveries_user_id_fkey;
ALTER TABLE digest_deliveries RENAME CONSTRAINT digest_deliveries_new_status_check
    TO digest_deliveries_status_check;
CREATE INDEX digest_deliveries_to_do ON digest_deliveries(run_id, status);
-- A subscriber's last digest: when it was taken to be sent (its news went up to then).
CREATE INDEX digest_deliveries_sent ON digest_deliveries(user_id, attempted_at)
    WHERE status = 'sent';
