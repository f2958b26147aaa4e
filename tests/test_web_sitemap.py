"""What the window tells search engines (``chatshop.web.sitemap``): a sitemap of the
home, the active shops and the products customers can see, at absolute addresses, with
their last change; past the protocol's cap, an index of parts; and a robots.txt that
hides nothing and says where the sitemap is."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from PIL import Image
from starlette.applications import Starlette

from chatshop.domain.models import ProductChanges, ShopDetails
from chatshop.services import Services
from chatshop.services.links import Links, product_path
from chatshop.web import sitemap
from chatshop.web.app import window_app
from chatshop.web.http import WindowHttp
from chatshop.web.window import Window
from tests.conftest import Territory

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
      "im": "http://www.google.com/schemas/sitemap-image/1.1"}
PUBLIC = "https://vitrine.example.fr"


def window(public_url: str | None = PUBLIC) -> Window:
    return Window(territory="Porte Océane du Limousin", tz=ZoneInfo("Europe/Paris"),
                  links=Links(public_url, "chatshop_bot"))


def client(services: Services, public_url: str | None = PUBLIC, *,
           max_urls: int = sitemap.MAX_URLS) -> httpx.AsyncClient:
    app = Starlette(routes=sitemap.routes(services, window(public_url), max_urls=max_urls))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=WindowHttp(app, requests_per_minute=0)),
        base_url="http://127.0.0.1:8082")


def addresses(xml: str) -> dict[str, str | None]:
    """Each ``<loc>`` of a urlset, with its ``<lastmod>``."""
    root = ET.fromstring(xml)
    assert root.tag == f"{{{NS['sm']}}}urlset"
    return {url.findtext("sm:loc", namespaces=NS) or "": url.findtext("sm:lastmod",
                                                                      namespaces=NS)
            for url in root.findall("sm:url", NS)}


async def a_territory_with_what_must_not_show(territory: Territory) -> dict[str, int]:
    """Products that show, a hidden one, a deleted one, and an inactive shop's."""
    services = territory.services
    honey = await territory.product("Miel de châtaignier")
    soap = await territory.product("Savon à l'ânesse")
    hidden = await territory.product("Confiture en préparation")
    await services.catalogue.update_product(territory.owner, hidden.id,
                                            ProductChanges(hidden=True))
    deleted = await territory.product("Pain d'épices")
    await services.catalogue.delete_product(territory.owner, deleted.id)
    closed, closed_owner = await territory.open_shop("Bazar fermé", "2100")
    gone = await territory.product("Bougie", shop=closed, owner=closed_owner)
    await services.shops.update_shop(territory.operator, closed.id, ShopDetails(active=False))
    return {"honey": honey.id, "soap": soap.id, "hidden": hidden.id,
            "deleted": deleted.id, "gone": gone.id}


async def test_the_sitemap_lists_the_home_the_shops_and_the_products_that_show(
        territory: Territory, services: Services) -> None:
    ids = await a_territory_with_what_must_not_show(territory)
    async with client(services) as http:
        response = await http.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    found = addresses(response.text)
    assert set(found) == {
        f"{PUBLIC}/",
        f"{PUBLIC}/boutique/{territory.shop.slug}",
        f"{PUBLIC}/produit/{ids['honey']}-miel-de-chataignier",
        f"{PUBLIC}/produit/{ids['soap']}-savon-a-l-anesse",
    }
    for lastmod in found.values():
        assert lastmod is not None
        assert datetime.fromisoformat(lastmod).utcoffset() is not None


async def test_a_kept_photo_is_named_beside_its_page_and_a_chat_only_one_is_not(
        territory: Territory, services: Services) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 120, 40)).save(picture, "JPEG")
    kept = await services.images.keep(picture.getvalue())
    honey = await territory.product("Miel de châtaignier")
    await services.catalogue.set_photo(territory.owner, honey.id, "whatsapp", kept)
    soap = await territory.product("Savon")
    await services.catalogue.set_photo(territory.owner, soap.id, "telegram", "AgACAgQAAxk")
    async with client(services) as http:
        root = ET.fromstring((await http.get("/sitemap.xml")).text)
    photos = {url.findtext("sm:loc", namespaces=NS): url.findtext("im:image/im:loc",
                                                                  namespaces=NS)
              for url in root.findall("sm:url", NS)}
    sha = kept.removeprefix("media:")
    assert photos[PUBLIC + product_path(honey)] == f"{PUBLIC}/image/{sha}-display.jpg"
    assert photos[PUBLIC + product_path(soap)] is None


async def test_a_product_that_is_hidden_or_deleted_or_whose_shop_closed_drops_out(
        territory: Territory, services: Services) -> None:
    ids = await a_territory_with_what_must_not_show(territory)
    async with client(services) as http:
        text = (await http.get("/sitemap.xml")).text
    for name in ("hidden", "deleted", "gone"):
        assert f"/produit/{ids[name]}-" not in text
    assert "bazar-ferme" not in text


async def test_without_a_public_address_the_request_s_own_is_used(
        territory: Territory, services: Services) -> None:
    await territory.product("Miel de châtaignier")
    async with client(services, None) as http:
        found = addresses((await http.get("/sitemap.xml")).text)
        robots = await http.get("/robots.txt")
    assert found
    assert all(address.startswith("http://127.0.0.1:8082/") for address in found)
    assert "Sitemap: http://127.0.0.1:8082/sitemap.xml" in robots.text


async def test_robots_allows_everything_but_the_search_and_names_the_sitemap(
        services: Services) -> None:
    async with client(services) as http:
        robots = await http.get("/robots.txt")
    assert robots.status_code == 200
    assert robots.headers["content-type"].startswith("text/plain")
    assert robots.text.splitlines() == ["User-agent: *", "Allow: /", "Disallow: /recherche",
                                        "", f"Sitemap: {PUBLIC}/sitemap.xml"]
    assert "content-security-policy" in robots.headers


async def test_past_the_cap_the_sitemap_is_an_index_of_parts_that_hold_everything(
        territory: Territory, services: Services) -> None:
    made = [await territory.product(f"Confiture n°{n}") for n in range(7)]
    async with client(services, max_urls=4) as http:
        index = ET.fromstring((await http.get("/sitemap.xml")).text)
        parts = [loc.text or "" for loc in index.findall("sm:sitemap/sm:loc", NS)]
        found: dict[str, str | None] = {}
        for part in parts:
            response = await http.get(part.removeprefix(PUBLIC))
            assert response.status_code == 200
            listed = addresses(response.text)
            assert len(listed) <= 4
            found |= listed
        beyond = await http.get(f"/sitemap-{len(parts) + 1}.xml")
    assert index.tag == f"{{{NS['sm']}}}sitemapindex"
    assert parts == [f"{PUBLIC}/sitemap-1.xml", f"{PUBLIC}/sitemap-2.xml",
                     f"{PUBLIC}/sitemap-3.xml"]  # 1 home + 1 shop + 7 products = 9
    assert len(found) == 9
    assert {PUBLIC + product_path(product) for product in made} <= set(found)
    assert beyond.status_code == 404


async def test_the_sitemap_is_not_sent_again_until_something_changed(
        territory: Territory, services: Services) -> None:
    product = await territory.product("Miel de châtaignier")
    async with client(services) as http:
        first = await http.get("/sitemap.xml")
        etag = first.headers["etag"]
        again = await http.get("/sitemap.xml", headers={"If-None-Match": etag})
        await services.catalogue.update_product(territory.owner, product.id,
                                                ProductChanges(hidden=True))
        changed = await http.get("/sitemap.xml", headers={"If-None-Match": etag})
        head = await http.head("/sitemap.xml")
    assert again.status_code == 304
    assert changed.status_code == 200
    assert "/produit/" not in changed.text
    assert head.status_code == 200
    assert head.content == b""


async def test_the_real_window_serves_its_sitemap_and_robots(
        territory: Territory, services: Services) -> None:
    await territory.product("Miel de châtaignier")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=window_app(services,
                                                                              window())),
                                 base_url="http://127.0.0.1:8082") as http:
        found = addresses((await http.get("/sitemap.xml")).text)
        robots = await http.get("/robots.txt")
        beyond = await http.get("/sitemap-2.xml")
    assert f"{PUBLIC}/boutique/{territory.shop.slug}" in found
    assert robots.status_code == 200
    assert beyond.status_code == 404
    assert "<html" in beyond.text  # the window's own page, with its way on
