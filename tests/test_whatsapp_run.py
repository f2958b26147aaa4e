"""``chatshop run`` with the WhatsApp settings: the webhook served by uvicorn on the
loopback address, a signed message answered through the fake Cloud API; the wa.me links;
a missing WhatsApp setting said in one line."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from chatshop.app import serve, start
from chatshop.channels.telegram import bot as bot_module
from chatshop.cli import main
from chatshop.config import load_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.graph_api import PHONE_NUMBER_ID, TOKEN, FakeGraphAPI

pytestmark = pytest.mark.usefixtures("clean_environment")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_whatsapp_webhook_is_served_and_answers(tmp_path: Path) -> None:
    port = free_port()
    settings = load_settings(
        database=str(tmp_path / "bot.db"), whatsapp_token=TOKEN,
        whatsapp_phone_number_id=PHONE_NUMBER_ID, whatsapp_app_secret="s3cret",
        whatsapp_verify_token="verify-me", whatsapp_port=port, web_enabled=False)
    api = FakeGraphAPI()
    app = await start(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop, whatsapp={
        "session": httpx.AsyncClient(transport=api.transport())}))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     trust_env=False) as http:
            for _ in range(100):  # until uvicorn listens
                try:
                    health = await http.get("/health")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            assert health.json() == {"status": "ok"}
            body, headers = api.signed(api.text("33612345678", "Jeanne", "/start"), "s3cret")
            assert (await http.post("/whatsapp", content=body, headers=headers)
                    ).status_code == 200
        await api.wait_for(lambda: api.messages_to("33612345678"))
        assert "Bienvenue" in (api.messages_to("33612345678")[0].text or "")
    finally:
        stop.set()
        await task
        await app.close()


async def test_whatsapp_is_served_while_telegram_cannot_be_reached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot_module, "CONNECT_FIRST_WAIT", 0.05)
    port = free_port()
    settings = load_settings(
        database=str(tmp_path / "bot.db"), whatsapp_token=TOKEN,
        whatsapp_phone_number_id=PHONE_NUMBER_ID, whatsapp_app_secret="s3cret",
        whatsapp_verify_token="verify-me", whatsapp_port=port, web_enabled=False,
        telegram_token="123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    api, telegram_api = FakeGraphAPI(), FakeBotAPI()
    telegram_api.go_down()
    app = await start(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(
        app, stop,
        whatsapp={"session": httpx.AsyncClient(transport=api.transport())},
        telegram={"request": telegram_api.request(),
                  "get_updates_request": telegram_api.request()}))
    try:
        await telegram_api.wait_for(lambda: len(telegram_api.calls_to("getMe")) >= 2)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     trust_env=False) as http:
            for _ in range(100):  # until uvicorn listens
                try:
                    await http.get("/health")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            body, headers = api.signed(api.text("33612345678", "Jeanne", "/start"), "s3cret")
            assert (await http.post("/whatsapp", content=body, headers=headers)
                    ).status_code == 200
        await api.wait_for(lambda: api.messages_to("33612345678"))
        assert "Bienvenue" in (api.messages_to("33612345678")[0].text or "")
        assert not any(c.method == "getUpdates" for c in telegram_api.calls)  # still out
    finally:
        stop.set()
        await task
        await app.close()


def test_links_include_whatsapp_when_the_number_is_set(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    database = str(tmp_path / "demo.db")
    assert main(["seed-demo", "--database", database]) == 0
    capsys.readouterr()
    monkeypatch.setenv("CHATSHOP_WHATSAPP_NUMBER", "+33 5 55 00 00 00")
    assert main(["links", "--database", database, "--bot", "chatshop_test_bot"]) == 0
    out = capsys.readouterr().out
    assert "https://wa.me/33555000000?text=Bonjour%20%21%20s_espace-coiffure" in out


def test_a_missing_whatsapp_setting_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CHATSHOP_DATABASE", str(tmp_path / "bot.db"))
    monkeypatch.setenv("CHATSHOP_WHATSAPP_TOKEN", TOKEN)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "CHATSHOP_WHATSAPP_PHONE_NUMBER_ID" in err


def test_digest_send_delivers_to_whatsapp_subscribers_with_a_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import chatshop.app
    import chatshop.cli
    from chatshop.domain.models import SubscriptionScope

    database = str(tmp_path / "demo.db")
    assert main(["seed-demo", "--database", database]) == 0
    for name, value in (("TOKEN", TOKEN), ("PHONE_NUMBER_ID", PHONE_NUMBER_ID),
                        ("APP_SECRET", "s3cret"), ("VERIFY_TOKEN", "v")):
        monkeypatch.setenv(f"CHATSHOP_WHATSAPP_{name}", value)
    monkeypatch.setenv("CHATSHOP_DATABASE", database)

    async def subscribe() -> None:
        app = await start(load_settings())
        person = await app.services.customers.seen("whatsapp", "33612345678", "Jeanne")
        await app.services.digest.subscribe(person.id, SubscriptionScope.TERRITORY)
        await app.close()

    asyncio.run(subscribe())
    api = FakeGraphAPI()
    api.user_wrote("33612345678")  # she wrote just now: inside her 24-hour window

    def fake_whatsapp(app: object, **options: object) -> object:
        return chatshop.app.whatsapp_channel(
            app, session=httpx.AsyncClient(transport=api.transport()), **options)  # type: ignore[arg-type]

    monkeypatch.setattr(chatshop.cli, "whatsapp_channel", fake_whatsapp)
    capsys.readouterr()
    assert main(["digest", "send"]) == 0
    out = capsys.readouterr().out
    assert "envoyées 1" in out
    received = len(api.messages_to("33612345678"))
    assert received  # the digest reached her (its list as WhatsApp messages)
    assert main(["digest", "send"]) == 0  # a second time the same week: nothing
    assert "déjà parties" in capsys.readouterr().out
    assert len(api.messages_to("33612345678")) == received
