"""A photo's caption becomes a product (name, price, stock) or a clear French refusal, and
the product's name suggests its category."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatshop.domain.captions import CAPTION_MAX, ProductDraft, guess_category, parse_caption
from chatshop.domain.limits import MAX_PRICE_CENTS, MAX_STOCK, PRODUCT_NAME_MAX
from chatshop.domain.models import Category
from chatshop.errors import InvalidInput
from tests.conftest import Territory

SEEDED = ["Alimentation", "Boissons", "Beauté & soins", "Artisanat & créations",
          "Mode & accessoires", "Maison & cadeaux", "Livres & papeterie", "Jardin & plantes"]
CATEGORIES = [Category(id=i, name=name, position=10 * i) for i, name in enumerate(SEEDED, 1)]


def draft(name: str, price_cents: int, on_hand: int | None = None) -> ProductDraft:
    return ProductDraft(name=name, price_cents=price_cents, on_hand=on_hand or 0,
                        stock_given=on_hand is not None)


def refusal(text: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_caption(text)
    message = caught.value.message()
    assert message.strip(), "a refusal must explain itself"
    return plain(message)


def outcome(text: str) -> ProductDraft | InvalidInput:
    """What ``parse_caption`` makes of ``text``: a draft, or the refusal it raised."""
    try:
        return parse_caption(text)
    except InvalidInput as refused:
        return refused


def plain(text: str) -> str:
    """The text with French typography's no-break spaces shown as ordinary spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(("caption", "expected"), [
    ("Savon lavande 6,50 € x12", draft("Savon lavande", 650, 12)),
    ("Savon lavande 6,50€ x 12", draft("Savon lavande", 650, 12)),
    ("Savon lavande 6,50€x12", draft("Savon lavande", 650, 12)),
    ("Savon lavande - 6.50 - 12", draft("Savon lavande", 650, 12)),
    ("Savon lavande / 6,50 € / 12", draft("Savon lavande", 650, 12)),
    ("Bougie 12 € (5)", draft("Bougie", 1200, 5)),
    ("Bougie 12 (5)", draft("Bougie", 1200, 5)),
    ("Bougie 12 € (5 pièces)", draft("Bougie", 1200, 5)),
    ("Bougie 12 € 5", draft("Bougie", 1200, 5)),
    ("Bougie 12 € 5 ex", draft("Bougie", 1200, 5)),
    ("Bougie 12 € stock : 5", draft("Bougie", 1200, 5)),
    ("Bougie 12 eur ×5", draft("Bougie", 1200, 5)),
    ("Bougie, 12 €, 5", draft("Bougie", 1200, 5)),
    ("Bougie 12 € x0", draft("Bougie", 1200, 0)),
    ("Miel 8,50", draft("Miel", 850)),
    ("Miel 8,50 €", draft("Miel", 850)),
    ("Miel 8 euros", draft("Miel", 800)),
    ("Miel 8€50", draft("Miel", 850)),
    ("Miel prix : 8,50", draft("Miel", 850)),
    ("Miel à 8,50 €", draft("Miel", 850)),
    ("Pot de miel 500 g 8,50 €", draft("Pot de miel 500 g", 850)),
    ("Confiture 3 fruits 4,50 x3", draft("Confiture 3 fruits", 450, 3)),
    ("  Savon\u00a0lavande\n6,50\u202f€\nx12  ", draft("Savon lavande", 650, 12)),
    ("Savon 10 x2", draft("Savon", 1000, 2)),
])
def test_a_caption_reads_as_name_price_and_stock(caption: str, expected: ProductDraft) -> None:
    assert parse_caption(caption) == expected


@pytest.mark.parametrize(("caption", "words"), [
    ("Savon lavande", "Aucun prix"),
    ("", "Aucun prix"),
    ("Savon 1e9", "Aucun prix"),
    ("Savon six euros", "Aucun prix"),
    ("6,50 € x12", "nom"),
    ("- 6,50", "nom"),
    ("Savon -3", "négatif"),
    ("Savon 0", "supérieur à 0"),
    ("Savon 6,505", "2 chiffres"),
    ("Savon 20000", "dépasser"),
    ("Miel 8, 50", "n’est pas un prix"),
    ("Savon 6,50 € x100001", "100 000"),
    ("Savon 6,50 € x99999999999999999999999", "stock"),
    ("Savon 6,50 € -3", "stock"),
    ("x" * 81 + " 6,50", "81 caractères"),
    ("x" * 5000, "5000 caractères"),
])
def test_a_caption_without_what_is_needed_is_refused_in_french(caption: str,
                                                               words: str) -> None:
    assert words in refusal(caption)


def test_a_refusal_shows_how_to_write_a_caption() -> None:
    message = refusal("Savon lavande")
    assert "Savon lavande 6,50 € x12" in message
    assert "« Savon lavande »" in message


names = st.text(alphabet=st.sampled_from("abcdeéèçàôAÉZ '"), min_size=1,
                max_size=PRODUCT_NAME_MAX).filter(
    lambda s: s.strip() and s.strip()[-1] not in "'" and s.strip().lower() not in ("à",)
    and not s.strip().lower().endswith((" à", " prix")) and s.strip().lower() != "prix")


@given(name=names, cents=st.integers(1, MAX_PRICE_CENTS - 1),
       stock=st.none() | st.integers(0, MAX_STOCK),
       form=st.sampled_from(["{name} {price} € x{stock}", "{name} {price}€ x {stock}",
                             "{name} - {price} - {stock}", "{name} {price} € ({stock})",
                             "{name} {price} € {stock}"]))
def test_what_a_shopkeeper_writes_is_read_back(name: str, cents: int, stock: int | None,
                                               form: str) -> None:
    price = f"{cents // 100},{cents % 100:02d}"
    caption = (form.format(name=name, price=price, stock=stock) if stock is not None
               else f"{name} {price} €")
    read = parse_caption(caption)
    assert read.name == " ".join(name.split())
    assert read.price_cents == cents
    assert (read.on_hand, read.stock_given) == ((stock, True) if stock is not None
                                                else (0, False))


@given(st.text(max_size=2 * CAPTION_MAX))
def test_any_caption_is_read_or_refused_with_a_reason(text: str) -> None:
    read = outcome(text)
    if isinstance(read, InvalidInput):
        assert read.message().strip()
    else:
        assert 0 < len(read.name) <= PRODUCT_NAME_MAX
        assert 0 < read.price_cents <= MAX_PRICE_CENTS
        assert 0 <= read.on_hand <= MAX_STOCK


# -- categories ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "category"), [
    ("Miel de châtaignier", "Alimentation"),
    ("Confitures de fraises", "Alimentation"),
    ("TERRINE DE CAMPAGNE", "Alimentation"),
    ("Jus de pomme", "Boissons"),
    ("Cidre brut", "Boissons"),
    ("Thé vert", "Boissons"),
    ("Bière blonde", "Boissons"),
    ("Savon lavande", "Beauté & soins"),
    ("Crème mains", "Beauté & soins"),
    ("Shampoing solide", "Beauté & soins"),
    ("Poterie émaillée", "Artisanat & créations"),
    ("Bracelet perles", "Mode & accessoires"),
    ("Boucles d'oreilles", "Mode & accessoires"),
    ("Chouchous en lin", "Mode & accessoires"),
    ("Écharpe laine", "Mode & accessoires"),
    ("Bougie parfumée", "Maison & cadeaux"),
    ("Mug émaillé", "Maison & cadeaux"),
    ("Coffret cadeau", "Maison & cadeaux"),
    ("Carnet de notes", "Livres & papeterie"),
    ("Cartes postales", "Livres & papeterie"),
    ("Graines de tomates", "Jardin & plantes"),
])
def test_a_products_name_suggests_its_category(name: str, category: str) -> None:
    guessed = guess_category(name, CATEGORIES)
    assert guessed is not None
    assert guessed.name == category


@pytest.mark.parametrize("name", [
    "Objet mystère",          # no known word
    "Savon au miel",          # beauty and food: the shopkeeper chooses
    "Huile d'olive",          # food or beauty
    "Sablier",                # a word that merely starts like one (« sable »)
    "",
])
def test_no_or_several_categories_suggest_none(name: str) -> None:
    assert guess_category(name, CATEGORIES) is None


def test_only_the_categories_given_can_be_suggested() -> None:
    others = [c for c in CATEGORIES if c.name != "Boissons"]
    assert guess_category("Jus de pomme", others) is None
    renamed = [c.model_copy(update={"name": "BOISSONS"}) if c.name == "Boissons" else c
               for c in CATEGORIES]
    guessed = guess_category("Jus de pomme", renamed)
    assert guessed is not None
    assert guessed.name == "BOISSONS"


async def test_the_seeded_categories_are_the_ones_the_guess_knows(territory: Territory) -> None:
    categories = await territory.services.catalogue.categories()
    assert [c.name for c in categories] == SEEDED
    guessed = guess_category("Savon lavande", categories)
    assert guessed is not None
    assert guessed.name == "Beauté & soins"
