"""The ``chatshop`` command: ``demo`` plays the whole product in a terminal, ``seed-demo``
loads the demo territory, ``migrate`` brings the database up to date.

Configuration and migration problems end the command with one line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from telegram.error import InvalidToken, NetworkError

from chatshop import __version__
from chatshop.app import serve, start, telegram_channel, whatsapp_channel
from chatshop.channels.console import ConsoleChat, Identity
from chatshop.channels.console import run as run_console
from chatshop.channels.links import territory_links
from chatshop.config import Settings, load_settings
from chatshop.conversation.digest import deliver_inline, digest_text
from chatshop.conversation.messages import Reply
from chatshop.conversation.router import Conversation
from chatshop.demo import (
    DEMO_CUSTOMER,
    DEMO_CUSTOMER_NAME,
    DEMO_OPERATOR,
    DEMO_OPERATOR_NAME,
    DEMO_TERRITORY,
    DemoShop,
    seed_demo,
)
from chatshop.domain.models import Channel, DigestReport, User
from chatshop.errors import ConfigError, DemoIncomplete, MigrationError
from chatshop.i18n import _, ngettext
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatshop",
        description="Chat-commerce bot for the small shops of a French territory.",
    )
    parser.add_argument("--version", action="version", version=f"chatshop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    migrate = commands.add_parser(
        "migrate", help="create or upgrade the database, then print a summary")
    migrate.add_argument("--database", help="SQLite file (default: CHATSHOP_DATABASE)")
    demo = commands.add_parser(
        "demo", help="chat with a demo territory in the terminal (offline); lines piped on "
                     "stdin are handled in order")
    demo.add_argument("--database", help="SQLite file to keep (default: a temporary one)")
    seed = commands.add_parser("seed-demo", help="load the demo territory into the database")
    seed.add_argument("--database", help="SQLite file (default: CHATSHOP_DATABASE)")
    run = commands.add_parser(
        "run", help="run the bot: on Telegram (CHATSHOP_TELEGRAM_TOKEN; long polling, or a "
                    "webhook with CHATSHOP_TELEGRAM_WEBHOOK_URL) and/or on WhatsApp "
                    "(CHATSHOP_WHATSAPP_*: a webhook)")
    run.add_argument("--database", help="SQLite file (default: CHATSHOP_DATABASE)")
    links = commands.add_parser(
        "links", help="print the Telegram links of every shop and product (for posters and "
                      "posts)")
    links.add_argument("--database", help="SQLite file (default: CHATSHOP_DATABASE)")
    links.add_argument("--bot", help="the bot's username (default: asked from Telegram with "
                                     "CHATSHOP_TELEGRAM_TOKEN); WhatsApp links come with "
                                     "CHATSHOP_WHATSAPP_NUMBER")
    digest = commands.add_parser(
        "digest", help="the weekly digest: preview it, or send it now (Telegram, WhatsApp)")
    digest.add_argument("action", choices=["preview", "send"])
    digest.add_argument("--database", help="SQLite file (default: CHATSHOP_DATABASE)")
    digest.add_argument("--force", action="store_true",
                        help="send again even if this week's digest went out already")
    return parser


async def _digest_preview(settings: Settings) -> str:
    """What the digest says this week, and to how many."""
    app = await start(settings)
    try:
        services = app.services
        now = services.clock()
        reader = User(id=0, channel="console", external_id="apercu", display_name="",
                      created_at=now, last_seen_at=now)  # nobody: a preview is not stored
        news = await services.digest.territory_news(reader)
        digests = await services.digest.compose()
        with_news = sum(not d.empty for d in digests)
        lines = [
            digest_text(news, settings.territory, limit=None) if not news.empty
            else _("Nothing new in the territory this week: the digest would be empty."),
            "",
            ngettext("{n} subscriber, {m} with news for them this week.",
                     "{n} subscribers, {m} with news for them this week.",
                     len(digests)).format(n=len(digests), m=with_news)
            if digests else _("No subscriber yet."),
        ]
        return "\n".join(lines)
    finally:
        await app.close()


def _progress_bar(report: DigestReport) -> None:
    done = report.total - report.pending
    width = 30
    filled = width * done // max(report.total, 1)
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{report.total}",
          end="", file=sys.stderr, flush=True)


async def _digest_send(settings: Settings, *, force: bool) -> str:
    """This week's digest to every subscriber now, on each channel configured (Telegram,
    WhatsApp), with a progress bar and a report per channel."""
    app = await start(settings)
    try:
        senders: list[tuple[Channel, Any]] = []
        if settings.telegram_token is not None or not settings.whatsapp_enabled:
            senders.append(("telegram", telegram_channel(app)))  # (says what is missing)
        if settings.whatsapp_enabled:
            senders.append(("whatsapp", whatsapp_channel(app, jobs=False)))
        lines: list[str] = []
        for name, sender in senders:
            digest = app.services.digest
            if await digest.start_week(name, forced=force) is None \
                    and not await digest.unfinished_runs(name):
                lines.append(_("This week's news (week {week}) has already been sent; "
                               "--force sends it again.").format(week=_week(digest.week())))
                continue
            reports = await _deliver_with(name, sender)
            print(file=sys.stderr)
            lines += [_("News of week {week}: sent {sent}; without news (not sent) "
                        "{no_news}; unsubscribed meanwhile {unsubscribed}; blocked the "
                        "bot {blocked}; failed {failed}.").format(
                **{**report.model_dump(), "week": _week(report.week)}) for report in reports]
        return "\n".join(lines)
    finally:
        await app.close()


async def _deliver_with(name: Channel, sender: Any) -> list[DigestReport]:
    """Deliver the unfinished runs through one channel, set up for this alone."""
    if name == "telegram":
        await sender.application.initialize()
        try:
            return list(await sender.deliver_digests(progress=_progress_bar))
        finally:
            await sender.application.shutdown()
    try:
        return list(await sender.deliver_digests(progress=_progress_bar))
    finally:
        await sender.stop()


def _week(iso_week: str) -> str:
    """« 2026-W48 » -> « 48 »."""
    return iso_week.partition("-W")[2].lstrip("0")


async def _run(settings: Settings) -> None:
    """The bot until SIGINT or SIGTERM; then the updates already fetched are finished."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API call otherwise
    app = await start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        await serve(app, stop, freeze_start_up=True)
    finally:
        await app.close()


async def _links(settings: Settings, bot: str | None) -> str:
    app = await start(settings)
    try:
        if bot is None and (settings.telegram_token is not None
                            or settings.whatsapp_number is None):
            channel = telegram_channel(app)
            await channel.application.initialize()
            try:
                bot = str(channel.bot.username)
            finally:
                await channel.application.shutdown()
        return "\n".join(await territory_links(app.services, bot, settings.whatsapp_number))
    finally:
        await app.close()


async def _migrate(settings: Settings) -> str:
    app = await start(settings)
    store = app.store
    try:
        report = store.migration
        communes = len(await store.shops.communes())
        shops = await store.shops.count()
        products = await store.catalogue.count()
        categories = len(await store.catalogue.categories())
    finally:
        await app.close()
    applied = ngettext("{n} migration applied", "{n} migrations applied",
                       len(report.applied)).format(n=len(report.applied))
    lines = [
        _("Database {path}: schema version {version} ({applied}).").format(
            path=settings.database, version=report.after, applied=applied),
        _("Territory {name}: {communes}, {shops}, {products}, {categories}.").format(
            name=settings.territory,
            communes=ngettext("{n} commune", "{n} communes", communes).format(n=communes),
            shops=ngettext("{n} shop", "{n} shops", shops).format(n=shops),
            products=ngettext("{n} product", "{n} products", products).format(n=products),
            categories=ngettext("{n} category", "{n} categories",
                                categories).format(n=categories),
        ),
    ]
    return "\n".join(lines)


async def _open_demo(database: str, settings: Settings) -> tuple[Store, Services,
                                                                  list[DemoShop]]:
    store = await open_store(database)
    services = build_services(store, operators=settings.operator_ids | {DEMO_OPERATOR},
                              tz=settings.tz)
    operator = await services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME)
    shops = await seed_demo(services, operator=services.customers.actor(operator))
    return store, services, shops


async def _seed_demo(settings: Settings) -> str:
    store, _services, shops = await _open_demo(settings.database, settings)
    await store.close()
    return _("Demo territory loaded into {path}: {shops}.").format(
        path=settings.database, shops=", ".join(shop.name for shop in shops))


def _demo_tick(conversation: Conversation, services: Services
               ) -> Callable[[], Awaitable[list[Reply]]]:
    """After each line: reservations swept and reminded, and a digest the operator sent
    shown to the demo's subscribers (the console delivers it itself)."""
    async def tick() -> list[Reply]:
        return [*await conversation.tick(),
                *await deliver_inline(services, DEMO_TERRITORY, "console")]
    return tick


async def _demo(settings: Settings, *, keep: str | None) -> None:
    """A terminal chat on a fresh demo territory, as the customer first."""
    with tempfile.TemporaryDirectory(prefix="chatshop-demo-") as folder:
        store, services, shops = await _open_demo(keep or f"{folder}/demo.db", settings)
        try:
            conversation = Conversation(services, store, territory=DEMO_TERRITORY,
                                        tz=settings.tz)
            identities = {"client": Identity(DEMO_CUSTOMER[1], DEMO_CUSTOMER_NAME),
                          "operateur": Identity(DEMO_OPERATOR[1], DEMO_OPERATOR_NAME)}
            for shop in shops:
                owner = await store.users.find(*shop.owner)
                identities[shop.owner[1]] = Identity(
                    shop.owner[1], owner.display_name if owner else shop.name)
            chat = ConsoleChat(handle=conversation.handle, out=sys.stdout,
                               identities=identities, current="client",
                               files_dir=Path(folder) / "fichiers",
                               tick=_demo_tick(conversation, services),
                               echo=not sys.stdin.isatty())
            print(_("chatshop demo — {territory}. You are Jeanne, a customer.").format(
                territory=DEMO_TERRITORY))
            print(_("Become a shopkeeper with « !etre espace-coiffure » (or {others}), the "
                    "operator with « !etre operateur », and come back with « !etre client ». "
                    "!aide lists the console commands; Ctrl-D quits.").format(
                others=", ".join(s.owner[1] for s in shops[1:])))
            print()
            await chat.line("/start")
            await run_console(chat, sys.stdin)
        finally:
            await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chatshop`` console script."""
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 0
    try:
        overrides = {"database": args.database} if getattr(args, "database", None) else {}
        settings = load_settings(**overrides)
    except ConfigError as exc:
        print(f"chatshop: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "migrate":
            print(asyncio.run(_migrate(settings)))
        elif args.command == "demo":
            asyncio.run(_demo(settings, keep=getattr(args, "database", None)))
        elif args.command == "seed-demo":
            print(asyncio.run(_seed_demo(settings)))
        elif args.command == "run":
            asyncio.run(_run(settings))
        elif args.command == "digest" and args.action == "preview":
            print(asyncio.run(_digest_preview(settings)))
        elif args.command == "digest":
            print(asyncio.run(_digest_send(settings, force=args.force)))
        elif args.command == "links":
            print(asyncio.run(_links(settings, args.bot)))
    except (ConfigError, MigrationError, DemoIncomplete) as exc:
        print(f"chatshop: {exc}", file=sys.stderr)
        return 2
    except InvalidToken:
        print("chatshop: Telegram refuse le jeton CHATSHOP_TELEGRAM_TOKEN / Telegram rejected "
              "the token", file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(f"chatshop: Telegram injoignable / cannot reach Telegram: {exc}",
              file=sys.stderr)
        return 2
    except (sqlite3.Error, OSError) as exc:
        print(f"chatshop: base de données inutilisable / cannot use the database "
              f"{settings.database}: {exc}", file=sys.stderr)
        return 2
    return 0
