-- A search that forgives (issue #9): plurals and French endings find the product.
--
-- SQLite's Python module cannot register an FTS5 tokenizer, so chatshop prepares the
-- terms itself (chatshop.domain.terms: folded words, and their French stems) and writes
-- them into product_search in the same transaction as the product; no trigger calls
-- Python. SQL cannot compute them, so this file leaves the index empty with
-- terms_version 0: when the database is opened, chatshop.storage.search_index.reindex
-- indexes every product, in one transaction, before anything is served.

DROP TRIGGER product_search_insert;
DROP TRIGGER product_search_update;
DROP TRIGGER product_search_delete;
DROP TABLE product_search;

-- name and description hold the folded words (prefix queries: « crè » finds « Crème »),
-- name_stems and description_stems the stems that differ from their word (whole-term
-- queries: « crèmes » -> crem). rowid is the product's id.
CREATE VIRTUAL TABLE product_search USING fts5(
    name, description, name_stems, description_stems,
    tokenize = "unicode61 remove_diacritics 2",
    prefix = '2 3'
);

-- The index's own words with the number of products using them per column, for the
-- « Vouliez-vous dire … ? » suggestions.
CREATE VIRTUAL TABLE product_search_terms USING fts5vocab(product_search, 'col');

-- terms_version: the chatshop.domain.terms.TERMS_VERSION the index was built with (0:
-- not built yet); changes: counts the writes to the index, so that a process that keeps
-- the vocabulary in memory knows when to read it again (another process may write).
CREATE TABLE product_search_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    terms_version INTEGER NOT NULL,
    changes       INTEGER NOT NULL
);
INSERT INTO product_search_state (id, terms_version, changes) VALUES (1, 0, 0);

CREATE TRIGGER product_search_delete AFTER DELETE ON products BEGIN
    DELETE FROM product_search WHERE rowid = old.id;
    UPDATE product_search_state SET changes = changes + 1;
END;
