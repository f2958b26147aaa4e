"""Benchmark: full-text search over a territory's catalogue.

Builds a fresh database with 10 000 products in 200 shops over 13 communes of the
Haute-Vienne (names such as « Miel de châtaignier », « Savon au lait d'ânesse »,
« Crème pour les mains », with accents, descriptions and categories; a few hidden
products, shops on holiday or closed, and products hosted at another shop), then
runs realistic queries through ``services.search.search`` (prefixes, several words,
accent-free spellings, filler words, plurals, typos, commune / shop / category filters,
second pages) and reports p50 / p95 / p99 latency per query type and overall. A search
that finds nothing is followed by ``services.search.suggest``, timed with it, as the
conversation does (« Vouliez-vous dire … ? »).

Baseline, measured in the same run and interleaved query by query:
``store.catalogue.get(product_id)``, a primary-key read through the same stack (same
reader connection, same aiosqlite thread hops, same model building), so that the
ratio says what the search itself costs. Then the throughput: searches/s with 1 and
with 8 clients searching back to back (closed loop), and an open loop that starts
searches on a Poisson schedule (200 a second by default) whatever the answers, timing
each from the moment it was due, so that a search waiting for the event loop (busy with
another search: a quick search runs on it) is seen waiting.

Every result seen is also checked: filters respected, hidden products and products of
shops on holiday or closed never shown, accents and case ignored, pages disjoint,
plurals found, each typo given a suggestion that finds something.

Run: ``python bench/search.py`` (``--quick`` for a small run, ``--cache DIR`` to build a
size once and reuse it, ``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import pickle
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from _common import (
    Figure,
    Result,
    Territory,
    add_json_option,
    finish,
    fmt_number,
    machine_description,
    median,
    open_territory,
    percentile,
    print_table,
    settings_of,
)
from engines import add_engine_options, database, engines_of, label_result, merge, server

from chatshop.domain.models import ListedProduct, Page, ShopDetails
from chatshop.storage import rows

try:
    from chatshop.storage.catalogue_search import SEARCH_COUNT_CAP as CAP
except ImportError:  # a tree from before the capped count (to measure it the same way)
    CAP = 1 << 62
from chatshop.storage.search_index import reindex

try:  # search_index.reindex now serves both engines; before, PostgreSQL had its own
    from chatshop.storage.postgres_search import reindex as reindex_postgresql
except ImportError:
    reindex_postgresql = reindex

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 5.0
TARGET_OPEN_P95_MS = 10.0
TIMER_SLACK_S = 0.002
PAGE = 8
T = TypeVar("T")
SHORT_PREFIX = "prefix, 2 letters"
TYPO = "typo (+ suggest)"

COMMUNES = [
    ("Rochechouart", "87600"), ("Saint-Junien", "87200"), ("Oradour-sur-Glane", "87520"),
    ("Chaillac-sur-Vienne", "87200"), ("Saillat-sur-Vienne", "87720"), ("Cussac", "87150"),
    ("Châlus", "87230"), ("Saint-Mathieu", "87440"), ("Cognac-la-Forêt", "87310"),
    ("Vayres", "87600"), ("Les Salles-Lavauguyon", "87440"), ("Chéronnac", "87600"),
    ("Videix", "87600"),
]

ALIMENTATION = "Alimentation"
BOISSONS = "Boissons"
BEAUTE = "Beauté & soins"
ARTISANAT = "Artisanat & créations"
MODE = "Mode & accessoires"
MAISON = "Maison & cadeaux"
LIVRES = "Livres & papeterie"
JARDIN = "Jardin & plantes"

# (base, complements) per category: a name is a base, a complement, sometimes a
# qualifier and a format.
PRODUCTS: dict[str, list[tuple[str, list[str]]]] = {
    ALIMENTATION: [
        ("Miel", ["de châtaignier", "d'acacia", "de lavande", "de bruyère", "de sapin",
                  "toutes fleurs", "de tilleul", "crémeux"]),
        ("Confiture", ["de fraises", "d'abricots", "de framboises", "de mûres",
                       "de myrtilles", "de cerises noires", "de figues", "de rhubarbe",
                       "de châtaignes", "extra de prunes"]),
        ("Crème", ["de marrons", "de caramel au beurre salé", "de citron", "de noix"]),
        ("Pâté", ["de campagne", "de canard", "aux cèpes", "au piment d'Espelette"]),
        ("Terrine", ["de lapin", "de sanglier", "de campagne", "de canard aux noisettes",
                     "de foie de volaille"]),
        ("Fromage de chèvre", ["frais", "cendré", "affiné", "aux herbes"]),
        ("Pain d'épices", ["au miel", "à l'orange", "aux figues"]),
        ("Biscuits", ["sablés au beurre", "croquants aux amandes", "à la châtaigne"]),
        ("Madeleines", ["au beurre", "au miel", "pur beurre"]),
        ("Huile", ["de noix", "de noisette", "de colza", "de tournesol"]),
        ("Farine", ["de châtaigne", "de sarrasin", "de blé T80", "d'épeautre"]),
        ("Pommes", ["Golden du Limousin", "Reinette", "Chantecler", "à cuire"]),
        ("Chocolat", ["noir 70 %", "au lait", "praliné", "aux éclats de noisettes"]),
        ("Caramels", ["au beurre salé", "à la fleur de sel", "tendres"]),
        ("Noix", ["fraîches", "cerneaux", "sèches"]),
        ("Lentilles", ["vertes", "blondes", "corail"]),
        ("Œufs", ["de plein air", "de poules fermières"]),
        ("Galettes", ["de sarrasin", "bretonnes pur beurre"]),
        ("Clafoutis", ["aux cerises", "aux pommes"]),
    ],
    BOISSONS: [
        ("Cidre", ["brut", "doux", "fermier", "rosé"]),
        ("Jus", ["de pomme", "de poire", "de pomme-cassis", "de raisin"]),
        ("Bière", ["blonde", "ambrée", "brune", "blanche", "IPA à la châtaigne"]),
        ("Vin", ["rouge", "blanc sec", "rosé", "de noix"]),
        ("Sirop", ["de menthe", "de fraise", "de sureau", "de violette", "de citron"]),
        ("Tisane", ["verveine", "tilleul", "camomille", "menthe poivrée"]),
        ("Thé", ["vert", "noir", "à la bergamote", "des bois"]),
        ("Café", ["moulu", "en grains", "décaféiné"]),
        ("Liqueur", ["de châtaigne", "de noix", "de framboise"]),
        ("Limonade", ["artisanale", "au citron", "à la fraise"]),
    ],
    BEAUTE: [
        ("Savon", ["au lait d'ânesse", "à l'huile d'olive", "au miel", "à la lavande",
                   "au lait de chèvre", "à l'argile verte", "au charbon actif",
                   "à la rose", "surgras"]),
        ("Crème", ["pour les mains", "pour le visage", "hydratante", "de jour", "de nuit",
                   "pour les pieds", "au lait d'ânesse"]),
        ("Baume", ["à lèvres", "pour le corps", "réparateur", "à la cire d'abeille"]),
        ("Shampoing solide", ["à l'ortie", "au romarin", "doux"]),
        ("Huile", ["de massage", "sèche", "d'argan", "démaquillante"]),
        ("Eau florale", ["de rose", "de bleuet", "de lavande"]),
        ("Déodorant", ["naturel", "solide", "à la sauge"]),
        ("Gel douche", ["à la verveine", "au lait d'amande", "surgras"]),
    ],
    ARTISANAT: [
        ("Porcelaine de Limoges", ["tasse", "bol", "assiette", "théière", "vase"]),
        ("Poterie", ["vase", "bol", "pichet", "saladier", "mug"]),
        ("Émail de Limoges", ["pendentif", "broche", "boîte", "plaque"]),
        ("Panier", ["en osier", "en châtaignier", "à champignons"]),
        ("Sculpture", ["en bois", "en pierre", "en bronze"]),
        ("Couteau", ["de poche", "de cuisine", "à fromage"]),
        ("Tableau", ["aquarelle", "à l'huile", "paysage du Limousin"]),
    ],
    MODE: [
        ("Gants", ["en cuir d'agneau", "en cuir doublés", "de conduite", "en laine"]),
        ("Écharpe", ["en laine", "en soie", "en cachemire"]),
        ("Bonnet", ["en laine", "tricoté main", "à pompon"]),
        ("Sac", ["en cuir", "cabas", "bandoulière", "en toile"]),
        ("Ceinture", ["en cuir", "tressée"]),
        ("Chaussettes", ["en laine", "en coton bio"]),
        ("Béret", ["en laine", "basque"]),
        ("Bijou", ["en argent", "en émail", "boucles d'oreilles"]),
    ],
    MAISON: [
        ("Bougie parfumée", ["à la vanille", "à la figue", "au bois de santal",
                             "à la lavande", "au feu de bois", "à la châtaigne"]),
        ("Diffuseur", ["de parfum", "à la fleur d'oranger"]),
        ("Torchon", ["brodé", "en lin", "imprimé"]),
        ("Nappe", ["en lin", "en coton", "enduite"]),
        ("Coffret cadeau", ["gourmand", "bien-être", "du terroir"]),
        ("Plaid", ["en laine", "en coton"]),
        ("Mug", ["en grès", "en porcelaine"]),
        ("Coussin", ["en tapisserie d'Aubusson", "brodé", "en lin"]),
    ],
    LIVRES: [
        ("Carnet", ["de notes", "de voyage", "de recettes"]),
        ("Livre", ["de recettes limousines", "d'histoire locale", "pour enfants"]),
        ("Guide", ["de randonnée", "des champignons", "des oiseaux"]),
        ("Carte postale", ["de Rochechouart", "du château", "de la Vienne"]),
        ("Marque-page", ["en cuir", "illustré"]),
        ("Calendrier", ["illustré", "des jardins"]),
    ],
    JARDIN: [
        ("Plant", ["de tomate", "de courgette", "de fraisier", "de salade"]),
        ("Graines", ["de capucines", "de tomates anciennes", "de fleurs sauvages"]),
        ("Rosier", ["grimpant", "ancien", "buisson"]),
        ("Lavande", ["en pot", "séchée"]),
        ("Bulbes", ["de tulipes", "de narcisses", "de crocus"]),
        ("Aromatiques", ["basilic", "thym", "persil", "romarin", "ciboulette"]),
        ("Terreau", ["universel", "pour semis"]),
    ],
}
QUALIFIERS = ["bio", "artisanal", "fermier", "du Limousin", "maison", "de saison",
              "traditionnel", "en édition limitée"]
FORMATS = {
    ALIMENTATION: ["250 g", "500 g", "1 kg", "pot de 370 g", "lot de 3"],
    BOISSONS: ["75 cl", "33 cl", "1 L", "50 cl", "boîte de 20 sachets"],
    BEAUTE: ["100 g", "50 ml", "150 ml", "lot de 2"],
    ARTISANAT: ["pièce unique", "petit modèle", "grand modèle"],
    MODE: ["taille S", "taille M", "taille L", "taille unique"],
    MAISON: ["180 g", "grand modèle", "lot de 2"],
    LIVRES: ["format A5", "format poche", "lot de 5"],
    JARDIN: ["pot de 9 cm", "sachet", "godet", "20 L"],
}
SENTENCES = {
    ALIMENTATION: ["Idéal pour le petit-déjeuner.", "Sans conservateur ni colorant.",
                   "Recette de grand-mère.", "Récolte de l'été dernier.",
                   "Délicieux avec une crème fraîche.", "Se conserve au frais après ouverture."],
    BOISSONS: ["À servir frais.", "Sans sucre ajouté.", "Pressé à la ferme.",
               "Parfait pour l'apéritif.", "Brassé en petites séries."],
    BEAUTE: ["Convient aux peaux sensibles.", "Saponifié à froid.",
             "Texture fondante et crémeuse.", "Sans parfum de synthèse.",
             "Au miel de nos ruches."],
    ARTISANAT: ["Fait main dans notre atelier.", "Chaque pièce est unique.",
                "Cuisson au four à bois.", "Décor peint à la main."],
    MODE: ["Cousu à la main.", "Cuir tanné végétal.", "Laine des moutons du plateau.",
           "Taille normalement."],
    MAISON: ["Cire de soja naturelle.", "Environ 40 heures de combustion.",
             "Un joli cadeau.", "Lavable en machine."],
    LIVRES: ["Papier recyclé.", "Illustré par une artiste locale.", "Reliure cousue."],
    JARDIN: ["Cultivé sans pesticide.", "À planter au printemps.", "Rustique."],
}
SHOP_TYPES: list[tuple[str, list[str]]] = [
    ("Épicerie", [ALIMENTATION, BOISSONS, MAISON]),
    ("Ferme", [ALIMENTATION, BOISSONS, JARDIN]),
    ("Miellerie", [ALIMENTATION, BEAUTE, MAISON]),
    ("Savonnerie", [BEAUTE, MAISON]),
    ("Cave", [BOISSONS, ALIMENTATION]),
    ("Boutique", [MODE, MAISON, ARTISANAT]),
    ("Atelier", [ARTISANAT, MAISON, MODE]),
    ("Ganterie", [MODE]),
    ("Librairie", [LIVRES, MAISON]),
    ("Jardinerie", [JARDIN, MAISON]),
    ("Chocolaterie", [ALIMENTATION, BOISSONS]),
    ("Brasserie", [BOISSONS, ALIMENTATION]),
]
SHOP_SUFFIXES = ["du Château", "des Tilleuls", "de la Vienne", "du Moulin", "de Léa",
                 "des Monts de Blond", "du Bourg", "de la Gare", "Saint-Martin",
                 "des Quatre Vents", "du Lac", "de la Glane", "Chez Marie", "du Marché",
                 "des Collines", "de l'Église", "du Vieux Pont", "Lachaud", "Dupuy",
                 "des Châtaigniers"]


def plain(text: str) -> str:
    """Lower case without accents, as the FTS tokenizer sees it."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass
class Catalogue:
    """What was built, for the queries and the checks."""

    commune_ids: list[int]
    commune_names: dict[int, str]
    shop_ids: list[int]  # shops taking reservations (active, not on holiday)
    category_ids: dict[str, int]
    product_ids: list[int]
    hidden: set[int]
    unlisted_shops: set[int]  # on holiday or closed
    hosted: int = 0
    # (words of the name without accents, pickup shop) of every listed product
    listed_names: list[tuple[list[str], int]] = field(default_factory=list)

    def shop_selling(self, text: str, rng: random.Random) -> int:
        """A shop where a product whose name has a word starting with ``text`` is collected
        (as when a customer searches inside the shop they are looking at)."""
        prefix = plain(text)
        shops = [shop for words, shop in self.listed_names
                 if any(w.startswith(prefix) for w in words)]
        return rng.choice(shops or self.shop_ids)


@dataclass
class Query:
    kind: str
    text: str
    kwargs: dict[str, Any] = field(default_factory=dict)


async def build(territory: Territory, shops: int, per_shop: int, rng: random.Random,
                ) -> Catalogue:
    services = territory.services
    communes = [await territory.commune(name, postcode) for name, postcode in COMMUNES]
    categories = {c.name: c.id for c in await services.catalogue.categories()}
    missing = set(PRODUCTS) - set(categories)
    if missing:
        raise SystemExit(f"categories missing from the migrations: {sorted(missing)}")

    made: list[tuple[int, list[str], int]] = []  # shop id, its categories, owner user id
    owners = {}
    for i in range(shops):
        kind, kinds = SHOP_TYPES[i % len(SHOP_TYPES)]
        commune = communes[i % len(communes)]
        name = f"{kind} {SHOP_SUFFIXES[(i // len(SHOP_TYPES)) % len(SHOP_SUFFIXES)]}"
        shop, owner = await territory.open_shop(name, commune, str(20_000 + i))
        made.append((shop.id, kinds, owner.user_id))
        owners[shop.id] = owner

    # A few real-life states that search must respect.
    holiday = {made[i][0] for i in range(3, shops, 67)}
    closed = {made[i][0] for i in range(5, shops, 97)}
    for shop_id in holiday:
        await services.shops.set_holiday(owners[shop_id], shop_id, True, "Congés d'été")
    for shop_id in closed:
        await services.shops.update_shop(territory.operator, shop_id,
                                         ShopDetails(active=False))
    # Dépôt: some makers display part of their products at another shop.
    hosts: dict[int, int] = {}
    for i in range(1, shops, 20):
        maker, host = made[i][0], made[(i + 7) % shops][0]
        if maker in holiday | closed or host in holiday | closed or host in hosts:
            continue
        await services.shops.ask_hosting(owners[maker], maker, host)
        await services.shops.accept_hosting(owners[host], host, maker)
        hosts[maker] = host

    stamp = rows.to_db_time(datetime.now(UTC))
    commune_of = {s.id: s.commune_id for s in [await services.shops.get(m[0]) for m in made]}
    commune_names = {c.id: c.name for c in communes}
    values = []
    hidden_rows: list[bool] = []
    hosted = 0
    for shop_id, kinds, _owner in made:
        for _n in range(per_shop):
            category = rng.choice(kinds) if rng.random() < 0.8 else rng.choice(list(PRODUCTS))
            base, complements = rng.choice(PRODUCTS[category])
            name = f"{base} {rng.choice(complements)}"
            if rng.random() < 0.35:
                name += f" {rng.choice(QUALIFIERS)}"
            if rng.random() < 0.4:
                name += f", {rng.choice(FORMATS[category])}"
            description = " ".join([
                *rng.sample(SENTENCES[category], k=min(2, len(SENTENCES[category]))),
                f"Produit à {commune_names[commune_of[shop_id]]}.",
            ])
            host_id = hosts.get(shop_id) if rng.random() < 0.3 else None
            hosted += host_id is not None
            hide = rng.random() < 0.03
            hidden_rows.append(hide)
            on_hand = rng.randint(0, 40)
            values.append((shop_id, host_id, name[:80], description, rng.randint(150, 4_500),
                           categories[category], on_hand, int(hide), stamp, stamp,
                           stamp if on_hand else None))
    async with territory.store.db.write() as conn:
        await conn.executemany(
            "INSERT INTO products (shop_id, host_shop_id, name, description, price_cents,"
            " category_id, on_hand, hidden, created_at, updated_at, restocked_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
        found = await rows.fetch_all(conn, "SELECT id FROM products ORDER BY id")
    # Rows inserted in SQL have no search terms yet (they are computed in Python): index
    # them as opening the database would.
    started = time.perf_counter()
    on_postgresql = territory.store.db.engine == "postgresql"
    index = reindex_postgresql if on_postgresql else reindex
    indexed = await index(territory.store.db)
    print(f"index   : {indexed} products indexed in {time.perf_counter() - started:.2f} s"
          f" ({index.__module__.rsplit('.', 1)[-1]}.reindex, as at start-up)")
    product_ids = [int(r[0]) for r in found]
    unlisted = holiday | closed
    listed_names = [
        (plain(v[2]).replace("'", " ").replace(",", " ").split(), v[1] or v[0])
        for v in values
        if not v[7] and v[0] not in unlisted and (v[1] or v[0]) not in unlisted
    ]
    return Catalogue(
        commune_ids=[c.id for c in communes], commune_names=commune_names,
        shop_ids=[m[0] for m in made if m[0] not in holiday | closed],
        category_ids=categories, product_ids=product_ids,
        hidden={pid for pid, h in zip(product_ids, hidden_rows, strict=True) if h},
        unlisted_shops=unlisted, hosted=hosted, listed_names=listed_names,
    )


def queries(cat: Catalogue, rng: random.Random) -> list[Query]:
    """The query mix: each kind with a few realistic texts and random filters."""
    def commune() -> dict[str, Any]:
        return {"commune_id": rng.choice(cat.commune_ids)}

    def shop(text: str) -> dict[str, Any]:
        return {"shop_id": cat.shop_selling(text, rng)}

    beauty, food = cat.category_ids[BEAUTE], cat.category_ids[ALIMENTATION]
    out = [Query("prefix, 3 letters", t) for t in ("crè", "sav", "mie", "bou", "con", "cid")]
    out += [Query(SHORT_PREFIX, t) for t in ("mi", "sa", "co", "ch")]
    out += [Query("one word", t) for t in ("savon", "miel", "confiture", "bougie", "cidre",
                                           "gants")]
    out += [Query("two words", t) for t in ("miel chat", "confiture fraise", "crème mains",
                                            "savon ânesse", "bougie vanille", "jus pomme")]
    out += [Query("no accents", t) for t in ("creme", "chataignier", "anesse", "epices",
                                             "pate", "echarpe")]
    out += [Query("filler words", t) for t in ("confiture de fraises", "crème pour les mains",
                                               "savon au lait d'ânesse",
                                               "miel de châtaignier bio du Limousin")]
    out += [Query("+ commune", t, commune()) for t in ("miel", "savon", "crè", "confiture",
                                                        "bière", "gants")]
    out += [Query("+ shop", t, shop(t)) for t in ("miel", "savon", "crè", "confiture",
                                                   "bougie", "cidre")]
    out += [Query("+ category", t, {"category_id": c})
            for t, c in (("crème", beauty), ("crème", food), ("miel", food),
                         ("savon", beauty), ("huile", beauty), ("huile", food))]
    out += [Query("page 2 (offset 8)", t, {"offset": PAGE})
            for t in ("miel", "savon", "crè", "confiture", "bougie parfumée")]
    out += [Query("plural", t) for t in ("savons", "bougies", "crèmes", "confitures",
                                         "gants en cuir", "bières")]
    out += [Query(TYPO, t) for t in ("svaon", "mile", "crme", "confitrue", "bougei",
                                     "lavnde")]
    out += [Query("no hit", t) for t in ("truffe blanche", "zzz", "smartphone")]
    return out


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)

    def ms(self, pct: float) -> float:
        return percentile(self.seconds, pct) * 1000


# A page of results, and the suggestion made when it is empty.
Found = tuple[Page[ListedProduct], str | None]


class Checker:
    """Checks every page of results seen during the run."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.failures: list[str] = []

    def fail(self, text: str) -> None:
        if len(self.failures) < 20:
            self.failures.append(text)

    def page(self, query: Query, found: Found) -> None:
        page, suggestion = found
        where = f"{query.text!r} {query.kwargs}"
        if query.kind == "plural" and page.total == 0:
            self.fail(f"{where}: a plural finds nothing")
        if query.kind == TYPO and (page.total or suggestion is None):
            self.fail(f"{where}: {page.total} results and suggestion {suggestion!r}")
        if len(page.items) > PAGE or page.total < len(page.items) + page.offset * bool(
                page.items):
            self.fail(f"{where}: {len(page.items)} items for total {page.total}")
        capped = getattr(page, "capped", False)
        if capped and (page.total < CAP or not page.has_next):
            self.fail(f"{where}: a capped count of {page.total} without a next page")
        if not capped and page.total > CAP and page.offset + len(page.items) < page.total:
            self.fail(f"{where}: an exact count of {page.total} before its last page")
        for item in page.items:
            p = item.product
            if p.id in self.cat.hidden:
                self.fail(f"{where}: hidden product {p.id} shown")
            if p.pickup_shop_id in self.cat.unlisted_shops or p.shop_id in self.cat.unlisted_shops:
                self.fail(f"{where}: product {p.id} of a shop on holiday or closed shown")
            commune_id = query.kwargs.get("commune_id")
            if commune_id is not None and item.commune_name != self.cat.commune_names[commune_id]:
                self.fail(f"{where}: product {p.id} from {item.commune_name}")
            shop_id = query.kwargs.get("shop_id")
            if shop_id is not None and p.pickup_shop_id != shop_id:
                self.fail(f"{where}: product {p.id} collected at shop {p.pickup_shop_id}")
            category_id = query.kwargs.get("category_id")
            if category_id is not None and p.category_id != category_id:
                self.fail(f"{where}: product {p.id} in category {p.category_id}")


async def find(territory: Territory, q: Query) -> Found:
    """A search as the conversation makes it: a suggestion when nothing is found."""
    page = await territory.services.search.search(q.text, **q.kwargs)
    suggestion = None
    if not page.total:
        filters = {k: v for k, v in q.kwargs.items() if k != "offset"}
        suggestion = await territory.services.search.suggest(q.text, **filters)
    return page, suggestion


async def timed(pending: Awaitable[T]) -> tuple[float, T]:
    """Await ``pending`` (a coroutine not yet started) and say how long it took."""
    started = time.perf_counter()
    result = await pending
    return time.perf_counter() - started, result


async def consistency(territory: Territory, checker: Checker) -> None:
    """Accents and case ignored, filler words dropped, pages disjoint."""
    search = territory.services.search.search
    totals = {t: (await search(t)).total for t in ("crème", "creme", "CRÈME", "Creme")}
    if len(set(totals.values())) != 1:
        checker.fail(f"accents/case change the results: {totals}")
    if totals["crème"] == 0:
        checker.fail("« crème » finds nothing")
    first, second = await search("miel"), await search("miel", offset=PAGE)
    overlap = {i.product.id for i in first.items} & {i.product.id for i in second.items}
    if overlap or first.total != second.total:
        checker.fail(f"pages of « miel » overlap ({overlap}) or totals differ")
    with_filler = await search("confiture de fraises")
    without = await search("confiture fraises")
    if with_filler.total != without.total or with_filler.total == 0:
        checker.fail(f"filler words: {with_filler.total} vs {without.total} results")
    singular, plural = await search("savon"), await search("savons")
    if not {i.product.id for i in singular.items} <= {i.product.id for i in plural.items}:
        checker.fail("« savons » does not find what « savon » finds first")
    for typo, meant in (("svaon", "savon"), ("mile", "miel"), ("crme", "crème")):
        suggestion = await territory.services.search.suggest(typo)
        if suggestion != meant:
            checker.fail(f"« {typo} » suggests {suggestion!r}, not « {meant} »")


def cached_paths(args: argparse.Namespace) -> tuple[Path, Path] | None:
    """Where ``--cache`` keeps this run's built database and what was built in it, named
    by the sizes, the seed and a digest of the migrations and of this script (a change to
    either builds anew); None without ``--cache``."""
    if args.cache is None:
        return None
    digest = hashlib.sha256()
    for path in [*sorted((ROOT / "migrations").glob("*.sql")), Path(__file__).resolve()]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    stem = f"search-p{args.products}-s{args.shops}-r{args.seed}-{digest.hexdigest()[:12]}"
    return args.cache / f"{stem}.db", args.cache / f"{stem}.pickle"


def keep(database: Path, kept: tuple[Path, Path], cat: Catalogue, rng: random.Random,
         built: float) -> None:
    """Copy the built database into the cache (SQLite's backup: a consistent copy of an
    open database), with the catalogue and the random state the queries start from."""
    kept[0].parent.mkdir(parents=True, exist_ok=True)
    partial = kept[0].with_suffix(".partial")
    source, target = sqlite3.connect(database), sqlite3.connect(partial)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    with kept[1].open("wb") as file:
        pickle.dump((cat, rng.getstate(), built), file)
    partial.rename(kept[0])


def fmt_rate(per_second: float) -> str:
    return f"{per_second:,.0f}".replace(",", " ")


async def closed_loop(territory: Territory, checker: Checker, cat: Catalogue,
                      queries_: Sequence[Query], clients: int, rng: random.Random, *,
                      base: bool) -> tuple[Samples, float]:
    """``queries_`` shared by ``clients`` searching back to back (or, ``base``, as many
    primary-key reads): the latencies and the seconds it took."""
    out = Samples()
    get = territory.store.catalogue.get

    async def client(items: Sequence[Query]) -> None:
        for q in items:
            if base:
                took, _ = await timed(get(rng.choice(cat.product_ids)))
            else:
                took, found = await timed(find(territory, q))
                checker.page(q, found)
            out.seconds.append(took)

    started = time.perf_counter()
    await asyncio.gather(*(client(queries_[c::clients]) for c in range(clients)))
    return out, time.perf_counter() - started


def open_schedule(mix: Sequence[Query], rate: float, seconds: float,
                  rng: random.Random) -> list[tuple[float, Query]]:
    """Queries of the mix at Poisson arrival times (seconds from the start) over
    ``seconds``, ``rate`` a second on average."""
    out, at = [], 0.0
    while True:
        at += rng.expovariate(rate)
        if at >= seconds:
            return out
        out.append((at, rng.choice(mix)))


async def open_loop(territory: Territory, checker: Checker,
                    offered: Sequence[tuple[float, Query]]) -> tuple[Samples, Samples, float]:
    """Start each search when it is due, whether the earlier ones are answered or not;
    each latency runs from when it was due (a search that waited for the loop, busy with
    another, waited as a customer would). The latencies, how late each search started
    (the loop was busy), and the seconds it took."""
    out = Samples()
    start = time.perf_counter() + 0.05

    async def one(due: float, q: Query) -> None:
        found = await find(territory, q)
        out.seconds.append(time.perf_counter() - due)
        checker.page(q, found)

    running = []
    late = Samples()
    for at, q in offered:
        due = start + at
        # The loop's timers wake up to 1 ms late (epoll counts in milliseconds): sleep
        # until just before, then yield to the other tasks until it is time.
        if due - time.perf_counter() > TIMER_SLACK_S:
            await asyncio.sleep(due - time.perf_counter() - TIMER_SLACK_S)
        while time.perf_counter() < due:  # noqa: ASYNC110 (a timer is what is too coarse)
            await asyncio.sleep(0)
        late.seconds.append(time.perf_counter() - due)
        running.append(asyncio.ensure_future(one(due, q)))
    await asyncio.gather(*running)
    return out, late, time.perf_counter() - start


async def measure_engine(args: argparse.Namespace, engine: str,
                         server_dsn: str | None) -> Result:
    """The benchmark on one engine: its tables printed, its figures and failed checks."""
    rng = random.Random(args.seed)
    print(f"chatshop benchmark: full-text search ({engine})")
    for line in machine_description():
        print(line)
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder, \
            database(engine, Path(folder), server_dsn) as db:
        # The cache keeps SQLite files; on PostgreSQL the catalogue is built every time.
        kept = cached_paths(args) if engine == "sqlite" else None
        reuse = kept is not None and kept[0].exists() and kept[1].exists()
        if kept is not None and reuse:
            shutil.copyfile(kept[0], Path(folder) / "bench.db")
            with kept[1].open("rb") as file:
                cat, state, built = pickle.load(file)
            rng.setstate(state)
            print(f"data    : reusing {kept[0]} (built in {built:.1f} s)")
        territory = await open_territory(Path(folder), db)
        try:
            if not reuse:
                started = time.perf_counter()
                cat = await build(territory, args.shops, args.products // args.shops, rng)
                built = time.perf_counter() - started
                if kept:
                    keep(Path(folder) / "bench.db", kept, cat, rng, built)
            print(f"data    : {len(cat.product_ids)} products ({len(cat.hidden)} hidden,"
                  f" {cat.hosted} hosted at another shop) in {args.shops} shops"
                  f" ({len(cat.unlisted_shops)} on holiday or closed) over"
                  f" {len(cat.commune_ids)} communes, built in {built:.1f} s")
            mix = queries(cat, rng)
            schedule = [q for q in mix for _ in range(args.repeat)]
            rng.shuffle(schedule)
            print(f"load    : {len(mix)} queries in {len({q.kind for q in mix})} kinds,"
                  f" each run {args.repeat} times = {len(schedule)} searches, one client,"
                  f" each followed by one baseline read; then {args.concurrent_searches}"
                  f" searches back to back by 1 and by {args.clients} clients; then"
                  f" {args.open_rate:g} searches/s offered for {args.open_seconds:g} s")
            print()

            get = territory.store.catalogue.get
            checker = Checker(cat)
            await consistency(territory, checker)
            for q in mix:  # warm-up: caches, prepared statements, the vocabulary
                await find(territory, q)
                await get(rng.choice(cat.product_ids))

            by_kind: dict[str, Samples] = defaultdict(Samples)
            by_query: dict[int, Samples] = defaultdict(Samples)
            overall, baseline = Samples(), Samples()
            for q in schedule:
                took, found = await timed(find(territory, q))
                checker.page(q, found)
                by_kind[q.kind].seconds.append(took)
                by_kind[q.kind].totals.append(found[0].total)
                by_query[id(q)].seconds.append(took)
                by_query[id(q)].totals.append(found[0].total)
                overall.seconds.append(took)
                pid = rng.choice(cat.product_ids)
                took, product = await timed(get(pid))
                if product is None or product.id != pid:
                    checker.fail(f"catalogue.get({pid}) returned {product}")
                baseline.seconds.append(took)

            # Closed loop: clients searching back to back, 1 then ``--clients``; then the
            # baseline read by as many clients.
            slice_ = (schedule * (1 + args.concurrent_searches // len(schedule)))[
                :args.concurrent_searches]
            closed = [(clients, False, *await closed_loop(territory, checker, cat, slice_,
                                                          clients, rng, base=False))
                      for clients in (1, args.clients)]
            closed.append((args.clients, True, *await closed_loop(
                territory, checker, cat, slice_, args.clients, rng, base=True)))
            # Open loop: searches started on a Poisson schedule, answered or not.
            offered = open_schedule(mix, args.open_rate, args.open_seconds, rng)
            opened, late, open_seconds = await open_loop(territory, checker, offered)
        finally:
            await territory.close()

    # -- report ------------------------------------------------------------------------
    base95 = baseline.ms(95)
    print(f"Latency of services.search.search (+ suggest when nothing is found), ms, one"
          f" client ({args.repeat} runs of each query; 'x get' = p95 / p95 of the baseline):")
    table = []
    for kind in dict.fromkeys(q.kind for q in mix):
        s = by_kind[kind]
        table.append([kind, str(len(s.seconds)), f"{median(s.totals):.0f}",
                      f"{s.ms(50):.2f}", f"{s.ms(95):.2f}", f"{s.ms(99):.2f}",
                      f"{max(s.seconds) * 1000:.1f}", f"{s.ms(95) / base95:.1f}",
                      "ok" if s.ms(95) <= TARGET_P95_MS else "SLOW"])
    without_short = Samples([x for kind, smp in by_kind.items() if kind != SHORT_PREFIX
                             for x in smp.seconds])
    for label, smp in (("ALL SEARCHES", overall), (f"all but {SHORT_PREFIX}", without_short)):
        table.append([label, str(len(smp.seconds)), "", f"{smp.ms(50):.2f}",
                      f"{smp.ms(95):.2f}", f"{smp.ms(99):.2f}",
                      f"{max(smp.seconds) * 1000:.1f}", f"{smp.ms(95) / base95:.1f}",
                      "ok" if smp.ms(95) <= TARGET_P95_MS else "SLOW"])
    table.append(["baseline: catalogue.get", str(len(baseline.seconds)), "1",
                  f"{baseline.ms(50):.2f}", f"{base95:.2f}", f"{baseline.ms(99):.2f}",
                  f"{max(baseline.seconds) * 1000:.1f}", "1.0", ""])
    print_table(["query kind", "runs", "hits", "p50", "p95", "p99", "max", "x get",
                 f"<= {TARGET_P95_MS:g}"], table)
    print()
    print()
    print("Slowest queries (by p95, ms):")
    slowest = sorted(mix, key=lambda q: by_query[id(q)].ms(95), reverse=True)[:8]
    print_table(["query", "filters", "hits", "p50", "p95"], [
        [repr(q.text), " ".join(f"{k}={v}" for k, v in q.kwargs.items()) or "-",
         f"{median(by_query[id(q)].totals):.0f}", f"{by_query[id(q)].ms(50):.2f}",
         f"{by_query[id(q)].ms(95):.2f}"] for q in slowest])
    print()
    print(f"Target p95 <= {TARGET_P95_MS:g} ms over all searches: p95 {overall.ms(95):.2f} ms"
          f" -> {'MET' if overall.ms(95) <= TARGET_P95_MS else 'NOT MET'};"
          f" search p95 / baseline p95 = {overall.ms(95) / base95:.1f}x"
          f" (p50 ratio {overall.ms(50) / baseline.ms(50):.1f}x)")
    print(f"Without the {SHORT_PREFIX} queries: p95 {without_short.ms(95):.2f} ms ->"
          f" {'MET' if without_short.ms(95) <= TARGET_P95_MS else 'NOT MET'}")
    print()
    print("Throughput: searches back to back (closed loop), then searches started on a"
          " Poisson schedule whatever the answers (open loop, each timed from the moment"
          " it was due):")
    table = []
    for clients, base, out, seconds in closed:
        table.append([f"{'catalogue.get (baseline)' if base else 'search'}, {clients}"
                      f" client{'s' if clients > 1 else ''}", str(len(out.seconds)),
                      fmt_rate(len(out.seconds) / seconds), f"{out.ms(50):.2f}",
                      f"{out.ms(95):.2f}", f"{out.ms(99):.2f}", ""])
    open95 = opened.ms(95)
    table.append([f"search, open loop, {args.open_rate:g}/s offered", str(len(opened.seconds)),
                  fmt_rate(len(opened.seconds) / open_seconds), f"{opened.ms(50):.2f}",
                  f"{open95:.2f}", f"{opened.ms(99):.2f}",
                  "ok" if open95 <= TARGET_OPEN_P95_MS else "SLOW"])
    print_table(["requests", "n", "per s", "p50 ms", "p95 ms", "p99 ms",
                 f"<= {TARGET_OPEN_P95_MS:g}"], table)
    print(f"(open loop: each search started late, the loop being busy, by p50"
          f" {late.ms(50):.2f} ms, p95 {late.ms(95):.2f} ms, max {max(late.seconds) * 1000:.1f}"
          " ms)")
    rates = {(clients, base): len(out.seconds) / seconds
             for clients, base, out, seconds in closed}
    worst_kind = max(by_kind, key=lambda kind: by_kind[kind].ms(95))
    figures = [
        Figure(f"search p95, {fmt_number(len(cat.product_ids))} products",
               overall.ms(95), "ms", baseline=base95, baseline_name="catalogue.get p95",
               goal=TARGET_P95_MS, goal_op="<=",
               note=f"p50 {overall.ms(50):.2f} ms, p99 {overall.ms(99):.2f} ms, "
                    f"{len(overall.seconds)} searches"),
        Figure(f"slowest query kind p95, {fmt_number(len(cat.product_ids))} products",
               by_kind[worst_kind].ms(95), "ms", goal=TARGET_P95_MS, goal_op="<=",
               note=f"« {worst_kind} »"),
        Figure("searches/s, 1 client", rates[(1, False)], "/s",
               note=f"p95 {closed[0][2].ms(95):.2f} ms"),
        Figure(f"searches/s, {args.clients} clients", rates[(args.clients, False)], "/s",
               baseline=rates[(args.clients, True)], baseline_name="catalogue.get",
               note=f"p95 {closed[1][2].ms(95):.2f} ms"),
        Figure(f"open-loop search p95 at {args.open_rate:g}/s offered", open95, "ms",
               goal=TARGET_OPEN_P95_MS, goal_op="<=",
               note=f"p50 {opened.ms(50):.2f} ms, p99 {opened.ms(99):.2f} ms, timed from"
                    f" the moment each was due; {len(opened.seconds)} searches, started"
                    f" late by p95 {late.ms(95):.2f} ms"),
    ]
    return Result("search", figures, checker.failures,
                  "All result checks passed (filters, hidden products, holidays, accents, "
                  "pages).", settings_of(args))


async def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark on each engine asked for, print its tables, and return its
    figures and failed checks."""
    results = []
    with server(args) as server_dsn:
        for engine in engines_of(args):
            results.append(label_result(await measure_engine(args, engine, server_dsn),
                                        engine))
            print()
    return merge(results)


async def run(args: argparse.Namespace) -> int:
    return finish(await measure(args), args)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="a small fast run (1 000 products in 20 shops, 10 runs per query)")
    parser.add_argument("--products", type=int, default=10_000,
                        help="products in all (default 10 000)")
    parser.add_argument("--shops", type=int, default=200, help="shops (default 200)")
    parser.add_argument("--repeat", type=int, default=100,
                        help="runs of each query (default 100)")
    parser.add_argument("--clients", type=int, default=8,
                        help="clients of the second closed-loop phase (default 8)")
    parser.add_argument("--concurrent-searches", type=int, default=1_600,
                        help="searches of each closed-loop phase (default 1 600)")
    parser.add_argument("--open-rate", type=float, default=200.0,
                        help="searches a second offered in the open loop (default 200)")
    parser.add_argument("--open-seconds", type=float, default=10.0,
                        help="how long the open loop lasts (default 10 s)")
    parser.add_argument("--seed", type=int, default=87600, help="random seed")
    parser.add_argument("--cache", type=Path, default=None,
                        help="a folder where the built database is kept and reused by the"
                             " next run of the same sizes and seed (SQLite only)")
    add_engine_options(parser)
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.products, args.shops, args.repeat, args.concurrent_searches = 1_000, 20, 10, 200
        args.open_seconds = 2.0
    if args.shops < 1 or args.products < args.shops:
        parser.error("need at least one shop and one product per shop")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
