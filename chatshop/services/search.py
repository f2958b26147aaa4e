"""Search across every shop: what people type becomes a safe full-text query, and a typo
gets a suggestion.

Words are folded (no accents, no case) and stemmed the way the index was built
(``chatshop.domain.terms``): a word of three letters or more matches as a prefix
(``crè`` finds « Crème ») or by its French stem (``savons`` finds « Savon »,
``crèmes`` « Crème »); shorter words match whole words only. Every word must match,
except short French filler words, which are dropped so that « confiture de fraise »
finds « Confiture fraise ». The user's text never reaches FTS5 syntax: each word is
quoted, and words are letters and digits only.

When a text finds nothing, ``suggest`` looks for the words that match nothing in the
catalogue and puts the nearest catalogue word in their place (« svaon » -> « savon »,
« crme » -> « crème »): one edit away for words of 4 or 5 letters, two beyond, where
swapping two neighbouring letters is one edit. A suggestion is offered only if it finds
something with the same filters.
"""

from __future__ import annotations

import re
import unicodedata

from chatshop.domain.models import ListedPage, ListedProduct, Page
from chatshop.domain.parsing import check_id, page_window
from chatshop.domain.terms import Vocabulary, fold, stem, words
from chatshop.storage.interface import Store

MAX_WORDS = 8
# One or two letters as a prefix match a large part of the catalogue (slow to rank and no
# use to the reader); such short words must match whole.
MIN_PREFIX = 3
# Words shorter than this are not corrected (too many neighbours: « mer », « mie »,
# « miel » are all one edit from « mie »), nor words longer than the longest names.
TYPO_MIN, TYPO_MAX = 4, 30
# Corrections tried in turn when the nearest one finds nothing with the filters.
TRIES = 3
_WORD = re.compile(r"[^\W_]+")
_FILLER = frozenset({
    "a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les",
    "pour", "un", "une", "avec",
})


def _meaningful(found: list[str]) -> list[int]:
    """The positions of the words worth searching for (not filler, unless all are); the
    search uses the first ``MAX_WORDS`` of them."""
    return [i for i, w in enumerate(found) if w not in _FILLER] or list(range(len(found)))


def _stem_of(word: str) -> str | None:
    """The stem a query word also matches (whole), if it differs and is long enough."""
    if len(word) < MIN_PREFIX:
        return None
    root = stem(word)
    return root if root != word and len(root) >= MIN_PREFIX else None


def match_expression(text: str) -> str | None:
    """``Crèmes de marrons`` -> ``("cremes"* OR "crem") AND ("marrons"* OR "marron")``;
    ``None`` if nothing to search."""
    found = words(text)
    parts = []
    for i in _meaningful(found)[:MAX_WORDS]:
        word = found[i]
        root = _stem_of(word)
        if len(word) < MIN_PREFIX:
            parts.append(f'"{word}"')
        elif root is None:
            parts.append(f'"{word}"*')
        else:
            parts.append(f'("{word}"* OR "{root}")')
    return " AND ".join(parts) or None


def nearest(vocabulary: Vocabulary, word: str) -> list[str]:
    """The catalogue's words within reach of a folded ``word``, nearest first, then those
    of more product names, then of more descriptions."""
    if not word.isalpha() or not TYPO_MIN <= len(word) <= TYPO_MAX:
        return []
    # Imported at the first typo, not at start-up: loading rapidfuzz's compiled distance
    # functions takes ~35 ms, a tenth of the bot's start-up (bench/startup.py).
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    reach = 1 if len(word) <= 5 else 2
    found = process.extract(word, vocabulary.of_length(len(word) - reach, len(word) + reach),
                            scorer=OSA.distance, score_cutoff=reach, limit=None)
    counts = vocabulary.words
    ranked = sorted(found, key=lambda hit: (hit[1], -counts[hit[0]][0], -counts[hit[0]][1],
                                            hit[0]))
    return [choice for choice, _distance, _index in ranked]


class SearchService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def search(self, text: str, *, commune_id: int | None = None,
                     shop_id: int | None = None, category_id: int | None = None,
                     offset: int = 0, limit: int = 8) -> Page[ListedProduct]:
        """Products matching ``text`` in shops that take reservations, best first: those
        with every word in their name, then the others. Past 200 hits the count stops
        there (the page is ``capped``: « plus de 200 résultats »), and each page costs
        about what it shows (``storage.catalogue_search``)."""
        expression = match_expression(text)
        offset, limit = page_window(offset, limit)
        if expression is None:
            return ListedPage(items=(), total=0, offset=offset, limit=limit)
        return await self._store.catalogue.search(
            expression, commune_id=_optional_id(commune_id, "commune"),
            shop_id=_optional_id(shop_id, "shop"),
            category_id=_optional_id(category_id, "category"), offset=offset, limit=limit)

    async def suggest(self, text: str, *, commune_id: int | None = None,
                      shop_id: int | None = None,
                      category_id: int | None = None) -> str | None:
        """What ``text`` was probably meant to be when it finds nothing: the same text
        with each word that matches nothing in the catalogue replaced by the nearest
        catalogue word, as the catalogue spells it (« Svaon lavnde » -> « savon
        lavande »). ``None`` when every word matches something (it is their combination
        that finds nothing), when a word has no near neighbour, when the text has more
        words than a search reads, or when no correction finds anything with these
        filters."""
        filters = {"commune_id": _optional_id(commune_id, "commune"),
                   "shop_id": _optional_id(shop_id, "shop"),
                   "category_id": _optional_id(category_id, "category")}
        typed = unicodedata.normalize("NFC", text)
        spans = list(_WORD.finditer(typed))
        found = [fold(span.group()) for span in spans]
        meaningful = _meaningful(found)
        if len(meaningful) > MAX_WORDS:  # not typed as a search: no guess
            return None
        catalogue = self._store.catalogue
        fixes: dict[int, list[str]] = {}
        vocabulary: Vocabulary | None = None
        for i in meaningful:
            # A word that finds something somewhere in the territory is no typo.
            alone = match_expression(found[i])
            if alone is None or await catalogue.first_match(alone):
                continue
            vocabulary = vocabulary or await catalogue.vocabulary()
            near = nearest(vocabulary, found[i])
            if not near:
                return None
            fixes[i] = near[:TRIES]
        for attempt in range(min(TRIES, max((len(c) for c in fixes.values()), default=0))):
            chosen = {i: near[min(attempt, len(near) - 1)] for i, near in fixes.items()}
            expression = match_expression(_replaced(typed, spans, chosen))
            # Whether it finds anything, not how much: one hit, unranked, is enough.
            if expression and await catalogue.first_match(expression, **filters):
                return _replaced(typed, spans, {i: await self._spelling(term)
                                                for i, term in chosen.items()})
        return None

    async def _spelling(self, term: str) -> str:
        """How the catalogue writes a folded word (``creme`` -> « crème »), in lower case."""
        product = await self._store.catalogue.first_match(f'{{name description}} : "{term}"')
        for text in (product.name, product.description) if product else ():
            for match in _WORD.finditer(text):
                if fold(match.group()) == term:
                    return match.group().lower()
        return term


def _replaced(text: str, spans: list[re.Match[str]], words_at: dict[int, str]) -> str:
    """``text`` with the words at these positions replaced, the rest as typed."""
    out, last = [], 0
    for i, span in enumerate(spans):
        if i in words_at:
            out += [text[last:span.start()], words_at[i]]
            last = span.end()
    return "".join([*out, text[last:]])


def _optional_id(value: int | None, what: str) -> int | None:
    return None if value is None else check_id(value, what)
