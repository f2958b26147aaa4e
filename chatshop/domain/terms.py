"""Search terms: the words of a product or of a query, folded and stemmed the same way.

Python's ``sqlite3`` cannot register an FTS5 tokenizer, so the words are prepared here,
when a product is indexed and when a query is read, and the index stores them as they
are (PostgreSQL can take the same terms later): lower case, without accents, « œ » as
« oe », and beside each word its French Snowball stem when that differs, so that
« Crèmes » is indexed as ``cremes`` with the stem ``crem``, and « savons », « crème »
or « confitures » find « Savon », « Crèmes » and « Confiture ».

``TERMS_VERSION`` names this recipe: when it changes (another stemmer, other folding),
bump it, and the index is rebuilt when the database is next opened.

The ``Vocabulary`` is what the index holds, for the typo suggestions: each word with
the number of products that use it in their name and in their description.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import Stemmer

from chatshop.domain.text import fold as fold_accents

TERMS_VERSION = 1
# Words shorter than this are not stemmed (nor are numbers): Snowball leaves them alone
# or mangles them (« as » -> « a »).
MIN_STEMMED = 3

_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case, without accents, ligatures spelt out: « Œuf Crème » -> « oeuf creme »
    (``chatshop.domain.text.fold``, then the ligatures)."""
    return fold_accents(text).replace("œ", "oe").replace("æ", "ae")


def words(text: str) -> list[str]:
    """The folded words of ``text``: « Savon au lait d'ânesse » -> savon au lait d anesse."""
    return _WORD.findall(fold(text))


@functools.cache
def _french() -> Stemmer.Stemmer:
    # One stemmer, made on first use (nothing runs at import); it keeps its own cache of
    # recent words. Used from the event loop's thread only: a stemmer is not thread-safe.
    return Stemmer.Stemmer("french")


def stem(word: str) -> str:
    """The French Snowball stem of a folded word: ``savons`` -> ``savon``, ``cremes`` ->
    ``crem``; short words and numbers as they are."""
    if len(word) < MIN_STEMMED or not word.isalpha():
        return word
    return str(_french().stemWord(word))


def index_terms(text: str) -> tuple[str, str]:
    """What the index stores for ``text``: its folded words, and the stems that differ
    from their word (« Crèmes de marrons » -> ``cremes de marrons``, ``crem marron``)."""
    found = words(text)
    known = set(found)
    stems = [s for s in (stem(w) for w in found) if s not in known]
    return " ".join(found), " ".join(dict.fromkeys(stems))


@dataclass(frozen=True)
class Vocabulary:
    """The words of the search index at one ``version`` of it: each word products use,
    with how many products have it in their name and in their description (stems are
    not words: they are never offered as corrections)."""

    version: int
    words: Mapping[str, tuple[int, int]]
    _by_length: Mapping[int, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_length: dict[int, list[str]] = {}
        for word in self.words:
            if word.isalpha():  # not « 250 » for « 205 »
                by_length.setdefault(len(word), []).append(word)
        object.__setattr__(self, "_by_length",
                           {n: tuple(found) for n, found in by_length.items()})

    def of_length(self, low: int, high: int) -> list[str]:
        """The words (of letters only) from ``low`` to ``high`` letters long."""
        return [w for n in range(low, high + 1) for w in self._by_length.get(n, ())]
