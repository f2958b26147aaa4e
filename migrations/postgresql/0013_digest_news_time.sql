-- Ten times the territory (issue #13): the digest is composed once per group of
-- subscribers who follow the same and were last served by the same pass, from news
-- gathered once per pass. A subscriber's next digest starts where the news of their last
-- one were gathered (news_at), not when it was sent: what was added between the
-- gathering and the sending is in the next one, not lost. Digests sent before this
-- version were composed just before they left: their time is the sending's.

ALTER TABLE digest_deliveries ADD COLUMN news_at TEXT;
UPDATE digest_deliveries SET news_at = attempted_at WHERE status = 'sent';

DROP INDEX digest_deliveries_sent;
CREATE INDEX digest_deliveries_sent ON digest_deliveries(user_id, news_at)
    WHERE status = 'sent';
