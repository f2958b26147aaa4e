"""The catalogue's full-text search: which listed products match, in what order, and how
many (counted up to ``SEARCH_COUNT_CAP``), over the index of ``search_index``."""

from __future__ import annotations

import functools
import json
import re

from chatshop.domain.models import ListedPage, ListedProduct, Page, Product
from chatshop.domain.terms import Vocabulary
from chatshop.storage import rows
from chatshop.storage.database import Connections
from chatshop.storage.listing import LISTED_COLUMNS, LISTED_JOINS, VISIBLE, listed_products
from chatshop.storage.search_index import IndexWords

# A search counts its hits up to this many: beyond, the customer reads « plus de 200
# résultats », and the hits are not ranked (bm25 over 14 766 hits costs 15 ms at 100 000
# products, and the reader sees eight).
SEARCH_COUNT_CAP = 200
# One form of a word in a match expression: the quoted term, and * for a prefix.
_FORM = re.compile(r'"([^"\s*(){}:]+)"(\*?)')


@functools.cache
def _search_hits(*, commune: bool, shop: bool, category: bool) -> str:
    """What a search finds: listed products of shops taking reservations whose terms
    match ``:match``, with the filters asked for (each a parameter of the same name).

    The index leads (CROSS JOIN: its rows in id order, so that a page stops early and a
    filter never probes the index product by product); each hit is checked against the
    narrow index products_searched (migration 0016), not the table's whole rows; a
    shop's filter is a set of its product ids checked before any product is read."""
    where = [f"""FROM product_search s CROSS JOIN products p INDEXED BY products_searched
        ON p.id = s.rowid {LISTED_JOINS}
    WHERE product_search MATCH :match AND {VISIBLE} AND pickup.on_holiday = 0"""]
    if commune:  # the commune's shops are checked as soon as the product row is read
        where.append("AND pickup.commune_id = :commune AND COALESCE(p.host_shop_id, p.shop_id)"
                     " IN (SELECT id FROM shops WHERE commune_id = :commune)")
    if shop:
        where.append("AND pickup.id = :shop AND +s.rowid IN ("
                     "SELECT id FROM products WHERE host_shop_id = :shop UNION ALL"
                     " SELECT id FROM products WHERE shop_id = :shop AND host_shop_id IS NULL)")
    if category:
        where.append("AND p.category_id = :category")
    return "\n    ".join(where)


def _words_of(match: str) -> list[list[tuple[str, bool]]] | None:
    """The words of an expression as ``services.search.match_expression`` writes it
    (``("cremes"* OR "crem") AND "de"``), each with its forms: (term, is a prefix). None
    for an expression of another shape."""
    words = []
    for part in match.split(" AND "):
        inner = part[1:-1] if part.startswith("(") and part.endswith(")") else part
        forms = [_FORM.fullmatch(form) for form in inner.split(" OR ")]
        if not all(forms):
            return None
        words.append([(form.group(1), bool(form.group(2))) for form in forms if form])
    return words


def _has_every(words: list[list[tuple[str, bool]]], terms: list[str]) -> bool:
    """Whether each word has a form among ``terms`` (as FTS5 matches: a prefix starts a
    term, a whole word is one)."""
    return all(any(any(t.startswith(term) for t in terms) if prefix else term in terms
                   for term, prefix in forms) for forms in words)


def _in_names(match: str) -> str:
    """The hits of ``match`` that have every word in their name (as typed or by stem)."""
    return f"{{name name_stems}} : ({match})"


def _not_in_names(match: str) -> str:
    """The other hits of ``match``: a word is only in their description."""
    return f"({match}) NOT ({_in_names(match)})"


class CatalogueSearch:
    """The search part of ``SqliteCatalogueRepository`` (which holds the connections
    and the vocabulary)."""

    _db: Connections
    _vocabulary: IndexWords

    async def search(self, match: str, *, commune_id: int | None = None,
                     shop_id: int | None = None, category_id: int | None = None,
                     offset: int = 0, limit: int = 8) -> Page[ListedProduct]:
        """Listed products of shops taking reservations that match an FTS5 ``match``
        expression, those with every word in their name first, then the others.

        Up to ``SEARCH_COUNT_CAP`` hits, they are counted and ranked (a word as typed
        before one that only shares its stem, a shorter name first; see ``_ranked``).
        Beyond, the page says « more than 200 » (``capped``) and each group is in id
        order: a page then reads about the rows it shows, not every hit (« con »: 14 766
        hits at 100 000 products)."""
        hits = _search_hits(commune=commune_id is not None, shop=shop_id is not None,
                            category=category_id is not None)
        params: dict[str, object] = {"match": match, "commune": commune_id,
                                     "shop": shop_id, "category": category_id}
        # Read on the loop's connection (see ``read_briefly``): about a millisecond at
        # 100 000 products, and a search in a reader's thread waits for the GIL under load.
        read = self._db.read_briefly
        found = [int(r[0]) for r in await read(
            f"SELECT s.rowid {hits} LIMIT {SEARCH_COUNT_CAP + 1}", params)]
        if len(found) <= SEARCH_COUNT_CAP:
            total, capped = len(found), False
            ids = await self._ranked(match, found, offset, limit)
        else:
            ids = await self._in_id_order(hits, params, offset, limit + 1)
            more, ids = len(ids) > limit, ids[:limit]
            # On the last page past the cap the count is known after all; past the end
            # of the hits only that there are more than SEARCH_COUNT_CAP.
            total = max(SEARCH_COUNT_CAP, offset + len(ids)) if ids else SEARCH_COUNT_CAP
            capped = more or not ids
        return ListedPage(items=tuple(await self._listed_by_id(ids)), total=total,
                          capped=capped, offset=offset, limit=limit)

    async def _ranked(self, match: str, found: list[int], offset: int,
                      limit: int) -> list[int]:
        """The page's ids among a few ``found`` hits: those with every word in their name
        as typed first, then those with every word in their name by its stem, then the
        others; in each group the shorter names first (the closer matches), then by id."""
        if offset >= len(found):
            return []
        among = {"ids": json.dumps(found)}
        words = _words_of(match)
        if words is None:  # not an expression of match_expression's: the index tells
            in_names = {int(r[0]) for r in await self._db.read_briefly(
                "SELECT rowid FROM product_search WHERE product_search MATCH :match"
                " AND +rowid IN (SELECT value FROM json_each(:ids))",
                {"match": _in_names(match), **among})}
            ranked = sorted(found, key=lambda i: (i not in in_names, i))
            return ranked[offset:offset + limit]
        # The terms each hit was indexed with, read by id (no second match of the index,
        # whose prefixes and stems cost as much as the search itself).
        terms = {int(r[0]): (str(r[1]).split(), str(r[2]).split())
                 for r in await self._db.read_briefly(
                     "SELECT rowid, name, name_stems FROM product_search"
                     " WHERE rowid IN (SELECT value FROM json_each(:ids))", among)}

        def rank(product_id: int) -> tuple[int, int, int]:
            name, stems = terms.get(product_id, ([], []))
            if _has_every(words, name):
                group = 0
            elif _has_every(words, name + stems):
                group = 1
            else:
                group = 2
            return group, len(name), product_id

        return sorted(found, key=rank)[offset:offset + limit]

    async def _in_id_order(self, hits: str, params: dict[str, object], offset: int,
                           wanted: int) -> list[int]:
        """Up to ``wanted`` ids from ``offset`` of the hits, unranked: those with every
        word in their name first, then the others, each group in id order (the index's
        own order: the read stops after the rows it needs)."""
        match = str(params["match"])
        ids: list[int] = []
        skip = offset
        for group in (_in_names(match), _not_in_names(match)):
            at = {**params, "match": group, "skip": skip, "take": wanted - len(ids)}
            got = [int(r[0]) for r in await self._db.read_briefly(
                f"SELECT s.rowid {hits} ORDER BY s.rowid LIMIT :take OFFSET :skip", at)]
            ids += got
            if len(ids) >= wanted:
                break
            if got or not skip:
                skip = 0
            else:  # the group has at most ``skip`` hits: skip them all in the next one
                skip -= (await self._db.read_briefly(
                    f"SELECT count(*) FROM (SELECT 1 {hits} LIMIT :skip)", at))[0][0]
        return ids

    async def _listed_by_id(self, ids: list[int]) -> list[ListedProduct]:
        """The listed products of ``ids``, in that order (their photos and names)."""
        if not ids:
            return []
        found = await self._db.read_briefly(
            f"SELECT {LISTED_COLUMNS} FROM products p {LISTED_JOINS}"
            " WHERE p.id IN (SELECT value FROM json_each(:ids))", {"ids": json.dumps(ids)})
        by_id = {int(r["id"]): r for r in found}
        return listed_products([by_id[i] for i in ids if i in by_id])

    async def first_match(self, match: str, *, commune_id: int | None = None,
                          shop_id: int | None = None,
                          category_id: int | None = None) -> Product | None:
        """Any one product that ``search`` would find for ``match``, unranked (the
        first hit listed will do): whether a suggestion finds something, and how the
        catalogue spells a word."""
        hits = _search_hits(commune=commune_id is not None, shop=shop_id is not None,
                            category=category_id is not None)
        found = await self._db.read_briefly(
            f"SELECT p.*, {rows.PRODUCT_PHOTOS} {hits} LIMIT 1",
            {"match": match, "commune": commune_id, "shop": shop_id,
             "category": category_id})
        return rows.product(found[0]) if found else None

    async def vocabulary(self) -> Vocabulary:
        """The words and stems of the search index, for typo suggestions."""
        return await self._vocabulary.current()
