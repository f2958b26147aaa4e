"""The search index: each product's terms, written beside it, and the index's vocabulary.

The terms (``chatshop.domain.terms``) are computed in Python, so no trigger can write
them: every write of a product's name or description calls ``index_product`` in the
same transaction (``storage/catalogue.py``), and a deleted product leaves the index
with ``unindex_product``. ``reindex`` runs when the database is opened (``open_store``):
it rebuilds the whole index when it was built with another ``TERMS_VERSION`` (0 after
migration 0009, which cannot compute terms in SQL), and otherwise indexes any product
that has no terms yet (rows inserted by hand in SQL, as the benchmarks do).

``SearchVocabulary`` keeps the index's words in memory for the typo suggestions, read
again only when ``product_search_state.changes`` says the index has changed since.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

import aiosqlite

from chatshop.domain.terms import TERMS_VERSION, Vocabulary, index_terms
from chatshop.storage import rows
from chatshop.storage.database import Connections, connect_for_lookups

log = logging.getLogger(__name__)

# A product's terms, written over the ones it had: SQLite's FTS5 table takes no upsert.
_INDEX = {
    "sqlite": ("INSERT OR REPLACE INTO product_search"
               " (rowid, name, description, name_stems, description_stems)"
               " VALUES (?, ?, ?, ?, ?)"),
    "postgresql": ("INSERT INTO product_search"
                   " (rowid, name, description, name_stems, description_stems)"
                   " VALUES (?, ?, ?, ?, ?) ON CONFLICT (rowid) DO UPDATE SET"
                   " name = excluded.name, description = excluded.description,"
                   " name_stems = excluded.name_stems,"
                   " description_stems = excluded.description_stems"),
}
# The products without terms. FTS5 keeps the rows of a table with content in
# product_search_content (id: the rowid); joining it takes 3 ms for 10 000 products,
# probing the virtual table for each product 25 ms. PostgreSQL's is a plain table.
_MISSING = {
    "sqlite": ("SELECT p.id FROM products p LEFT JOIN product_search_content s"
               " ON s.id = p.id WHERE p.deleted_at IS NULL AND s.id IS NULL"),
    "postgresql": ("SELECT p.id FROM products p LEFT JOIN product_search s"
                   " ON s.rowid = p.id WHERE p.deleted_at IS NULL AND s.rowid IS NULL"),
}
_CHANGED = "UPDATE product_search_state SET changes = changes + 1"
# Products indexed per statement when reindexing (bounds the rows held in memory).
_BATCH = 2_000


def _row(product_id: int, name: str, description: str) -> tuple[int, str, str, str, str]:
    name_words, name_stems = index_terms(name)
    description_words, description_stems = index_terms(description)
    return product_id, name_words, description_words, name_stems, description_stems


async def index_product(conn: aiosqlite.Connection, product_id: int, name: str,
                        description: str, *, engine: str = "sqlite") -> None:
    """(Re)write the terms of one product, inside the caller's write transaction."""
    await conn.execute(_INDEX[engine], _row(product_id, name, description))
    await conn.execute(_CHANGED)


async def unindex_product(conn: aiosqlite.Connection, product_id: int) -> None:
    """Take a product out of the index, inside the caller's write transaction."""
    await conn.execute("DELETE FROM product_search WHERE rowid = ?", (product_id,))
    await conn.execute(_CHANGED)


async def reindex(db: Connections) -> int:
    """Bring the index up to date when the database is opened; how many products were
    (re)indexed. Every product when the index was built with another ``TERMS_VERSION``,
    else only those without terms. One transaction: a crash leaves the index as it was."""
    index = _INDEX[db.engine]
    async with db.write() as conn:
        built_with = await rows.fetch_value(
            conn, "SELECT terms_version FROM product_search_state")
        everything = built_with != TERMS_VERSION
        if everything:
            await conn.execute("DELETE FROM product_search")
            missing = "SELECT id FROM products WHERE deleted_at IS NULL"
        else:
            missing = _MISSING[db.engine]
        # The ids first, then the texts a batch at a time: the index is not written while
        # a read of it is still under way, and a large catalogue is not held in memory.
        ids = [int(r[0]) for r in await rows.fetch_all(conn, missing)]
        for start in range(0, len(ids), _BATCH):
            batch = ids[start:start + _BATCH]
            found = await rows.fetch_all(
                conn, "SELECT id, name, description FROM products WHERE id IN"
                      f" ({', '.join('?' * len(batch))})", batch)
            await conn.executemany(index, [_row(int(r[0]), r[1], r[2]) for r in found])
        indexed = len(ids)
        if everything or indexed:
            await conn.execute(
                "UPDATE product_search_state SET terms_version = ?, changes = changes + 1",
                (TERMS_VERSION,))
    if indexed:
        log.info("search index: %d products indexed (terms version %d%s)", indexed,
                 TERMS_VERSION, ", rebuilt" if everything else "")
    return indexed


class IndexWords(Protocol):
    """The words of the index (``SearchVocabulary``, or PostgreSQL's)."""

    async def current(self) -> Vocabulary: ...


class SearchVocabulary:
    """The words of the index, kept in memory and read again after the index changed
    (in this process or another: the check is one read of ``product_search_state``).

    Reading them scans the whole index (measured: 6 ms for the benchmark's 10 000
    products and their 460 words, 18 ms for 3 000 distinct words, 85 ms for 20 000), so
    it runs in a worker thread with its own read-only connection, off the event loop, and
    callers that arrive meanwhile share that read.
    """

    def __init__(self, db: Connections) -> None:
        self._db = db
        self._known: Vocabulary | None = None
        self._reading: asyncio.Task[Vocabulary] | None = None

    async def current(self) -> Vocabulary:
        version = int((await self._db.lookup("SELECT changes FROM product_search_state"))[0][0])
        known = self._known
        if known is not None and known.version >= version:
            return known
        reading = self._reading
        if reading is None or reading.done():
            # Read after the version: a write in between only makes the next call read
            # again. Shielded: one caller giving up does not cancel the others' read.
            reading = self._reading = asyncio.ensure_future(
                asyncio.to_thread(_read_vocabulary, self._db.path, version))
        found = await asyncio.shield(reading)
        if self._known is None or found.version > self._known.version:
            self._known = found
        return found


def _read_vocabulary(path: Path, version: int) -> Vocabulary:
    """The index's words with their counts (run in a worker thread)."""
    conn = connect_for_lookups(path)
    try:
        found = conn.execute(
            "SELECT term, col, doc FROM product_search_terms"
            " WHERE col IN ('name', 'description')").fetchall()
    finally:
        conn.close()
    counts: dict[str, tuple[int, int]] = {}  # word -> products (in names, in descriptions)
    for term, column, docs in found:
        in_name, in_description = counts.get(term, (0, 0))
        counts[term] = ((in_name + docs, in_description) if column == "name"
                        else (in_name, in_description + docs))
    return Vocabulary(version=version, words=counts)
