"""The shop window's ASGI app alone (``window_app``): its pages, static files, images,
sitemap and robots.txt, behind the window's HTTP rules (``WindowHttp``: GET and HEAD
only, a per-address rate limit, security headers). ``chatshop.app`` serves it, beside
the webhooks or alone (``chatshop web``)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from chatshop.services import Services
from chatshop.web import images, sitemap
from chatshop.web.http import SECURITY_HEADERS, WindowHttp, stamp
from chatshop.web.pages import Pages
from chatshop.web.pages_cache import MAX_PAGES, KeptPages
from chatshop.web.window import Window

# The stylesheet's address carries its digest (``?v=``); the placeholder never changes.
STATIC_CACHE = "public, max-age=604800"


class _Static(StaticFiles):
    """The window's stylesheet and pictures, cached a week."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = STATIC_CACHE
        return response


def window_app(services: Services, window: Window, *,
               kept_pages: int = MAX_PAGES) -> Starlette:
    """The window over ``services``, as ``window`` describes it; at most ``kept_pages``
    rendered pages kept (0: every page rendered anew, what bench/web.py measures as a
    page after a change)."""
    kept = KeptPages(lambda: stamp(services), window.links, window.clock,
                     max_pages=kept_pages)
    pages = Pages(services, window, kept)

    async def http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code != 404:
            return Response(status_code=exc.status_code, headers=exc.headers)
        return pages.not_found(request)

    async def server_error(request: Request, exc: Exception) -> Response:
        # Starlette sends this from outside the middleware (WindowHttp would not see it):
        # the security headers are put on here.
        response = pages.server_error(request)
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        return response

    routes: list[BaseRoute] = [
        Route("/", pages.home, methods=["GET"]),
        Route("/boutique/{slug}", pages.shop, methods=["GET"]),
        Route("/produit/{key}", pages.product, methods=["GET"]),
        Route("/recherche", pages.search, methods=["GET"]),
        Route("/mentions-legales", pages.legal, methods=["GET"]),
        *sitemap.routes(services, window),
        *images.routes(services),
        Mount("/static", app=_Static(packages=[("chatshop.web", "static")]), name="static"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: server_error},
        middleware=[Middleware(WindowHttp, requests_per_minute=window.requests_per_minute,
                               kept=kept)],
    )
