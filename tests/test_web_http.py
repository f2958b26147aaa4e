"""The window's HTTP rules (``chatshop.web.http``), on a tiny app behind ``WindowHttp``
and on the real window: GET and HEAD only, a per-address rate limit, the security
headers on every answer, and conditional requests answered 304 until something the
window shows has changed."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Scope

from chatshop.domain.models import ProductChanges
from chatshop.services import Services
from chatshop.services.links import Links, product_path
from chatshop.storage import Store
from chatshop.storage.store import SqliteStore
from chatshop.web.app import window_app
from chatshop.web.http import RequestBudgets, WindowHttp, cache_headers, fresh, stamp
from chatshop.web.window import Window
from tests.conftest import Territory

CHANGED = datetime(2026, 11, 20, 14, 30, 12, 345000, tzinfo=UTC)
ETAG = "v42"


class Ticks:
    """A monotonic clock that moves when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def tiny_app() -> Starlette:
    async def page(request: Request) -> Response:
        unchanged = fresh(request, ETAG, CHANGED)
        if unchanged is not None:
            return unchanged
        return PlainTextResponse("Bonjour", headers=cache_headers(ETAG, CHANGED))

    async def stream(request: Request) -> Response:
        async def parts() -> AsyncIterator[str]:
            yield "un, "
            yield "deux"
        return StreamingResponse(parts(), media_type="text/plain")

    return Starlette(routes=[Route("/", page, methods=["GET"]),
                             Route("/flux", stream, methods=["GET"]),
                             Route("/static/window.css", page, methods=["GET"])])


def client(app: WindowHttp | Starlette, address: str = "192.0.2.10") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 5000)),
                             base_url="http://vitrine.test")


def assert_secured(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["content-security-policy"] == (
        "default-src 'none'; img-src 'self' data:; style-src 'self'; form-action 'self';"
        " base-uri 'none'; frame-ancestors 'none'")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["x-frame-options"] == "DENY"
    assert headers["permissions-policy"] == "camera=(), microphone=(), geolocation=()"
    assert headers["cross-origin-opener-policy"] == "same-origin"


# -- methods ------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_only_reading_is_allowed(method: str) -> None:
    async with client(WindowHttp(tiny_app(), requests_per_minute=100)) as http:
        response = await http.request(method, "/")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert "peuvent seulement être consultées" in response.text
    assert '<a href="/">' in response.text  # a way on
    assert_secured(response)


async def test_head_answers_the_headers_of_get_without_its_body() -> None:
    async with client(WindowHttp(tiny_app(), requests_per_minute=100)) as http:
        got = await http.get("/")
        head = await http.head("/")
        streamed = await http.head("/flux")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"] == "7"
    assert head.headers["etag"] == got.headers["etag"]
    assert_secured(head)
    assert streamed.status_code == 200
    assert streamed.content == b""


async def test_head_sends_no_body_even_to_a_server_that_would_pass_it_on() -> None:
    """httpx drops a HEAD answer's body itself: here the ASGI messages are read as a
    server gets them."""
    sent: list[Message] = []
    asked: list[bool] = []

    async def receive() -> Message:
        if asked:  # the client stays connected, as a server says by making this wait
            await asyncio.Event().wait()
        asked.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    for path in ("/", "/flux"):
        scope: Scope = {
            "type": "http", "method": "HEAD", "path": path, "raw_path": path.encode(),
            "query_string": b"", "headers": [], "client": ("192.0.2.10", 5000),
            "server": ("vitrine.test", 80), "scheme": "http", "root_path": "",
            "http_version": "1.1", "asgi": {"version": "3.0"}}
        asked.clear()
        await WindowHttp(tiny_app(), requests_per_minute=10)(scope, receive, send)
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert [m["body"] for m in bodies] == [b"", b""]
    assert not any(m.get("more_body") for m in bodies)


# -- the rate limit -----------------------------------------------------------------------

async def test_an_address_past_its_budget_is_asked_to_wait_and_others_are_not() -> None:
    ticks = Ticks()
    app = WindowHttp(tiny_app(), requests_per_minute=5, clock=ticks)
    async with client(app, "192.0.2.10") as eager, client(app, "198.51.100.7") as other:
        answers = [(await eager.get("/")).status_code for _ in range(5)]
        refused = await eager.get("/")
        neighbour = await other.get("/")
        ticks.now += 61
        later = await eager.get("/")
    assert answers == [200] * 5
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "patienter" in refused.text
    assert f"{refused.headers['retry-after']}\u00a0secondes" in refused.text
    assert refused.headers["cache-control"] == "no-store"
    assert_secured(refused)
    assert neighbour.status_code == 200
    assert later.status_code == 200


async def test_waiting_as_long_as_retry_after_says_is_enough() -> None:
    ticks = Ticks()
    app = WindowHttp(tiny_app(), requests_per_minute=3, clock=ticks)
    async with client(app) as http:
        for _ in range(3):
            await http.get("/")
            ticks.now += 7
        wait = int((await http.get("/")).headers["retry-after"])
        ticks.now += wait
        assert (await http.get("/")).status_code == 200


async def test_stylesheets_and_images_count_for_a_tenth_of_a_page() -> None:
    app = WindowHttp(tiny_app(), requests_per_minute=2, clock=Ticks())
    async with client(app) as http:
        assets = [(await http.get("/static/window.css")).status_code for _ in range(20)]
        past = await http.get("/static/window.css")
    assert assets == [200] * 20
    assert past.status_code == 429


async def test_an_ipv6_client_counts_by_its_network() -> None:
    app = WindowHttp(tiny_app(), requests_per_minute=2, clock=Ticks())
    async with (client(app, "2001:db8:1:2::10") as first,
                client(app, "2001:db8:1:2::99") as same_home,
                client(app, "2001:db8:1:3::10") as elsewhere):
        await first.get("/")
        await same_home.get("/")
        assert (await first.get("/")).status_code == 429
        assert (await elsewhere.get("/")).status_code == 200


def test_the_limit_forgets_idle_addresses_and_follows_a_bounded_number() -> None:
    ticks = Ticks()
    budgets = RequestBudgets(10, clock=ticks, max_keys=100)
    for n in range(500):
        budgets.take(f"10.0.{n // 256}.{n % 256}")
    assert len(budgets) == 100
    ticks.now += 121
    budgets.take("10.9.9.9")
    assert len(budgets) == 1


def test_a_client_never_gets_twice_its_budget_across_a_minute_boundary() -> None:
    ticks = Ticks()
    ticks.now = 6_000_000.0 + 59  # a second before a minute starts
    budgets = RequestBudgets(60, clock=ticks)
    served = 0
    for _ in range(200):  # a request every 0.1 s for 20 s
        served += budgets.take("a") == 0
        ticks.now += 0.1
    assert served <= 70


async def test_no_limit_when_the_setting_is_zero() -> None:
    async with client(WindowHttp(tiny_app(), requests_per_minute=0)) as http:
        answers = {(await http.get("/")).status_code for _ in range(300)}
    assert answers == {200}


# -- security headers ---------------------------------------------------------------------

async def test_every_answer_carries_the_security_headers() -> None:
    app = WindowHttp(tiny_app(), requests_per_minute=2, clock=Ticks())
    async with client(app) as http:
        found = await http.get("/")
        missing = await http.get("/nulle-part")
        refused = await http.get("/")
    assert (found.status_code, missing.status_code, refused.status_code) == (200, 404, 429)
    for response in (found, missing, refused):
        assert_secured(response)


# -- conditional requests -----------------------------------------------------------------

@pytest.mark.parametrize("header", ['W/"v42"', '"v42"', '"v1", W/"v42"', "*",
                                    'W/"v1" ,W/"v42"'])
async def test_a_current_copy_is_answered_not_modified(header: str) -> None:
    async with client(WindowHttp(tiny_app(), requests_per_minute=100)) as http:
        response = await http.get("/", headers={"If-None-Match": header})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == 'W/"v42"'
    assert response.headers["cache-control"] == "public, no-cache"
    assert response.headers["last-modified"] == "Fri, 20 Nov 2026 14:30:12 GMT"
    assert_secured(response)


async def test_another_version_is_sent_whole() -> None:
    async with client(WindowHttp(tiny_app(), requests_per_minute=100)) as http:
        other = await http.get("/", headers={"If-None-Match": 'W/"v41", "v4"'})
        # If-None-Match decides alone, even with a current If-Modified-Since.
        both = await http.get("/", headers={"If-None-Match": '"v41"',
                                            "If-Modified-Since": "Fri, 20 Nov 2026 15:00:00 GMT"})
    assert (other.status_code, other.text) == (200, "Bonjour")
    assert both.status_code == 200


@pytest.mark.parametrize(("since", "status"), [
    ("Fri, 20 Nov 2026 14:30:12 GMT", 304),  # the same second: microseconds do not count
    ("Sat, 21 Nov 2026 08:00:00 GMT", 304),
    ("Friday, 20-Nov-26 14:30:12 GMT", 304),  # RFC 850, obsolete but still read
    ("Fri Nov 20 14:30:12 2026", 304),  # asctime
    ("Fri, 20 Nov 2026 14:30:11 GMT", 200),
    ("hier", 200),
    ("", 200),
])
async def test_if_modified_since_is_compared_to_the_second(since: str, status: int) -> None:
    async with client(WindowHttp(tiny_app(), requests_per_minute=100)) as http:
        response = await http.get("/", headers={"If-Modified-Since": since})
    assert response.status_code == status


# -- the change stamp ---------------------------------------------------------------------

async def test_the_stamp_moves_with_every_write_and_only_then(
        territory: Territory, services: Services) -> None:
    before = stamp(services)
    assert stamp(services) == before
    await territory.product("Confiture de mûres")
    assert stamp(services) != before


async def test_the_stamp_sees_what_another_process_writes(
        territory: Territory, services: Services, store: Store) -> None:
    assert isinstance(store, SqliteStore)
    before = stamp(services)
    other = sqlite3.connect(store.db.path, isolation_level=None)
    try:
        other.execute("UPDATE shops SET description = 'Ouvert le dimanche' WHERE id = ?",
                      (territory.shop.id,))
    finally:
        other.close()
    assert stamp(services) != before


# -- on the real window -------------------------------------------------------------------

def real_window(services: Services) -> Starlette:
    """The window as ``chatshop run`` serves it (its own ``WindowHttp`` inside)."""
    return window_app(services, Window(territory="Porte Océane du Limousin",
                                       tz=ZoneInfo("Europe/Paris"),
                                       links=Links("https://vitrine.example.fr",
                                                   "chatshop_bot")))


async def test_the_window_answers_304_until_its_product_changes(
        territory: Territory, services: Services) -> None:
    product = await territory.product("Savon au lait d'ânesse", price_cents=650)
    async with client(real_window(services)) as http:
        first = await http.get(product_path(product))
        etag = first.headers["etag"]
        again = await http.get(product_path(product), headers={"If-None-Match": etag})
        await services.catalogue.update_product(territory.owner, product.id,
                                                ProductChanges(price_cents=590))
        changed = await http.get(product_path(product), headers={"If-None-Match": etag})
    assert first.status_code == 200
    assert_secured(first)
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert changed.status_code == 200
    assert "5,90" in changed.text
    assert changed.headers["etag"] != etag


async def test_the_window_refuses_a_form_sent_to_it(services: Services) -> None:
    async with client(real_window(services)) as http:
        posted = await http.post("/recherche", data={"q": "miel"})
        missing = await http.get("/boutique/nulle-part")
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET, HEAD"
    assert missing.status_code == 404
    assert_secured(posted)
    assert_secured(missing)
