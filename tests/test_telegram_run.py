"""Running the Telegram bot as ``chatshop run`` does: start, stop on a signal with the
updates already fetched finished, restart without handling anything twice; and the
one-line errors for a missing or malformed token. Telegram is the fake Bot API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatshop.app import App, serve, start
from chatshop.channels.telegram import bot as bot_module
from chatshop.cli import main
from chatshop.config import load_settings
from chatshop.conversation.messages import Inbound, Reply
from tests.fakes.bot_api import FakeBotAPI

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

pytestmark = pytest.mark.usefixtures("clean_environment")


async def _running(app: App, api: FakeBotAPI) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop, telegram={
        "request": api.request(), "get_updates_request": api.request()}))
    await api.wait_for(lambda: any(c.method == "getUpdates" for c in api.calls))
    return stop, task


async def test_a_stop_finishes_the_updates_already_fetched_and_a_restart_redoes_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(database=str(tmp_path / "bot.db"), telegram_token=TOKEN,
                             web_enabled=False)
    api = FakeBotAPI()
    people = [api.user(4000 + n, f"Client {n}") for n in range(5)]
    app = await start(settings)
    handle = app.conversation.handle
    started = asyncio.Event()

    async def slow(inbound: Inbound) -> list[Reply]:
        started.set()
        await asyncio.sleep(0.2)  # still working when the signal comes
        return await handle(inbound)

    monkeypatch.setattr(app.conversation, "handle", slow)
    stop, task = await _running(app, api)
    for person in people:
        api.send_text(person, "/start")
    await started.wait()
    await api.wait_for(lambda: not api.pending_updates())  # fetched and confirmed
    stop.set()  # SIGTERM
    await task
    await app.close()
    for person in people:  # every one of them was answered, once
        assert len(api.messages(person)) == 1
        assert "Bienvenue" in api.last(person).text

    again = await start(settings)
    try:
        stop, task = await _running(again, api)
        await asyncio.sleep(0.1)
        stop.set()
        await task
        assert await again.services.delivery.waiting("telegram") == []
    finally:
        await again.close()
    for person in people:
        assert len(api.messages(person)) == 1  # nothing handled twice


async def _served_while_telegram_is_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: FakeBotAPI
) -> tuple[App, asyncio.Event, asyncio.Task[None]]:
    """``chatshop run`` started while the fake Bot API is down (its tries at start made
    0.05 s apart instead of a second)."""
    monkeypatch.setattr(bot_module, "CONNECT_FIRST_WAIT", 0.05)
    settings = load_settings(database=str(tmp_path / "bot.db"), telegram_token=TOKEN,
                             web_enabled=False)
    api.go_down()
    app = await start(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop, telegram={
        "request": api.request(), "get_updates_request": api.request()}))
    return app, stop, task


async def test_telegram_out_of_reach_at_start_is_waited_for_not_fatal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeBotAPI()
    jeanne = api.user(4100, "Jeanne")
    app, stop, task = await _served_while_telegram_is_down(tmp_path, monkeypatch, api)
    try:
        await api.wait_for(lambda: len(api.calls_to("getMe")) >= 3)  # tried again, alive
        assert not task.done()
        api.come_back()
        await api.wait_for(lambda: any(c.method == "getUpdates" for c in api.calls))
        api.send_text(jeanne, "/start")
        await api.wait_for(lambda: bool(api.messages(jeanne)))
        assert "Bienvenue" in api.last(jeanne).text
    finally:
        stop.set()
        await task
        await app.close()


async def test_a_stop_while_telegram_is_out_of_reach_ends_cleanly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeBotAPI()
    app, stop, task = await _served_while_telegram_is_down(tmp_path, monkeypatch, api)
    try:
        await api.wait_for(lambda: len(api.calls_to("getMe")) >= 2)
        stop.set()  # SIGTERM
        await asyncio.wait_for(task, 5)
    finally:
        await app.close()
    assert not any(c.method == "getUpdates" for c in api.calls)


@pytest.mark.parametrize(("token", "says"), [
    (None, "CHATSHOP_TELEGRAM_TOKEN"),
    ("12345", "CHATSHOP_TELEGRAM_TOKEN"),
    ("123456789:short", "BotFather"),
])
def test_a_missing_or_malformed_token_is_one_line_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        token: str | None, says: str) -> None:
    monkeypatch.setenv("CHATSHOP_DATABASE", str(tmp_path / "bot.db"))
    if token is not None:
        monkeypatch.setenv("CHATSHOP_TELEGRAM_TOKEN", token)
    assert main(["run"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert says in err
    assert token is None or len(token) < 10 or token not in err  # never echoed


def test_links_print_a_telegram_link_per_shop_and_product(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = str(tmp_path / "demo.db")
    assert main(["seed-demo", "--database", database]) == 0
    capsys.readouterr()
    assert main(["links", "--database", database, "--bot", "chatshop_test_bot"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "Espace coiffure — https://t.me/chatshop_test_bot?start=s_espace-coiffure" in out
    products = [line for line in out if line.startswith("    ")]
    assert len(products) >= 30
    assert all("?start=p_" in line for line in products)


