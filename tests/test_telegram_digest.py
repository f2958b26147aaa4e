"""The weekly digest on Telegram, through the fake Bot API: paced under Telegram's limit,
a 429 waited out, a subscriber who blocked the bot marked and skipped from then on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from chatshop.channels.ratelimit import TelegramRateLimiter
from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.cli import main
from chatshop.conversation.router import Conversation
from chatshop.domain.models import SubscriptionScope, User
from chatshop.services import Services
from chatshop.storage import Store
from tests.conftest import FakeClock, Territory
from tests.fakes.bot_api import FakeBotAPI

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI(global_per_second=30)


@pytest.fixture
async def channel(territory: Territory, services: Services, store: Store, api: FakeBotAPI,
                  conversation: Conversation) -> AsyncIterator[TelegramChannel]:
    running = TelegramChannel(services, conversation, token=TOKEN, request=api.request(),
                              get_updates_request=api.request(),
                              rate_limiter=TelegramRateLimiter(), digest_rate=25)
    await running.start(polling=False)
    yield running
    await running.stop()


async def subscribers(territory: Territory, api: FakeBotAPI, count: int) -> list[User]:
    people = []
    for n in range(count):
        api.user(8000 + n, f"Abonné {n}", started=True)
        person = await territory.person(str(8000 + n))
        await territory.services.digest.subscribe(person.id, SubscriptionScope.TERRITORY)
        people.append(person)
    return people


async def test_forty_digests_go_out_under_telegram_s_limit(
        territory: Territory, channel: TelegramChannel, api: FakeBotAPI,
        clock: FakeClock) -> None:
    people = await subscribers(territory, api, 40)
    clock.now += timedelta(minutes=1)
    await territory.product("Miel de châtaignier", 900)
    await territory.services.digest.start_week("telegram")
    (report,) = await channel.deliver_digests()
    assert report.sent == 40
    for person in people:
        (digest,) = api.messages(int(person.external_id))
        assert "Miel de châtaignier" in digest.text
        assert "🔕 Se désabonner" in digest.labels
    assert api.rejections == []  # never above 30 a second


async def test_a_429_is_waited_out_and_a_blocked_subscriber_is_skipped_from_then_on(
        territory: Territory, channel: TelegramChannel, api: FakeBotAPI,
        clock: FakeClock) -> None:
    first, second, third = await subscribers(territory, api, 3)
    api.block(int(second.external_id))
    api.fail_next(status=429, retry_after=1, method="sendMessage")
    clock.now += timedelta(minutes=1)
    await territory.product("Miel de châtaignier", 900)
    await territory.services.digest.start_week("telegram")
    (report,) = await channel.deliver_digests()
    assert (report.sent, report.blocked) == (2, 1)
    assert len(api.messages(int(first.external_id))) == 1  # once, after the 429
    assert len(api.messages(int(third.external_id))) == 1
    blocked = await territory.services.customers.get(second.id)
    assert blocked is not None
    assert blocked.unreachable_at is not None

    # Next week: the blocked subscriber is skipped without a call to Telegram.
    clock.now += timedelta(days=7)
    await territory.product("Savon au lait d'ânesse", 650)
    calls = len(api.calls)
    await territory.services.digest.start_week("telegram")
    (report,) = await channel.deliver_digests()
    assert (report.sent, report.blocked) == (2, 1)
    assert all(c.chat_id != int(second.external_id) for c in api.calls[calls:])


def test_the_command_line_preview_shows_the_digest_and_the_subscribers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        clean_environment: Path) -> None:
    database = str(tmp_path / "demo.db")
    assert main(["seed-demo", "--database", database]) == 0
    capsys.readouterr()
    assert main(["digest", "preview", "--database", database]) == 0
    out = capsys.readouterr().out
    assert "Cette semaine dans les boutiques" in out
    assert "Miel de châtaignier 500 g" in out
    assert "Aucun abonné pour l’instant." in out
