-- A product the shopkeeper deletes leaves their list, the search and every basket, but
-- its row stays: past reservations name it and the stock ledger explains it.
ALTER TABLE products ADD COLUMN deleted_at TEXT;

-- A shop's word for its subscribers in the weekly digest (« Nouvelle collection
-- d'automne ! »), with the time it was written, so a digest shows only fresh news.
ALTER TABLE shops ADD COLUMN announcement TEXT NOT NULL DEFAULT ''
    CHECK (length(announcement) <= 500);
ALTER TABLE shops ADD COLUMN announcement_at TEXT;
