"""The window's rendered pages, kept in memory while they are current (``KeptPages``).

A page is kept with what it was made from: the catalogue's change stamp
(``chatshop.web.http.stamp``: it moves on every commit, another process's too), the
window's addresses (``Links``: the bot's name comes from Telegram after start-up), and
the moment its words would change with no write at all (a shop's door at its opening
or closing and at midnight, the week's news as they age), if any. It is answered again
only while all three still hold, so a kept page is never older than one rendered now.

``WindowHttp`` asks first (``answer``), before routing: a kept page costs a dictionary
look-up, its 304 (``If-None-Match`` naming its ETag) not even that much more. A page not
kept goes to its handler, which renders it and keeps it (``keep``). What is kept: the
body and its ready-made headers, at most ``MAX_PAGES`` pages and ``MAX_BYTES`` bytes,
the least recently asked forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from chatshop.clock import Clock
from chatshop.services.links import Links

MAX_PAGES = 4096
MAX_BYTES = 32 * 1024 * 1024  # a product page is ~4 KB, the home page ~40 KB
PAGE_PARAMETERS = ("q", "page")  # what the pages read of a query string

Headers = list[tuple[bytes, bytes]]
Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class KeptPage:
    """One rendered page and the conditions under which it is still the current one."""

    stamp: str
    links: tuple[str | None, str | None, str | None]
    until: datetime | None  # None: only a write changes it
    etag: bytes  # as sent, W/"..." or "..."
    body: bytes
    headers: Headers  # of the 200 (Content-Type, Content-Length, validators)
    not_modified: Headers  # of the 304 (the validators and the cache rule)


def page_key(path: str, query_string: bytes) -> Key:
    """Which page an address asks for: its path and the parameters pages read (a
    shared link's ``?fbclid=...`` names the same page)."""
    if not query_string:
        return (path, "")
    wanted = [(name, value) for name, value in
              parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
              if name in PAGE_PARAMETERS]
    return (path, repr(sorted(wanted)))


def links_key(links: Links) -> tuple[str | None, str | None, str | None]:
    return (links.public_url, links.telegram_bot, links.whatsapp_number)


class KeptPages:
    """The window's kept pages (see the module's docstring)."""

    def __init__(self, stamp: Callable[[], str], links: Links, clock: Clock, *,
                 max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES) -> None:
        self._stamp = stamp
        self._links = links
        self._clock = clock
        self._max_pages = max_pages
        self._max_bytes = max_bytes
        self._bytes = 0
        self._pages: OrderedDict[Key, KeptPage] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pages)

    def current(self, key: Key) -> KeptPage | None:
        """The kept page for ``key`` while it is still current, else None."""
        kept = self._pages.get(key)
        if kept is None:
            return None
        if (kept.stamp != self._stamp() or kept.links != links_key(self._links)
                or (kept.until is not None and self._clock() >= kept.until)):
            self._drop(key)
            return None
        self._pages.move_to_end(key)
        return kept

    def keep(self, key: Key, page: KeptPage) -> None:
        """Keep ``page`` (a page larger than the whole budget is not kept)."""
        if key in self._pages:
            self._drop(key)
        if len(page.body) > self._max_bytes:
            return
        self._pages[key] = page
        self._bytes += len(page.body)
        while len(self._pages) > self._max_pages or self._bytes > self._max_bytes:
            self._drop(next(iter(self._pages)))

    def _drop(self, key: Key) -> None:
        self._bytes -= len(self._pages.pop(key).body)

    def answer(self, method: str, path: str, query_string: bytes,
               headers: Headers) -> tuple[int, Headers, bytes] | None:
        """The 200 or 304 of a kept, current page for this GET or HEAD, or None (its
        handler answers). Only ``If-None-Match`` is read here: a request dated by
        ``If-Modified-Since`` alone, or carrying ``If-Match``/``If-Range``, goes to
        the handler, whose rules are the whole ones (``chatshop.web.http.fresh``)."""
        if method not in ("GET", "HEAD") or not self._pages:
            return None
        kept = self.current(page_key(path, query_string))
        if kept is None:
            return None
        wanted: bytes | None = None
        for name, value in headers:
            if name == b"if-none-match":
                wanted = value
            elif name in (b"if-modified-since", b"if-match", b"if-range",
                          b"if-unmodified-since"):
                if name != b"if-modified-since":
                    return None
                if wanted is None:
                    wanted = b""  # read after the loop: If-None-Match wins when both
        if wanted is None:
            return (200, kept.headers, kept.body)
        if wanted and _names(wanted, kept.etag):
            return (304, kept.not_modified, b"")
        return None  # no match, or a date alone: the handler's whole rules


def _names(header: bytes, etag: bytes) -> bool:
    """Whether an ``If-None-Match`` list names ``etag`` (weak comparison, ``*``)."""
    if header.strip() == b"*":
        return True
    opaque = etag.removeprefix(b"W/")
    return any(item.strip().removeprefix(b"W/") == opaque for item in header.split(b","))
