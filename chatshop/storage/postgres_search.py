"""The catalogue's full-text search on PostgreSQL: the same hits, in the same order and
with the same counts as ``catalogue_search`` on SQLite, over the same terms.

The index is the plain table ``product_search`` (migration 0009) with two tsvector
columns computed from its terms (0014): ``names`` (name and name_stems) and ``terms``
(all four columns), each word a lexeme as chatshop wrote it (folded and stemmed in
Python, ``chatshop.domain.terms``: no text search configuration is involved), weighted
by its column: A name, B name_stems, C description, D description_stems.

The callers still write FTS5 expressions (``services.search.match_expression``), which
``tsquery`` translates:

- ``("cremes"* OR "crem") AND "de"`` (what ``catalogue_search._words_of`` reads) ->
  ``('cremes':* | 'crem') & 'de'``, matched against ``terms``; the hits with every word
  in their name are those whose ``names`` match the same tsquery;
- other shapes (a column filter, ``NOT``, bare words: ``{name description} : "creme"``
  from the suggestions' spelling) through a small parser of FTS5's syntax, column
  filters becoming weights (``'creme':AC``);
- what neither reads (``NEAR``, ``^``, ``+``, a column filter with ``-``) is searched as
  the plain words it contains, each one whole, all of them required: a warning is
  logged. A phrase of several words (``"lait d anesse"``) requires each of its words,
  not their sequence (the lexemes have no positions).

Known differences with FTS5: the lexemes are the words as chatshop wrote them, where
FTS5's tokenizer reads the stored text again (the two agree on letters and digits:
``tests/test_search_postgresql.py`` compares them); a word longer than ``LONGEST_WORD``
is found on SQLite only.

Measured on 2 shared cores (16 queries of the catalogue's words and prefixes, the server
on the same machine, through ``storage/postgres.py``'s connections): a search p50 6.5
ms, p95 8 ms at 10 000 products (SQLite 0.5 and 1.0); at 100 000, p50 9 ms and p95 15 ms
when the machine was quiet (SQLite 0.8 and 4.3), 16 and 38 ms under a load of 5 (SQLite
2.3 and 13), with client-side binding, when about 1.3 ms of each statement was
PostgreSQL planning the joins of ``LISTED_JOINS``; the statements are prepared now
(``postgres_sql``), which did not change the p95 measured (60 against 67 ms on a loaded
machine, 10 000 products). A search is two or three statements; PostgreSQL does not
estimate a prefix's hits (always 2 % of the rows), so a common prefix's hits are all
read and hashed before the 201st stops it.

The SQL uses SQLite's placeholders (``?``, ``:name``), rewritten by the PostgreSQL
adapter, and ``CAST(... AS ...)``, never ``::``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chatshop.domain.models import ListedPage, ListedProduct, Page, Product
from chatshop.domain.terms import Vocabulary, words
from chatshop.storage import rows
from chatshop.storage.catalogue_search import SEARCH_COUNT_CAP, _has_every, _words_of
from chatshop.storage.database import Connections
from chatshop.storage.listing import LISTED_JOINS, VISIBLE, listed_products

log = logging.getLogger(__name__)

# A product's photos as a JSON object's text ({} without any), as SQLite's
# json_group_object answers: rows.product reads it with json.loads.
_PHOTOS = """(SELECT COALESCE(CAST(json_object_agg(channel, file_ref) AS TEXT), '{}')
    FROM product_photos WHERE product_id = p.id) AS photos_json"""
_LISTED_COLUMNS = ("p.*, maker.name AS maker_name, pickup.name AS pickup_shop_name,"
                   f" c.name AS commune_name, {_PHOTOS}")

# The weight of each column's words in the tsvectors (migration 0014).
_WEIGHTS = {"name": "A", "name_stems": "B", "description": "C", "description_stems": "D"}
_EVERY_COLUMN = frozenset("ABCD")
# A lexeme holds at most 2047 bytes: the tsvectors leave out words longer than this
# (migration 0014), and a query's word is cut to one letter more, which nothing matches
# (whole or as a prefix). On SQLite such a word is found; nobody types one.
LONGEST_WORD = 500
_NAME_COLUMNS = frozenset("AB")


# -- FTS5 expressions as tsqueries ---------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """An FTS5 expression as PostgreSQL reads it: ``terms``, a tsquery for the column
    ``terms`` (the whole expression); ``names``, one for the column ``names`` (the
    expression with every word in the name, as ``{name name_stems} : (...)``); ``words``,
    what ``_words_of`` read of it (None: another shape); ``None`` for a tsquery when
    nothing can match."""

    terms: str | None
    names: str | None
    words: list[list[tuple[str, bool]]] | None


def _lexeme(term: str, prefix: bool, weights: frozenset[str],
            column: frozenset[str] = _EVERY_COLUMN) -> str:
    """A tsquery's word: quoted, ``:*`` for a prefix, and the weights it must have when
    they are not all those of the tsvector's ``column``."""
    term = term[:LONGEST_WORD + 1]
    quoted = "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
    labels = "" if weights == column else "".join(sorted(weights))
    return quoted + (":" + ("*" if prefix else "") + labels if prefix or labels else "")


def _of_words(found: list[list[tuple[str, bool]]]) -> str:
    """``_words_of``'s words as a tsquery: each word one of its forms, every word."""
    return " & ".join(
        "(" + " | ".join(_lexeme(term, prefix, _EVERY_COLUMN) for term, prefix in forms) + ")"
        for forms in found)


class _Unread(ValueError):
    """An FTS5 expression of a shape the parser does not read."""


_TOKEN = re.compile(r'\s*(?:(\{[^{}]*\})|("(?:[^"]|"")*")|([():*])|([^\s(){}":*]+))')
_KEYWORDS = ("AND", "OR", "NOT")

# A parsed expression: ("word", words, prefix, weights) | ("and" | "or", [nodes]) |
# ("not", kept, taken away).
_Node = tuple[object, ...]


class _Parser:
    """FTS5's query syntax, the part chatshop writes and a little more: phrases (quoted
    or bare), ``*``, ``AND``/``OR``/``NOT`` (NOT binds tightest, then AND, then OR; two
    phrases side by side are an AND), parentheses and column filters (``{a b} : x``,
    ``a : x``)."""

    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        at = 0
        while at < len(text):
            found = _TOKEN.match(text, at)
            if found is None or found.end() == at:
                if text[at:].strip():
                    raise _Unread(text)
                break
            self.tokens.append(found.group().strip())
            at = found.end()
        self.at = 0

    def parse(self) -> _Node:
        node = self._or(_EVERY_COLUMN)
        if self.at != len(self.tokens):
            raise _Unread(" ".join(self.tokens))
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise _Unread("ends too soon")
        self.at += 1
        return token

    def _or(self, weights: frozenset[str]) -> _Node:
        parts = [self._and(weights)]
        while self._peek() == "OR":
            self.at += 1
            parts.append(self._and(weights))
        return ("or", parts) if len(parts) > 1 else parts[0]

    def _and(self, weights: frozenset[str]) -> _Node:
        parts = [self._not(weights)]
        while self._peek() not in (None, ")", "OR"):
            if self._peek() == "AND":
                self.at += 1
            parts.append(self._not(weights))
        return ("and", parts) if len(parts) > 1 else parts[0]

    def _not(self, weights: frozenset[str]) -> _Node:
        node = self._primary(weights)
        while self._peek() == "NOT":
            self.at += 1
            node = ("not", node, self._primary(weights))
        return node

    def _primary(self, weights: frozenset[str]) -> _Node:
        token = self._take()
        following = self._peek()
        if token.startswith("{") or (following == ":" and not token.startswith('"')):
            names = token.strip("{}").split()
            if self._take() != ":" or not names or any(n not in _WEIGHTS for n in names):
                raise _Unread(token)
            return self._primary(weights & frozenset(_WEIGHTS[n] for n in names))
        if token == "(":
            node = self._or(weights)
            if self._take() != ")":
                raise _Unread("no closing parenthesis")
            return node
        if token in _KEYWORDS or token in ("(", ")", ":", "*") or (
                token == "NEAR" and following == "("):
            raise _Unread(token)
        if token.startswith('"'):
            text = token[1:-1].replace('""', '"')
        elif re.fullmatch(r"[^\W_]+", token):
            text = token
        else:  # NEAR(, ^, +, - and the like
            raise _Unread(token)
        prefix = self._peek() == "*"
        if prefix:
            self.at += 1
        found = words(text)
        if not found or not weights:
            raise _Unread(token)
        return ("word", found, prefix, weights)


def _tsquery_of(node: _Node, only: frozenset[str] = _EVERY_COLUMN) -> str:
    """A parsed expression as a tsquery for a tsvector of the columns ``only`` (all for
    ``terms``, the name's for ``names``), its words limited to them."""
    kind = node[0]
    if kind == "word":
        found, prefix, weights = node[1], node[2], node[3]
        assert isinstance(found, list)
        assert isinstance(weights, frozenset)
        # Outside the tsvector's columns (a description's word asked in ``names``), the
        # word keeps its own weights, which that tsvector has none of: it never matches.
        allowed = weights & only or weights
        # A phrase's words are each required (the lexemes have no positions); a prefix
        # is its last word's.
        lexemes = [_lexeme(w, bool(prefix) and i == len(found) - 1, allowed, only)
                   for i, w in enumerate(found)]
        return lexemes[0] if len(lexemes) == 1 else "(" + " & ".join(lexemes) + ")"
    if kind == "not":
        kept, taken = node[1], node[2]
        assert isinstance(kept, tuple)
        assert isinstance(taken, tuple)
        return f"({_tsquery_of(kept, only)} & !{_tsquery_of(taken, only)})"
    parts = node[1]
    assert isinstance(parts, list)
    joiner = " & " if kind == "and" else " | "
    return "(" + joiner.join(_tsquery_of(part, only) for part in parts) + ")"


@functools.lru_cache(maxsize=1024)
def tsquery(match: str) -> Query:
    """The tsqueries of an FTS5 expression (see the module's docstring)."""
    found = _words_of(match)
    if found is not None:
        ours = _of_words(found)
        return Query(terms=ours, names=ours, words=found)
    try:
        node = _Parser(match).parse()
        return Query(terms=_tsquery_of(node), names=_tsquery_of(node, _NAME_COLUMNS),
                     words=None)
    except _Unread:
        plain = [w for w in words(match) if w.upper() not in (*_KEYWORDS, "NEAR")
                 and w not in _WEIGHTS]
        log.warning("search: expression read as its plain words, each one whole: %r",
                    match)
        text = " & ".join(_lexeme(w, False, _EVERY_COLUMN) for w in plain) or None
        return Query(terms=text, names=text, words=None)


# -- the search ----------------------------------------------------------------------------

_MATCH = {
    # Every hit; the hits with every word in their name; the others.
    "all": "s.terms @@ CAST(:terms AS tsquery)",
    "names": "s.names @@ CAST(:names AS tsquery)",
    "others": "s.terms @@ CAST(:terms AS tsquery) AND NOT s.names @@ CAST(:names AS tsquery)",
}


@functools.cache
def _search_hits(group: str, *, commune: bool, shop: bool, category: bool) -> str:
    """What a search finds (``catalogue_search._search_hits``): listed products of shops
    taking reservations whose terms match the group's tsquery, with the filters asked
    for (each a parameter of the same name). PostgreSQL's planner picks the order of
    the joins: the GIN index for a rare word, the products in id order for a common one
    when a page stops early."""
    where = [f"""FROM product_search s JOIN products p ON p.id = s.rowid {LISTED_JOINS}
    WHERE {_MATCH[group]} AND {VISIBLE} AND pickup.on_holiday = 0"""]
    if commune:
        where.append("AND pickup.commune_id = :commune")
    if shop:
        where.append("AND COALESCE(p.host_shop_id, p.shop_id) = :shop")
    if category:
        where.append("AND p.category_id = :category")
    return "\n    ".join(where)


class IndexWords(Protocol):
    """The index's words as the search reads them (``PostgresSearchVocabulary``; the
    same protocol as ``search_index.IndexWords``)."""

    async def current(self) -> Vocabulary: ...


class PostgresCatalogueSearch:
    """The search part of the PostgreSQL catalogue repository, as ``CatalogueSearch`` is
    of SQLite's (which holds the connections and the vocabulary)."""

    _db: Connections
    _vocabulary: IndexWords

    async def search(self, match: str, *, commune_id: int | None = None,
                     shop_id: int | None = None, category_id: int | None = None,
                     offset: int = 0, limit: int = 8) -> Page[ListedProduct]:
        """Listed products of shops taking reservations that match an FTS5 ``match``
        expression, those with every word in their name first, then the others: as
        ``CatalogueSearch.search`` (up to ``SEARCH_COUNT_CAP`` hits counted and ranked;
        beyond, « more than 200 » and each group in id order)."""
        query = tsquery(match)
        if query.terms is None:
            return ListedPage(items=(), total=0, offset=offset, limit=limit)
        filters = {"commune": commune_id is not None, "shop": shop_id is not None,
                   "category": category_id is not None}
        params: dict[str, object] = {"terms": query.terms, "names": query.names,
                                     "commune": commune_id, "shop": shop_id,
                                     "category": category_id}
        hits = _search_hits("all", **filters)
        # The hits with the terms their rank needs, in one statement (each costs a round
        # trip and a plan on PostgreSQL, where SQLite reads FTS5's content apart).
        found = await self._db.read_briefly(
            f"SELECT s.rowid, s.name, s.name_stems {hits} LIMIT {SEARCH_COUNT_CAP + 1}",
            params)
        if len(found) <= SEARCH_COUNT_CAP:
            total, capped = len(found), False
            ids = await self._ranked(query, found, offset, limit)
        else:
            ids = await self._in_id_order(filters, params, offset, limit + 1)
            more, ids = len(ids) > limit, ids[:limit]
            total = max(SEARCH_COUNT_CAP, offset + len(ids)) if ids else SEARCH_COUNT_CAP
            capped = more or not ids
        return ListedPage(items=tuple(await self._listed_by_id(ids)), total=total,
                          capped=capped, offset=offset, limit=limit)

    async def _ranked(self, query: Query, found: Sequence[Sequence[Any]], offset: int,
                      limit: int) -> list[int]:
        """The page's ids among a few ``found`` hits (rows of rowid, name, name_stems),
        ranked as ``CatalogueSearch._ranked`` ranks them: every word in the name as
        typed, then by its stem, then the others; in each group the shorter names first,
        then by id."""
        if offset >= len(found):
            return []
        ids = [int(r[0]) for r in found]
        found_words = query.words
        if found_words is None:  # not an expression of match_expression's: the index tells
            in_names = {int(r[0]) for r in await self._db.read_briefly(
                "SELECT rowid FROM product_search WHERE names @@ CAST(:names AS tsquery)"
                " AND rowid = ANY(:ids)", {"names": query.names, "ids": ids})}
            ranked = sorted(ids, key=lambda i: (i not in in_names, i))
            return ranked[offset:offset + limit]
        terms = {int(r[0]): (str(r[1]).split(), str(r[2]).split()) for r in found}

        def rank(product_id: int) -> tuple[int, int, int]:
            name, stems = terms[product_id]
            if _has_every(found_words, name):
                group = 0
            elif _has_every(found_words, name + stems):
                group = 1
            else:
                group = 2
            return group, len(name), product_id

        return sorted(ids, key=rank)[offset:offset + limit]

    async def _in_id_order(self, filters: dict[str, bool], params: dict[str, object],
                           offset: int, wanted: int) -> list[int]:
        """Up to ``wanted`` ids from ``offset`` of the hits, unranked: those with every
        word in their name first, then the others, each group in id order."""
        ids: list[int] = []
        skip = offset
        for group in ("names", "others"):
            hits = _search_hits(group, **filters)
            at = {**params, "skip": skip, "take": wanted - len(ids)}
            got = [int(r[0]) for r in await self._db.read_briefly(
                f"SELECT s.rowid {hits} ORDER BY s.rowid LIMIT :take OFFSET :skip", at)]
            ids += got
            if len(ids) >= wanted:
                break
            if got or not skip:
                skip = 0
            else:  # the group has at most ``skip`` hits: skip them all in the next one
                skip -= int((await self._db.read_briefly(
                    f"SELECT count(*) FROM (SELECT 1 {hits} LIMIT :skip) AS counted",
                    at))[0][0])
        return ids

    async def _listed_by_id(self, ids: list[int]) -> list[ListedProduct]:
        """The listed products of ``ids``, in that order (their photos and names)."""
        if not ids:
            return []
        found = await self._db.read_briefly(
            f"SELECT {_LISTED_COLUMNS} FROM products p {LISTED_JOINS}"
            " WHERE p.id = ANY(:ids)", {"ids": ids})
        by_id = {int(r["id"]): r for r in found}
        return listed_products([by_id[i] for i in ids if i in by_id])

    async def first_match(self, match: str, *, commune_id: int | None = None,
                          shop_id: int | None = None,
                          category_id: int | None = None) -> Product | None:
        """The product that ``CatalogueSearch.first_match`` finds: the hit of the
        smallest id (FTS5 gives its hits in id order), so that the suggestions spell a
        word as they do on SQLite."""
        query = tsquery(match)
        if query.terms is None:
            return None
        hits = _search_hits("all", commune=commune_id is not None,
                            shop=shop_id is not None, category=category_id is not None)
        found = await self._db.read_briefly(
            f"SELECT p.*, {_PHOTOS} {hits} ORDER BY s.rowid LIMIT 1",
            {"terms": query.terms, "names": query.names, "commune": commune_id,
             "shop": shop_id, "category": category_id})
        return rows.product(found[0]) if found else None

    async def vocabulary(self) -> Vocabulary:
        """The words of the search index, for typo suggestions."""
        return await self._vocabulary.current()


# -- the index ------------------------------------------------------------------------------

# Each column's words with the products that have them: the weights of the tsvector
# ``terms`` are the columns (A the name, C the description), as fts5vocab's 'col' counts.
_VOCABULARY = """SELECT word, ndoc, 'name' FROM ts_stat('SELECT names FROM product_search', 'A')
    UNION ALL
    SELECT word, ndoc, 'description' FROM ts_stat('SELECT terms FROM product_search', 'C')"""


def vocabulary_of(found: Iterable[Sequence[Any]], version: int) -> Vocabulary:
    """The vocabulary from rows (word, products, 'name' or 'description')."""
    counts: dict[str, tuple[int, int]] = {}
    for word, docs, column in found:
        in_name, in_description = counts.get(str(word), (0, 0))
        number = int(docs)
        counts[str(word)] = ((in_name + number, in_description) if column == "name"
                             else (in_name, in_description + number))
    return Vocabulary(version=version, words=counts)


class PostgresSearchVocabulary:
    """``search_index.SearchVocabulary`` on PostgreSQL: the index's words kept in memory,
    read again (``ts_stat`` over the tsvectors, on a reader of the pool) only when
    ``product_search_state.changes`` says the index has changed; callers that arrive
    while it is read share that read."""

    def __init__(self, db: Connections) -> None:
        self._db = db
        self._known: Vocabulary | None = None
        self._reading: asyncio.Task[Vocabulary] | None = None

    async def current(self) -> Vocabulary:
        version = int((await self._db.read_briefly(
            "SELECT changes FROM product_search_state"))[0][0])
        known = self._known
        if known is not None and known.version >= version:
            return known
        reading = self._reading
        if reading is None or reading.done():
            reading = self._reading = asyncio.ensure_future(self._read(version))
        found = await asyncio.shield(reading)
        if self._known is None or found.version > self._known.version:
            self._known = found
        return found

    async def _read(self, version: int) -> Vocabulary:
        async with self._db.read() as conn:
            return vocabulary_of(await rows.fetch_all(conn, _VOCABULARY), version)
