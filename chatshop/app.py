"""Wiring: settings -> database (migrated) -> services -> conversation -> delivery
runtime -> channels, the start-up chores, and running the bot until it is asked to stop.

Channels get an ``App`` and call its services and conversation, and deliver through its
runtime; nothing else builds them. ``serve`` runs the scheduled jobs once per process,
whatever channels it serves.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import secrets
import socket
import sys
from dataclasses import dataclass
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
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    store: Store
    services: Services
    conversation: Conversation
    delivery: Delivery

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
        conversation = Conversation(services, territory=settings.territory,
                                    tz=settings.tz)
        delivery = Delivery(services, conversation,
                            digest_pace=lambda: SlidingWindow(settings.digest_rate),
                            digest_send_empty=settings.digest_send_empty)
    except BaseException:
        await store.close()  # its threads must end before the event loop does
        raise
    return App(settings, store, services, conversation, delivery)


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


async def serve(app: App, stop: asyncio.Event, *, telegram: dict[str, Any] | None = None,
                whatsapp: dict[str, Any] | None = None, freeze_start_up: bool = False) -> None:
    """Run the bot until ``stop`` is set: on Telegram when its token is set (polling,
    or a webhook), on WhatsApp when its settings are (a webhook); one web server for
    the webhooks. Then finish what was received and shut down cleanly. ``telegram`` and
    ``whatsapp`` override channel options (tests). ``freeze_start_up``: for the bot's
    own process (``chatshop run``): ``settle_garbage_collector`` once started.

    The scheduled jobs (reservations sweep, outbox, digest, clean-up) run once, here,
    from the moment the web server is up; they stop first."""
    settings = app.settings
    use_telegram = settings.telegram_token is not None or telegram is not None
    use_whatsapp = settings.whatsapp_enabled or whatsapp is not None
    if not use_telegram and not use_whatsapp:
        raise ConfigError("CHATSHOP_TELEGRAM_TOKEN : manquant / missing (or the "
                          "CHATSHOP_WHATSAPP_ settings): no channel to run")
    started: list[Any] = []
    routes: dict[str, Any] = {}
    sockets: list[socket.socket] = []
    scheduler: Scheduler | None = None
    try:
        telegram_bot = telegram_channel(app, **(telegram or {})) if use_telegram else None
        webhook = settings.telegram_webhook_url
        secret = (settings.telegram_webhook_secret.get_secret_value()
                  if settings.telegram_webhook_secret else secrets.token_urlsafe(32))
        if telegram_bot is not None and webhook is not None:
            routes.update(telegram=telegram_bot, telegram_secret=secret,
                          telegram_path=urlsplit(webhook).path or "/")
        if use_whatsapp:
            wa = whatsapp_channel(app, **(whatsapp or {}))
            started.append(wa)  # (stopping it before it started only closes its session)
            routes["whatsapp"] = wa
        # The port is taken before anything starts: a port in use ends the start with
        # one line naming its setting.
        sockets = _listening_sockets(settings, on_whatsapp=use_whatsapp) if routes else []
        if use_whatsapp:
            await wa.start()
            log.info("chatshop on WhatsApp, number id %s", settings.whatsapp_phone_number_id)
        # The web server first: WhatsApp is served (and Telegram's webhook updates
        # written down) even while Telegram cannot be reached.
        server = await _web_server(settings, routes, sockets) if routes else None
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
                log.info("chatshop on Telegram as @%s, %s", telegram_bot.bot.username,
                         f"webhook {webhook}" if webhook else "long polling")
            log.info("database %s, %d shops", settings.database,
                     await app.store.shops.count())
            if freeze_start_up:
                settle_garbage_collector()
            await stop.wait()
        finally:
            log.info("stopping: finishing what was received")
            if server is not None:
                server_obj, server_task = server
                server_obj.should_exit = True
                await server_task
    finally:
        app.delivery.stopping()  # first: a digest run must not hold the stop up
        if scheduler is not None:
            await scheduler.stop()
        await app.delivery.stop()
        for channel in reversed(started):
            await channel.stop()
        for sock in sockets:  # (uvicorn closes them too once it served)
            sock.close()


def _listening_sockets(settings: Settings, *, on_whatsapp: bool) -> list[socket.socket]:
    """The webhooks' address (WhatsApp's when it is on, else Telegram's), bound here
    rather than by uvicorn: uvicorn says a port in use with a log line and ``SystemExit``
    inside its task, which ``asyncio.run`` lets out with a traceback. A failure is a
    ``ConfigError`` naming the setting to change."""
    prefix = "CHATSHOP_WHATSAPP_" if on_whatsapp else "CHATSHOP_TELEGRAM_"
    host = settings.whatsapp_listen if on_whatsapp else settings.telegram_listen
    port = settings.whatsapp_port if on_whatsapp else settings.telegram_port
    try:
        return _bind(host, port)
    except socket.gaierror:
        raise ConfigError(f"{prefix}LISTEN : adresse inconnue / unknown address "
                          f"« {host} »") from None
    except OSError as problem:
        if problem.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"Le port {port} ({prefix}PORT) est déjà utilisé : libérez-le ou "
                f"choisissez-en un autre / port {port} is already in use: free it or "
                f"choose another one") from None
        if problem.errno == errno.EACCES:
            raise ConfigError(
                f"Le port {port} ({prefix}PORT) est réservé à l'administrateur : "
                f"choisissez-en un au-dessus de 1023 / port {port} needs administrator "
                f"rights: choose one above 1023") from None
        if problem.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(
                f"{prefix}LISTEN : impossible d'écouter sur {host}:{port}, ce n'est pas une "
                f"adresse de cette machine / cannot listen on {host}:{port}: not an "
                f"address of this machine") from None
        raise ConfigError(f"{prefix}LISTEN : impossible d'écouter sur {host}:{port} / "
                          f"cannot listen on {host}:{port}: {problem.strerror or problem}"
                          ) from None


def _bind(host: str, port: int) -> list[socket.socket]:
    """Sockets bound as ``loop.create_server(host=..., port=...)`` binds them (which is
    what uvicorn does): one per address of ``host`` (all interfaces when empty),
    ``SO_REUSEADDR`` on POSIX, IPv6 ones IPv6 only, an address family the machine has
    not enabled skipped."""
    infos = dict.fromkeys(socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                             flags=socket.AI_PASSIVE))
    bound: list[socket.socket] = []
    unavailable: OSError | None = None
    try:
        for family, kind, proto, _name, address in infos:
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            if os.name == "posix" and sys.platform != "cygwin":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as problem:
                if problem.errno != errno.EADDRNOTAVAIL:
                    raise
                bound.pop().close()
                unavailable = problem
        if not bound:
            raise unavailable or OSError(errno.EADDRNOTAVAIL, "no address to listen on")
    except BaseException:
        for sock in bound:
            sock.close()
        raise
    return bound


async def _serving(server: Any, sockets: list[socket.socket]) -> None:
    """uvicorn's server until it is told to exit; a start it gives up on (``SystemExit``)
    ends the task quietly, and ``_web_server`` says so in one line."""
    try:
        await server.serve(sockets=sockets)
    except SystemExit:
        log.debug("the web server did not start")


async def _web_server(settings: Settings, routes: dict[str, Any],
                      sockets: list[socket.socket]) -> tuple[Any, asyncio.Task[None]]:
    """The webhooks' server on ``sockets`` (WhatsApp's address when it is on, else
    Telegram's)."""
    import uvicorn

    from chatshop.channels.webhooks import webhook_app

    on_whatsapp = "whatsapp" in routes
    host = settings.whatsapp_listen if on_whatsapp else settings.telegram_listen
    port = settings.whatsapp_port if on_whatsapp else settings.telegram_port
    variable = "CHATSHOP_WHATSAPP_PORT" if on_whatsapp else "CHATSHOP_TELEGRAM_PORT"
    server = uvicorn.Server(uvicorn.Config(webhook_app(**routes), host=host, port=port,
                                           log_level="warning"))
    task = asyncio.create_task(_serving(server, sockets))
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no event
        await asyncio.sleep(0.05)
    if task.done():  # bound, yet uvicorn gave up (its lifespan start failed...)
        raise ConfigError(f"{variable} : impossible d'écouter sur / cannot listen on "
                          f"{host}:{port}")
    return server, task
