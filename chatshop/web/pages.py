"""The window's pages: the territory (``/``), a shop (``/boutique/<slug>``), a product
(``/produit/<id>-<slug>``), the search (``/recherche?q=``), the legal notice, and the
French 404 and 500 pages.

Each page first asks whether the visitor's copy is still current (``fresh``: a 304
before anything is rendered); its ETag is made of the catalogue's change stamp, the
page's own key and whatever else it shows that time changes (a shop's door, the week's
news). A page rendered is kept (``KeptPages``) until its stamp moves or the moment its
words would change with the clock, and ``WindowHttp`` answers the next visitors from
it. Nothing personal is read: shops, products and the operator's notice only."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from chatshop.domain.models import Channel, ListedProduct, Shop
from chatshop.domain.opening import opening
from chatshop.errors import NotFound
from chatshop.i18n import _, format_money, ngettext
from chatshop.services import Services
from chatshop.services.image_sizes import Variant
from chatshop.services.links import product_path, product_payload, shop_path, shop_payload
from chatshop.services.window import news_until
from chatshop.web.http import SECURITY_HEADERS, cache_headers, fresh, stamp
from chatshop.web.images import PLACEHOLDER, image_path
from chatshop.web.pages_cache import KeptPage, KeptPages, links_key, page_key
from chatshop.web.pages_render import PAGE_CACHE, Head, Versions, etag_of, render
from chatshop.web.pages_words import (
    Availability,
    Door,
    availability,
    door,
    map_link,
    phone_words,
    tel_link,
    week_hours,
)
from chatshop.web.structured import Preview, json_ld, product_data, shorten, store_data
from chatshop.web.window import Window

PAGE_SIZE = 24  # products a page, in a shop and in search results
NEWS_SHOWN = 6
SEARCH_TEXT_MAX = 100  # what the bot reads of a search, too
_PRODUCT_KEY = re.compile(r"(\d{1,19})(?:-.*)?", re.DOTALL)
_PAGE_NUMBER = re.compile(r"[0-9]{1,7}")


@dataclass(frozen=True)
class ProductCard:
    """A product as a list shows it."""

    name: str
    url: str
    price: str
    availability: Availability
    photo: str  # its thumbnail, or the placeholder
    shop: str
    maker: str | None  # a hosted product: the maker who left it there


@dataclass(frozen=True)
class ShopCard:
    name: str
    url: str
    door: Door
    photo: str  # its thumbnail, or the placeholder


@dataclass(frozen=True)
class Pager:
    number: int
    count: int | None  # None: the last page is not known (a search counts up to 200)
    previous: str | None
    next: str | None


class Pages:
    """The window's page handlers, over the services and the window's settings."""

    def __init__(self, services: Services, window: Window,
                 kept: KeptPages | None = None) -> None:
        self._services = services
        self._window = window
        self._kept = kept
        self._versions = Versions()
        # New templates come with a new process: its pages get new ETags.
        self._build = secrets.token_hex(4)

    # -- the parts every page shares --------------------------------------------------

    def _base(self, request: Request) -> str:
        """The window's root as visitors reach it: the settings' public address, else
        the request's own."""
        return self._window.links.public_url or str(request.base_url).rstrip("/")

    def _photo(self, photos: dict[Channel, str], variant: Variant) -> str | None:
        sha = self._services.images.web_image(photos)
        return None if sha is None else image_path(sha, variant)

    def _stamp(self, request: Request) -> str:
        """The catalogue's change stamp, read once per request before anything else
        is (what is read after it is at least as new: a page is never dated, tagged or
        kept as newer than its data)."""
        request.state.stamp = version = stamp(self._services)
        return version

    def _check(self, request: Request, *key: object,
               until: datetime | None = None) -> tuple[Response | None, dict[str, str]]:
        """A 304 when the visitor's copy of this version is current, and the headers of
        this version for the page that is rendered otherwise (then kept, ``_render``,
        until the stamp moves or ``until``, when its words change with the clock)."""
        links = self._window.links
        version = getattr(request.state, "stamp", None) or self._stamp(request)
        etag = etag_of(self._build, version, links.public_url,
                       links.telegram_bot, links.whatsapp_number, request.url.path, *key)
        # Which page it is, whatever else the address carries (?fbclid=... on a shared
        # link), for its date (``Versions``).
        page = etag_of(request.url.path, *key)
        since = self._versions.since(page, etag, self._window.clock())
        request.state.keep = (version, links_key(links), until)
        return (fresh(request, etag, since, cache_control=PAGE_CACHE),
                cache_headers(etag, since, PAGE_CACHE))

    def _render(self, request: Request, name: str, head: Head, *,
                headers: dict[str, str], **context: Any) -> Response:
        """``render``, and the page kept for the next visitors (``KeptPages``) when the
        window's address is known (else it depends on the request's ``Host``)."""
        response = render(request, name, head, headers=headers, **context)
        keep = getattr(request.state, "keep", None)
        if self._kept is not None and keep is not None and self._window.links.public_url:
            version, links, until = keep
            body = bytes(response.body)
            not_modified = Response(status_code=304, headers=headers)
            self._kept.keep(page_key(request.url.path, request.url.query.encode("latin-1")),
                            KeptPage(stamp=version, links=links, until=until,
                                     etag=response.headers["etag"].encode("latin-1"),
                                     body=body,
                                     headers=_secured(response.raw_headers),
                                     not_modified=_secured(not_modified.raw_headers)))
        return response

    def _context(self) -> dict[str, Any]:
        return {"territory": self._window.territory}

    def _card(self, listed: ListedProduct) -> ProductCard:
        product = listed.product
        thumb = self._photo(product.photos, "thumb")
        return ProductCard(
            name=product.name, url=product_path(product),
            price=format_money(product.price_cents), availability=availability(product),
            photo=thumb or PLACEHOLDER, shop=listed.pickup_shop_name,
            maker=listed.maker_name if product.is_hosted else None)

    def _shop_card(self, shop: Shop, shop_door: Door) -> ShopCard:
        thumb = self._photo(shop.photos, "thumb")
        return ShopCard(name=shop.name, url=shop_path(shop), door=shop_door,
                        photo=thumb or PLACEHOLDER)

    def _door(self, shop: Shop) -> Door:
        now = self._window.clock()
        return door(opening(shop, now, self._window.tz), now, self._window.tz)

    def _preview(self, request: Request, title: str, description: str, *,
                 kind: str = "website", photos: dict[Channel, str] | None = None,
                 alt: str = "") -> Preview:
        image = self._photo(photos, "preview") if photos else None
        base = self._base(request)
        return Preview(title=title, description=description,
                       url=base + request.url.path, type=kind,
                       image=None if image is None else base + image, image_alt=alt)

    def not_found(self, request: Request) -> Response:
        """The French 404 page, with the way back home."""
        head = Head(title=_("Page not found"), description="", canonical=self._base(request)
                    + "/", index=False)
        return render(request, "error.html", head, status=404, **self._context(),
                      heading=_("This page does not exist (or no longer does)"),
                      message=_("The product may have been withdrawn, or the shop may no "
                                "longer be on the window. The shops of the territory are "
                                "all on the home page."))

    def server_error(self, request: Request) -> Response:
        """The French 500 page: never a traceback."""
        head = Head(title=_("Something went wrong"), description="",
                    canonical=self._base(request) + "/", index=False)
        return render(request, "error.html", head, status=500, **self._context(),
                      heading=_("Something went wrong on our side"),
                      message=_("Please try again in a moment. If it goes on, the shops "
                                "can still be reached by phone or in the chat."))

    # -- the pages --------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        """The territory: its communes and their shops, the week's news, how to reserve."""
        self._stamp(request)
        communes = await self._services.window.shops_by_commune()
        news = await self._services.window.news(NEWS_SHOWN)
        doors = {shop.id: self._door(shop) for _c, shops in communes for shop in shops}
        changes = [d.until for d in doors.values() if d.until is not None]
        aging = news_until(news)
        if aging is not None:
            changes.append(aging)
        not_modified, headers = self._check(
            request, sorted((k, d.words) for k, d in doors.items()),
            [item.product.id for item in news], until=min(changes, default=None))
        if not_modified is not None:
            return not_modified
        territory = self._window.territory
        links = self._window.links
        description = _("The shops of {territory}: reserve in the chat, pay and collect in "
                        "the shop.").format(territory=territory)
        head = Head(title=_("{territory} — the local shops").format(territory=territory),
                    description=description, canonical=self._base(request) + "/",
                    preview=self._preview(request, territory, description))
        digits = "".join(ch for ch in links.whatsapp_number or "" if ch.isdigit())
        return self._render(
            request, "home.html", head, headers=headers, **self._context(),
            communes=[(commune, [self._shop_card(s, doors[s.id]) for s in shops])
                      for commune, shops in communes],
            news=[self._card(item) for item in news],
            telegram=f"https://t.me/{links.telegram_bot}" if links.telegram_bot else None,
            whatsapp=f"https://wa.me/{digits}" if digits else None)

    async def shop(self, request: Request) -> Response:
        """A shop: its card, hours, holidays, categories and products, a page at a time."""
        number = _page_number(request)
        self._stamp(request)
        try:
            shop = await self._services.window.shop(request.path_params["slug"])
        except NotFound:
            return self.not_found(request)
        if number is None:
            return self.not_found(request)
        shop_door = self._door(shop)
        not_modified, headers = self._check(request, number, shop_door.words,
                                            until=shop_door.until)
        if not_modified is not None:
            return not_modified
        window = self._services.window
        page = await window.shop_products(shop.id, offset=(number - 1) * PAGE_SIZE,
                                          limit=PAGE_SIZE)
        if number > 1 and not page.items:
            return self.not_found(request)
        categories = await window.shop_categories(shop.id)
        commune = await self._services.shops.commune(shop.commune_id)
        commune_name = commune.name if commune else ""
        base = self._base(request)
        url = base + shop_path(shop) + (f"?page={number}" if number > 1 else "")
        display = self._photo(shop.photos, "display")
        preview_image = self._photo(shop.photos, "preview")
        description = shorten(shop.description) or _("{shop}, {commune}: reserve in the "
                                                     "chat, pay in the shop.").format(
            shop=shop.name, commune=commune_name)
        phone = tel_link(shop.phone)
        data = store_data(shop, commune_name, commune.postcode if commune else "",
                          base + shop_path(shop),
                          None if preview_image is None else base + preview_image,
                          phone.removeprefix("tel:") if phone else None)
        head = Head(title=_("{shop} — {commune}").format(shop=shop.name,
                                                         commune=commune_name),
                    description=description, canonical=url,
                    preview=self._preview(request, shop.name, description, kind="website",
                                          photos=shop.photos, alt=shop.name),
                    data=(json_ld(data),))
        count = max(1, -(-page.total // PAGE_SIZE))
        links = self._window.links
        return self._render(
            request, "shop.html", head, headers=headers, **self._context(),
            shop=shop, commune=commune_name, door=shop_door, hours=week_hours(shop),
            photo=display, map=map_link(shop, commune_name), phone=phone,
            phone_words=phone_words(shop.phone),
            categories=categories, products=[self._card(item) for item in page.items],
            total=page.total, pager=_pager(shop_path(shop), number, count, ""),
            telegram=links.telegram(shop_payload(shop)),
            whatsapp=links.whatsapp(shop_payload(shop)))

    async def product(self, request: Request) -> Response:
        """A product: photo, price, availability, its shop, and the ways to reserve it."""
        key = _PRODUCT_KEY.fullmatch(request.path_params["key"])
        if key is None:
            return self.not_found(request)
        not_modified, headers = self._check(request)
        if not_modified is not None:
            return not_modified
        try:
            listed = await self._services.window.product(int(key[1]))
        except NotFound:
            return self.not_found(request)
        product = listed.product
        canonical_path = product_path(product)
        if request.url.path != canonical_path:
            return RedirectResponse(canonical_path, status_code=301)
        shop = await self._services.shops.get(product.pickup_shop_id)
        base = self._base(request)
        state = availability(product)
        price = format_money(product.price_cents)
        description = _("{price} · {availability} · at {shop}, {commune}").format(
            price=price, availability=state.words, shop=shop.name,
            commune=listed.commune_name)
        if product.description:
            description += " — " + shorten(product.description, 140)
        preview_image = self._photo(product.photos, "preview")
        data = product_data(product, shop, base + canonical_path,
                            None if preview_image is None else base + preview_image,
                            base + shop_path(shop))
        head = Head(title=_("{product} — {price} — {shop}").format(
                        product=product.name, price=price, shop=shop.name),
                    description=description, canonical=base + canonical_path,
                    preview=self._preview(request, f"{product.name} — {price}", description,
                                          kind="product", photos=product.photos,
                                          alt=product.name),
                    data=(json_ld(data),))
        links = self._window.links
        reservable = state.in_stock and shop.takes_reservations
        payload = product_payload(listed)
        return self._render(
            request, "product.html", head, headers=headers, **self._context(),
            product=product, price=price, state=state, shop=shop,
            shop_url=shop_path(shop), commune=listed.commune_name,
            maker=listed.maker_name if product.is_hosted else None,
            photo=self._photo(product.photos, "display"),
            telegram=links.telegram(payload) if reservable else None,
            whatsapp=links.whatsapp(payload) if reservable else None,
            phone=tel_link(shop.phone), shop_phone=phone_words(shop.phone))

    async def search(self, request: Request) -> Response:
        """The bot's own search across every shop, a page at a time."""
        query = " ".join(request.query_params.get("q", "").split())
        number = _page_number(request)
        head = Head(title=_("Search — {territory}").format(territory=self._window.territory),
                    description=_("Search the products of every shop of the territory."),
                    canonical=self._base(request) + "/recherche", index=False)
        context: dict[str, Any] = {**self._context(), "query": query, "results": [], "total": 0,
                   "suggestion": None, "pager": None, "refusal": None}
        if len(query) > SEARCH_TEXT_MAX:
            context["refusal"] = _("Your search is too long ({length} characters); {max} at "
                                   "most, please.").format(length=len(query),
                                                           max=SEARCH_TEXT_MAX)
            context["query"] = ""
            return render(request, "search.html", head, status=400, **context)
        if not query:
            return render(request, "search.html", head, **context)
        if number is None:
            return self.not_found(request)
        not_modified, headers = self._check(request, query, number)
        if not_modified is not None:
            return not_modified
        page = await self._services.search.search(query, offset=(number - 1) * PAGE_SIZE,
                                                  limit=PAGE_SIZE)
        if number > 1 and not page.items:
            return self.not_found(request)
        suggestion = (await self._services.search.suggest(query)
                      if not page.items else None)
        pager: Pager | None
        if page.capped:  # the search counts up to 200: the last page is not known
            pager = _open_pager("/recherche", number, page.has_next, query)
            summary = ngettext("More than {n} product found for « {query} »",
                               "More than {n} products found for « {query} »",
                               page.total).format(n=page.total, query=query)
        else:
            pager = _pager("/recherche", number, max(1, -(-page.total // PAGE_SIZE)), query)
            summary = ngettext("{n} product found for « {query} »",
                               "{n} products found for « {query} »",
                               page.total).format(n=page.total, query=query)
        context.update(
            results=[self._card(item) for item in page.items], total=page.total,
            suggestion=suggestion, pager=pager, summary=summary)
        return self._render(request, "search.html", head, headers=headers, **context)

    async def legal(self, request: Request) -> Response:
        """« Mentions légales et données personnelles »: who publishes, what is kept."""
        not_modified, headers = self._check(request)
        if not_modified is not None:
            return not_modified
        title = _("Legal notice and personal data")
        head = Head(title=f"{title} — {self._window.territory}",
                    description=_("Who publishes this window, and what the bot keeps "
                                  "about you."),
                    canonical=self._base(request) + "/mentions-legales")
        return self._render(request, "legal.html", head, headers=headers,
                            **self._context(), publisher=self._window.publisher,
                            title=title,
                            missing=Markup('<span class="missing">{}</span>').format(
                                _("not given by the operator yet")))


def _page_number(request: Request) -> int | None:
    """``?page=N``: 1 when absent or not a number, None (not found) when 0 or absurd."""
    text = request.query_params.get("page")
    if text is None or not text.strip().isdigit():
        return 1
    if not _PAGE_NUMBER.fullmatch(text.strip()):
        return None
    number = int(text)
    return number if number >= 1 else None


def _pager(path: str, number: int, count: int, query: str) -> Pager | None:
    """« ‹ Précédente · Page 2 sur 5 · Suivante › », or None on a single page."""
    if count <= 1:
        return None
    return Pager(number=number, count=count,
                 previous=_page_url(path, number - 1, query) if number > 1 else None,
                 next=_page_url(path, number + 1, query) if number < count else None)


def _open_pager(path: str, number: int, more: bool, query: str) -> Pager:
    """« ‹ Précédente · Page 3 · Suivante › » for a list whose last page is not known."""
    return Pager(number=number, count=None,
                 previous=_page_url(path, number - 1, query) if number > 1 else None,
                 next=_page_url(path, number + 1, query) if more else None)


def _page_url(path: str, number: int, query: str) -> str:
    params = [("q", query)] if query else []
    if number > 1:
        params.append(("page", str(number)))
    return path + ("?" + urlencode(params) if params else "")


def _secured(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with the window's security headers, as ``WindowHttp`` adds them."""
    present = {name for name, _value in headers}
    return [*headers, *(h for h in SECURITY_HEADERS if h[0] not in present)]
