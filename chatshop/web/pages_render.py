"""How a window page is made and answered: the Jinja2 environment (built once, every
template autoescaped, the bot's gettext catalogue and Babel money), the page's head
(title, canonical address, link preview, JSON-LD), and the conditional-request headers
(``ETag``, ``Last-Modified``, ``Cache-Control``) checked before anything is rendered."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from chatshop.i18n import _, format_money, ngettext
from chatshop.web.structured import Preview

# A copy may be shown again for a minute without asking (then it asks: a 304 when
# nothing changed). Stock shown a minute late is harmless: reserving happens in the chat,
# which reads the stock as it is.
PAGE_CACHE = "public, max-age=60"
# How many page versions remember when they were first seen (for Last-Modified).
VERSIONS_KEPT = 4096


@cache
def environment() -> Environment:
    """The window's templates, compiled once per process and kept (no reload checks)."""
    env = Environment(
        loader=PackageLoader("chatshop.web", "templates"),
        autoescape=True,  # every template: shopkeepers' text is text, never HTML
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=-1,
    )
    env.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=False)  # type: ignore[attr-defined]
    env.filters["money"] = format_money
    env.globals["stylesheet"] = f"/static/window.css?v={_stylesheet_version()}"
    return env


def _stylesheet_version() -> str:
    """A digest of the stylesheet: its address changes with it, so it can be cached long."""
    css = files("chatshop.web").joinpath("static", "window.css").read_bytes()
    return hashlib.blake2b(css, digest_size=6).hexdigest()


def template(name: str) -> Template:
    return environment().get_template(name)


@dataclass(frozen=True)
class Head:
    """What a page says of itself in its ``<head>``."""

    title: str
    description: str
    canonical: str
    preview: Preview | None = None
    data: tuple[Markup, ...] = ()  # JSON-LD documents, already made safe
    index: bool = True  # False: robots are asked not to index it (search results)


@dataclass
class Versions:
    """When this process first served the current version (ETag) of each page: its
    ``Last-Modified``. A page's new version is dated after its previous one, even within
    the same second, so a client that sends only ``If-Modified-Since`` is never told
    « not modified » about a page that changed. Pages are keyed by their address; the
    least recently asked are forgotten past ``VERSIONS_KEPT``."""

    kept: OrderedDict[str, tuple[str, datetime]] = field(default_factory=OrderedDict)

    def since(self, page: str, etag: str, now: datetime) -> datetime:
        known = self.kept.get(page)
        if known is not None and known[0] == etag:
            self.kept.move_to_end(page)
            return known[1]
        # HTTP dates have whole seconds: the second it was first served (never later
        # than the Date header, RFC 9110 §8.8.2.1), unless the previous version took
        # that second already — two versions of one page in one second are rare.
        seen = now.astimezone(UTC).replace(microsecond=0)
        if known is not None:
            seen = max(seen, known[1] + timedelta(seconds=1))
        self.kept[page] = (etag, seen)
        self.kept.move_to_end(page)
        if len(self.kept) > VERSIONS_KEPT:
            self.kept.popitem(last=False)
        return seen


def etag_of(*parts: object) -> str:
    """A strong ETag from what a page is made of (the catalogue stamp, its key...)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=12)
    return f'"{digest.hexdigest()}"'


def render(request: Request, name: str, head: Head, *, status: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> Response:
    """The page ``name`` with its head and context (``WindowHttp`` drops the body of a
    HEAD request)."""
    return HTMLResponse(template(name).render(head=head, request=request, **context),
                        status_code=status, headers=headers)
