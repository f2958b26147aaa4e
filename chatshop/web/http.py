"""The window's HTTP plumbing, around its pages: ``WindowHttp`` (a pure ASGI middleware:
GET and HEAD only, a per-address rate limit, security headers on every answer) and the
conditional requests pages answer before they render (``fresh``, ``cache_headers``,
``stamp``).

Every answer carries the same headers, 404s, 405s and 429s included: a Content Security
Policy that allows no inline script and no inline style (the JSON-LD ``<script
type="application/ld+json">`` of the pages is data, which a CSP does not block), no
framing, no sniffing, no referrer beyond the origin for other sites, no camera,
microphone or position. What is not in it: ``Strict-Transport-Security``, which is the
TLS-terminating proxy's to send (this server speaks plain HTTP behind it), and the
``server: uvicorn`` header, which uvicorn adds after the app (``server_header=False``
where it is configured, ``chatshop.app``).

The pages are rendered from the database; a browser or a link preview asking again
with ``If-None-Match`` / ``If-Modified-Since`` gets a 304 without the page being
rendered: a page computes its ETag from ``stamp(services)`` (and whatever else its
content depends on), calls ``fresh`` first, and renders only when that is None. A page
rendered once and still current is answered before routing, its 200 or its 304
(``chatshop.web.pages_cache.KeptPages``, given as ``kept``).

A 304 carries the security headers too. RFC 9110 §15.4.5 asks only for the headers a
200 would have for caching (ETag, Cache-Control, Last-Modified...), and a 304 has no
body for them to protect; but a cache updates the stored response's headers from the
304 (RFC 9111 §4.3.4), and the copy it then shows must still carry them. Ready-made,
they cost a kept page's 304 little: ``bench/web.py`` measured its 304s, headers and
all, at 0.92-0.95 of the rate of a static 10 KB answer without them.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from ipaddress import IPv6Address, ip_network

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatshop.i18n import _, format_number, ngettext
from chatshop.services import Services
from chatshop.web.pages_cache import KeptPages

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = tuple(
    (name.encode("latin-1"), value.encode("latin-1")) for name, value in (
        ("content-security-policy",
         "default-src 'none'; img-src 'self' data:; style-src 'self';"
         " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-frame-options", "DENY"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
        ("cross-origin-opener-policy", "same-origin"),
    ))
ALLOWED_METHODS = ("GET", "HEAD")

PAGE_CACHE = "public, no-cache"
"""The pages' ``Cache-Control``: anyone may keep a copy, and must ask before showing it
again (stock and opening hours change; asking costs a 304 when nothing did)."""

PERIOD = 60.0  # the rate limit's window, in seconds
ASSET_COST = 0.1
"""What a ``/static/`` or ``/image/`` request counts for against the limit, a page
counting 1. A shop page brings a stylesheet and a thumbnail per product shown, which a
browser then keeps (images are immutable, a year): counting them fully, two or three
first visits would use a minute's budget; not counting them would leave images, which
are read from the database, open to be pulled as fast as one can ask."""
MAX_ADDRESSES = 10_000
"""Addresses followed at once. Past it the least recently seen is forgotten (its count
starts again): ~2 MB at most. A flood from more addresses than this a minute is no
longer for this limiter to stop, but for the firewall or the proxy in front."""


class WindowHttp:
    """The window's ASGI app behind its rules: GET and HEAD only (405 with ``Allow``
    otherwise), ``requests_per_minute`` per client address (429 with ``Retry-After``
    past it; 0: unlimited), the security headers on every answer, and no body for
    HEAD. With ``kept``, a page rendered before and still current is answered from
    it, before routing (the rate limit and the method rule first).

    The client's address is ``scope["client"]``: behind a reverse proxy that is the
    proxy's, unless uvicorn replaces it with the address the proxy names in
    ``X-Forwarded-For`` (``proxy_headers``, trusted only from ``forwarded_allow_ips``,
    127.0.0.1 by default): configure both, or every visitor shares one budget. An IPv6
    client counts by its /64 network, which one home or phone usually holds whole.
    Mobile networks put many people behind one IPv4 address (CGNAT): the budget is
    meant for a person reading, ``CHATSHOP_WEB_REQUESTS_PER_MINUTE`` raises it.
    """

    def __init__(self, app: ASGIApp, *, requests_per_minute: int,
                 clock: Callable[[], float] = time.monotonic,
                 max_addresses: int = MAX_ADDRESSES,
                 kept: KeptPages | None = None) -> None:
        if requests_per_minute < 0:
            raise ValueError(f"requests_per_minute must be 0 (unlimited) or more, "
                             f"not {requests_per_minute}")
        self.app = app
        self._kept = kept
        self._limits = (RequestBudgets(requests_per_minute, clock=clock,
                                       max_keys=max_addresses)
                        if requests_per_minute else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: the app's own
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _value in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # HEAD: the headers of GET (its Content-Length too), no body
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        if self._limits is not None:
            cost = ASSET_COST if scope["path"].startswith(("/static/", "/image/")) else 1.0
            wait = self._limits.take(client_key(scope), cost)
            if wait:
                await too_many(wait, secured)
                return
        if scope["method"] not in ALLOWED_METHODS:
            await not_allowed(secured)
            return
        if self._kept is not None:
            # A page rendered before and still current: answered here, before routing
            # (its headers hold the security headers already).
            kept = self._kept.answer(scope["method"], scope["path"],
                                     scope["query_string"], scope["headers"])
            if kept is not None:
                status, headers, body = kept
                await send({"type": "http.response.start", "status": status,
                            "headers": headers})
                await send({"type": "http.response.body", "body": b"" if head else body})
                return
        await self.app(scope, receive, secured)


def client_key(scope: Scope) -> str:
    """Whose budget a request counts against: its IPv4 address, its IPv6 /64 (no
    address, as behind a Unix socket: one budget shared by all)."""
    client = scope.get("client")
    host = client[0] if client else ""
    if ":" not in host:
        return host
    try:
        address = IPv6Address(host)
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ip_network((address, 64), strict=False))


class _Count:
    __slots__ = ("current", "previous", "start")

    def __init__(self, start: float) -> None:
        self.start = start  # the fixed window ``current`` counts in
        self.current = 0.0
        self.previous = 0.0  # what the window before it counted


class RequestBudgets:
    """At most ``rate`` requests per ``period`` seconds per key, refused rather than
    made to wait (an inbound limit: ``chatshop.delivery.pace`` paces what we send, by
    making the sender wait, and keeps a timestamp per request; here the keys are chosen
    by strangers, so each costs three numbers).

    A sliding-window counter: the requests of the current minute, plus those of the
    minute before weighted by how much of it the last 60 s still cover. It assumes
    the previous minute's were spread evenly, so a client can get a little over
    ``rate`` in a given 60 s, never twice it (which a fixed window or a full token
    bucket allow at a boundary).
    """

    def __init__(self, rate: int, period: float = PERIOD, *,
                 clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_ADDRESSES) -> None:
        self.rate = rate
        self.period = period
        self._clock = clock
        self._max_keys = max_keys
        # Least recently used first: forgetting only ever looks at the front.
        self._counts: OrderedDict[str, _Count] = OrderedDict()

    def __len__(self) -> int:
        """How many keys are followed right now."""
        return len(self._counts)

    def take(self, key: str, cost: float = 1.0) -> float:
        """Count a request of ``key`` and return 0, or the seconds before it would be
        allowed (and count nothing): a refused request costs its sender no budget."""
        now = self._clock()
        start = now - now % self.period
        self._forget(start)
        count = self._counts.get(key)
        if count is None:
            count = self._counts[key] = _Count(start)
            if len(self._counts) > self._max_keys:
                self._counts.popitem(last=False)
        else:
            self._counts.move_to_end(key)
            if count.start != start:
                follows = count.start == start - self.period
                count.previous = count.current if follows else 0.0
                count.current, count.start = 0.0, start
        elapsed = now - start
        used = count.previous * (1 - elapsed / self.period) + count.current
        if used + cost <= self.rate + 1e-9:  # ten tenths are one, in floats too
            count.current += cost
            return 0.0
        return max(self._wait(count, elapsed, cost), 1e-3)

    def _wait(self, count: _Count, elapsed: float, cost: float) -> float:
        """How long until ``cost`` fits, the counts staying as they are."""
        room = self.rate - cost
        if count.current <= room:  # when enough of the previous minute has slid out
            return self.period * (1 - (room - count.current) / count.previous) - elapsed
        # the next minute, once enough of this one has slid out
        return self.period - elapsed + max(0.0, self.period * (1 - room / count.current))

    def _forget(self, start: float) -> None:
        """Drop the keys unseen for two windows: their count is 0 either way."""
        while self._counts:
            count = next(iter(self._counts.values()))
            if count.start >= start - self.period:
                return
            self._counts.popitem(last=False)


async def too_many(wait: float, send: Send) -> None:
    """The 429 page: how long to wait, a way back."""
    seconds = max(1, math.ceil(wait))
    await _refuse(send, 429, _too_many_page(seconds),
                  [(b"retry-after", str(seconds).encode("latin-1"))])


async def not_allowed(send: Send) -> None:
    """The 405 page: the window is only read."""
    await _refuse(send, 405, _not_allowed_page(),
                  [(b"allow", ", ".join(ALLOWED_METHODS).encode("latin-1"))])


async def _refuse(send: Send, status: int, body: bytes,
                  headers: list[tuple[bytes, bytes]]) -> None:
    # Sent as bare ASGI messages: a flood of refused requests must cost less than the
    # pages it is kept from.
    await send({"type": "http.response.start", "status": status, "headers": [
        *headers, (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode("latin-1")),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


@lru_cache(maxsize=128)
def _too_many_page(seconds: int) -> bytes:
    text = ngettext("You have opened many pages in a short time. Please wait {n} "
                    "second, then try again.",
                    "You have opened many pages in a short time. Please wait {n} "
                    "seconds, then try again.", seconds).format(n=format_number(seconds))
    return _short_page(_("Too many requests"), text)


@lru_cache(maxsize=1)
def _not_allowed_page() -> bytes:
    return _short_page(_("Not possible here"), _("The pages of this site can only be read."))


def _short_page(title: str, text: str) -> bytes:
    back = _("Back to the home page")
    return (
        '<!doctype html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n<main>\n"
        f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(text)}</p>\n"
        f'<p><a href="/">{html.escape(back)}</a></p>\n'
        "</main>\n</body>\n</html>\n").encode()


# -- conditional requests ---------------------------------------------------------------

_TAG_CHARACTERS = re.compile(r"[!#-~]+")  # what may stand between an ETag's quotes
_LISTED_TAG = re.compile(r'(?:W/)?("[^"]*")')


def entity_tag(etag: str) -> str:
    """``etag`` as sent: kept when already quoted (``"x"`` or ``W/"x"``), else made a
    weak tag (a page rendered again is the same content, not the same bytes), hashed
    first if it holds characters a tag may not."""
    if etag.startswith(('"', 'W/"')) and etag.endswith('"') and len(etag) > 1:
        return etag
    if not _TAG_CHARACTERS.fullmatch(etag):
        etag = hashlib.sha256(etag.encode()).hexdigest()[:32]
    return f'W/"{etag}"'


@lru_cache(maxsize=4096)  # 5 µs each, and pages ask for the same few again and again
def http_date(moment: datetime) -> str:
    """``Sun, 06 Nov 1994 08:49:37 GMT``, to the second (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def cache_headers(etag: str, last_modified: datetime | None = None,
                  cache_control: str = PAGE_CACHE) -> dict[str, str]:
    """The validators and cache rule a page's 200 carries, the same its 304 does."""
    headers = {"ETag": entity_tag(etag), "Cache-Control": cache_control}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    return headers


def fresh(request: Request, etag: str, last_modified: datetime | None, *,
          cache_control: str = PAGE_CACHE) -> Response | None:
    """The 304 to answer when the client's copy is current, else None (render then).

    Current: ``If-None-Match`` names this ETag (weak comparison: ``W/"x"`` matches
    ``"x"``; a list; ``*``), or, only when there is no ``If-None-Match``, the
    ``If-Modified-Since`` date is not older than ``last_modified`` (to the second,
    HTTP dates' precision; an unreadable date is ignored). The ETag must change with
    everything the page shows: the data (``stamp``), and what depends on the clock
    (« ouvert maintenant » turns into « ouvre mardi à 9 h » with no write at all).
    """
    if request.method not in ALLOWED_METHODS:
        return None
    tag = entity_tag(etag)
    wanted = request.headers.get("if-none-match")
    if wanted is not None:
        if not _matches(wanted, tag):
            return None
    else:
        since = request.headers.get("if-modified-since")
        if since is None or last_modified is None or not _not_modified(since, last_modified):
            return None
    return Response(status_code=304, headers=cache_headers(tag, last_modified, cache_control))


def _matches(header: str, tag: str) -> bool:
    if header.strip() == "*":
        return True
    opaque = tag.removeprefix("W/")
    listed = _LISTED_TAG.findall(header)
    if not listed:  # unquoted, as a few clients send them
        listed = [f'"{item.strip()}"' for item in header.split(",") if item.strip()]
    return opaque in listed


def _not_modified(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if last_modified.tzinfo is None:
        last_modified = last_modified.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def stamp(services: Services) -> str:
    """The change stamp of everything the window shows (``SitemapService.stamp``):
    cheap (no table is read), and different after any write, by any process."""
    return services.sitemap.stamp()
