"""The Telegram channel as the delivery runtime sees it, a ``Platform``: it cuts a reply
into the messages Telegram will show, sends one to one person, and says what became of
it (sent, refused, later, gone) whatever the fake Bot API answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.conversation.messages import Button, Reply
from chatshop.delivery.outcome import Gone, Later, Message, Platform, Refused, Sent
from chatshop.services import Services
from chatshop.storage import Store
from tests.conftest import Territory
from tests.fakes.bot_api import FakeBotAPI
from tests.test_telegram import make_channel, running

LEA = 2000
READY = Reply(text="Votre commande ABCDE est prête", buttons=(
    (Button(label="🏠 Menu", payload="m"),),))


@pytest.fixture
def api() -> FakeBotAPI:
    api = FakeBotAPI()
    api.user(LEA, "Léa", started=True)
    return api


@pytest.fixture
async def channel(territory: Territory, services: Services, store: Store,
                  api: FakeBotAPI) -> AsyncIterator[TelegramChannel]:
    async with running(services, store, api, polling=False) as started:
        yield started


def test_the_channel_is_a_platform_named_telegram_that_cuts_like_its_renderer(
        services: Services, store: Store, api: FakeBotAPI) -> None:
    platform: Platform = make_channel(services, store, api)
    assert platform.name == "telegram"
    assert platform.keep_events == timedelta(days=1)  # Telegram's redeliveries
    long = Reply(text="Miel de châtaignier. " * 400, photo="AgACAgQAAxk",
                 buttons=READY.buttons)
    caption, *rest = platform.pieces(long)
    assert caption.photo == "AgACAgQAAxk"
    assert len(caption.text) <= 1024
    assert rest
    assert [piece.buttons for piece in rest][-1] == READY.buttons  # the way on, last
    assert platform.pieces(READY) == [READY]


async def test_a_message_telegram_takes_is_sent_with_its_buttons(
        channel: TelegramChannel, api: FakeBotAPI) -> None:
    assert await channel.send(Message(str(LEA), READY)) == Sent()
    shown = api.last(LEA)
    assert shown.text == "Votre commande ABCDE est prête"
    assert shown.labels == ["🏠 Menu"]


async def test_a_429_says_later_for_the_whole_bot_after_telegram_s_wait(
        channel: TelegramChannel, api: FakeBotAPI) -> None:
    api.fail_next(status=429, retry_after=7, method="sendMessage")
    outcome = await channel.send(Message(str(LEA), READY))
    assert isinstance(outcome, Later)
    assert (outcome.wait, outcome.everyone) == (7, True)
    assert api.messages(LEA) == []


@pytest.mark.parametrize("fault", ["502", "timeout"])
async def test_a_server_error_or_a_timeout_says_later_with_no_wait_of_its_own(
        channel: TelegramChannel, api: FakeBotAPI, fault: str) -> None:
    if fault == "502":
        api.fail_next(status=502, method="sendMessage")
    else:
        api.timeout_next(method="sendMessage")
    outcome = await channel.send(Message(str(LEA), READY))
    assert isinstance(outcome, Later)
    assert (outcome.wait, outcome.everyone) == (None, False)
    assert api.messages(LEA) == []
    assert await channel.send(Message(str(LEA), READY)) == Sent()  # and then it goes
    assert len(api.messages(LEA)) == 1


async def test_a_person_who_blocked_the_bot_is_gone(
        channel: TelegramChannel, api: FakeBotAPI) -> None:
    api.block(LEA)
    outcome = await channel.send(Message(str(LEA), READY))
    assert isinstance(outcome, Gone)
    assert "blocked" in outcome.reason


async def test_a_chat_telegram_does_not_know_is_refused_with_its_words(
        channel: TelegramChannel, api: FakeBotAPI) -> None:
    outcome = await channel.send(Message("999999", READY))
    assert isinstance(outcome, Refused)
    assert "chat not found" in outcome.reason.lower()
    assert api.calls_to("sendMessage")[-1].status == 400
