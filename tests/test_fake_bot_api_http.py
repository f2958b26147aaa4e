"""The fake Telegram Bot API over real HTTP on the loopback address (tests/fakes/telegram/
server.py), seen through python-telegram-bot's own ``HTTPXRequest``, as a bot in another process
sees it: the same calls, uploads and downloads as in process, and a dropped connection while the
fake is down."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError

from tests.fakes.bot_api import TINY_PNG, FakeBotAPI, FakeUser
from tests.fakes.bot_api_http import BotAPIServer

TOKEN = "123:ABC"


@pytest.fixture
async def server() -> AsyncIterator[BotAPIServer]:
    async with BotAPIServer(FakeBotAPI()) as running:
        yield running
    assert running.failures == []


@pytest.fixture
async def bot(server: BotAPIServer) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url) as b:
        yield b


@pytest.fixture
def marie(server: BotAPIServer) -> FakeUser:
    return server.api.user(1001, "Marie", started=True)


async def test_it_listens_on_the_loopback_address_only(server: BotAPIServer) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
    assert server.environment() == {
        "CHATSHOP_TELEGRAM_BASE_URL": server.base_url,
        "CHATSHOP_TELEGRAM_BASE_FILE_URL": server.base_file_url,
    }


async def test_a_message_sent_over_http_is_what_marie_sees(
        server: BotAPIServer, bot: Bot, marie: FakeUser) -> None:
    sent = await bot.send_message(marie.id, "Bonjour <b>Marie</b>", parse_mode="HTML")
    assert sent.text == "Bonjour Marie"
    seen = server.api.last(marie)
    assert (seen.text, seen.entities) == ("Bonjour Marie", [
        {"offset": 8, "length": 5, "type": "bold"}])
    assert server.api.calls[-1].params["chat_id"] == marie.id  # decoded back from the form


async def test_a_text_that_looks_like_json_stays_a_text(
        server: BotAPIServer, bot: Bot, marie: FakeUser) -> None:
    await bot.send_message(marie.id, "12")
    await bot.send_message(marie.id, "true")
    assert [m.text for m in server.api.messages(marie)] == ["12", "true"]


async def test_a_photo_uploads_as_multipart_and_downloads_again(
        server: BotAPIServer, bot: Bot, marie: FakeUser) -> None:
    sent = await bot.send_photo(marie.id, TINY_PNG, caption="Le miel")
    assert server.api.last(marie).text == "Le miel"
    file = await bot.get_file(sent.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == TINY_PNG


async def test_telegram_s_refusals_come_back_as_they_are(
        server: BotAPIServer, bot: Bot, marie: FakeUser) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(marie.id, "x" * 4097)
    assert server.api.messages(marie) == []


async def test_while_it_is_down_the_connection_drops_without_an_answer(
        server: BotAPIServer, bot: Bot, marie: FakeUser) -> None:
    server.api.go_down()
    with pytest.raises(NetworkError) as dropped:
        await bot.send_message(marie.id, "Bonjour")
    assert "Server disconnected without sending a response" in str(dropped.value)
    server.api.come_back()
    await bot.send_message(marie.id, "Bonjour")  # and the next connection is served
    assert [m.text for m in server.api.messages(marie)] == ["Bonjour"]
