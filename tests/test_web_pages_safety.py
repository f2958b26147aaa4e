"""What the shop window must never do: show a person, run a shopkeeper's text as HTML,
weigh more than 60 KB, fail with a traceback; and what it does for a returning visitor
(a 304 while nothing changed, a new page as soon as something did, the clock included)."""

from __future__ import annotations

import io
from email.utils import parsedate_to_datetime

import httpx
import pytest
from PIL import Image

from chatshop.demo import DEMO_CUSTOMER_NAME
from chatshop.services import build_services
from chatshop.services.links import product_path
from chatshop.storage import Store
from chatshop.web.app import window_app
from tests.conftest import FakeClock
from tests.test_web_pages import PUBLIC, Site, hrefs, json_ld, make_window, meta, visible
from tests.test_web_pages import demo_file as demo_file
from tests.test_web_pages import site as site

MAX_PAGE_BYTES = 60 * 1024


async def pages_of(site: Site) -> list[str]:
    """A path of each kind of page of the demo territory."""
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    return ["/", "/boutique/espace-coiffure", "/boutique/dans-l-meme-panier",
            product_path(soap), "/recherche?q=savon", "/recherche?q=svaon", "/recherche",
            "/mentions-legales", "/nulle-part"]


# -- never a person --------------------------------------------------------------------


async def test_no_page_shows_a_customer_a_reservation_or_a_staff_member(site: Site) -> None:
    customer = await site.services.customers.seen("telegram", "777001", "Huguette Vermorel")
    await site.services.customers.set_phone(customer.id, "06 98 76 54 32")
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    made = await site.services.reservations.reserve_now(customer.id, soap.id, 2, "web-1")
    for path in await pages_of(site):
        html = (await site.get(path)).text
        for secret in ("Huguette", "Vermorel", "98 76 54 32", "698765432", made.code,
                       "Sandrine", "Corinne", "Émilie", DEMO_CUSTOMER_NAME):
            assert secret not in html, (path, secret)


# -- shopkeepers' text is text ----------------------------------------------------------


async def test_a_script_in_a_product_name_shows_as_text_everywhere(site: Site) -> None:
    owner = await site.owner("instant-pour-soi")
    shop = await site.shop("instant-pour-soi")
    product = await site.services.catalogue.add_product(
        owner, shop.id, name='<script>alert("x")</script> Savon & "miel"', price_cents=650,
        on_hand=3, description="Voir https://exemple.fr et javascript:alert(1) <b>gras</b>")
    for path in (product_path(product), "/boutique/instant-pour-soi", "/recherche?q=miel",
                 "/"):
        html = (await site.get(path)).text
        assert "<script>alert" not in html, path
        assert "<b>gras" not in html, path
        assert '&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Savon &amp;' in html, path
    html = (await site.get(product_path(product))).text
    assert "Voir https://exemple.fr et javascript:alert(1) <b>gras</b>" in visible(html)
    assert not any(h.startswith(("https://exemple", "javascript")) for h in hrefs(html))
    [data] = json_ld(html)
    assert data["name"] == '<script>alert("x")</script> Savon & "miel"'
    script = html.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in script
    assert ">" not in script
    assert "&" not in script
    assert "\\u003cscript\\u003e" in script


async def test_a_shop_description_with_markup_and_links_stays_plain_text(site: Site) -> None:
    owner = await site.owner("espace-coiffure")
    shop = await site.shop("espace-coiffure")
    from chatshop.domain.models import ShopDetails
    await site.services.shops.update_shop(owner, shop.id, ShopDetails(
        description='<a href="https://piege.example">Cliquez</a> www.exemple.fr'))
    html = (await site.get("/boutique/espace-coiffure")).text
    assert 'href="https://piege.example"' not in html
    assert '&lt;a href=&#34;https://piege.example&#34;&gt;Cliquez&lt;/a&gt;' in html


# -- light pages -------------------------------------------------------------------------


async def test_every_page_weighs_at_most_60_kb_with_its_stylesheet(site: Site) -> None:
    owner = await site.owner("espace-coiffure")
    shop = await site.shop("espace-coiffure")
    for n in range(30):  # a full page of the longest names a shop may give
        await site.services.catalogue.add_product(
            owner, shop.id, name=f"Produit {n:02d} " + "é" * 68, price_cents=999_999,
            on_hand=2, description="d" * 800)
    css = await site.get("/static/window.css")
    assert css.status_code == 200
    for path in [*await pages_of(site), "/recherche?q=produit", "/boutique/espace-coiffure"]:
        page = await site.get(path)
        assert len(page.content) + len(css.content) <= MAX_PAGE_BYTES, (path, len(page.content))


# -- returning visitors ---------------------------------------------------------------------


async def test_a_page_asked_again_unchanged_is_not_sent_again(site: Site) -> None:
    for path in await pages_of(site):
        if path == "/nulle-part" or path == "/recherche":
            continue
        first = await site.get(path)
        assert first.headers["cache-control"] == "public, max-age=60", path
        assert first.headers["last-modified"].endswith(" GMT"), path
        # Never later than the moment it is served (RFC 9110 §8.8.2.1).
        assert parsedate_to_datetime(first.headers["last-modified"]) <= site.clock(), path
        again = await site.get(path, **{"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, path
        assert again.content == b"", path
        assert again.headers["etag"] == first.headers["etag"], path
        since = await site.get(path, **{"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304, path


async def test_a_change_of_stock_gives_the_product_page_anew(site: Site) -> None:
    owner = await site.owner("instant-pour-soi")
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    first = await site.get(product_path(soap))
    await site.services.catalogue.set_stock(owner, soap.id, 1)
    again = await site.get(product_path(soap), **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200
    assert "Plus que 1" in visible(again.text)
    site.clock.advance(seconds=5)
    newer = await site.get(product_path(soap),
                           **{"If-Modified-Since": first.headers["last-modified"]})
    assert newer.status_code == 200


async def test_a_shop_page_changes_when_its_door_closes_without_any_write(
        site: Site) -> None:
    first = await site.get("/boutique/espace-coiffure")
    site.clock.advance(hours=2, minutes=1)  # Thursday 12:01: lunch
    again = await site.get("/boutique/espace-coiffure",
                           **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200
    assert "Fermé · ouvre aujourd’hui à 14 h" in visible(again.text)
    home = await site.get("/")
    site.clock.advance(hours=2)
    assert (await site.get("/", **{"If-None-Match": home.headers["etag"]})).status_code == 200


async def test_a_head_request_gets_the_headers_alone(site: Site) -> None:
    response = await site.client.head("/boutique/espace-coiffure")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["etag"]


# -- failures ---------------------------------------------------------------------------------


async def test_a_failure_shows_a_french_page_and_no_traceback(
        store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    services = build_services(store, clock=clock)

    async def broken(limit: int = 6) -> list[object]:
        raise RuntimeError("database on fire at /srv/chatshop/secret.db")

    monkeypatch.setattr(services.window, "news", broken)
    app = window_app(services, make_window(clock))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://vitrine.test") as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert "Une erreur est survenue de notre côté" in visible(response.text)
    assert "Traceback" not in response.text
    assert "secret.db" not in response.text
    assert 'href="/"' in response.text
    # Starlette answers an unhandled error outside the app's middleware: the page still
    # carries the window's security headers.
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["x-content-type-options"] == "nosniff"


# -- photos --------------------------------------------------------------------------------------


def jpeg(width: int = 800, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


async def test_a_product_with_a_photo_shows_it_and_previews_it_large(site: Site) -> None:
    owner = await site.owner("instant-pour-soi")
    shop = await site.shop("instant-pour-soi")
    kept = await site.services.images.keep(jpeg())
    sha = kept.removeprefix("media:")
    soap = await site.services.catalogue.add_product(
        owner, shop.id, name="Savon au miel", price_cents=650, on_hand=4,
        photo=("whatsapp", kept))
    html = (await site.get(product_path(soap))).text
    assert f'src="/image/{sha}-display.jpg" alt="Savon au miel"' in html
    assert meta(html, "og:image") == f"{PUBLIC}/image/{sha}-preview.jpg"
    assert meta(html, "twitter:card") == "summary_large_image"
    assert json_ld(html)[0]["image"] == f"{PUBLIC}/image/{sha}-preview.jpg"
    shop_page = (await site.get("/boutique/instant-pour-soi")).text
    assert f'src="/image/{sha}-thumb.jpg" alt=""' in shop_page  # the name beside it
    preview = await site.get(f"/image/{sha}-preview.jpg")
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(preview.content)).size == (1200, 630)


async def test_a_product_without_a_photo_gets_the_placeholder(site: Site) -> None:
    owner = await site.owner("instant-pour-soi")
    shop = await site.shop("instant-pour-soi")
    bare = await site.services.catalogue.add_product(owner, shop.id, name="Savon nu",
                                                     price_cents=500, on_hand=4)
    html = (await site.get(product_path(bare))).text
    assert 'src="/static/placeholder.svg" alt=""' in html
    assert meta(html, "og:image") is None
    assert meta(html, "twitter:card") == "summary"
    assert (await site.get("/static/placeholder.svg")).status_code == 200


async def test_without_a_public_address_links_are_made_from_the_request(
        store: Store, clock: FakeClock) -> None:
    services = build_services(store, clock=clock)
    app = window_app(services, make_window(clock))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://localhost:8082") as client:
        html = (await client.get("/mentions-legales")).text
    assert '<link rel="canonical" href="http://localhost:8082/mentions-legales">' in html
