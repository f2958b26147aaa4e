"""What the window tells search engines: ``/robots.txt`` (everything may be read, as
nothing private is ever on a page; only the search results are left out) and
``/sitemap.xml`` (the home, every active shop's page, every product customers can see,
each with its ``lastmod``).

Hidden and deleted products, and inactive shops, are left out, like the pages answer
404 for them. Addresses are absolute, under ``CHATSHOP_PUBLIC_URL`` (else the address
the request came to, which a proxy may have rewritten: set the setting).

The sitemap is streamed, products read 500 at a time by id: a territory of
10 000 products is never in memory at once. The protocol caps a file at 50 000
addresses: past that, ``/sitemap.xml`` is a sitemap index naming ``/sitemap-1.xml``,
``/sitemap-2.xml``…, each of at most 50 000 (a file of 50 000 addresses is about 7 MB,
under the protocol's 50 MB). A page with a kept photo names it (Google's image sitemap
extension), so that the photos are found too.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from chatshop.domain.models import Channel, Shop
from chatshop.services import Services
from chatshop.services.links import product_path, shop_path
from chatshop.web.http import cache_headers, fresh, stamp
from chatshop.web.images import image_path
from chatshop.web.window import Window

MAX_URLS = 50_000  # the sitemap protocol's cap on one file
SEARCH_PATH = "/recherche"
"""Kept from crawlers: a search page exists for every word one may type (each ranked on
request, the window's dearest page), and shows nothing the shop and product pages do
not."""
ROBOTS_CACHE = "public, max-age=86400"
_XML = '<?xml version="1.0" encoding="UTF-8"?>\n'
_SITEMAPS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_IMAGES = "http://www.google.com/schemas/sitemap-image/1.1"  # a photo per page


def routes(services: Services, window: Window, *,
           max_urls: int = MAX_URLS) -> list[BaseRoute]:
    """``/robots.txt``, ``/sitemap.xml`` and, past ``max_urls`` addresses, its parts."""

    def base(request: Request) -> str:
        return window.links.public_url or str(request.base_url).rstrip("/")

    async def robots(request: Request) -> Response:
        """Everything may be read; where the sitemap is."""
        body = (f"User-agent: *\nAllow: /\nDisallow: {SEARCH_PATH}\n\n"
                f"Sitemap: {base(request)}/sitemap.xml\n")
        return Response(body, media_type="text/plain",
                        headers={"Cache-Control": ROBOTS_CACHE})

    async def sitemap(request: Request) -> Response:
        """The sitemap, or the index of its parts when it would be too long for one."""
        root = base(request)
        etag = _etag("sitemap", services, root)
        if (unchanged := fresh(request, etag, None)) is not None:
            return unchanged
        shops = await services.sitemap.shops()
        total = 1 + len(shops) + await services.sitemap.product_count()
        if total <= max_urls:
            body = _urlset(services, root, shops, 0, total)
        else:
            parts = -(-total // max_urls)
            body = _index(root, parts)
        return _xml(request, body, etag)

    async def part(request: Request) -> Response:
        """One part of a sitemap too long for one file."""
        number: int = request.path_params["number"]
        root = base(request)
        etag = _etag(f"sitemap-{number}", services, root)
        if (unchanged := fresh(request, etag, None)) is not None:
            return unchanged
        shops = await services.sitemap.shops()
        total = 1 + len(shops) + await services.sitemap.product_count()
        start = (number - 1) * max_urls
        if number < 1 or start >= total:
            raise HTTPException(404)  # the window's own « page introuvable »
        body = _urlset(services, root, shops, start, min(total, start + max_urls))
        return _xml(request, body, etag)

    return [Route("/robots.txt", robots, methods=["GET"]),
            Route("/sitemap.xml", sitemap, methods=["GET"]),
            Route("/sitemap-{number:int}.xml", part, methods=["GET"])]


def _etag(name: str, services: Services, root: str) -> str:
    # The address it is built under is part of what it says.
    where = hashlib.sha256(root.encode()).hexdigest()[:8]
    return f"{name}.{stamp(services)}.{where}"


def _xml(request: Request, body: AsyncIterator[str], etag: str) -> Response:
    if request.method == "HEAD":  # its headers only: no need to read every product
        body = _nothing()
    return StreamingResponse(body, media_type="application/xml", headers=cache_headers(etag))


async def _nothing() -> AsyncIterator[str]:
    return
    yield


def _url(address: str, changed: datetime | None, image: str | None = None) -> str:
    lastmod = "" if changed is None else f"<lastmod>{_w3c(changed)}</lastmod>"
    photo = ("" if image is None
             else f"<image:image><image:loc>{escape(image)}</image:loc></image:image>")
    return f"<url><loc>{escape(address)}</loc>{lastmod}{photo}</url>\n"


def _w3c(moment: datetime) -> str:
    """A W3C datetime in UTC, to the second: ``2026-12-07T08:49:37+00:00``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


async def _urlset(services: Services, root: str, shops: list[tuple[Shop, datetime]],
                  start: int, end: int) -> AsyncIterator[str]:
    """The addresses from position ``start`` to ``end``: the home, the shops, the
    products by id, in that order."""
    def photo(photos: dict[Channel, str]) -> str | None:
        sha = services.images.web_image(photos)
        return None if sha is None else root + image_path(sha, "display")

    yield f'{_XML}<urlset xmlns="{_SITEMAPS}" xmlns:image="{_IMAGES}">\n'
    fixed = [(root + "/", max((changed for _shop, changed in shops), default=None), None),
             *((root + shop_path(shop), changed, photo(shop.photos))
               for shop, changed in shops)]
    yield "".join(_url(*entry) for entry in fixed[start:end])
    first = max(start, len(fixed))
    if end > first:
        lines: list[str] = []
        async for product in services.sitemap.products(skip=first - len(fixed),
                                                       limit=end - first):
            lines.append(_url(root + product_path(product), product.updated_at,
                              photo(product.photos)))
            if len(lines) == 500:
                yield "".join(lines)
                lines = []
        yield "".join(lines)
    yield "</urlset>\n"


async def _index(root: str, parts: int) -> AsyncIterator[str]:
    yield f'{_XML}<sitemapindex xmlns="{_SITEMAPS}">\n'
    for number in range(1, parts + 1):
        yield f"<sitemap><loc>{escape(f'{root}/sitemap-{number}.xml')}</loc></sitemap>\n"
    yield "</sitemapindex>\n"
