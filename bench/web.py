"""Benchmark: the public shop window's pages, served for real, against a static response.

Builds ``search.py``'s territory (13 communes, 200 shops, 10 000 products with accents,
descriptions, categories, hidden products, shops on holiday or closed, hosted makers),
then gathers 500 of those products in one shop (the big shop page of the issue). The
window (``chatshop.web.app.window_app``: the pages, the HTTP middleware, its rate limit
lifted for the one address the clients come from) is served by uvicorn on 127.0.0.1;
beside it, on a second uvicorn server in the same process, the **baseline**: a bare
Starlette ``PlainTextResponse`` as large as the product page, so that the ratio says
what the window costs over HTTP, uvicorn and Starlette themselves.

The clients (``http_load.py``) run in a child process (the server has the parent's core
to itself) and speak HTTP/1.1 on bare asyncio streams, each on its own kept-alive
connection. Each series, rounds interleaved (order rotated):

* **closed loop**: ``--clients`` clients each send the next request as soon as the last
  is answered, for ``--seconds``: requests/s (the median of the rounds) and latency at
  saturation;
* **open loop at half that rate** (requests sent on a fixed schedule whatever the
  answers, latency counted from the scheduled moment, so that a stall is not hidden):
  p50 / p95 at a load the server keeps up with. The shop page's p95 goal is read here.

Series: the home page, the 500-product shop page (its first page and its middle page),
product pages (200 different products in turn), a search (« creme »), the product pages
again with ``If-None-Match`` (304s), and the baseline. Page weights (HTML, + the
stylesheets each page links) are measured once.

Checks (exit status 1): every answer has the expected status (no 429, no 5xx, no
dropped connection), the pages show what they must (the shop page its products, paged
and disjoint; the product page its name and its Telegram link; the search results), the
304s carry no body, and the server logs no error.

Goals (issue #11): product page >= 40 % of the baseline's requests/s; shop page p95 <=
25 ms; 304s >= 80 % of the baseline's requests/s; a page <= 60 KB before photos.

Run: ``python bench/web.py`` (about 2 minutes), ``--quick`` (a few seconds), ``--help``.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import io
import logging
import math
import random
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import starlette
import uvicorn
from _common import (
    Figure,
    Result,
    Territory,
    add_json_option,
    finish,
    fmt_number,
    machine_description,
    median,
    open_territory,
    percentile,
    print_table,
    settings_of,
)
from http_load import Answer, Clients, Get, Served, listening_socket
from search import build
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from chatshop.services.links import Links, product_path, shop_path
from chatshop.storage.search_index import reindex
from chatshop.web.app import window_app
from chatshop.web.images import image_path
from chatshop.web.window import Window

TERRITORY = "Porte Océane du Limousin"
BOT = "TerritoireBot"
WHATSAPP = "33555000000"
SEARCH = "creme"
PRODUCT_SHARE_GOAL = 0.40  # of the baseline's requests/s
NOT_MODIFIED_SHARE_GOAL = 0.80
SHOP_P95_GOAL_MS = 25.0
WEIGHT_GOAL_KB = 60.0  # 1 KB = 1 000 bytes here, the stricter reading
PRODUCT_LINK = re.compile(r'href="[^"]*?(/produit/\d+-[a-z0-9-]*)"')
STYLESHEET = re.compile(r'<link[^>]*rel="stylesheet"[^>]*>')
HREF = re.compile(r'href="([^"]+)"')

# -- the servers ------------------------------------------------------------------------

class ErrorLog(logging.Handler):
    """What chatshop and uvicorn log at ERROR and above while the pages are served."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def baseline_app(size: int, headers: dict[str, str]) -> Starlette:
    """A static answer as large as a product page: HTTP, uvicorn and Starlette alone
    (``/``); and the same with the headers the window sends with a page (``/headers``:
    its security and cache headers, to tell what writing them costs from the rest)."""
    body = ("x" * 99 + "\n") * (size // 100) + "x" * (size % 100)

    async def static(request: Request) -> Response:
        return PlainTextResponse(body)

    async def with_headers(request: Request) -> Response:
        return PlainTextResponse(body, headers=headers)

    return Starlette(routes=[Route("/", static), Route("/headers", with_headers)])


# -- the territory ----------------------------------------------------------------------

@dataclass
class Site:
    """What the series ask for, found on the built territory."""

    shop_path: str  # /boutique/<slug>
    shop_products: int
    product_paths: list[str]  # of visible products of listed shops, in turn
    names: dict[str, str]  # product path -> name


async def gather_big_shop(territory: Territory, shop_id: int, unlisted: set[int], size: int,
                          rng: random.Random) -> None:
    """Move visible products of other listed shops into ``shop_id`` until it lists
    ``size`` (its own hidden products stay, unlisted, as a real shop's would)."""
    visible = "hidden = 0 AND deleted_at IS NULL"
    async with territory.store.db.write() as conn:
        cursor = await conn.execute(
            f"SELECT count(*) FROM products WHERE shop_id = ? AND {visible}", (shop_id,))
        row = await cursor.fetchone()
        have = int(row[0]) if row else 0
        cursor = await conn.execute(
            "SELECT id, shop_id FROM products WHERE shop_id != ? AND host_shop_id IS NULL"
            f" AND {visible}", (shop_id,))
        movable = [int(r[0]) for r in await cursor.fetchall() if int(r[1]) not in unlisted]
        chosen = rng.sample(movable, max(0, min(size - have, len(movable))))
        await conn.executemany("UPDATE products SET shop_id = ? WHERE id = ?",
                               [(shop_id, pid) for pid in chosen])
    await reindex(territory.store.db)


async def keep_photos(territory: Territory, count: int, rng: random.Random) -> list[str]:
    """``count`` phone-sized photos (1 600 x 1 200 JPEGs of coloured noise, which JPEG
    cannot shrink much: heavier than real photos) kept as the product keeps them
    (``services.images.keep``: cleaned, their sizes made); their SHA-256s."""
    from PIL import Image

    shas = []
    for _ in range(count):
        noise = Image.effect_noise((1_600, 1_200), 40).convert("RGB")
        tint = Image.new("RGB", noise.size, tuple(rng.randrange(256) for _ in range(3)))
        photo = io.BytesIO()
        Image.blend(noise, tint, 0.5).save(photo, "JPEG", quality=85)
        shas.append((await territory.services.images.keep(photo.getvalue())).split(":", 1)[1])
    return shas


async def give_photos(territory: Territory, shas: Sequence[str]) -> int:
    """Every visible product gets one of the kept photos, as if sent on WhatsApp."""
    found = territory.store.db.lookup_now(
        "SELECT id FROM products WHERE hidden = 0 AND deleted_at IS NULL")
    async with territory.store.db.write() as conn:
        await conn.executemany(
            "INSERT OR REPLACE INTO product_photos (product_id, channel, file_ref)"
            " VALUES (?, 'whatsapp', ?)",
            [(int(r[0]), f"media:{shas[n % len(shas)]}") for n, r in enumerate(found)])
    return len(found)


async def site_of(territory: Territory, shop_id: int, listed_shops: set[int],
                  rng: random.Random, count: int) -> Site:
    """The big shop's page and ``count`` pages of products of listed shops that can be
    reserved (their page then shows the ways to reserve), picked at random."""
    services = territory.services
    shop = await services.shops.get(shop_id)
    total = (await services.catalogue.shop_catalogue(shop_id, limit=1)).total
    found = territory.store.db.lookup_now(
        "SELECT id, shop_id, coalesce(host_shop_id, shop_id) FROM products"
        " WHERE hidden = 0 AND deleted_at IS NULL AND on_hand > reserved")
    ids = [int(r[0]) for r in found if {int(r[1]), int(r[2])} <= listed_shops]
    names: dict[str, str] = {}
    for pid in rng.sample(ids, min(len(ids), count)):
        product = await services.catalogue.product(pid)
        names[product_path(product)] = product.name
    return Site(shop_path(shop), total, list(names), names)


# -- the series -------------------------------------------------------------------------

@dataclass
class Series:
    """One kind of request, measured closed-loop (rate, latency at saturation) and
    open-loop at half that rate (latency at load)."""

    name: str
    port: int
    requests: list[Get]
    expected: int
    html_bytes: int | None = None
    css_bytes: int | None = None
    rates: list[float] = field(default_factory=list)
    saturated: list[float] = field(default_factory=list)
    at_load: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    answered: int = 0

    def add(self, answers: Sequence[Answer], into: list[float]) -> None:
        for seconds, status, _size in answers:
            into.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.answered += 1

    @property
    def rate(self) -> float:
        return median(self.rates)

    def ms(self, values: Sequence[float], pct: float) -> float:
        return percentile(values, pct) * 1000

    def wrong(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != self.expected)


def links_in(page: str) -> list[str]:
    """The product pages a page links to, in order, once each."""
    return list(dict.fromkeys(PRODUCT_LINK.findall(page)))


async def probe(http: httpx.AsyncClient, site: Site, failures: list[str]) -> dict[str, Any]:
    """Every page once: what it shows, its weight, the shop's middle page, the ETags."""
    async def get(path: str, expected: int = 200) -> httpx.Response:
        answer = await http.get(path)
        if answer.status_code != expected:
            failures.append(f"GET {path}: {answer.status_code}, not {expected}")
        return answer

    home = await get("/")
    shop_first = await get(site.shop_path)
    on_first = links_in(shop_first.text)
    per_page = len(on_first)
    if not per_page:
        failures.append("the shop page lists no product")
    pages = math.ceil(site.shop_products / max(per_page, 1))
    middle_page = max(1, (pages + 1) // 2)
    shop_middle = await get(f"{site.shop_path}?page={middle_page}")
    on_middle = links_in(shop_middle.text)
    if pages > 1 and (not on_middle or set(on_middle) & set(on_first)):
        failures.append(f"the shop's page {middle_page} lists {len(on_middle)} products, "
                        f"{len(set(on_middle) & set(on_first))} of them on page 1 too")
    search = await get(f"/recherche?q={SEARCH}")
    if not links_in(search.text):
        failures.append(f"the search « {SEARCH} » lists no product")
    etags: dict[str, str] = {}
    sizes = []
    for path in site.product_paths:
        answer = await get(path)
        if site.names[path] not in html.unescape(answer.text):
            failures.append(f"{path} does not show its name « {site.names[path]} »")
        pid = path.split("/")[2].split("-")[0]
        if f"https://t.me/{BOT}?start=p_{pid}" not in answer.text:
            failures.append(f"{path} has no « Réserver sur Telegram » link to p_{pid}")
        if 'property="og:image" content="http' not in answer.text or \
                "/image/" not in answer.text:
            failures.append(f"{path} has no og:image of its photo")
        if "etag" not in answer.headers:
            failures.append(f"{path} has no ETag")
        etags[path] = answer.headers.get("etag", '"none"')
        sizes.append(len(answer.content))
        if len(failures) > 10:
            break
    css_cache: dict[str, int] = {}

    async def css(page: str) -> int:
        total = 0
        for tag in STYLESHEET.findall(page):
            href = HREF.search(tag)
            if href is None:
                continue
            url = html.unescape(href.group(1))
            if url not in css_cache:
                css_cache[url] = len((await get(url)).content)
            total += css_cache[url]
        return total

    first_product = await http.get(site.product_paths[0])
    product_page = first_product.text
    page_headers = {name: value for name, value in first_product.headers.items()
                    if name not in {"content-length", "content-type", "date", "server"}}
    weights = {name: (len(page.encode()), await css(page)) for name, page in (
        ("home", home.text), ("shop", shop_first.text), ("shop middle", shop_middle.text),
        ("product", product_page), ("search", search.text))}
    return {"middle_page": middle_page, "per_page": per_page, "pages": pages,
            "etags": etags, "product_size": int(median(sizes)) if sizes else 10_000,
            "headers": page_headers,
            "weights": weights}


async def fresh_etags(http: httpx.AsyncClient, paths: Sequence[str]) -> list[Get]:
    """The conditional requests of the 304 series, with each page's current ETag (a page
    whose ETag moved, its opening state for instance, would answer 200)."""
    out: list[Get] = []
    for path in paths:
        answer = await http.get(path)
        out.append((path, {"If-None-Match": answer.headers.get("etag", '"none"')}))
    return out


async def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark, print its table, and return its figures and failed checks."""
    failures: list[str] = []
    rng = random.Random(args.seed)
    print("chatshop benchmark: the public shop window, served by uvicorn")
    for line in machine_description():
        print(line)
    print(f"server  : uvicorn {uvicorn.__version__}, starlette {starlette.__version__};"
          f" clients: raw HTTP/1.1 keep-alive in a child process, {args.clients} at once")
    errors = ErrorLog()
    for name in ("chatshop", "uvicorn.error"):
        logging.getLogger(name).addHandler(errors)
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder:
        territory = await open_territory(Path(folder))
        servers: list[Served] = []
        clients: Clients | None = None
        try:
            started = time.perf_counter()
            per_shop = max(1, args.products // args.shops)
            cat = await build(territory, args.shops, per_shop, rng)
            big = cat.shop_ids[0]
            await gather_big_shop(territory, big, cat.unlisted_shops, args.shop_products, rng)
            shas = await keep_photos(territory, args.photos, rng)
            with_photo = await give_photos(territory, shas)
            site = await site_of(territory, big, set(cat.shop_ids), rng, args.pages)
            print(f"data    : {fmt_number(len(cat.product_ids))} products in {args.shops}"
                  f" shops, one of them with {site.shop_products} listed;"
                  f" {fmt_number(with_photo)} with a photo (one of {len(shas)} kept);"
                  f" built in {time.perf_counter() - started:.1f} s")

            sock = listening_socket()
            base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            window = Window(territory=TERRITORY, tz=ZoneInfo("Europe/Paris"),
                            links=Links(public_url=base_url, telegram_bot=BOT,
                                        whatsapp_number=WHATSAPP),
                            requests_per_minute=10**9)  # one address here: limit lifted
            pages = Served(window_app(territory.services, window), sock)
            await pages.start()
            servers.append(pages)
            # The same window keeping no page: what a page costs after a change (every
            # commit moves the window's stamp, chat messages' too, on a busy bot).
            rendered = Served(window_app(territory.services, window, kept_pages=0),
                              listening_socket())
            await rendered.start()
            servers.append(rendered)
            async with httpx.AsyncClient(base_url=base_url, trust_env=False,
                                         timeout=30) as http:
                found = await probe(http, site, failures)
                not_modified = await fresh_etags(http, site.product_paths)
                sizes = {variant: len((await http.get(image_path(shas[0], variant))).content)
                         for variant in ("thumb", "display", "preview")}
            print("photos  : " + ", ".join(f"{variant} {fmt_number(size)} B"
                                           for variant, size in sizes.items())
                  + " (one of the kept photos, each size as served)")
            baseline = Served(baseline_app(found["product_size"], found["headers"]),
                              listening_socket())
            await baseline.start()
            servers.append(baseline)
            shop = site.shop_path
            weights = found["weights"]

            def series(name: str, paths: Sequence[str], weight: str | None,
                       port: int = pages.port, expected: int = 200) -> Series:
                html_bytes, css_bytes = weights[weight] if weight else (None, None)
                return Series(name, port, [(p, {}) for p in paths], expected, html_bytes,
                              css_bytes)

            base = series("static response (baseline)", ["/"], None, port=baseline.port)
            headed = series(f"static, + the window's {len(found['headers'])} headers",
                            ["/headers"], None, port=baseline.port)
            home = series("home page", ["/"], "home")
            shop_first = series(f"shop page 1 ({site.shop_products} products)", [shop],
                                "shop")
            shop_middle = series(f"shop page {found['middle_page']} of {found['pages']}",
                                 [f"{shop}?page={found['middle_page']}"], "shop middle")
            product = series(f"product page ({len(site.product_paths)} in turn)",
                             site.product_paths, "product")
            search = series(f"search « {SEARCH} »", [f"/recherche?q={SEARCH}"], "search")
            cached = series("product page, If-None-Match (304)", [], None, expected=304)
            cached.requests = not_modified
            thumbs = series(f"photo thumbnails ({len(shas)} in turn)",
                            [image_path(sha, "thumb") for sha in shas], None)
            home_new = series("home page, rendered anew", ["/"], "home",
                              port=rendered.port)
            shop_new = series("shop page 1, rendered anew", [shop], "shop",
                              port=rendered.port)
            product_new = series("product page, rendered anew", site.product_paths,
                                 "product", port=rendered.port)
            everything = [base, headed, home, shop_first, shop_middle, product, search,
                          cached, thumbs, home_new, shop_new, product_new]
            print(f"load    : {len(everything)} series x {args.rounds} rounds: "
                  f"{args.seconds:g} s closed loop ({args.clients} clients), then "
                  f"{args.seconds:g} s open loop at half that rate; order rotated")
            print()

            clients = Clients("127.0.0.1", args.clients)
            for s in everything:  # warm-up: connections, caches, code paths
                await clients.run("closed", s.port, s.requests, 0, args.warmup)
            async with httpx.AsyncClient(base_url=base_url, trust_env=False,
                                         timeout=30) as http:
                for round_ in range(args.rounds):
                    cached.requests = await fresh_etags(http, site.product_paths)
                    for turn in range(len(everything)):
                        s = everything[(round_ + turn) % len(everything)]
                        wall, answers = await clients.run("closed", s.port, s.requests, 0,
                                                          args.seconds)
                        s.add(answers, s.saturated)
                        rate = len(answers) / wall
                        s.rates.append(rate)
                        _wall, answers = await clients.run("open", s.port, s.requests,
                                                           max(rate / 2, 1.0), args.seconds)
                        s.add(answers, s.at_load)
                    print(f"  round {round_ + 1}/{args.rounds}: " + ", ".join(
                        f"{s.name.split(' (')[0]} {fmt_number(round(s.rates[-1]))}/s"
                        for s in everything), flush=True)
        finally:
            if clients is not None:
                clients.close()
            for served in reversed(servers):
                await served.stop()
            await territory.close()
            for name in ("chatshop", "uvicorn.error"):
                logging.getLogger(name).removeHandler(errors)

    for s in everything:
        if s.wrong():
            failures.append(f"{s.name}: {s.wrong()} of {s.answered} answers not "
                            f"{s.expected} ({s.statuses})")
    if errors.records:
        first = errors.records[0]
        failures.append(f"{len(errors.records)} errors logged, e.g. {first.name}: "
                        f"{first.getMessage()}")
    return report(everything, base, product, shop_first, cached, found, failures, args)


def share(series: Series, base: Series) -> float:
    """``series``' requests/s over the baseline's (NaN when the baseline got nothing)."""
    return series.rate / base.rate if base.rate else float("nan")


def report(everything: Sequence[Series], base: Series, product: Series, shop: Series,
           cached: Series, found: dict[str, Any], failures: list[str],
           args: argparse.Namespace) -> Result:
    print()
    print(f"Requests/s (median of {args.rounds} rounds, {args.clients} clients), latency in"
          " ms at saturation and at half that rate; weights in bytes (HTML, + CSS):")
    table = []
    for s in everything:
        weight = "" if s.html_bytes is None else fmt_number(s.html_bytes)
        css = "" if s.css_bytes is None else f"+ {fmt_number(s.css_bytes)}"
        table.append([s.name, fmt_number(s.rate), f"{share(s, base):.2f}",
                      f"{s.ms(s.saturated, 50):.1f}", f"{s.ms(s.saturated, 95):.1f}",
                      f"{s.ms(s.at_load, 50):.1f}", f"{s.ms(s.at_load, 95):.1f}",
                      weight, css])
    print_table(["series", "req/s", "x base", "p50 sat", "p95 sat", "p50 half",
                 "p95 half", "HTML", "CSS"], table)
    print()
    goals = [
        ("product page", share(product, base), f">= {PRODUCT_SHARE_GOAL:.0%} of baseline",
         share(product, base) >= PRODUCT_SHARE_GOAL),
        ("shop page p95 at half load", shop.ms(shop.at_load, 95),
         f"<= {SHOP_P95_GOAL_MS:g} ms", shop.ms(shop.at_load, 95) <= SHOP_P95_GOAL_MS),
        ("304 answers", share(cached, base), f">= {NOT_MODIFIED_SHARE_GOAL:.0%} of baseline",
         share(cached, base) >= NOT_MODIFIED_SHARE_GOAL),
    ]
    for name, value, goal, met in goals:
        print(f"{name}: {value:.2f} (goal {goal}) -> {'MET' if met else 'NOT MET'}")
    heaviest = max(everything, key=lambda s: (s.html_bytes or 0) + (s.css_bytes or 0))
    heaviest_kb = ((heaviest.html_bytes or 0) + (heaviest.css_bytes or 0)) / 1000
    print(f"heaviest page: {heaviest.name}, {heaviest_kb:.1f} KB with its CSS "
          f"(goal <= {WEIGHT_GOAL_KB:g} KB before photos)")
    figures = [
        Figure("window: product page req/s", product.rate, "/s", baseline=base.rate,
               baseline_name="static Starlette",
               note=f"p95 {product.ms(product.at_load, 95):.1f} ms at half load"),
        Figure("window: product page / static throughput", share(product, base), "×",
               goal=PRODUCT_SHARE_GOAL, goal_op=">="),
        Figure(f"window: shop page ({shop.name.split('(')[1].rstrip(')')}) p95, half load",
               shop.ms(shop.at_load, 95), "ms", baseline=base.ms(base.at_load, 95),
               baseline_name="static p95", goal=SHOP_P95_GOAL_MS, goal_op="<=",
               note=f"{shop.rate:.0f}/s at saturation"),
        Figure("window: 304 (If-None-Match) req/s", cached.rate, "/s", baseline=base.rate,
               baseline_name="static Starlette"),
        Figure("window: 304 / static throughput", share(cached, base), "×",
               goal=NOT_MODIFIED_SHARE_GOAL, goal_op=">="),
    ]
    for s in everything:
        if s in (product, cached, base):
            continue
        figures.append(Figure(f"window: {s.name} req/s", s.rate, "/s", baseline=base.rate,
                              baseline_name="static Starlette",
                              note=f"p95 {s.ms(s.at_load, 95):.1f} ms at half load"))
    for name, (html_bytes, css_bytes) in found["weights"].items():
        figures.append(Figure(f"window: weight of the {name} page (HTML + CSS)",
                              (html_bytes + css_bytes) / 1000, "KB", goal=WEIGHT_GOAL_KB,
                              goal_op="<=", note=f"HTML {html_bytes} B, CSS {css_bytes} B"))
    return Result("web", figures, failures,
                  "All checks passed: every answer as expected, the pages show what they "
                  "must, no error logged.", settings_of(args))


async def run(args: argparse.Namespace) -> int:
    return finish(await measure(args), args)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="a small fast run (1 000 products, 0.3 s a series): checks only")
    parser.add_argument("--products", type=int, default=10_000,
                        help="products in all (default 10 000)")
    parser.add_argument("--shops", type=int, default=200, help="shops (default 200)")
    parser.add_argument("--shop-products", type=int, default=500,
                        help="products of the big shop (default 500)")
    parser.add_argument("--pages", type=int, default=200,
                        help="different product pages asked for in turn (default 200)")
    parser.add_argument("--photos", type=int, default=20,
                        help="photos kept, shared by the products (default 20)")
    parser.add_argument("--clients", type=int, default=16,
                        help="concurrent keep-alive clients in the closed loop (default 16)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="seconds of each loop, each series, each round (default 2)")
    parser.add_argument("--warmup", type=float, default=0.5,
                        help="seconds of warm-up per series (default 0.5)")
    parser.add_argument("--seed", type=int, default=87600, help="random seed")
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.products, args.shops, args.shop_products, args.pages = 1_000, 20, 100, 20
        args.photos = 3
        args.rounds, args.seconds, args.warmup = 1, 0.3, 0.1
    if args.shops < 2 or args.products < args.shops or args.pages < 1 or args.photos < 1:
        parser.error("need two shops, a product per shop, one product page and one photo")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
