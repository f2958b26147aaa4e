"""Reading a product from a photo's caption, and guessing its category from its name.

A shopkeeper adds a product by sending a photo captioned the way people write a price
tag: ``Savon lavande 6,50 € x12``, ``Savon lavande - 6.50 - 12``, ``Bougie 12 € (5)``,
``Miel 8,50`` (no stock: 0). The name comes first, then the price, then the stock if
any. Like the other parsers, this returns a clean value or raises ``InvalidInput`` with
the French reason; it touches no storage (it must not import ``chatshop.storage``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from chatshop.domain.models import Category, Model
from chatshop.domain.parsing import clean_name, parse_price, stock_count, stock_refusal
from chatshop.domain.text import fold
from chatshop.errors import InvalidInput
from chatshop.i18n import _

# Telegram and WhatsApp both cap a caption at 1 024 characters; anything longer was not
# typed as a caption, and refusing it early keeps the regular expressions below cheap.
CAPTION_MAX = 1024
EXAMPLE = "Savon lavande 6,50 € x12"

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_SEPARATORS = "-–—:|/;,="
_SEPARATOR = f"[{re.escape(_SEPARATORS)}]"
# The stock, written after the price. [0-9], not \d, as in parsing.py.
_STOCK_NUMBER = r"(?P<stock>[-−]?[0-9]+)"
_UNITS = r"(?:ex\b\.?|exemplaires?|pcs?\b\.?|pi[eè]ces?|unit[ée]s?|en stock|dispos?|disponibles?)"
_MARKER = r"(?:[x×*]|stock|qt[ée]|quantit[ée])"
_MARKED_STOCK = [
    # x12, x 12, ×12, stock 12, stock : 12, qté 12 (after a space, the price or a bracket)
    re.compile(rf"(?:^|(?<=[\s€0-9(]))\(?{_MARKER}\s*[:=]?\s*{_STOCK_NUMBER}\s*\)?$",
               re.IGNORECASE),
    # (12), (12 ex), (x12)
    re.compile(rf"\(\s*{_STOCK_NUMBER}\s*{_UNITS}?\s*\)$", re.IGNORECASE),
    # 12 ex, 12 pièces, 12 en stock
    re.compile(rf"(?:^|(?<=\s|{_SEPARATOR})){_STOCK_NUMBER}\s*{_UNITS}$", re.IGNORECASE),
]
# "Savon - 6,50 - 12": a number after a separator is the stock if a price comes before it.
# (Not after a comma: "Miel 8,50" is one price, not 8 € and 50 units.)
_SEPARATED_STOCK = re.compile(rf"(?:[–—/|;:]|-(?=\s))\s*{_STOCK_NUMBER}$")
# "Bougie 12 € 5": a bare number is the stock only if what comes before is plainly a
# price (with € or decimals); "Miel 8 50" is not read as 8 € and 50 units.
_BARE_STOCK = re.compile(rf"(?<=\s){_STOCK_NUMBER}$")
# The price at the end of what is left: 6,50 | 6.50 € | 12 € | 8 eur | 6€50 | -3 (refused
# later, with its reason). Not glued to a word or a number ("1e9", "A4").
_PRICE = re.compile(
    r"(?<![^\s\-–—:|/;,=(])"
    r"(?P<price>[0-9]+ ?€[0-9]{1,2}|[-−]?[0-9]+(?:[.,][0-9]+)? ?(?:€|eur(?:os?)?\b)?)\s*$",
    re.IGNORECASE,
)
_STRONG_PRICE = re.compile(r"(?:€|eur(?:os?)?|[.,][0-9]+)$", re.IGNORECASE)
_NAME_TAIL = re.compile(rf"(?:\s*(?:{_SEPARATOR}|(?<!\S)(?:prix|à)(?!\S)))+\s*$", re.IGNORECASE)
# "Miel 8, 50": a price cut in two by a space, not 50 € for « Miel 8, ».
_CUT_PRICE = re.compile(r"(?<!\S)[0-9]+[.,] ?$")


class ProductDraft(Model):
    """A product read from a caption: ``stock_given`` says whether a stock was written
    (if not, ``on_hand`` is 0 and the conversation may ask for it)."""

    name: str
    price_cents: int
    on_hand: int
    stock_given: bool


def parse_caption(text: str) -> ProductDraft:
    """Read ``Savon lavande 6,50 € x12`` as name, price in cents and stock.

    Accepted: ``6,50 € x12``, ``6,50€ x 12``, ``- 6.50 - 12``, ``12 € (5)``, ``12 € 5``,
    ``12 € stock : 5``, ``12 € 5 ex``, ``8,50`` (no stock). Line breaks count as spaces.
    Refused with a reason: no price, a price ``parse_price`` refuses, an empty or too
    long name, a stock outside 0..100 000.
    """
    cleaned = _SPACES.sub(" ", text).strip()
    if len(cleaned) > CAPTION_MAX:
        raise InvalidInput(
            _("The text is too long ({length} characters); {max} at most, please.").format(
                length=len(cleaned), max=CAPTION_MAX))
    for rest, stock in _readings(cleaned):
        price = _PRICE.search(rest)
        if price is None:
            continue
        before = rest[:price.start()]
        cut = _CUT_PRICE.search(before)
        if cut:
            parse_price(before[cut.start():] + price["price"])  # refused, with the reason
        name = _NAME_TAIL.sub("", before).strip()
        if not name:
            raise InvalidInput(
                _("Please write the product's name before its price, for example: {example}")
                .format(example=EXAMPLE))
        return ProductDraft(
            name=clean_name(name),
            price_cents=parse_price(price["price"]),
            on_hand=0 if stock is None else _checked_stock(stock),
            stock_given=stock is not None,
        )
    raise InvalidInput(
        _("No price found in “{text}”. Write the name, the price, then the stock, "
          "for example: {example}").format(text=_echo(cleaned), example=EXAMPLE))


def _readings(text: str) -> list[tuple[str, str | None]]:
    """The ways to split ``text`` into (name and price, stock), most explicit first."""
    for marked in _MARKED_STOCK:
        match = marked.search(text)
        if match:  # an explicit stock: never read it as the price
            return [(_rstrip_separators(text[:match.start()]), match["stock"])]
    readings: list[tuple[str, str | None]] = []
    separated = _SEPARATED_STOCK.search(text)
    if separated:
        readings.append((_rstrip_separators(text[:separated.start()]), separated["stock"]))
    bare = _BARE_STOCK.search(text)
    if bare:
        rest = _rstrip_separators(text[:bare.start()])
        if _STRONG_PRICE.search(rest):
            readings.append((rest, bare["stock"]))
    readings.append((text, None))
    return readings


def _rstrip_separators(text: str) -> str:
    return text.rstrip(_SEPARATORS + " ")


def _checked_stock(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise InvalidInput(stock_refusal())
    return stock_count(int(text))


def _echo(text: str) -> str:
    """What the user typed, short enough to quote back."""
    return text if len(text) <= 40 else text[:39] + "…"


# -- guessing a category ---------------------------------------------------------------

# Words that say which seeded category a product belongs to, without accents, singular.
# Only head nouns: qualifiers that often describe products of another category
# (« pomme », « lavande », « bois ») are left out, so that « Jus de pomme » is a drink.
CATEGORY_WORDS: dict[str, frozenset[str]] = {
    "alimentation": frozenset((
        "miel", "confiture", "terrine", "farine", "pain", "fromage", "chocolat", "biscuit",
        "gateau", "sable", "caramel", "nougat", "pate", "rillette", "foie", "saucisson", "jambon",
        "oeuf", "lentille", "epice", "sel", "poivre", "moutarde", "vinaigre", "compote", "gelee",
        "tarte", "brioche", "croissant", "madeleine", "canele", "praline", "bonbon", "sucre",
        "legume", "conserve", "marron", "olive", "noix", "tournesol", "pesto", "tapenade", "glace",
        "yaourt", "beurre", "creme_fraiche", "granola", "muesli", "galette", "crepe", "quiche",
    )),
    "boissons": frozenset((
        "jus", "cidre", "vin", "biere", "sirop", "the", "cafe", "tisane", "infusion", "limonade",
        "hydromel", "liqueur", "pastis", "whisky", "rhum", "gin", "champagne", "cremant",
        "kombucha", "soda", "nectar", "aperitif", "cocktail", "vodka", "cognac", "armagnac",
        "calvados", "poire_williams",
    )),
    "beaute & soins": frozenset((
        "savon", "creme", "shampoing", "shampooing", "soin", "baume", "huile", "parfum", "lotion",
        "gel", "deodorant", "serum", "masque", "gommage", "dentifrice", "cosmetique", "maquillage",
        "vernis", "savonnette", "karite", "argile", "hydrolat", "demaquillant", "exfoliant",
    )),
    "artisanat & creations": frozenset((
        "poterie", "ceramique", "sculpture", "tableau", "peinture", "gravure", "tricot", "crochet",
        "broderie", "macrame", "vannerie", "figurine", "marqueterie", "aquarelle", "tapisserie",
        "tissage", "mosaique", "vitrail", "santon", "emaux", "faience",
    )),
    "mode & accessoires": frozenset((
        "bracelet", "collier", "boucle", "barrette", "chouchou", "echarpe", "sac", "bonnet",
        "chapeau", "gant", "ceinture", "portefeuille", "pochette", "bijou", "bague", "broche",
        "foulard", "cravate", "chaussette", "pull", "gilet", "robe", "jupe", "pantalon", "veste",
        "casquette", "lunette", "montre", "snood", "mitaine", "chausson", "tablier", "tshirt",
        "sweat",
    )),
    "maison & cadeaux": frozenset((
        "bougie", "coffret", "vase", "bol", "mug", "tasse", "assiette", "plateau", "coussin",
        "plaid", "torchon", "nappe", "cadre", "diffuseur", "photophore", "carafe", "saladier",
        "decoration", "deco", "guirlande", "lampe", "miroir", "horloge", "boite", "cadeau",
        "magnet", "doudou", "peluche", "jouet",
    )),
    "livres & papeterie": frozenset((
        "livre", "roman", "bd", "carnet", "cahier", "agenda", "calendrier", "carte", "affiche",
        "poster", "stylo", "crayon", "papier", "enveloppe", "album", "guide", "recueil", "poesie",
        "journal", "magazine", "autocollant", "sticker", "etiquette", "faire_part",
        "bande_dessinee",
    )),
    "jardin & plantes": frozenset((
        "plante", "plant", "graine", "semence", "bulbe", "terreau", "fleur", "bouquet", "cactus",
        "succulente", "bonsai", "arrosoir", "jardiniere", "rosier", "aromatique", "semis",
        "compost", "engrais", "orchidee", "secateur", "nichoir", "mangeoire",
    )),
}


def _words(text: str) -> list[str]:
    """The folded words of ``text``, each also in the singular when it ends in s or x, and
    every two neighbours joined by ``_`` (« crème fraîche » -> ``creme_fraiche``)."""
    plain = [w for w in re.split(r"[^0-9a-z]+", fold(text).replace("œ", "oe")) if w]
    joined = [f"{a}_{b}" for a, b in itertools.pairwise(plain)]
    found: list[str] = []
    for word in plain + joined:
        found.append(word)
        if len(word) > 3 and word[-1] in "sx":
            found.append(word[:-1])
    return found


def guess_category(name: str, categories: Sequence[Category]) -> Category | None:
    """The category a product named ``name`` most likely belongs to, among
    ``categories``; ``None`` when no word gives it away or words point to several."""
    by_key = {fold(category.name): category for category in categories}
    words = set(_words(name))
    matches = {
        key for key, keywords in CATEGORY_WORDS.items()
        if key in by_key and words & keywords
    }
    if len(matches) != 1:
        return None
    return by_key[matches.pop()]
