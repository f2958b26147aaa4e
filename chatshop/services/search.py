"""Search across every shop: what people type becomes a safe full-text query.

Words of three letters or more are matched by prefix, all without accents or case
(``creme`` and ``crè`` find « Crème »); shorter words match whole words only. Every
word must match, except short French filler words, which are dropped so
that « confiture de fraise » finds « Confiture fraise ». The user's text never reaches
FTS5 syntax: each word is quoted.
"""

from __future__ import annotations

import re

from chatshop.domain.models import ListedPage, ListedProduct, Page
from chatshop.domain.parsing import check_id, page_window
from chatshop.storage.interface import Store

MAX_WORDS = 8
# One or two letters as a prefix match a large part of the catalogue (slow to rank and no
# use to the reader); such short words must match whole.
MIN_PREFIX = 3
_WORD = re.compile(r"\w+", re.UNICODE)
_FILLER = frozenset({
    "a", "à", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les",
    "pour", "un", "une", "avec",
})


def match_expression(text: str) -> str | None:
    """``Crème de marrons`` -> ``"crème"* "marrons"*``; ``None`` if nothing to search."""
    words = [w.lower() for w in _WORD.findall(text)]
    meaningful = [w for w in words if w not in _FILLER] or words
    if not meaningful:
        return None
    return " ".join(f'"{w}"*' if len(w) >= MIN_PREFIX else f'"{w}"'
                    for w in meaningful[:MAX_WORDS])


class SearchService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def search(self, text: str, *, commune_id: int | None = None,
                     shop_id: int | None = None, category_id: int | None = None,
                     offset: int = 0, limit: int = 8) -> Page[ListedProduct]:
        """Products matching ``text`` in shops that take reservations, best first."""
        expression = match_expression(text)
        offset, limit = page_window(offset, limit)
        if expression is None:
            return ListedPage(items=(), total=0, offset=offset, limit=limit)
        return await self._store.catalogue.search(
            expression, commune_id=_optional_id(commune_id, "commune"),
            shop_id=_optional_id(shop_id, "shop"),
            category_id=_optional_id(category_id, "category"), offset=offset, limit=limit)


def _optional_id(value: int | None, what: str) -> int | None:
    return None if value is None else check_id(value, what)
