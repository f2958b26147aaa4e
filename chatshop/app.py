"""Wiring: settings -> database (migrated) -> services -> conversation -> channels, the
start-up chores, and running the bot until it is asked to stop.

Channels get an ``App`` and call its services and conversation; nothing else builds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chatshop.clock import Clock, utc_now
from chatshop.config import Settings
from chatshop.conversation.router import Conversation
from chatshop.errors import ConfigError
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    store: Store
    services: Services
    conversation: Conversation

    async def close(self) -> None:
        await self.store.close()


async def start(settings: Settings, *, clock: Clock = utc_now) -> App:
    """Open and migrate the database, build the services, expire overdue reservations."""
    store = await open_store(settings.database)
    services = build_services(store, operators=settings.operator_ids, clock=clock,
                              tz=settings.tz, digest_schedule=settings.digest_when)
    expired = await services.reservations.expire_overdue()
    if expired:
        log.info("expired %d overdue reservations at start-up", len(expired))
    conversation = Conversation(services, store, territory=settings.territory, tz=settings.tz)
    return App(settings, store, services, conversation)


def telegram_channel(app: App, **overrides: Any) -> Any:
    """The Telegram channel as the settings describe it (``overrides`` for tests)."""
    from chatshop.channels.ratelimit import TelegramRateLimiter
    from chatshop.channels.telegram.bot import TelegramChannel

    settings = app.settings
    if settings.telegram_token is None:
        raise ConfigError("CHATSHOP_TELEGRAM_TOKEN : manquant / missing (the bot's token "
                          "from @BotFather)")
    options: dict[str, Any] = {
        "token": settings.telegram_token.get_secret_value(),
        "base_url": settings.telegram_base_url,
        "base_file_url": settings.telegram_base_file_url,
        "rate_limiter": TelegramRateLimiter(overall_rate=settings.telegram_max_per_second),
        "digest_rate": settings.digest_rate,
        "digest_send_empty": settings.digest_send_empty,
    }
    options.update(overrides)
    return TelegramChannel(app.services, app.conversation, **options)


async def serve(app: App, stop: asyncio.Event, **overrides: Any) -> None:
    """Run the Telegram bot (polling, or webhook behind uvicorn) until ``stop`` is set,
    then finish the updates already fetched and shut down cleanly."""
    settings = app.settings
    channel = telegram_channel(app, **overrides)
    webhook = settings.telegram_webhook_url
    secret = (settings.telegram_webhook_secret.get_secret_value()
              if settings.telegram_webhook_secret else secrets.token_urlsafe(32))
    await channel.start(polling=webhook is None, webhook_url=webhook, webhook_secret=secret)
    bot = channel.bot
    log.info("chatshop on Telegram as @%s, %s, database %s, %d shops", bot.username,
             f"webhook {webhook} (listening on {settings.telegram_listen}:"
             f"{settings.telegram_port})" if webhook else "long polling",
             settings.database, await app.store.shops.count())
    server = None
    if webhook is not None:
        import uvicorn

        from chatshop.channels.webhooks import webhook_app
        server = uvicorn.Server(uvicorn.Config(
            webhook_app(telegram=channel, telegram_secret=secret,
                        telegram_path=urlsplit(webhook).path or "/"),
            host=settings.telegram_listen, port=settings.telegram_port, log_level="warning"))
        server_task = asyncio.create_task(server.serve())
        while not server.started and not server_task.done():  # noqa: ASYNC110 - uvicorn has no event
            await asyncio.sleep(0.05)
        if server_task.done():  # the port is taken, the address wrong...
            await channel.stop()
            with contextlib.suppress(BaseException):  # uvicorn ends with SystemExit
                server_task.result()
            raise ConfigError(
                f"CHATSHOP_TELEGRAM_PORT : impossible d'écouter sur / cannot listen on "
                f"{settings.telegram_listen}:{settings.telegram_port}")
    try:
        await stop.wait()
    finally:
        log.info("stopping: finishing the updates already received")
        if server is not None:
            server.should_exit = True
            await server_task
        await channel.stop()
