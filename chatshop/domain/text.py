"""Comparing words the way people type them: case and accents aside.

``fold`` is the one accent folding of chatshop: whatever compares, sorts or indexes words
(the catalogue's French order, search terms, category words, CSV columns and product
names, everyday phrases, button titles typed back) calls it, adding only what it needs
on top (ligatures spelt out for search terms, typographic apostrophes made plain for
phrases). ``ascii_only`` is the other reading, for what must be plain ASCII (slugs,
day names): every character that does not decompose into ASCII is dropped, not kept.
Pure functions of the text: no I/O.
"""

from __future__ import annotations

import unicodedata


class _Marks(dict[int, int | None]):
    """``str.translate``'s table that drops combining marks (accents once decomposed) and
    keeps every other character, filled as characters are met (the table of all of
    Unicode would take a second to build). At most ``KEPT`` characters are remembered, so
    that text made of every code point cannot make it grow without end."""

    KEPT = 20_000

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        if len(self) < self.KEPT:
            self[code] = kept
        return kept


_MARKS = _Marks()


def fold(text: str) -> str:
    """Lower case (Unicode case folding: « ß » is « ss »), without accents: « Crème
    Brûlée » -> « creme brulee ». Ligatures (« œ », « æ ») and punctuation are kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    if decomposed.isascii():  # most of what people type: no accent to take away
        return decomposed.casefold()
    return decomposed.translate(_MARKS).casefold()


def ascii_only(text: str) -> str:
    """``text`` without accents and without any character that is not ASCII once
    decomposed (« Épicerie « Léa » œuf » -> « Epicerie  Lea  uf »); case is kept."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
