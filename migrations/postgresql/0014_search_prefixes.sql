-- SQLite's 0014 rebuilds its FTS5 index with prefix indexes for words of 3 to 8 letters
-- (the terms copied as they are, the same TERMS_VERSION) and re-creates its vocabulary
-- table and its delete trigger unchanged: none of that exists here (product_search is a
-- plain table, its delete trigger from 0009 stays as it is).
--
-- What PostgreSQL searches instead (chatshop.storage.postgres_search): two tsvector
-- columns computed from the terms chatshop wrote (already folded and stemmed in Python:
-- no text search configuration, no french stemming or stopwords), each with a GIN index,
-- which answers whole words and prefixes (to_tsquery's 'crem':*) alike.
--
-- Each word becomes a lexeme as it is (the text is cast to tsvector, not parsed), at
-- position 1 with the weight of its column: A name, B name_stems, C description,
-- D description_stems. A tsquery's weights then say which columns a word must be in, as
-- an FTS5 column filter does ({name description} : "creme" -> 'creme':AC).
-- names: the name and its stems (the search's first group: every word in the name);
-- terms: all four columns. The colon of the lexeme's position is written chr(58), so
-- that no placeholder rewriting ever sees one in this file.
--
-- A lexeme holds at most 2047 bytes: words longer than 500 letters (the
-- postgres_search.LONGEST_WORD; 2 x 250 and more, as a regular expression counts at
-- most 255) are left out of the tsvectors, so that such a text is still saved (no word
-- of the query can match them: it is cut to 501 letters).
CREATE FUNCTION product_search_lexemes(words TEXT, weight "char") RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN setweight(CAST(regexp_replace(
        regexp_replace(words, '(\S{250}){2}\S+', '', 'g'),
        '(\S+)', '\1' || chr(58) || '1', 'g') AS tsvector), weight);

ALTER TABLE product_search
    ADD COLUMN names tsvector NOT NULL GENERATED ALWAYS AS (
        product_search_lexemes(name, 'A') || product_search_lexemes(name_stems, 'B')
    ) STORED,
    ADD COLUMN terms tsvector NOT NULL GENERATED ALWAYS AS (
        product_search_lexemes(name, 'A') || product_search_lexemes(name_stems, 'B')
        || product_search_lexemes(description, 'C')
        || product_search_lexemes(description_stems, 'D')
    ) STORED;

-- Without GIN's pending list (fastupdate): a product written goes straight into the
-- index, instead of into a list that every search reads whole until a vacuum merges it
-- (measured at 10 000 products just indexed: 1.5 ms for a word that matches nothing,
-- by a sequential scan, against 0.03 ms once merged). Products are written far less
-- often than they are searched.
CREATE INDEX product_search_names ON product_search USING gin (names)
    WITH (fastupdate = off);
CREATE INDEX product_search_terms ON product_search USING gin (terms)
    WITH (fastupdate = off);

-- The count of writes to the index, so that a process keeping the vocabulary reads it
-- again.
UPDATE product_search_state SET changes = changes + 1;
