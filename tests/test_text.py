"""Accent folding, once: ``chatshop.domain.text.fold`` and ``ascii_only``, and what each
place that compares words makes of them (each keeps its own rule for ligatures,
apostrophes and case)."""

from __future__ import annotations

import pytest

from chatshop.conversation import phrases
from chatshop.conversation.messages import same_title
from chatshop.domain import terms
from chatshop.domain.captions import guess_category
from chatshop.domain.codes import slugify
from chatshop.domain.models import Category
from chatshop.domain.parsing import parse_opening_hours
from chatshop.domain.product_csv import product_key
from chatshop.domain.text import ascii_only, fold
from chatshop.storage.database import sort_key


@pytest.mark.parametrize(("typed", "folded"), [
    ("Crème Brûlée", "creme brulee"),
    ("ÉPICERIE", "epicerie"),
    ("Straße", "strasse"),  # case folding, not lower(): « ß » is « ss »
    ("Œuf", "œuf"),  # ligatures kept: search terms spell them out themselves
    ("l’Été", "l’ete"),  # apostrophes kept: phrases make them plain themselves
    ("ﬁlet ½", "filet 1⁄2"),  # compatibility forms decomposed (NFKD)
    ("", ""),
])
def test_fold_takes_case_and_accents_away_and_nothing_else(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_ascii_only_drops_what_is_not_ascii_once_accents_are_gone() -> None:
    assert ascii_only("Épicerie « Chez Léa »") == "Epicerie  Chez Lea "
    assert ascii_only("Œuf Straße 12 €") == "uf Strae 12 "  # case kept, ß and œ dropped


def test_the_catalogues_french_order_folds_without_spelling_ligatures() -> None:
    assert sort_key("Éclair") == "eclair"
    assert sort_key("STRASSE") == sort_key("Straße") == "strasse"
    assert sort_key("Œuf") == "œuf"
    assert sort_key(None) is None
    names = ["Zeste", "Éclair", "Ecl", "Ed"]
    assert sorted(names, key=fold) == ["Ecl", "Éclair", "Ed", "Zeste"]


def test_search_terms_spell_ligatures_out() -> None:
    assert terms.fold("Œuf Ægée Crème") == "oeuf aegee creme"
    assert terms.words("Savon au lait d’ânesse") == ["savon", "au", "lait", "d", "anesse"]


def test_everyday_phrases_make_typographic_apostrophes_plain() -> None:
    assert phrases.fold("D’ACCORD") == "d'accord"
    assert phrases.read("D’accord !").phrase is phrases.Phrase.YES


def test_a_typed_title_matches_its_button_letters_only() -> None:
    assert same_title("retour", "⬅️ Retour")
    assert same_title("creme brulee", "Crème brûlée !")
    assert same_title("STRASSE", "Straße")
    assert not same_title("!!", "!!")  # no letters: no match


def test_csv_product_names_match_case_accents_and_spaces_aside() -> None:
    assert product_key("  Crème   brûlée ") == product_key("CREME BRULEE") == "creme brulee"
    assert product_key("Œuf") == "œuf"  # « Oeuf » is another name, as before


def test_category_words_and_slugs_and_days_keep_their_own_rules() -> None:
    food = Category(id=1, name="Alimentation", position=1, active=True)
    assert guess_category("Œufs frais", [food]) == food  # « œ » spelt out, plural taken off
    assert slugify("Straße & Œufs « Léa »") == "strae-ufs-lea"
    assert parse_opening_hours("Mércredi 9h-12h") == [(2, "09:00", "12:00")]
