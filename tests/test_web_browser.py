"""The shop window in a real browser: headless Chromium from Debian's packages, driven by
selenium through Debian's chromedriver (named explicitly: Selenium Manager, which would
look for a browser on the network, is never asked), at a phone's width.

A visitor of the demo territory opens the home page, searches « creme » with the keyboard,
opens the first product and finds the ways to reserve it; on every page the browser's
console stays clean, the server logs no error, nothing is wider than the phone, and
axe-core (from the npm registry, run through the driver's script execution: the page's
CSP rightly refuses injected <script> tags, not the driver's own evaluation) finds no
serious or critical accessibility violation. The shop page and the legal notice pass
the same checks; a keyboard user sees where the focus is; the CSP refuses an injected
script; with JavaScript off the visitor still searches and reaches the reserve links.
Screenshots at phone width (390 CSS pixels, at 2x) are kept under the test's temporary
folder (their paths are printed: ``pytest -s`` shows them).

Needs ``/usr/bin/chromium``, ``/usr/bin/chromedriver`` (Debian's ``chromium`` and
``chromium-driver``) and axe-core's ``axe.min.js`` (``AXE_CORE_JS``, else
``.ci/node/node_modules/axe-core/axe.min.js`` as ``.ci/run`` installs it). Without them
the tests are skipped, saying what is missing; under ``CI=1`` they fail instead.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import socket
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from chatshop.demo import DEMO_OPERATOR, DEMO_OPERATOR_NAME, DEMO_TERRITORY, DemoShop, seed_demo
from chatshop.services import Services, build_services
from chatshop.services.links import Links
from chatshop.storage import open_store
from chatshop.web.window import Window

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE_DEFAULT = Path(__file__).resolve().parents[1] / ".ci/node/node_modules/axe-core/axe.min.js"
PHONE = (390, 844)  # CSS pixels, a common phone
BOT = "TerritoireBot"
WHATSAPP = "33555000000"
BLOCKING = {"serious", "critical"}
T = TypeVar("T")


# -- the tools ---------------------------------------------------------------------------

def axe_path() -> Path:
    return Path(os.environ.get("AXE_CORE_JS") or AXE_DEFAULT)


def missing_tools() -> list[str]:
    missing = [f"{path} (apt-get install {package})"
               for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver"))
               if not os.access(path, os.X_OK)]
    if not axe_path().is_file():
        missing.append(f"{axe_path()} (npm install --prefix .ci/node axe-core@4, or set "
                       "AXE_CORE_JS)")
    return missing


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's source, or the test skipped (failed under CI=1) saying what is missing."""
    missing = missing_tools()
    if missing:
        reason = "the browser test needs " + "; ".join(missing)
        if os.environ.get("CI") == "1":
            pytest.fail(reason + " (.ci/run installs them)")
        pytest.skip(reason)
    return axe_path().read_text(encoding="utf-8")


# -- the window, served for real ---------------------------------------------------------

class ErrorLog(logging.Handler):
    """What chatshop and uvicorn log at ERROR and above while the window is served (a page
    that crashed is a 500 the browser may render quietly)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records]


class ServedWindow:
    """The real window (``chatshop.web.app.window_app``) over the demo territory in a
    fresh database, served by uvicorn on 127.0.0.1 in a thread with its own event loop,
    so that the synchronous browser never blocks it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # TCP named, so that asyncio sets TCP_NODELAY on the connections (else 40 ms of
        # delayed ACK on every answer written in two parts).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.links = Links(public_url=self.url, telegram_bot=BOT, whatsapp_number=WHATSAPP)
        self.shops: list[DemoShop] = []
        self.errors = ErrorLog()
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._services: Services | None = None
        self._thread = threading.Thread(target=self._run, name="window", daemon=True)

    def start(self) -> None:
        for name in ("chatshop", "uvicorn.error"):
            logging.getLogger(name).addHandler(self.errors)
        self._thread.start()
        if not self._ready.wait(60) or self._failed is not None:
            raise RuntimeError("the window did not start") from self._failed

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(setattr, self._server, "should_exit", True)
        self._thread.join(30)
        for name in ("chatshop", "uvicorn.error"):
            logging.getLogger(name).removeHandler(self.errors)

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` (over the window's services) in the window's loop."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(30)

    @property
    def services(self) -> Services:
        assert self._services is not None
        return self._services

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # start() reports it
            self._failed = error
            self._ready.set()

    async def _serve(self) -> None:
        from chatshop.web.app import window_app

        store = await open_store(self.folder / "chatshop.db")
        try:
            services = build_services(store, operators=frozenset({DEMO_OPERATOR}))
            operator = await services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME)
            self.shops = await seed_demo(services, operator=services.customers.actor(operator))
            window = Window(territory=DEMO_TERRITORY, tz=ZoneInfo("Europe/Paris"),
                            links=self.links)
            config = uvicorn.Config(window_app(services, window), log_config=None,
                                    log_level="warning", access_log=False)
            self._services, self._loop = services, asyncio.get_running_loop()
            # Off the main thread, uvicorn leaves the process's signals alone.
            self._server = server = uvicorn.Server(config)
            serving = asyncio.create_task(server.serve(sockets=[self._socket]))
            while not server.started:
                if serving.done():
                    serving.result()
                    raise RuntimeError("uvicorn stopped at start-up")
                await asyncio.sleep(0.01)
            self._ready.set()
            await serving
        finally:
            await store.close()


@pytest.fixture(scope="module")
def window(axe_source: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedWindow]:
    served = ServedWindow(tmp_path_factory.mktemp("window"))
    served.start()
    try:
        yield served
    finally:
        served.stop()


# -- the browser -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser(axe_source: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[webdriver.Chrome]:
    """Headless Chromium at a phone's size, its console kept for the checks."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--disable-extensions",
                     f"--window-size={PHONE[0]},{PHONE[1]}", "--lang=fr-FR",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver's path given: selenium skips Selenium Manager (and its network).
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True})
        driver.set_script_timeout(60)
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


class Visit:
    """One visitor's journey, with the checks every page gets on the way."""

    def __init__(self, driver: webdriver.Chrome, window: ServedWindow, axe: str,
                 folder: Path) -> None:
        self.driver, self.window, self.axe, self.folder = driver, window, axe, folder
        self.console_errors: list[str] = []
        self.audits: dict[str, list[dict[str, Any]]] = {}

    def wait_for(self, path_part: str) -> None:
        WebDriverWait(self.driver, 15).until(expected_conditions.url_contains(path_part))
        WebDriverWait(self.driver, 15).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    @property
    def text(self) -> str:
        """What the page shows, as the reader sees it (typographic apostrophes as ')."""
        return self.driver.find_element(By.TAG_NAME, "body").text.replace("\u2019", "'")

    def link(self, label: str) -> WebElement:
        quoted = f'"{label}"' if "'" in label else f"'{label}'"
        found = self.driver.find_elements(
            By.XPATH, f"//a[contains(normalize-space(.), {quoted})]")
        assert found, f"no link « {label} » on {self.driver.current_url}:\n{self.text}"
        return found[0]

    def check_page(self, name: str) -> None:
        """What every page must pass: no horizontal scroll at phone width, text of at
        least 18 px, the French language; its console errors and its accessibility audit
        are kept for ``assert_clean``."""
        url = self.driver.current_url
        self.console_errors += [f"{name} ({url}): {entry['message']}"
                                for entry in self.driver.get_log("browser")
                                if entry["level"] == "SEVERE"]
        page = self.driver.execute_script(
            "return {width: window.innerWidth,"
            " scroll: document.documentElement.scrollWidth,"
            " lang: document.documentElement.lang,"
            " font: parseFloat(getComputedStyle(document.body).fontSize),"
            " small: Array.from(document.querySelectorAll('main p'))"
            "   .filter(p => p.offsetParent && parseFloat(getComputedStyle(p).fontSize) < 18)"
            "   .map(p => p.className + ' ' + getComputedStyle(p).fontSize + ': '"
            "     + p.textContent.trim().slice(0, 30))}")
        assert page["width"] == PHONE[0], page
        assert page["scroll"] <= page["width"], f"{name} is wider than the phone: {page}"
        assert page["lang"] == "fr", page
        assert page["font"] >= 18, f"{name}: body text of {page['font']} px"
        assert not page["small"], f"{name}: paragraphs under 18 px: {set(page['small'])}"
        self.audits[name] = self.audit()

    def audit(self) -> list[dict[str, Any]]:
        """axe-core's violations on the page, through the driver's script execution."""
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];\n" + self.axe + "\n;"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify({"
            "  passes: r.passes.length,"
            "  violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            "    nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))})))"
            ".catch(e => done(JSON.stringify({error: String(e)})));")
        found = json.loads(result)
        assert "error" not in found, f"axe-core could not run: {found['error']}"
        assert found["passes"] > 10, f"axe-core checked almost nothing: {found}"
        return list(found["violations"])

    def assert_clean(self) -> None:
        """No console error in the browser, no error logged by the server, and no serious
        or critical accessibility violation on any page seen (the others are printed)."""
        assert not self.console_errors, "\n".join(self.console_errors)
        assert not self.window.errors.records, "\n".join(self.window.errors.messages())
        for page, violations in self.audits.items():
            for v in violations:
                print(f"axe, {page}: {v['impact']} {v['id']}: {v['help']} {v['nodes']}")
        blocking = {page: [v for v in violations if v["impact"] in BLOCKING]
                    for page, violations in self.audits.items()}
        assert not any(blocking.values()), json.dumps(blocking, ensure_ascii=False, indent=1)

    def screenshot(self, name: str) -> Path:
        """The whole page at phone width, as a PNG under the test's folder."""
        height = int(self.driver.execute_script(
            "return document.documentElement.scrollHeight"))
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": PHONE[0], "height": height, "scale": 1}})
        path = self.folder / f"{name}-{PHONE[0]}px.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        print(f"screenshot: {path}")
        return path


@pytest.fixture
def visit(browser: webdriver.Chrome, window: ServedWindow, axe_source: str,
          tmp_path: Path) -> Visit:
    browser.get_log("browser")  # what earlier tests left in the console
    window.errors.records.clear()
    return Visit(browser, window, axe_source, tmp_path)


def test_a_visitor_finds_a_product_by_searching_and_the_ways_to_reserve_it(visit: Visit,
                                                                              ) -> None:
    driver, window = visit.driver, visit.window

    driver.get(window.url + "/")
    visit.wait_for("/")
    for demo_shop in window.shops:
        assert demo_shop.name.replace("\u2019", "'") in visit.text
    visit.check_page("home")
    visit.screenshot("accueil")

    # A real form submit, from the keyboard.
    box = driver.find_element(By.CSS_SELECTOR, "input[name='q']")
    box.click()
    box.send_keys("creme", Keys.ENTER)
    visit.wait_for("/recherche")
    assert "q=creme" in driver.current_url
    visit.check_page("search")
    results = driver.find_elements(By.CSS_SELECTOR, "main a[href*='/produit/']")
    assert results, f"« creme » found nothing:\n{visit.text}"
    first = results[0].text
    results[0].click()

    visit.wait_for("/produit/")
    visit.check_page("product")
    visit.screenshot("produit")
    path = urlsplit(driver.current_url).path
    matched = re.fullmatch(r"/produit/(\d+)-[a-z0-9-]+", path)
    assert matched, path
    product_id = int(matched.group(1))
    listed = window.call(window.services.catalogue.listed(product_id))
    assert listed.product.name.split()[0] in first
    assert listed.product.name in visit.text
    shop = window.call(window.services.shops.get(listed.product.pickup_shop_id))

    telegram = visit.link("Réserver sur Telegram")
    assert telegram.get_attribute("href") == f"https://t.me/{BOT}?start=p_{product_id}"
    whatsapp = urlsplit(visit.link("Réserver sur WhatsApp").get_attribute("href") or "")
    assert (whatsapp.scheme, whatsapp.netloc, whatsapp.path) == ("https", "wa.me",
                                                                  f"/{WHATSAPP}")
    assert parse_qs(whatsapp.query)["text"] == [f"Bonjour ! p_{product_id}"]
    call = visit.link("Appeler la boutique").get_attribute("href") or ""
    assert call.startswith("tel:"), call
    dialled = re.sub(r"\D", "", call)
    assert dialled[-9:] == re.sub(r"\D", "", shop.phone)[-9:], (call, shop.phone)
    for label in ("Réserver sur Telegram", "Réserver sur WhatsApp", "Appeler la boutique"):
        height = visit.link(label).size["height"]
        assert height >= 44, f"« {label} » is a {height} px tap target"

    visit.assert_clean()


def test_the_shop_page_and_the_legal_notice_pass_the_same_checks(visit: Visit) -> None:
    driver, window = visit.driver, visit.window
    driver.get(window.url + "/")
    visit.wait_for("/")
    visit.link(window.shops[0].name).click()
    visit.wait_for("/boutique/")
    assert window.shops[0].name in visit.text
    assert driver.find_elements(By.CSS_SELECTOR, "a[href^='tel:']"), "no tel: on the shop"
    visit.check_page("shop")
    visit.screenshot("boutique")

    visit.link("Mentions légales").click()
    visit.wait_for("/mentions-legales")
    visit.check_page("legal notice")

    visit.assert_clean()


def test_a_keyboard_user_always_sees_where_the_focus_is(visit: Visit) -> None:
    driver, window = visit.driver, visit.window
    driver.get(window.url + "/")
    visit.wait_for("/")
    unseen = []
    for _ in range(12):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focus = driver.execute_script(
            "const e = document.activeElement, s = getComputedStyle(e);"
            "return {tag: e.tagName, text: (e.textContent || e.name || '').trim().slice(0, 30),"
            " outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,"
            " shadow: s.boxShadow !== 'none'}")
        if focus["tag"] == "BODY":
            break
        if not (focus["outline"] or focus["shadow"]):
            unseen.append(f"{focus['tag']} « {focus['text']} »")
    assert not unseen, f"focus not visible on: {unseen}"


def test_the_pages_refuse_an_injected_script_but_not_the_drivers_own(visit: Visit) -> None:
    driver, window = visit.driver, visit.window
    driver.get(window.url + "/")
    visit.wait_for("/")
    injected = driver.execute_script(
        "const tag = document.createElement('script');"
        "tag.textContent = 'window.injected = true';"
        "document.head.appendChild(tag);"
        "return window.injected === true;")
    assert injected is False, "an injected <script> ran: the CSP lets inline script in"
    refusals = [entry["message"] for entry in driver.get_log("browser")
                if "Content Security Policy" in entry["message"]]
    assert refusals, "the browser did not say the CSP refused the script"
    assert driver.execute_script("return document.documentElement.lang") == "fr"


def test_with_javascript_off_a_visitor_still_searches_and_finds_the_ways_to_reserve(
        visit: Visit) -> None:
    driver, window = visit.driver, visit.window
    # The pages have no script of their own; this keeps it so (the driver's own script
    # execution goes through the DevTools protocol, which this does not turn off).
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        driver.get(window.url + "/")
        box = driver.find_element(By.CSS_SELECTOR, "input[name='q']")
        box.send_keys("miel", Keys.ENTER)
        WebDriverWait(driver, 15).until(expected_conditions.url_contains("/recherche"))
        driver.find_element(By.CSS_SELECTOR, "main a[href*='/produit/']").click()
        WebDriverWait(driver, 15).until(expected_conditions.url_contains("/produit/"))
        reserve = visit.link("Réserver sur Telegram").get_attribute("href") or ""
        assert reserve.startswith(f"https://t.me/{BOT}?start=p_"), reserve
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
