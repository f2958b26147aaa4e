-- Photos kept as images for the shop window (issue #11). The kept file itself stays in
-- media; each of its sizes is a row of media_sizes, so that the images are in the
-- database's backups and every process reads them.
--
-- cleaned: 1 for a photo kept by this version (upright, re-encoded, no EXIF, GPS or
-- other metadata); the photos kept before are the files as they came, 0, until
-- `chatshop photos fetch` keeps them again cleaned and moves what showed them.
ALTER TABLE media ADD COLUMN cleaned INTEGER NOT NULL DEFAULT 0 CHECK (cleaned IN (0, 1));

-- variant: display (≤ 1024 px), thumb (≤ 320 px), preview (1200×630 for link previews).
CREATE TABLE media_sizes (
    sha256     TEXT NOT NULL REFERENCES media(sha256) ON DELETE CASCADE,
    variant    TEXT NOT NULL CHECK (variant IN ('display', 'thumb', 'preview')),
    width      INTEGER NOT NULL CHECK (width BETWEEN 1 AND 4096),
    height     INTEGER NOT NULL CHECK (height BETWEEN 1 AND 4096),
    data       BYTEA NOT NULL CHECK (length(data) BETWEEN 1 AND 4194304),
    created_at TEXT NOT NULL,
    PRIMARY KEY (sha256, variant)
);

-- The window serves an image only when a listed product or an active shop shows it:
-- found by its reference (« media:<sha256> »), without reading every photo.
CREATE INDEX product_photos_by_file ON product_photos(file_ref);
CREATE INDEX shop_photos_by_file ON shop_photos(file_ref);
