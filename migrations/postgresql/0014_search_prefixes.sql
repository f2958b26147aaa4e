-- SQLite's 0014 rebuilds its FTS5 index with prefix indexes for words of 3 to 8 letters
-- (the terms copied as they are, the same TERMS_VERSION) and re-creates its vocabulary
-- table and its delete trigger unchanged: none of that exists here (product_search is a
-- plain table, its delete trigger from 0009 stays as it is). What applies is the count
-- of writes to the index, so that a process keeping the vocabulary reads it again.
UPDATE product_search_state SET changes = changes + 1;
