"""The shop window's pages, read as a visitor reads them: the demo territory over the
window's ASGI app (httpx, no network), what each page shows and where its links lead."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from chatshop.demo import DEMO_OPERATOR, DEMO_OPERATOR_NAME, DEMO_TERRITORY, seed_demo
from chatshop.domain.models import Actor, Product, ProductChanges, Shop, ShopDetails
from chatshop.services import Services, build_services
from chatshop.services.links import Links, product_path
from chatshop.storage import Store, open_store
from chatshop.web.app import window_app
from chatshop.web.window import Publisher, Window
from tests.conftest import FakeClock
from tests.world import START, DatabaseFile

PARIS = ZoneInfo("Europe/Paris")
PUBLIC = "https://vitrine.example.fr"
NBSP = {"\u00a0", "\u202f"}


def plain(text: str) -> str:
    """The page's text as read aloud: entities decoded, no-break spaces as spaces."""
    return "".join(" " if ch in NBSP else ch for ch in unescape(text))


def visible(html: str) -> str:
    """What a reader sees: the body's text without its tags."""
    body = html.split("<body>", 1)[1]
    return " ".join(plain(re.sub(r"<[^>]+>", " ", body)).split())


@dataclass
class Site:
    """The demo territory behind its window, and a browser to visit it."""

    services: Services
    operator: Actor
    client: httpx.AsyncClient
    clock: FakeClock

    async def get(self, path: str, **headers: str) -> httpx.Response:
        return await self.client.get(path, headers=headers)

    async def text(self, path: str) -> str:
        response = await self.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return visible(response.text)

    async def shop(self, slug: str) -> Shop:
        return await self.services.shops.by_slug(slug)

    async def owner(self, slug: str) -> Actor:
        shop = await self.shop(slug)
        staff = await self.services.shops.staff(self.operator, shop.id)
        return Actor(user_id=staff[0].user_id)

    async def product(self, slug: str, name: str) -> Product:
        shop = await self.shop(slug)
        page = await self.services.catalogue.maker_products(self.operator, shop.id, limit=50)
        return next(p for p in page.items if p.name == name)


def make_window(clock: FakeClock, **links: str) -> Window:
    return Window(territory=DEMO_TERRITORY, tz=PARIS,
                  links=Links(**links),  # type: ignore[arg-type]
                  publisher=Publisher(name="Office de tourisme Porte Océane du Limousin",
                                      address="1 rue Victor-Hugo, 87600 Rochechouart",
                                      email="contact@tourisme.example.fr",
                                      director="Marie Durand",
                                      hosting="OVH SAS, 2 rue Kellermann, 59100 Roubaix"),
                  clock=clock)


def demo_services(store: Store, clock: FakeClock) -> Services:
    return build_services(store, operators=frozenset({DEMO_OPERATOR}), clock=clock)


async def demo_operator(services: Services) -> Actor:
    return services.customers.actor(
        await services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME))


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> DatabaseFile[None]:
    """The demo territory, seeded once (its photos take seconds); each test has a copy."""
    path = tmp_path_factory.mktemp("window") / "demo.db"

    async def build() -> None:
        store = await open_store(path)
        try:
            services = demo_services(store, FakeClock(START))
            await seed_demo(services, operator=await demo_operator(services))
        finally:
            await store.close()

    asyncio.run(build())
    return DatabaseFile(path, None)


@pytest.fixture
async def site(demo_file: DatabaseFile[None], tmp_path: Path,
               clock: FakeClock) -> AsyncIterator[Site]:
    store = await open_store(demo_file.copy(tmp_path / "demo.db"))
    services = demo_services(store, clock)
    window = make_window(clock, public_url=PUBLIC, telegram_bot="porte_oceane_bot",
                         whatsapp_number="+33 6 12 34 56 78")
    transport = httpx.ASGITransport(app=window_app(services, window))
    try:
        async with httpx.AsyncClient(transport=transport,
                                     base_url="http://vitrine.test") as client:
            yield Site(services, await demo_operator(services), client, clock)
    finally:
        await store.close()


def json_ld(html: str) -> list[dict[str, object]]:
    return [json.loads(found) for found in re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', html, re.DOTALL)]


def meta(html: str, name: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)">', html)
    return None if found is None else plain(found[1])


def hrefs(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]*)"', html)]


# -- the territory ---------------------------------------------------------------------


async def test_the_home_page_shows_each_commune_with_its_shops_and_their_doors(
        site: Site) -> None:
    # Thursday 10:00 in Paris.
    text = await site.text("/")
    assert "Les boutiques de Porte Océane du Limousin" in text
    assert text.index("Rochechouart") < text.index("Saint-Brice-sur-Vienne") \
        < text.index("Saint-Junien")
    assert "Espace coiffure Ouvert maintenant · jusqu’à 12 h" in text
    assert "Les Merveilles de Coco Ouvert maintenant · jusqu’à 12 h 30" in text
    html = (await site.get("/")).text
    assert '<html lang="fr">' in html
    assert 'href="/boutique/espace-coiffure"' in html


async def test_a_closed_shop_says_when_it_opens_next(site: Site) -> None:
    site.clock.advance(hours=2, minutes=30)  # Thursday 12:30: lunch
    assert "Espace coiffure Fermé · ouvre aujourd’hui à 14 h" in await site.text("/")
    site.clock.advance(hours=8)  # Thursday 20:30
    assert "Espace coiffure Fermé · ouvre demain à 9 h" in await site.text("/")
    site.clock.advance(days=2)  # Saturday 20:30: closed Sunday and Monday
    text = await site.text("/")
    assert "Espace coiffure Fermé · ouvre mardi à 9 h" in text
    assert "Les Merveilles de Coco Fermé · ouvre mercredi à 9 h 30" in text


async def test_the_home_page_has_a_search_box_the_weeks_news_and_how_to_reserve(
        site: Site) -> None:
    html = (await site.get("/")).text
    assert '<form class="search" action="/recherche" method="get"' in html
    assert '<label for="q">' in html
    assert 'id="q" name="q"' in html
    text = visible(html)
    assert "Nouveautés de la semaine" in text
    assert "Comment réserver" in text
    assert "Payez-le et retirez-le en boutique" in text
    assert "https://t.me/porte_oceane_bot" in hrefs(html)
    assert "https://wa.me/33612345678" in hrefs(html)
    assert "Par téléphone : le numéro de chaque boutique est sur sa page." in text


async def test_the_news_are_the_newest_few_and_age_out_after_a_week(site: Site) -> None:
    html = (await site.get("/")).text
    news = html.split('id="news"', 1)[1].split("</section>", 1)[0]
    assert news.count('class="product"') == 6
    site.clock.advance(days=8)
    assert "Nouveautés de la semaine" not in await site.text("/")


async def test_a_product_back_in_stock_is_news_again(site: Site) -> None:
    site.clock.advance(days=8)
    juice = await site.product("dans-l-meme-panier", "Jus de pomme-poire 1 L")
    assert juice.available == 0
    await site.services.catalogue.set_stock(await site.owner("dans-l-meme-panier"),
                                            juice.id, 6)
    html = (await site.get("/")).text
    news = html.split('id="news"', 1)[1].split("</section>", 1)[0]
    assert news.count('class="product"') == 1
    assert "Jus de pomme-poire 1 L" in news


async def test_without_a_bot_name_or_number_the_home_page_offers_only_the_phone(
        store: Store, clock: FakeClock) -> None:
    services = build_services(store, clock=clock)
    app = window_app(services, make_window(clock))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://vitrine.test") as client:
        html = (await client.get("/")).text
    assert "t.me" not in html
    assert "wa.me" not in html
    assert "Par téléphone" in visible(html)
    assert "Aucune boutique n’est encore en vitrine." in visible(html)


# -- a shop ----------------------------------------------------------------------------


async def test_a_shop_page_shows_its_card_hours_phone_map_and_products(site: Site) -> None:
    response = await site.get("/boutique/espace-coiffure")
    html, text = response.text, visible(response.text)
    assert "<h1>Espace coiffure</h1>" in html
    assert "Rochechouart" in text
    assert "Ouvert maintenant · jusqu’à 12 h" in text
    assert "Mardi 9 h – 12 h, 14 h – 19 h" in text
    assert "Samedi 8 h 30 – 12 h 30, 13 h 30 – 17 h" in text
    assert "Lundi Fermé" in text
    assert "Dimanche Fermé" in text
    assert "tel:+33555036127" in hrefs(html)
    assert any(h.startswith("https://www.openstreetmap.org/search?query=") and
               "Rochechouart" in h for h in hrefs(html))
    assert "Catégories : Beauté & soins (9) , Maison & cadeaux (1)" in text
    assert "Appeler la boutique : 05 55 03 61 27" in text
    assert "Shampoing doux usage fréquent 250 ml 11,90 €" in text
    assert "https://t.me/porte_oceane_bot?start=s_espace-coiffure" in hrefs(html)


async def test_a_shop_with_coordinates_links_to_its_pin_on_the_map(site: Site) -> None:
    shop = await site.shop("espace-coiffure")
    await site.services.shops.update_shop(site.operator, shop.id, ShopDetails(
        latitude=45.8231, longitude=0.8210))
    html = (await site.get("/boutique/espace-coiffure")).text
    assert ("https://www.openstreetmap.org/?mlat=45.823100&mlon=0.821000"
            "#map=18/45.823100/0.821000") in hrefs(html)


async def test_products_say_available_few_left_or_sold_out(site: Site) -> None:
    owner = await site.owner("instant-pour-soi")
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    balm = await site.product("instant-pour-soi", "Baume à lèvres au miel")
    await site.services.catalogue.set_stock(owner, soap.id, 2)
    await site.services.catalogue.set_stock(owner, balm.id, 0)
    text = await site.text("/boutique/instant-pour-soi")
    assert "Savon à l'ânesse 100 g 6,50 € Plus que 2" in text
    assert "Baume à lèvres au miel 4,50 € Épuisé" in text
    assert "Crème mains au karité 75 ml 8,90 € Disponible" in text


async def test_a_hosted_makers_products_are_marked_left_by_the_maker(site: Site) -> None:
    text = await site.text("/boutique/dans-l-meme-panier")
    assert "Déposé par Les Merveilles de Coco" in text


async def test_a_shop_on_holiday_says_so_with_its_message(site: Site) -> None:
    owner = await site.owner("espace-coiffure")
    shop = await site.shop("espace-coiffure")
    await site.services.shops.set_holiday(owner, shop.id, True, "Retour le 2 janvier !")
    text = await site.text("/boutique/espace-coiffure")
    assert "En congés" in text
    assert "Retour le 2 janvier !" in text
    html = (await site.get("/boutique/espace-coiffure")).text
    assert "t.me" not in "".join(hrefs(html))  # no reservation while it is closed
    assert "Espace coiffure En congés" in await site.text("/")


async def test_a_long_catalogue_is_paged_and_a_wrong_page_is_not_a_failure(
        site: Site) -> None:
    owner = await site.owner("espace-coiffure")
    shop = await site.shop("espace-coiffure")
    for n in range(20):  # 10 already: 30 in all
        await site.services.catalogue.add_product(owner, shop.id, name=f"Peigne n°{n:02d}",
                                                  price_cents=300, on_hand=5)
    first = (await site.get("/boutique/espace-coiffure")).text
    second = (await site.get("/boutique/espace-coiffure?page=2")).text
    assert first.count('class="product"') == 24
    assert second.count('class="product"') == 6
    assert "Page 1 sur 2" in visible(first)
    assert "/boutique/espace-coiffure?page=2" in first
    assert f'<link rel="canonical" href="{PUBLIC}/boutique/espace-coiffure?page=2">' in second
    assert (await site.get("/boutique/espace-coiffure?page=abc")).text.count(
        'class="product"') == 24
    for wrong in ("3", "0", "99999999999999999999999"):
        response = await site.get(f"/boutique/espace-coiffure?page={wrong}")
        assert response.status_code == 404, wrong


async def test_an_inactive_or_unknown_shop_is_not_found(site: Site) -> None:
    shop = await site.shop("espace-coiffure")
    await site.services.shops.update_shop(site.operator, shop.id, ShopDetails(active=False))
    for path in ("/boutique/espace-coiffure", "/boutique/nulle-part", "/boutique/%3Cx%3E"):
        response = await site.get(path)
        assert response.status_code == 404, path
        assert "Cette page n’existe pas (ou plus)" in visible(response.text)
        assert 'href="/"' in response.text
    assert "Espace coiffure" not in await site.text("/")


# -- a product -------------------------------------------------------------------------


async def test_a_product_page_shows_its_price_shop_and_the_ways_to_reserve(
        site: Site) -> None:
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    response = await site.get(product_path(soap))
    assert response.status_code == 200
    html, text = response.text, visible(response.text)
    assert "<h1>Savon à l&#39;ânesse 100 g</h1>" in html
    assert "6,50 €" in text
    assert "Disponible" in text
    assert "Payez et retirez en boutique." in text
    links = hrefs(html)
    assert f"https://t.me/porte_oceane_bot?start=p_{soap.id}" in links
    assert f"https://wa.me/33612345678?text=Bonjour%20%21%20p_{soap.id}" in links
    assert "tel:+33555037215" in links
    assert "/boutique/instant-pour-soi" in links
    assert "Réserver sur Telegram" in text
    assert "Réserver sur WhatsApp" in text
    assert "Appeler la boutique : 05 55 03 72 15" in text


async def test_a_sold_out_product_is_not_offered_for_reservation_but_the_phone_is(
        site: Site) -> None:
    owner = await site.owner("instant-pour-soi")
    balm = await site.product("instant-pour-soi", "Baume à lèvres au miel")
    await site.services.catalogue.set_stock(owner, balm.id, 0)
    html = (await site.get(product_path(balm))).text
    assert "Épuisé" in visible(html)
    assert not any("t.me" in h or "wa.me" in h for h in hrefs(html))
    assert "tel:+33555037215" in hrefs(html)


async def test_a_product_link_with_a_wrong_or_missing_name_moves_to_the_right_one(
        site: Site) -> None:
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    for path in (f"/produit/{soap.id}", f"/produit/{soap.id}-savon",
                 f"/produit/{soap.id}-ancien-nom-du-savon"):
        response = await site.get(path)
        assert response.status_code == 301, path
        assert response.headers["location"] == product_path(soap)
    assert product_path(soap) == f"/produit/{soap.id}-savon-a-l-anesse-100-g"


async def test_hidden_deleted_or_unlisted_products_are_not_found(site: Site) -> None:
    owner = await site.owner("instant-pour-soi")
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    balm = await site.product("instant-pour-soi", "Baume à lèvres au miel")
    await site.services.catalogue.update_product(owner, soap.id, ProductChanges(hidden=True))
    await site.services.catalogue.delete_product(owner, balm.id)
    for path in (product_path(soap), product_path(balm), "/produit/abc",
                 "/produit/99999", "/produit/99999999999999999999999-x", "/produit/-1"):
        response = await site.get(path)
        assert response.status_code == 404, path
        assert "Retour à l’accueil" in visible(response.text)


async def test_a_product_of_an_inactive_shop_is_not_found(site: Site) -> None:
    cream = await site.product("instant-pour-soi", "Crème mains au karité 75 ml")
    shop = await site.shop("instant-pour-soi")
    await site.services.shops.update_shop(site.operator, shop.id, ShopDetails(active=False))
    assert (await site.get(product_path(cream))).status_code == 404


async def test_a_product_page_has_its_link_preview_and_structured_data(site: Site) -> None:
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    html = (await site.get(product_path(soap))).text
    url = PUBLIC + product_path(soap)
    assert f'<link rel="canonical" href="{url}">' in html
    assert meta(html, "og:url") == url
    assert meta(html, "og:title") == "Savon à l'ânesse 100 g — 6,50 €"
    description = meta(html, "og:description") or ""
    assert "6,50 €" in description
    assert "Instant pour Soi" in description
    assert meta(html, "og:locale") == "fr_FR"
    assert meta(html, "og:type") == "product"
    assert meta(html, "og:site_name") == DEMO_TERRITORY
    assert meta(html, "twitter:card") == "summary_large_image"
    assert (meta(html, "og:image") or "").startswith(f"{PUBLIC}/image/")
    [data] = json_ld(html)
    assert data["@type"] == "Product"
    assert data["name"] == "Savon à l'ânesse 100 g"
    offer = data["offers"]
    assert isinstance(offer, dict)
    assert offer["price"] == "6.50"
    assert offer["priceCurrency"] == "EUR"
    assert offer["availability"] == "https://schema.org/InStock"
    assert offer["seller"]["name"] == "Instant pour Soi"


async def test_a_shop_page_describes_the_shop_as_a_store_with_its_hours(site: Site) -> None:
    html = (await site.get("/boutique/espace-coiffure")).text
    [data] = json_ld(html)
    assert data["@type"] == "Store"
    assert data["telephone"] == "+33555036127"
    assert data["address"]["addressLocality"] == "Rochechouart"  # type: ignore[index]
    hours = data["openingHoursSpecification"]
    assert isinstance(hours, list)
    assert {"@type": "OpeningHoursSpecification", "dayOfWeek": "https://schema.org/Tuesday",
            "opens": "14:00", "closes": "19:00"} in hours
    assert meta(html, "og:title") == "Espace coiffure"


# -- search ----------------------------------------------------------------------------


async def test_the_search_finds_across_shops_without_accents(site: Site) -> None:
    text = await site.text("/recherche?q=creme")
    assert "Crème hydratante visage au lait d'ânesse 50 ml" in text
    assert "Crème coiffante boucles définies 150 ml" in text
    assert "produits trouvés pour « creme »" in text


async def test_a_mistyped_search_suggests_the_word_the_catalogue_has(site: Site) -> None:
    html = (await site.get("/recherche?q=svaon")).text
    assert "Vouliez-vous dire « savon » ?" in visible(html)
    assert "/recherche?q=savon" in hrefs(html)


async def test_an_empty_search_shows_the_form_only(site: Site) -> None:
    html = (await site.get("/recherche?q=++")).text
    assert 'name="q"' in html
    assert 'id="results"' not in html


async def test_a_search_of_five_thousand_characters_is_refused_politely(site: Site) -> None:
    response = await site.get("/recherche?q=" + "savon" * 1000)
    assert response.status_code == 400
    text = visible(response.text)
    assert "Votre recherche est trop longue (5000 caractères) ; 100 au plus" in text
    assert 'class="product"' not in response.text
    assert 'name="q"' in response.text


async def test_search_results_are_paged_like_a_shop(site: Site) -> None:
    owner = await site.owner("espace-coiffure")
    shop = await site.shop("espace-coiffure")
    for n in range(30):
        await site.services.catalogue.add_product(owner, shop.id, name=f"Peigne n°{n:02d}",
                                                  price_cents=300, on_hand=5)
    first = (await site.get("/recherche?q=peigne")).text
    assert first.count('class="product"') == 24
    assert "/recherche?q=peigne&page=2" in hrefs(first)
    assert (await site.get("/recherche?q=peigne&page=2")).text.count('class="product"') == 6
    assert (await site.get("/recherche?q=peigne&page=9")).status_code == 404


# -- the legal notice, and every page's way on ------------------------------------------


async def test_the_legal_notice_names_the_publisher_and_says_what_is_kept(
        site: Site) -> None:
    text = await site.text("/mentions-legales")
    assert "Mentions légales et données personnelles" in text
    assert "Office de tourisme Porte Océane du Limousin" in text
    assert "Marie Durand" in text
    assert "OVH SAS" in text
    assert "Le responsable du traitement des données est l’éditeur" in text
    assert "/mesdonnees" in text
    assert "/effacer" in text
    assert "/desabonnement" in text
    assert "aucun cookie" in text
    assert "Téléphone pas encore renseigné par l’opérateur" in text


async def test_the_legal_notice_says_what_the_operator_has_not_given_yet(
        store: Store, clock: FakeClock) -> None:
    window = Window(territory="Val de Vienne", tz=PARIS, links=Links(), clock=clock)
    app = window_app(build_services(store, clock=clock), window)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://vitrine.test") as client:
        text = visible((await client.get("/mentions-legales")).text)
    assert text.count("pas encore renseigné par l’opérateur") == 6


async def test_every_page_is_french_and_links_home_and_to_the_legal_notice(
        site: Site) -> None:
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    for path in ("/", "/boutique/espace-coiffure", product_path(soap),
                 "/recherche?q=miel", "/recherche", "/mentions-legales", "/nulle-part"):
        html = (await site.get(path)).text
        assert html.startswith('<!doctype html>\n<html lang="fr">'), path
        assert "/mentions-legales" in hrefs(html), path
        assert "/" in hrefs(html), path
        assert 'href="#contenu"' in html, path
        assert 'id="contenu"' in html, path
        assert "<h1>" in html, path
