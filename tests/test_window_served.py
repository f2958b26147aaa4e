"""The shop window as ``chatshop run``, ``chatshop web`` and ``chatshop demo`` serve it:
beside the bot in long polling (its own address), on the webhooks' address when it is
the same (one server for both), alone without a token, and off when the setting says
so. Telegram and WhatsApp are the fakes; nothing listens beyond 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chatshop.app import App, serve, serve_window, start
from chatshop.config import load_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.graph_api import PHONE_NUMBER_ID, TOKEN, FakeGraphAPI
from tests.fakes.telegram.records import BOT_USERNAME
from tests.test_whatsapp_run import free_port

TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

pytestmark = pytest.mark.usefixtures("clean_environment")


async def _answered(url: str) -> httpx.Response:
    """``GET url`` once the server listens."""
    async with httpx.AsyncClient(trust_env=False) as http:
        for _ in range(200):
            try:
                return await http.get(url)
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"nothing answered {url}")


async def _with_a_shop(app: App) -> None:
    operator = await app.services.customers.seen("telegram", "1", "Opératrice")
    actor = app.services.customers.actor(operator)
    commune = await app.services.shops.add_commune(actor, "Rochechouart")
    await app.services.shops.create_shop(actor, "Épicerie Chez Léa", commune.id)


async def test_in_long_polling_the_window_is_served_on_its_own_address(
        tmp_path: Path) -> None:
    port = free_port()
    settings = load_settings(database=str(tmp_path / "bot.db"), telegram_token=TELEGRAM_TOKEN,
                             operators=["telegram:1"], web_port=port,
                             territory="Porte Océane du Limousin")
    api = FakeBotAPI()
    app = await start(settings)
    await _with_a_shop(app)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop, telegram={
        "request": api.request(), "get_updates_request": api.request()}))
    try:
        home = await _answered(f"http://127.0.0.1:{port}/")
        assert home.status_code == 200
        assert "Porte Océane du Limousin" in home.text
        assert "Épicerie Chez Léa" in home.text
        # The bot's username came from Telegram (getMe): the window links to the bot.
        await api.wait_for(lambda: app.links is not None and app.links.telegram_bot)
        assert app.links is not None
        assert app.links.telegram_bot == BOT_USERNAME
    finally:
        stop.set()
        await task
        await app.close()


async def test_on_the_webhooks_address_one_server_carries_both(tmp_path: Path) -> None:
    port = free_port()
    settings = load_settings(
        database=str(tmp_path / "bot.db"), whatsapp_token=TOKEN,
        whatsapp_phone_number_id=PHONE_NUMBER_ID, whatsapp_app_secret="s3cret",
        whatsapp_verify_token="verify-me", whatsapp_port=port, web_port=port,
        operators=["telegram:1"])
    app = await start(settings)
    await _with_a_shop(app)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop, whatsapp={
        "session": httpx.AsyncClient(transport=FakeGraphAPI().transport())}))
    try:
        assert (await _answered(f"http://127.0.0.1:{port}/health")).json() == {"status": "ok"}
        shop = await _answered(f"http://127.0.0.1:{port}/boutique/epicerie-chez-lea")
        assert shop.status_code == 200
        assert "Épicerie Chez Léa" in shop.text
        async with httpx.AsyncClient(trust_env=False) as http:
            # The webhook still refuses what is not signed, on the same server.
            refused = await http.post(f"http://127.0.0.1:{port}/whatsapp", content=b"{}")
        assert refused.status_code == 403
    finally:
        stop.set()
        await task
        await app.close()


async def test_with_the_window_turned_off_nothing_listens_on_its_port(
        tmp_path: Path) -> None:
    port = free_port()
    settings = load_settings(database=str(tmp_path / "bot.db"), telegram_token=TELEGRAM_TOKEN,
                             web_port=port, web_enabled=False)
    api = FakeBotAPI()
    app = await start(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop, telegram={
        "request": api.request(), "get_updates_request": api.request()}))
    try:
        await api.wait_for(lambda: any(c.method == "getUpdates" for c in api.calls))
        async with httpx.AsyncClient(trust_env=False) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{port}/")
    finally:
        stop.set()
        await task
        await app.close()


async def test_the_window_alone_needs_no_token_and_tells_its_address(tmp_path: Path) -> None:
    settings = load_settings(database=str(tmp_path / "bot.db"), web_port=0,
                             telegram_username="TerritoireBot", operators=["telegram:1"])
    app = await start(settings)
    await _with_a_shop(app)
    stop = asyncio.Event()
    told: list[str] = []
    serving = asyncio.Event()

    def started(address: str) -> None:
        told.append(address)
        serving.set()

    task = asyncio.create_task(serve_window(app, stop, started=started))
    try:
        await asyncio.wait_for(serving.wait(), timeout=10)
        (address,) = told
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", address)
        assert (await _answered(address + "/")).status_code == 200
    finally:
        stop.set()
        await task
        await app.close()


def test_the_demo_prints_the_window_s_address_and_serves_it(tmp_path: Path) -> None:
    """``chatshop demo`` with its stdin held open: the printed address answers with the
    demo territory's home page while the demo runs."""
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHATSHOP_")}
    environment["CHATSHOP_WEB_PORT"] = "0"
    demo = subprocess.Popen([sys.executable, "-m", "chatshop", "demo"], cwd=tmp_path,
                            env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert demo.stdin is not None
    assert demo.stdout is not None
    try:
        address = None
        for _ in range(40):
            line = demo.stdout.readline()
            if found := re.search(r"(http://127\.0\.0\.1:\d+)/", line):
                address = found[1]
                break
        assert address is not None, "the demo printed no address"
        home = httpx.get(address + "/", trust_env=False, timeout=10)
        assert home.status_code == 200
        assert "Espace coiffure" in home.text
    finally:
        demo.stdin.close()
        demo.wait(timeout=30)
    assert demo.returncode == 0


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_chatshop_web_serves_until_a_signal_and_then_ends_at_once(
        tmp_path: Path, stop_signal: signal.Signals) -> None:
    """As `chatshop run`: SIGTERM or SIGINT (Ctrl-C) stops it, status 0."""
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHATSHOP_")}
    environment.update(CHATSHOP_WEB_PORT="0", CHATSHOP_TELEGRAM_USERNAME="TerritoireBot")
    subprocess.run([sys.executable, "-m", "chatshop", "migrate", "--database",
                    str(tmp_path / "web.db")], cwd=tmp_path, env=environment, check=True,
                   capture_output=True)
    with subprocess.Popen([sys.executable, "-m", "chatshop", "web", "--database",
                           str(tmp_path / "web.db")], cwd=tmp_path, env=environment,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as web:
        assert web.stdout is not None
        line = web.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert found, line
        assert httpx.get(found[1] + "/", trust_env=False, timeout=10).status_code == 200
        web.send_signal(stop_signal)
        _out, err = web.communicate(timeout=20)
    assert web.returncode == 0, err
    assert "Traceback" not in err
