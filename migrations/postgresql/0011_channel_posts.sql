-- The territory's channel (issue #11 §3): what the bot posted there, so that a restart,
-- a crash or a Telegram outage neither loses nor doubles a post. A post is decided in
-- the same transaction as its outbox row and the watermark below: the outbox retries
-- it until Telegram takes it, the watermark stops a second composition.
--
-- chat: the channel or group as the setting names it (« @consommelocal », « -100… »);
-- changing the setting starts a new feed, from the time it was first seen.
-- covered_to: every shop's news up to then is posted or was dropped (hidden, deleted),
-- so that a look reads only the products that came on the shelves since.
-- trouble_at/trouble: the bot cannot post there (not admin, no such chat), since when
-- and Telegram's words; the operators are told once, when it starts.
CREATE TABLE channel_feeds (
    chat       TEXT PRIMARY KEY CHECK (length(chat) BETWEEN 2 AND 64),
    started_at TEXT NOT NULL,
    covered_to TEXT NOT NULL,
    trouble_at TEXT,
    trouble    TEXT
);

-- Per shop: its last post (at most one an hour) and the time up to which its news
-- (products new or back in stock, its announcement) is covered, posted or not (a
-- product hidden before its post is not in it). outbox_id: the row of its last post.
-- (SQLite's WITHOUT ROWID: a plain table with the same primary key.)
CREATE TABLE channel_posts (
    chat       TEXT NOT NULL REFERENCES channel_feeds(chat) ON DELETE CASCADE,
    shop_id    BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    posted_at  TEXT,
    covered_to TEXT NOT NULL,
    outbox_id  BIGINT,
    PRIMARY KEY (chat, shop_id)
);
