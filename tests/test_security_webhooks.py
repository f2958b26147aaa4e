"""The webhooks, a compact cross-check: Telegram's takes only the exact secret, WhatsApp's only a
signature of that very body.

The thorough tests are elsewhere: ``tests/test_telegram.py``
(``test_the_webhook_refuses_a_missing_or_wrong_secret_and_processes_nothing``,
``test_the_webhook_is_set_with_its_secret``) and ``tests/test_whatsapp.py``
(``test_unsigned_wrongly_signed_and_replayed_webhooks_change_nothing``,
``test_meta_verifies_the_webhook_with_our_token``,
``test_a_customer_s_photo_is_not_fetched_nor_kept``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator

import httpx
import pytest

from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.channels.webhooks import SECRET_HEADER, SIGNATURE_HEADER, webhook_app
from tests.fakes.bot_api import FakeBotAPI
from tests.world import ALBERTINE, WA_SECRET, Meta, World, meta_on

TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
async def meta(world: World) -> AsyncIterator[Meta]:
    async with meta_on(world) as meta:
        yield meta


@pytest.fixture
async def telegram(world: World) -> AsyncIterator[tuple[FakeBotAPI, TelegramChannel]]:
    api = FakeBotAPI()
    channel = TelegramChannel(world.services, world.conversation(), token=TELEGRAM_TOKEN,
                              request=api.request(), get_updates_request=api.request())
    await channel.start(polling=False)
    yield api, channel
    await channel.stop()


def _inbound_count(world: World) -> int:
    return len(world.snapshot()["inbound_events"])


@pytest.mark.parametrize(("configured", "given", "status"), [
    ("s3cret", "s3cret", 200),
    ("s3cret", "S3CRET", 403), ("s3cret", "s3cre", 403), ("s3cret", "s3cretX", 403),
    ("s3cret", None, 403),
    (None, "s3cret", 404),  # no secret configured: the route takes nothing at all
])
async def test_the_telegram_webhook_takes_only_the_exact_secret(
        world: World, telegram: tuple[FakeBotAPI, TelegramChannel], configured: str | None,
        given: str | None, status: int) -> None:
    api, channel = telegram
    app = webhook_app(telegram=channel, telegram_secret=configured)
    update = api.send_text(api.user(3000, "Jeanne"), "/stock miel 0")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://bot.test") as http:
        response = await http.post("/telegram", json=update,
                                   headers={} if given is None else {SECRET_HEADER: given})
    assert response.status_code == status
    assert _inbound_count(world) == (1 if status == 200 else 0)


async def test_the_whatsapp_webhook_takes_only_a_signature_of_this_very_body(
        world: World, meta: Meta) -> None:
    payload = meta.api.text(ALBERTINE, "Albertine", "/menu")
    body, headers = meta.api.signed(payload, WA_SECRET)
    forged = body.replace(b"/menu", b"/effacer")  # a captured signature, another body
    sha1 = "sha1=" + hmac.new(WA_SECRET.encode(), body, hashlib.sha1).hexdigest()
    wrong_key = meta.api.signed(payload, "verify-me")[1][SIGNATURE_HEADER]
    for content, signature in [(forged, headers[SIGNATURE_HEADER]), (body, sha1),
                               (body, wrong_key),
                               (body, headers[SIGNATURE_HEADER].removeprefix("sha256=")),
                               (body, headers[SIGNATURE_HEADER].upper())]:
        response = await meta.http.post("/whatsapp", content=content,
                                        headers={**headers, SIGNATURE_HEADER: signature})
        assert response.status_code == 403, signature
    await meta.channel.settle()
    assert _inbound_count(world) == 0
    assert meta.api.messages_to(ALBERTINE) == []
    assert (await meta.deliver(payload)).status_code == 200  # the real one, once
    assert len(meta.api.messages_to(ALBERTINE)) == 1
