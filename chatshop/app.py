"""Wiring: settings -> database (migrated) -> services -> conversation -> delivery
runtime -> channels -> the shop window, the start-up chores, and running the bot until it
is asked to stop.

Channels get an ``App`` and call its services and conversation, and deliver through its
runtime; nothing else builds them. ``serve`` runs the scheduled jobs once per process,
whatever channels it serves, and the public shop window beside the webhooks (on the same
server when they share an address); ``serve_window`` runs the window alone.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from chatshop.clock import Clock, utc_now
from chatshop.config import Settings
from chatshop.conversation.router import Conversation
from chatshop.delivery.pace import SlidingWindow
from chatshop.delivery.runtime import Delivery
from chatshop.delivery.scheduler import Scheduler
from chatshop.errors import ConfigError
from chatshop.servers import Server, Site, bind_sites, start_server
from chatshop.services import Services, build_services
from chatshop.services.links import Links
from chatshop.storage import Store, open_store
from chatshop.storage.postgres import shown
from chatshop.web.window import Publisher, Window

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    store: Store
    services: Services
    conversation: Conversation
    delivery: Delivery
    links: Links = field(init=False)  # the conversation's: one per process
    window: Window = field(init=False)

    def __post_init__(self) -> None:
        self.links = self.conversation.links
        self.window = window_of(self.settings, self.links, clock=self.services.clock)

    async def close(self) -> None:
        await self.store.close()


async def start(settings: Settings, *, clock: Clock = utc_now) -> App:
    """Open and migrate the database, build the services, expire overdue reservations."""
    store = await open_store(settings.database)
    try:
        services = build_services(store, operators=settings.operator_ids, clock=clock,
                                  tz=settings.tz, digest_schedule=settings.digest_when)
        expired = await services.reservations.expire_overdue()
        if expired:
            log.info("expired %d overdue reservations at start-up", len(expired))
        links = Links(public_url=settings.public_url, telegram_bot=settings.telegram_username,
                      whatsapp_number=settings.whatsapp_number)
        conversation = Conversation(services, territory=settings.territory,
                                    tz=settings.tz, links=links)
        delivery = Delivery(services, conversation,
                            digest_pace=lambda: SlidingWindow(settings.digest_rate),
                            digest_send_empty=settings.digest_send_empty,
                            territory_channel=settings.telegram_channel, links=links)
    except BaseException:
        await store.close()  # its threads must end before the event loop does
        raise
    return App(settings, store, services, conversation, delivery)


def window_of(settings: Settings, links: Links, *, clock: Clock = utc_now) -> Window:
    """The shop window as the settings describe it."""
    publisher = Publisher(
        name=settings.publisher or "", address=settings.publisher_address or "",
        email=settings.publisher_email or "", phone=settings.publisher_phone or "",
        director=settings.publication_director or "",
        hosting=settings.hosting_provider or "")
    return Window(territory=settings.territory, tz=settings.tz, links=links,
                  publisher=publisher, requests_per_minute=settings.web_requests_per_minute,
                  clock=clock)


async def learn_bot_username(app: App) -> str | None:
    """The bot's Telegram username for t.me links: ``CHATSHOP_TELEGRAM_USERNAME``, else
    asked from Telegram when a token is set (``getMe``), else None. Kept in ``app.links``.
    Telegram's refusal of the token is the caller's to say; Telegram out of reach is
    only a warning: the links to the bot are left out until it is known."""
    from telegram.error import NetworkError

    if app.links.telegram_bot is not None or app.settings.telegram_token is None:
        return app.links.telegram_bot
    channel = telegram_channel(app)
    try:
        await channel.application.initialize()
    except NetworkError as problem:  # (a refused token is InvalidToken: not caught here)
        log.warning("Telegram out of reach (%s): the pages have no t.me links until "
                    "CHATSHOP_TELEGRAM_USERNAME is set or Telegram answers", problem)
        return None
    try:
        app.links.telegram_bot = str(channel.bot.username)
    finally:
        await channel.application.shutdown()
    return app.links.telegram_bot


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
        "rate_limiter": TelegramRateLimiter(
            overall_rate=settings.telegram_max_per_second,
            shared=functools.partial(app.services.delivery.send_slot, "telegram",
                                     settings.telegram_max_per_second)),
        "delivery": app.delivery,
    }
    options.update(overrides)
    return TelegramChannel(app.services, app.conversation, **options)


def whatsapp_channel(app: App, **overrides: Any) -> Any:
    """The WhatsApp channel as the settings describe it (``overrides`` for tests)."""
    from chatshop.channels.whatsapp.channel import WhatsAppChannel

    settings = app.settings

    def required(name: str, value: SecretStr | str | None) -> str:
        if value is None:
            raise ConfigError(f"CHATSHOP_WHATSAPP_{name} : manquant / missing (TOKEN, "
                              f"PHONE_NUMBER_ID, APP_SECRET and VERIFY_TOKEN are all needed)")
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    options: dict[str, Any] = {
        "token": required("TOKEN", settings.whatsapp_token),
        "phone_number_id": required("PHONE_NUMBER_ID", settings.whatsapp_phone_number_id),
        "app_secret": required("APP_SECRET", settings.whatsapp_app_secret),
        "verify_token": required("VERIFY_TOKEN", settings.whatsapp_verify_token),
        "api_version": settings.whatsapp_api_version,
        "base_url": settings.whatsapp_base_url,
        "max_per_second": settings.whatsapp_max_per_second,
        "template_notification": settings.whatsapp_template_notification,
        "template_digest": settings.whatsapp_template_digest,
        "template_language": settings.whatsapp_template_language,
        "delivery": app.delivery,
    }
    options.update(overrides)
    return WhatsAppChannel(app.services, app.conversation, **options)


# The garbage collector while serving: the young generation is collected every 20 000
# allocations instead of 700, the middle one every 50 of those instead of 10. Each pass
# pauses every conversation; measured with gc.callbacks while bench/telegram_stack.py ran
# 1 000 updates/s, the defaults made ~7 passes a second of 3-8 ms each.
SERVING_GC_THRESHOLDS = (20_000, 50, 100)


def settle_garbage_collector() -> None:
    """Once started: what start-up made (modules, translations, the libraries' objects)
    lives as long as the process, and is set aside from the garbage collector, whose
    full passes would otherwise walk it again and again (measured: 40-55 ms each, a
    pause for everyone); then the collector runs less often (``SERVING_GC_THRESHOLDS``).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_GC_THRESHOLDS)


def webhook_secret(settings: Settings) -> str:
    """The secret Telegram sends with each webhook update: ``CHATSHOP_TELEGRAM_WEBHOOK_
    SECRET``, else one drawn from the token (the same for every process of the bot,
    which all serve the webhook behind one address, issue #14; as secret as the token,
    and another one when the token changes)."""
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    return hmac.new(token.encode(), b"chatshop: Telegram webhook secret",
                    hashlib.sha256).hexdigest()


async def serve(app: App, stop: asyncio.Event, *, telegram: dict[str, Any] | None = None,
                whatsapp: dict[str, Any] | None = None, freeze_start_up: bool = False) -> None:
    """Run the bot until ``stop`` is set: on Telegram when its token is set (polling,
    or a webhook), on WhatsApp when its settings are (a webhook), and the shop window
    (unless ``CHATSHOP_WEB_ENABLED=false``); one web server per address, the webhooks and
    the window sharing one when their addresses are the same. Then finish what was
    received and shut down cleanly. ``telegram`` and ``whatsapp`` override channel
    options (tests). ``freeze_start_up``: for the bot's own process (``chatshop run``):
    ``settle_garbage_collector`` once started.

    The scheduled jobs (reservations sweep, outbox, digest, clean-up) run once, here,
    from the moment the web servers are up; they stop first."""
    settings = app.settings
    use_telegram = settings.telegram_token is not None or telegram is not None
    use_whatsapp = settings.whatsapp_enabled or whatsapp is not None
    if not use_telegram and not use_whatsapp:
        raise ConfigError("CHATSHOP_TELEGRAM_TOKEN : manquant / missing (or the "
                          "CHATSHOP_WHATSAPP_ settings): no channel to run")
    started: list[Any] = []
    routes: dict[str, Any] = {}
    sites: list[Site] = []
    servers: list[Server] = []
    scheduler: Scheduler | None = None
    try:
        telegram_bot = telegram_channel(app, **(telegram or {})) if use_telegram else None
        webhook = settings.telegram_webhook_url
        secret = webhook_secret(settings)
        if telegram_bot is not None and webhook is not None:
            routes.update(telegram=telegram_bot, telegram_secret=secret,
                          telegram_path=urlsplit(webhook).path or "/")
        if use_whatsapp:
            wa = whatsapp_channel(app, **(whatsapp or {}))
            started.append(wa)  # (stopping it before it started only closes its session)
            routes["whatsapp"] = wa
        # The ports are taken before anything starts: a port in use ends the start with
        # one line naming its setting.
        sites = bind_sites(settings, routes)
        if use_whatsapp:
            await wa.start()
            log.info("chatshop on WhatsApp, number id %s", settings.whatsapp_phone_number_id)
        # The web servers first: WhatsApp is served (and Telegram's webhook updates
        # written down) even while Telegram cannot be reached.
        for site in sites:
            servers.append(await start_server(site, site_app(app, site)))
        # The jobs too, for every channel built above: WhatsApp's notifications go while
        # Telegram is still out of reach (Telegram's wait, as when it goes down later).
        scheduler = Scheduler(app.delivery.jobs())
        scheduler.start()
        try:
            if telegram_bot is not None:
                if not await telegram_bot.start(polling=webhook is None, webhook_url=webhook,
                                                webhook_secret=secret, until=stop):
                    return  # stopped while Telegram was out of reach
                started.append(telegram_bot)
                if app.links.telegram_bot is None:  # the window's t.me links, from now on
                    app.links.telegram_bot = str(telegram_bot.bot.username)
                log.info("chatshop on Telegram as @%s, %s", telegram_bot.bot.username,
                         f"webhook {webhook}" if webhook else "long polling")
            log.info("database %s, %d shops", shown(settings.database),
                     await app.store.shops.count())
            if freeze_start_up:
                settle_garbage_collector()
            await stop.wait()
        finally:
            log.info("stopping: finishing what was received")
            for server in servers:
                await server.stop()
    finally:
        app.delivery.stopping()  # first: a digest run must not hold the stop up
        if scheduler is not None:
            await scheduler.stop()
        await app.delivery.stop()
        for channel in reversed(started):
            await channel.stop()
        for site in sites:  # (uvicorn closes them too once it served)
            site.close()


async def serve_window(app: App, stop: asyncio.Event, *,
                       started: Callable[[str], None] | None = None) -> None:
    """The shop window alone (``chatshop web``), on ``CHATSHOP_WEB_HOST:PORT``, until
    ``stop`` is set; ``started`` is told its address (``http://host:port``) once it
    answers."""
    (site,) = bind_sites(app.settings, {}, window=True)
    try:
        server = await start_server(site, site_app(app, site))
        try:
            if started is not None:
                started(site.address)
            await stop.wait()
        finally:
            await server.stop()
    finally:
        site.close()


def site_app(app: App, site: Site) -> Any:
    """What one address serves: the webhooks, the window, or both (the webhooks' routes
    first, the window under everything else)."""
    window = None
    if site.window:
        from chatshop.web.app import window_app

        if app.links.public_url is None and site.host not in ("127.0.0.1", "::1",
                                                               "localhost"):
            log.warning("CHATSHOP_PUBLIC_URL is not set: the window's absolute links "
                        "(canonical, link previews, sitemap) follow each request's Host "
                        "header, and its pages are not kept; set it to the address "
                        "people reach")
        window = window_app(app.services, app.window)
    if not site.webhooks:
        return window
    from chatshop.channels.webhooks import webhook_app

    hooks = webhook_app(**site.webhooks)
    if window is None:
        return hooks
    from starlette.applications import Starlette
    from starlette.routing import Mount

    return Starlette(routes=[*hooks.routes, Mount("", app=window)])
