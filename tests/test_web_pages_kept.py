"""The window's kept pages (``chatshop.web.pages_cache``): a page rendered once is
answered again from memory, and never once it is out of date: after a write (this
process's or another's), when the clock turns a shop's door, at midnight, or when the
bot's addresses change; its 304s and HEADs are the ones a rendered page gets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from chatshop.services import Services
from chatshop.services.links import product_path
from chatshop.storage import open_store
from chatshop.web.app import window_app
from chatshop.web.http import SECURITY_HEADERS
from chatshop.web.pages_cache import KeptPage, KeptPages, page_key
from chatshop.web.window import Window
from tests.conftest import FakeClock
from tests.test_web_pages import (
    PUBLIC,
    Site,
    demo_operator,
    demo_services,
    make_window,
    visible,
)
from tests.test_web_pages import demo_file as demo_file
from tests.test_web_pages import site as site
from tests.world import DatabaseFile

COIFFURE = "/boutique/espace-coiffure"


def assert_secured(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS:
        assert response.headers[name.decode()] == value.decode(), name


@dataclass
class Window2:
    """The demo territory's window, and its database file (for a second process)."""

    site: Site
    file: Path
    window: Window


@pytest.fixture
async def served(demo_file: DatabaseFile[None], tmp_path: Path,
                 clock: FakeClock) -> AsyncIterator[Window2]:
    path = demo_file.copy(tmp_path / "demo.db")
    store = await open_store(path)
    services = demo_services(store, clock)
    window = make_window(clock, public_url=PUBLIC, telegram_bot="porte_oceane_bot",
                         whatsapp_number="+33 6 12 34 56 78")
    transport = httpx.ASGITransport(app=window_app(services, window))
    try:
        async with httpx.AsyncClient(transport=transport,
                                     base_url="http://vitrine.test") as client:
            yield Window2(Site(services, await demo_operator(services), client, clock),
                          path, window)
    finally:
        await store.close()


# -- never out of date ------------------------------------------------------------------

async def test_a_page_seen_again_after_a_change_shows_the_change(site: Site) -> None:
    owner = await site.owner("instant-pour-soi")
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    assert "Plus que 1" not in await site.text(product_path(soap))
    assert "Plus que 1" not in await site.text("/recherche?q=savon")
    await site.services.catalogue.set_stock(owner, soap.id, 1)
    assert "Plus que 1" in await site.text(product_path(soap))
    assert "Plus que 1" in await site.text("/recherche?q=savon")


async def test_a_change_made_by_another_process_shows_on_the_next_visit(
        served: Window2, clock: FakeClock) -> None:
    site = served.site
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    first = await site.get(product_path(soap))
    assert "Plus que 2" not in visible(first.text)
    other = await open_store(served.file)  # the bot, in a process of its own
    try:
        others: Services = demo_services(other, clock)
        owner = await site.owner("instant-pour-soi")
        await others.catalogue.set_stock(owner, soap.id, 2)
    finally:
        await other.close()
    again = await site.get(product_path(soap), **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200
    assert "Plus que 2" in visible(again.text)


async def test_the_home_page_turns_a_shops_door_with_the_clock(site: Site) -> None:
    assert "Ouvert maintenant · jusqu’à 12 h" in await site.text("/")
    site.clock.advance(hours=2, minutes=1)  # Thursday 12:01: lunch, and no write
    assert "Fermé · ouvre aujourd’hui à 14 h" in await site.text("/")
    assert "Fermé · ouvre aujourd’hui à 14 h" in await site.text(COIFFURE)


async def test_tomorrow_becomes_today_at_midnight(site: Site) -> None:
    site.clock.now = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)  # Thursday, 23:00 in Paris
    evening = await site.text(COIFFURE)
    assert "Fermé · ouvre demain à 9 h" in evening
    site.clock.advance(hours=1, minutes=1)  # Friday 00:01, nothing written
    night = await site.text(COIFFURE)
    assert "Fermé · ouvre aujourd’hui à 9 h" in night


async def test_a_new_bot_name_gives_pages_with_its_links(served: Window2) -> None:
    site = served.site
    soap = await site.product("instant-pour-soi", "Savon à l'ânesse 100 g")
    assert "t.me/porte_oceane_bot" in (await site.get(product_path(soap))).text
    served.window.links.telegram_bot = "vitrine_bot"  # as read from Telegram at start
    assert "t.me/vitrine_bot" in (await site.get(product_path(soap))).text


async def test_each_search_and_page_number_is_its_own_page(site: Site) -> None:
    soap = await site.text("/recherche?q=savon")
    candle = await site.text("/recherche?q=bougie")
    assert soap != candle
    assert "savon" in soap.lower()
    # A shared link's tracking parameters name the same page.
    assert await site.text("/recherche?q=savon&fbclid=abc") == soap


# -- answered as a rendered page is ----------------------------------------------------

async def test_a_kept_page_answers_as_the_rendered_one(site: Site) -> None:
    first = await site.get(COIFFURE)
    again = await site.get(COIFFURE)
    assert again.content == first.content
    assert dict(again.headers) == dict(first.headers)
    assert_secured(again)
    head = await site.client.head(COIFFURE)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == first.headers["content-length"]
    assert_secured(head)


async def test_a_kept_pages_304_carries_its_validators_and_security_headers(
        site: Site) -> None:
    first = await site.get(COIFFURE)
    await site.get(COIFFURE)  # kept now
    again = await site.get(COIFFURE, **{"If-None-Match": f'"x", {first.headers["etag"]}'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["last-modified"] == first.headers["last-modified"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert_secured(again)
    other = await site.get(COIFFURE, **{"If-None-Match": '"autre"'})
    assert other.status_code == 200
    assert other.content == first.content


# -- bounded ---------------------------------------------------------------------------

def kept_page(size: int) -> KeptPage:
    return KeptPage(stamp="1", links=(None, None, None), until=None, etag=b'"e"',
                    body=b"x" * size, headers=[], not_modified=[])


def test_kept_pages_are_bounded_in_number_and_in_bytes(clock: FakeClock) -> None:
    from chatshop.services.links import Links

    pages = KeptPages(lambda: "1", Links(None), clock, max_pages=3, max_bytes=1000)
    for n in range(4):
        pages.keep(page_key(f"/p{n}", b""), kept_page(100))
    assert len(pages) == 3
    assert pages.current(page_key("/p0", b"")) is None  # the least recently asked
    assert pages.current(page_key("/p1", b"")) is not None
    pages.keep(page_key("/big", b""), kept_page(900))
    assert pages.current(page_key("/big", b"")) is not None
    assert pages.current(page_key("/p2", b"")) is None
    assert pages.current(page_key("/p3", b"")) is None
    pages.keep(page_key("/huge", b""), kept_page(5000))  # larger than all: not kept
    assert pages.current(page_key("/huge", b"")) is None
    assert pages.current(page_key("/big", b"")) is not None
