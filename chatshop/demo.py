"""The demo territory: Porte Océane du Limousin (Haute-Vienne), four shops and their goods.

The demo is played in a terminal on the ``console`` channel. ``seed_demo`` builds the
territory through the public services, the way the product itself builds one: the
operator adds the communes and opens the shops, each owner joins with a real invite code
and adds their products, Les Merveilles de Coco asks Dans l'même panier to host some of
its jewellery, the farm shop accepts, and Coco places four products there.

The caller builds the services with ``DEMO_OPERATOR`` among the operators and passes the
operator's ``Actor``::

    services = build_services(store, operators=frozenset({DEMO_OPERATOR}), clock=clock)
    operator = services.customers.actor(
        await services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME))
    shops = await seed_demo(services, operator=operator)

The shops' names come from the story behind chatshop; their addresses, phone numbers,
owners and products are invented for the demo.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from chatshop.demo_history import DemoClock, play_history
from chatshop.demo_pictures import picture
from chatshop.domain.codes import slugify
from chatshop.domain.models import (
    Actor,
    Channel,
    Commune,
    OpeningInterval,
    Product,
    ProductChanges,
    Role,
    Shop,
    ShopDetails,
)
from chatshop.errors import DemoIncomplete, NotFound
from chatshop.services import Services

DEMO_OPERATOR: tuple[Channel, str] = ("console", "operateur")
DEMO_OPERATOR_NAME = "Office de tourisme"
DEMO_CUSTOMER: tuple[Channel, str] = ("console", "client")
DEMO_CUSTOMER_NAME = "Jeanne"
DEMO_TERRITORY = "Porte Océane du Limousin"
PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class DemoShop:
    """A shop of the demo, and the console identity of its owner."""

    slug: str
    name: str
    owner: tuple[Channel, str]


@dataclass(frozen=True)
class DemoProduct:
    """A product as its owner adds it; ``hidden`` ones are kept out of the catalogue."""

    name: str
    price_cents: int
    category: str
    description: str
    on_hand: int
    hidden: bool = False


@dataclass(frozen=True)
class DemoShopPlan:
    """Everything the demo knows about one shop, its owner and what it sells."""

    name: str
    commune: str
    address: str
    phone: str
    description: str
    pickup_instructions: str
    hold_hours: int
    hours: tuple[OpeningInterval, ...]
    owner_id: str
    owner_name: str
    products: tuple[DemoProduct, ...]


@dataclass(frozen=True)
class DemoHosting:
    """A maker displays some of its products at a host shop (dépôt)."""

    maker: str
    host: str
    products: tuple[str, ...]


TUESDAY_TO_FRIDAY = (1, 2, 3, 4)
WEDNESDAY_TO_SATURDAY = (2, 3, 4, 5)
TUESDAY_TO_SATURDAY = (1, 2, 3, 4, 5)
SATURDAY = (5,)


def _hours(days: Iterable[int], *slots: tuple[str, str]) -> tuple[OpeningInterval, ...]:
    """Opening intervals: the same ``("09:00", "12:00")`` slots on each of ``days``."""
    return tuple(
        OpeningInterval(weekday=day, opens=time.fromisoformat(opens),
                        closes=time.fromisoformat(closes))
        for day in days
        for opens, closes in slots
    )


# Communes of the territory, with their postcodes.
COMMUNES: tuple[tuple[str, str], ...] = (
    ("Rochechouart", "87600"),
    ("Saint-Junien", "87200"),
    ("Oradour-sur-Glane", "87520"),
    ("Saint-Brice-sur-Vienne", "87200"),
    ("Cognac-la-Forêt", "87310"),
)

ESPACE_COIFFURE = DemoShopPlan(
    name="Espace coiffure",
    commune="Rochechouart",
    address="4 rue Jean Parvy",
    phone="05 55 03 61 27",
    description=(
        "Salon de coiffure mixte au cœur de Rochechouart. Nous vendons les soins que nous "
        "utilisons au salon, et nous vous conseillons avec plaisir."
    ),
    pickup_instructions=(
        "Vos produits vous attendent à l'accueil du salon. Vous payez en caisse en passant, "
        "même pendant un rendez-vous."
    ),
    hold_hours=72,
    hours=(
        _hours(TUESDAY_TO_FRIDAY, ("09:00", "12:00"), ("14:00", "19:00"))
        + _hours(SATURDAY, ("08:30", "12:30"), ("13:30", "17:00"))
    ),
    owner_id="espace-coiffure",
    owner_name="Sandrine",
    products=(
        DemoProduct("Shampoing doux usage fréquent 250 ml", 1190, "Beauté & soins",
                    "Pour tous les cheveux, même lavés chaque jour. Sans silicone.", 8),
        DemoProduct("Shampoing cheveux colorés 300 ml", 1450, "Beauté & soins",
                    "Protège l'éclat de la couleur entre deux passages au salon.", 6),
        DemoProduct("Shampoing déjaunisseur cheveux blancs", 1590, "Beauté & soins",
                    "Aux pigments violets : ravive les cheveux blancs et gris.", 2),
        DemoProduct("Masque nourrissant à l'huile d'argan 200 ml", 1890, "Beauté & soins",
                    "Pour les cheveux secs ou abîmés. Laisser poser cinq minutes, puis rincer.",
                    5),
        DemoProduct("Crème coiffante boucles définies 150 ml", 1650, "Beauté & soins",
                    "Dessine les boucles sans les alourdir, effet naturel.", 4),
        DemoProduct("Sérum anti-frisottis 50 ml", 2200, "Beauté & soins",
                    "Quelques gouttes sur cheveux secs pour discipliner et faire briller.", 3),
        DemoProduct("Spray thermoprotecteur 150 ml", 1390, "Beauté & soins",
                    "À vaporiser avant le sèche-cheveux ou le lisseur.", 0),
        DemoProduct("Brosse démêlante", 1290, "Beauté & soins",
                    "Démêle sans tirer, sur cheveux secs ou mouillés. Idéale pour les enfants.",
                    7),
        DemoProduct("Brosse ronde en poils de sanglier", 2890, "Beauté & soins",
                    "Pour un brushing lisse et brillant, comme au salon.", 2),
        DemoProduct("Coffret soin réparateur", 3490, "Maison & cadeaux",
                    "Shampoing et masque réparateurs dans une jolie boîte, prêts à offrir.", 3),
    ),
)

MERVEILLES_DE_COCO = DemoShopPlan(
    name="Les Merveilles de Coco",
    commune="Saint-Junien",
    address="17 rue Lucien Dumas",
    phone="05 55 02 48 93",
    description=(
        "Bijoux et accessoires faits main à Saint-Junien : boucles d'oreilles, bracelets, "
        "barrettes et chouchous. Retrouvez aussi une sélection chez Dans l'même panier."
    ),
    pickup_instructions=(
        "Retrait à l'atelier-boutique. Si la porte est fermée pendant les heures d'ouverture, "
        "sonnez : je suis à l'atelier au fond."
    ),
    hold_hours=72,
    hours=_hours(WEDNESDAY_TO_SATURDAY, ("09:30", "12:30"), ("14:30", "18:30")),
    owner_id="merveilles-de-coco",
    owner_name="Corinne",
    products=(
        DemoProduct("Boucles d'oreilles pendantes en perles de verre", 1800,
                    "Mode & accessoires",
                    "Perles de verre filé montées sur crochets en acier inoxydable.", 4),
        DemoProduct("Boucles d'oreilles puces fleurs séchées", 1500, "Mode & accessoires",
                    "De vraies petites fleurs prises dans la résine. Légères et hypoallergéniques.",
                    6),
        DemoProduct("Bracelet en pierres naturelles", 1600, "Mode & accessoires",
                    "Améthyste, quartz rose ou labradorite, sur fil élastique.", 5),
        DemoProduct("Bracelet jonc doré à l'or fin", 2400, "Mode & accessoires",
                    "Jonc ouvert et ajustable, finition or fin 24 carats.", 1),
        DemoProduct("Collier sautoir médaille", 2800, "Mode & accessoires",
                    "Long collier avec médaille gravée à la main.", 3),
        DemoProduct("Barrettes à cheveux en tissu, lot de 2", 800, "Mode & accessoires",
                    "Barrettes clic-clac recouvertes de tissu fleuri.", 10),
        DemoProduct("Chouchou en velours", 450, "Mode & accessoires",
                    "Doux pour les cheveux, plusieurs couleurs selon l'arrivage.", 15),
        DemoProduct("Chouchou en soie", 650, "Mode & accessoires",
                    "En soie de mûrier : n'abîme pas les cheveux, même la nuit.", 0),
        DemoProduct("Porte-clés pompon", 550, "Artisanat & créations",
                    "Pompon en laine et perles en bois, fait main.", 8),
        DemoProduct("Trousse en tissu fleuri", 1400, "Mode & accessoires",
                    "Trousse doublée avec fermeture éclair, pour le maquillage ou les crayons.",
                    4),
    ),
)

INSTANT_POUR_SOI = DemoShopPlan(
    name="Instant pour Soi",
    commune="Rochechouart",
    address="9 place du Château",
    phone="05 55 03 72 15",
    description=(
        "Institut de beauté à Rochechouart : soins du visage et du corps, cosmétiques au lait "
        "d'ânesse et idées cadeaux."
    ),
    pickup_instructions=(
        "Retrait à l'accueil de l'institut. Règlement sur place en espèces, par carte ou par "
        "chèque."
    ),
    hold_hours=48,
    hours=(
        _hours(TUESDAY_TO_FRIDAY, ("09:00", "12:00"), ("13:30", "18:30"))
        + _hours(SATURDAY, ("09:00", "13:00"))
    ),
    owner_id="instant-pour-soi",
    owner_name="Émilie",
    products=(
        DemoProduct("Crème hydratante visage au lait d'ânesse 50 ml", 2490, "Beauté & soins",
                    "Hydrate et apaise les peaux sèches et sensibles. Fabriquée en France.", 5),
        DemoProduct("Crème mains au karité 75 ml", 890, "Beauté & soins",
                    "Nourrit les mains abîmées par le froid sans laisser de film gras.", 12),
        DemoProduct("Savon à l'ânesse 100 g", 650, "Beauté & soins",
                    "Savon saponifié à froid, au lait d'ânesse frais. Pour le visage et le corps.",
                    20),
        DemoProduct("Savon surgras à la lavande 100 g", 550, "Beauté & soins",
                    "Un savon doux au parfum de lavande, pour toute la famille.", 0),
        DemoProduct("Baume à lèvres au miel", 450, "Beauté & soins",
                    "Répare les lèvres gercées. Au miel et à la cire d'abeille.", 1),
        DemoProduct("Huile sèche corps et cheveux 100 ml", 2700, "Beauté & soins",
                    "Pénètre vite, parfum de fleur d'oranger.", 4),
        DemoProduct("Bougie parfumée figue 180 g", 1900, "Maison & cadeaux",
                    "Cire végétale et mèche en coton, environ 40 heures de combustion.", 6),
        DemoProduct("Bougie de massage vanille", 2200, "Beauté & soins",
                    "Allumez-la, puis massez avec sa cire fondue tiède : elle devient une huile.",
                    3),
        DemoProduct("Coffret cadeau Détente", 4500, "Maison & cadeaux",
                    "Une crème, un savon et une bougie dans un coffret prêt à offrir.", 2),
        DemoProduct("Coffret de Noël Douceur", 3900, "Maison & cadeaux",
                    "Crème mains, baume à lèvres et bougie : en préparation pour les fêtes.", 5,
                    hidden=True),
    ),
)

DANS_LMEME_PANIER = DemoShopPlan(
    name="Dans l'même panier",
    commune="Saint-Brice-sur-Vienne",
    address="2 place de l'Église",
    phone="05 55 02 19 84",
    description=(
        "Magasin de producteurs et d'artisans : miel, confitures, terrines, jus de pomme et "
        "farines du territoire. Nous accueillons aussi les créations d'artisans voisins."
    ),
    pickup_instructions=(
        "Retrait en caisse, aux heures d'ouverture. Pensez à votre sac ou à votre panier !"
    ),
    hold_hours=48,
    hours=_hours(TUESDAY_TO_SATURDAY, ("09:00", "12:30"), ("14:30", "19:00")),
    owner_id="dans-lmeme-panier",
    owner_name="Françoise",
    products=(
        DemoProduct("Miel de châtaignier 500 g", 950, "Alimentation",
                    "Miel corsé et peu sucré, récolté dans les monts de Blond.", 12),
        DemoProduct("Miel toutes fleurs 250 g", 650, "Alimentation",
                    "Miel crémeux de printemps, doux et parfumé.", 9),
        DemoProduct("Confiture de fraises 350 g", 520, "Alimentation",
                    "Fraises du Limousin cuites en chaudron, 60 % de fruits.", 7),
        DemoProduct("Pâte de coing 250 g", 600, "Alimentation",
                    "À l'ancienne, avec les coings du verger. Délicieuse avec le fromage.", 2),
        DemoProduct("Crème de marrons 350 g", 590, "Alimentation",
                    "Châtaignes du Limousin et sucre, rien d'autre. Sur une crêpe ou un yaourt.",
                    6),
        DemoProduct("Terrine de porc cul noir 180 g", 690, "Alimentation",
                    "Terrine de campagne au porc cul noir du Limousin, élevé en plein air.", 8),
        DemoProduct("Rillettes de canard 180 g", 750, "Alimentation",
                    "Rillettes pur canard de la ferme, à tartiner sur du pain grillé.", 5),
        DemoProduct("Jus de pomme du Limousin 1 L", 350, "Boissons",
                    "Pur jus de pommes du Limousin, non filtré, sans sucre ajouté.", 24),
        DemoProduct("Jus de pomme-poire 1 L", 390, "Boissons",
                    "Un jus doux, moitié pommes moitié poires du verger.", 0),
        DemoProduct("Farine de blé T80 1 kg", 380, "Alimentation",
                    "Farine bise moulue à la meule de pierre, idéale pour le pain maison.", 15),
        DemoProduct("Panier en osier tressé main", 3200, "Artisanat & créations",
                    "Tressé par un vannier de Cognac-la-Forêt, solide pour le marché.", 2),
    ),
)

SHOPS: tuple[DemoShopPlan, ...] = (
    ESPACE_COIFFURE,
    MERVEILLES_DE_COCO,
    INSTANT_POUR_SOI,
    DANS_LMEME_PANIER,
)

HOSTINGS: tuple[DemoHosting, ...] = (
    DemoHosting(
        maker=MERVEILLES_DE_COCO.name,
        host=DANS_LMEME_PANIER.name,
        products=(
            "Boucles d'oreilles pendantes en perles de verre",
            "Barrettes à cheveux en tissu, lot de 2",
            "Chouchou en velours",
            "Porte-clés pompon",
        ),
    ),
)


def _demo_shop(plan: DemoShopPlan, slug: str | None = None) -> DemoShop:
    return DemoShop(slug=slug or slugify(plan.name), name=plan.name,
                    owner=("console", plan.owner_id))


@dataclass
class _Opened:
    """A demo shop once created, with its owner and its products by name."""

    shop: Shop
    owner: Actor
    products: dict[str, Product]


async def seed_demo(services: Services, *, operator: Actor, history: DemoClock | None = None,
                    tz: ZoneInfo = PARIS) -> list[DemoShop]:
    """Load the demo territory (idempotent: does nothing and returns the shops if it is
    already there). Loading takes many transactions, as a real territory is built; if an
    earlier load was interrupted, ``DemoIncomplete`` says so rather than add to it.
    With ``history`` (the services' own clock), the farm shop gets its eight past weeks
    of reservations (``chatshop.demo_history``) for its figures."""
    if await _demo_is_loaded(services, operator):
        return [_demo_shop(plan) for plan in SHOPS]

    communes = await _communes(services, operator)
    categories = {c.name: c.id for c in await services.catalogue.categories() if c.active}
    await services.customers.seen(*DEMO_CUSTOMER, DEMO_CUSTOMER_NAME)
    pictures: dict[str, str] = {}  # a category's drawn picture, kept once
    opened = {plan.name: await _open_shop(services, operator, plan, communes[plan.commune],
                                          categories, pictures)
              for plan in SHOPS}
    if history is not None:
        farm = opened[DANS_LMEME_PANIER.name]
        await play_history(services, history, farm.owner, farm.products, tz)
    for hosting in HOSTINGS:
        maker, host = opened[hosting.maker], opened[hosting.host]
        await services.shops.ask_hosting(maker.owner, maker.shop.id, host.shop.id)
        await services.shops.accept_hosting(host.owner, host.shop.id, maker.shop.id)
        for name in hosting.products:
            await services.catalogue.place(maker.owner, maker.products[name].id, host.shop.id)
    return [_demo_shop(plan, opened[plan.name].shop.slug) for plan in SHOPS]


async def _demo_is_loaded(services: Services, operator: Actor) -> bool:
    """False if no demo shop is here, True if the whole demo is (its last step, the last
    product placed at its host, done); ``DemoIncomplete`` for anything in between."""
    found: list[Shop] = []
    for plan in SHOPS:
        try:
            found.append(await services.shops.by_slug(slugify(plan.name)))
        except NotFound:
            continue
    if not found:
        return False
    if len(found) == len(SHOPS):
        last = HOSTINGS[-1]
        maker = next(shop for shop in found if shop.name == last.maker)
        host = next(shop for shop in found if shop.name == last.host)
        page = await services.catalogue.maker_products(operator, maker.id, limit=50)
        if any(p.name == last.products[-1] and p.host_shop_id == host.id for p in page.items):
            return True
    raise DemoIncomplete(
        "le territoire de démonstration n'a été chargé qu'en partie (chargement interrompu ?) :"
        " utilisez une base neuve / the demo territory is only partly loaded (interrupted?):"
        " use a new database")


async def _communes(services: Services, operator: Actor) -> dict[str, Commune]:
    """The demo's communes by name: those already in the territory, the others added."""
    existing = {commune.name: commune for commune in await services.shops.communes()}
    for name, postcode in COMMUNES:
        if name not in existing:
            existing[name] = await services.shops.add_commune(operator, name, postcode)
    return existing


async def _open_shop(services: Services, operator: Actor, plan: DemoShopPlan,
                     commune: Commune, categories: dict[str, int],
                     pictures: dict[str, str]) -> _Opened:
    """Open one shop as the product does: created by the operator, its owner joining by
    invite code, then setting the hours and adding the products."""
    shop = await services.shops.create_shop(operator, plan.name, commune.id, ShopDetails(
        address=plan.address, phone=plan.phone, description=plan.description,
        pickup_instructions=plan.pickup_instructions, hold_hours=plan.hold_hours,
    ))
    invite = await services.shops.invite(operator, shop.id, Role.OWNER)
    user = await services.customers.seen("console", plan.owner_id, plan.owner_name)
    await services.shops.accept_invite(user.id, invite.code)
    owner = services.customers.actor(user)
    shop = await services.shops.set_hours(owner, shop.id, plan.hours)
    products: dict[str, Product] = {}
    for item in plan.products:
        # A drawn picture (chatshop.demo_pictures), kept like a shopkeeper's photo.
        if item.category not in pictures:
            pictures[item.category] = await services.images.keep(picture(item.category))
        photo = pictures[item.category]
        product = await services.catalogue.add_product(
            owner, shop.id, name=item.name, price_cents=item.price_cents,
            description=item.description, category_id=categories.get(item.category),
            on_hand=item.on_hand, photo=("console", photo))
        if item.hidden:
            product = await services.catalogue.update_product(
                owner, product.id, ProductChanges(hidden=True))
        products[item.name] = product
    return _Opened(shop, owner, products)
