"""The ``chatshop`` command: ``demo`` plays the whole product in a terminal, ``seed-demo``
loads the demo territory, ``migrate`` brings the database up to date.

A bad start (a setting, a port in use, the database, a wrong command line) ends the
command with one line on stderr, French first, and exit status 2, never a traceback; a
``CHATSHOP_`` variable that is no setting is warned about, and the command goes on. Each
command's ``--help`` says, in French, what it does. ``digest send`` ends with status 1,
and one line on stderr saying what to do, while subscribers of this week's digest still
wait.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import psycopg
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

from chatshop import __version__, backup_commands, db_copy, window_commands
from chatshop.app import learn_bot_username, serve, start, telegram_channel, whatsapp_channel
from chatshop.channels.console import ConsoleChat, Identity, runtime_tick
from chatshop.channels.console import run as run_console
from chatshop.config import (
    ENV_FILE,
    Settings,
    UnknownVariable,
    load_settings,
    unknown_variables,
    unreadable_lines,
)
from chatshop.conversation.digest import digest_text
from chatshop.conversation.router import Conversation
from chatshop.delivery.pace import SlidingWindow
from chatshop.delivery.runtime import Delivery
from chatshop.demo import (
    DEMO_CUSTOMER,
    DEMO_CUSTOMER_NAME,
    DEMO_OPERATOR,
    DEMO_OPERATOR_NAME,
    DEMO_TERRITORY,
    DemoShop,
    seed_demo,
)
from chatshop.demo_history import DemoClock
from chatshop.domain.models import Channel, DigestReport, User
from chatshop.errors import ConfigError, DemoIncomplete, MigrationError
from chatshop.i18n import _, format_number, ngettext
from chatshop.running import bot_running_on
from chatshop.servers import Server, bind_sites, start_server
from chatshop.services import Services, build_services
from chatshop.services.links import Links, territory_links
from chatshop.storage import Store, open_store
from chatshop.storage.postgres import shown
from chatshop.web.window import Window


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help, with its usage line in French."""

    def add_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                  groups: Iterable[argparse._MutuallyExclusiveGroup],
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """A parser (and each of its sub-commands') whose help is in French, and for which
    a wrong command line is one line on stderr and exit status 2, not the usage and an
    English error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs["add_help"] = False  # its own -h, below, says so in French
        super().__init__(*args, **kwargs)
        # argparse has no public way to name its two sections.
        self._positionals.title = _("arguments")
        self._optionals.title = _("options")
        self.add_argument("-h", "--help", action="help", help=_("show this help and exit"))

    def error(self, message: str) -> NoReturn:
        self.exit(2, "chatshop: " + _("invalid command line: {problem} (see « {prog} "
                                      "--help »)").format(problem=message, prog=self.prog)
                  + "\n")


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", metavar=_("FILE"),
                        help=_("SQLite file (default: CHATSHOP_DATABASE)"))


def _parser() -> argparse.ArgumentParser:
    """The command line; each sub-command's ``--help`` says what it does."""
    parser = _Parser(prog="chatshop", description=_(
        "Chat-commerce bot for the small shops of a French territory, on Telegram and "
        "WhatsApp."))
    parser.add_argument("--version", action="version", version=f"chatshop {__version__}",
                        help=_("show chatshop's version and exit"))
    commands = parser.add_subparsers(dest="command", title=_("commands"),
                                     metavar=_("COMMAND"))

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=description)

    _database_option(command("run", _("run the bot on Telegram and/or WhatsApp until it is "
                                      "stopped"), _(
        "Run the bot until SIGINT or SIGTERM: on Telegram when CHATSHOP_TELEGRAM_TOKEN is "
        "set (long polling, or a webhook with CHATSHOP_TELEGRAM_WEBHOOK_URL), on WhatsApp "
        "when the CHATSHOP_WHATSAPP_ settings are (a webhook). The database is migrated "
        "first.")))
    links = command("links", _("print the links of every shop and product (for posters "
                               "and posts)"), _(
        "Print the Telegram link of every shop and product, and its WhatsApp link when "
        "CHATSHOP_WHATSAPP_NUMBER is set, to put on posters and in posts."))
    _database_option(links)
    links.add_argument("--bot", metavar=_("NAME"), help=_(
        "the bot's username (default: asked from Telegram with CHATSHOP_TELEGRAM_TOKEN)"))
    digest = command("digest", _("the weekly digest: preview it, or send it now"), _(
        "The weekly digest of what is new in the shops: « preview » shows it, « send » "
        "sends it now."))
    actions = digest.add_subparsers(dest="action", required=True, title=_("actions"),
                                    metavar=_("ACTION"))
    _database_option(actions.add_parser(
        "preview", help=_("print this week's digest, without sending it"), description=_(
            "Print this week's digest for the whole territory, and how many subscribers "
            "have news in it. Nothing is sent.")))
    send = actions.add_parser("send", help=_("send this week's digest now"), description=_(
        "Send this week's digest now to the subscribers on each channel configured "
        "(Telegram, WhatsApp), with a progress bar and a report per channel. A digest "
        "already sent this week is sent again only with --force. Exits with status 1 "
        "while subscribers are still waiting (run it again to reach them)."))
    _database_option(send)
    send.add_argument("--force", action="store_true",
                      help=_("send again even if this week's digest went out already"))
    demo = command("demo", _("chat with a demo territory in the terminal (offline)"), _(
        "Chat in the terminal with a demo territory, offline: as a customer first, then "
        "as a shopkeeper or the operator if you like. Type a choice's number or its label "
        "to press it (where a number is asked for, a stock or a price, it is the "
        "answer); anything else is a message, as in a chat. Console commands: « !etre "
        "<person> » to become someone else (client, operateur, or a shop's owner such as "
        "espace-coiffure), who finds their last screen again, notifications included; "
        "« !photo <caption> » to send a photo (« !photo Savon lavande 6,50 € x12 » adds "
        "a product); « !fichier <path> » to send a file (a CSV of products); « !qui », "
        "« !tel <number> », « !aide ». Ctrl-D quits. Piped mode: lines piped on stdin "
        "(printf 'miel\\n1\\n' | chatshop demo) are handled in order and printed as a "
        "transcript, each line after who typed it (» [client] miel), then the replies, "
        "notifications with their addressee."))
    demo.add_argument("--database", metavar=_("FILE"),
                      help=_("SQLite file to keep (default: a temporary one)"))
    demo.add_argument("--no-start", action="store_true", help=_(
        "begin without the automatic /start: your first line is your first message, as "
        "on WhatsApp (e.g. « bonjour »)"))
    _database_option(command("seed-demo", _("load the demo territory into the database"), _(
        "Load the demo territory (its shops, products and hostings) into the database; "
        "if it is there already, nothing is changed.")))
    _database_option(command("migrate", _("create or upgrade the database, then print a "
                                          "summary"), _(
        "Create the database, or apply the migrations it lacks, then print its schema "
        "version and what the territory holds.")))
    window_commands.add_commands(command, _database_option)
    backup_commands.add_commands(command, _database_option)
    db_copy.add_command(command)
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
        subscribers = with_news = 0
        async for page in services.digest.compose_all():
            subscribers += len(page)
            with_news += sum(not share.empty for _subscriber, share in page)
        lines = [
            digest_text(news, settings.territory, limit=None) if not news.empty
            else _("Nothing new in the territory this week: the digest would be empty."),
            "",
            ngettext("{n} subscriber, {m} with news for them this week.",
                     "{n} subscribers, {m} with news for them this week.",
                     subscribers).format(n=format_number(subscribers),
                                         m=format_number(with_news))
            if subscribers else _("No subscriber yet."),
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


CHANNEL_NAMES: dict[Channel, str] = {"telegram": "Telegram", "whatsapp": "WhatsApp",
                                     "console": "console"}


def digest_report(channel: Channel, report: DigestReport) -> str:
    """One run's report in one line: sent, refused (and why), without news,
    unsubscribed meanwhile, failed (and why), still waiting."""
    failed = format_number(report.failed)
    if report.failures:
        failed += " (" + ", ".join(_("{n} × « {why} »").format(
            why=_shortened(why) or _("no reason given"), n=format_number(n))
            for why, n in report.failures) + ")"
    n = format_number
    return _("{channel}, news of week {week}: sent {sent}; refused {refused} (blocked the "
             "bot {blocked}, outside the 24-hour window {outside_window}); without news "
             "(not sent) {no_news}; unsubscribed meanwhile {unsubscribed}; failed "
             "{failed}; still waiting {pending}.").format(
        channel=CHANNEL_NAMES[channel], week=_week(report.week), sent=n(report.sent),
        refused=n(report.refused), blocked=n(report.blocked),
        outside_window=n(report.outside_window), no_news=n(report.no_news),
        unsubscribed=n(report.unsubscribed), failed=failed, pending=n(report.pending))


def _shortened(text: str, limit: int = 100) -> str:
    """A platform's error on one line, cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def still_waiting(count: int) -> str:
    """What to do when a sending ends with subscribers still waiting: one sentence."""
    return ngettext("{n} subscriber is still waiting for this week's news: run "
                    "« chatshop digest send » again to send it to them.",
                    "{n} subscribers are still waiting for this week's news: run "
                    "« chatshop digest send » again to send it to them.",
                    count).format(n=format_number(count))


async def _digest_send(settings: Settings, *, force: bool) -> tuple[str, int]:
    """This week's digest to every subscriber now, on each channel configured (Telegram,
    WhatsApp), with a progress bar; returns the report of each channel's runs and how
    many subscribers still wait (others being sent by another live sender, or not sent
    because this one was stopped)."""
    app = await start(settings)
    try:
        senders: list[tuple[Channel, Any]] = []
        if settings.telegram_token is not None or not settings.whatsapp_enabled:
            senders.append(("telegram", telegram_channel(app)))  # (says what is missing)
        if settings.whatsapp_enabled:
            senders.append(("whatsapp", whatsapp_channel(app)))
        lines: list[str] = []
        waiting = 0
        for name, sender in senders:
            digest = app.services.digest
            if await digest.start_week(name, forced=force) is None \
                    and not await digest.unfinished_runs(name):
                lines.append(_("This week's news (week {week}) has already been sent; "
                               "--force sends it again.").format(week=_week(digest.week())))
                continue
            reports = await _deliver_with(name, sender)
            print(file=sys.stderr)
            lines += [digest_report(name, report) for report in reports]
            waiting += sum(report.pending for report in reports)
        return "\n".join(lines), waiting
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
    async with bot_running_on(settings.database):  # (what « db copy » tests)
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
    """Every shop's and product's links: to the bot (``--bot``, else
    CHATSHOP_TELEGRAM_USERNAME, else asked from Telegram), on WhatsApp, on the web."""
    app = await start(settings)
    try:
        if bot is not None:
            app.links.telegram_bot = bot.lstrip("@")
        else:
            await learn_bot_username(app)  # (with a token: asked from Telegram)
        links = app.links
        if not (links.telegram_bot or links.whatsapp_number or links.public_url):
            raise ConfigError(_(
                "No link can be made: give the bot's name (--bot, or "
                "CHATSHOP_TELEGRAM_USERNAME, or CHATSHOP_TELEGRAM_TOKEN to ask Telegram), "
                "CHATSHOP_WHATSAPP_NUMBER or CHATSHOP_PUBLIC_URL."))
        return "\n".join(await territory_links(app.services, links))
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
        uncleaned = await app.services.images.uncleaned_count()
    finally:
        await app.close()
    applied = ngettext("{n} migration applied", "{n} migrations applied",
                       len(report.applied)).format(n=len(report.applied))
    lines = [
        _("Database {path}: schema version {version} ({applied}).").format(
            path=shown(settings.database), version=report.after, applied=applied),
        _("Territory {name}: {communes}, {shops}, {products}, {categories}.").format(
            name=settings.territory,
            communes=ngettext("{n} commune", "{n} communes", communes).format(n=communes),
            shops=ngettext("{n} shop", "{n} shops", shops).format(n=shops),
            products=ngettext("{n} product", "{n} products", products).format(n=products),
            categories=ngettext("{n} category", "{n} categories",
                                categories).format(n=categories),
        ),
    ]
    if uncleaned:
        lines.append(ngettext(
            "{n} photo kept before this version still carries its metadata (GPS "
            "included): run « chatshop photos fetch » to clean it.",
            "{n} photos kept before this version still carry their metadata (GPS "
            "included): run « chatshop photos fetch » to clean them.",
            uncleaned).format(n=uncleaned))
    return "\n".join(lines)


async def _open_demo(database: str, settings: Settings
                     ) -> tuple[Store, Services, list[DemoShop], bool]:
    """The store with the demo territory in it, its services, the demo's shops, and
    whether they were loaded now (False: they were there already)."""
    store = await open_store(database)
    try:
        clock = DemoClock()  # the real time, but for the demo's past weeks
        services = build_services(store, operators=settings.operator_ids | {DEMO_OPERATOR},
                                  clock=clock, tz=settings.tz)
        operator = await services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME)
        before = await store.shops.count()
        shops = await seed_demo(services, operator=services.customers.actor(operator),
                                history=clock, tz=settings.tz)
        loaded = await store.shops.count() != before
    except BaseException:
        await store.close()  # a demo loaded in part: its threads must end with the loop
        raise
    return store, services, shops, loaded


async def _seed_demo(settings: Settings) -> str:
    store, _services, shops, loaded = await _open_demo(settings.database, settings)
    await store.close()
    names = ", ".join(shop.name for shop in shops)
    if not loaded:
        return _("The demo territory is already in {path} ({shops}): nothing was "
                 "changed.").format(path=settings.database, shops=names)
    return _("Demo territory loaded into {path}: {shops}.").format(
        path=settings.database, shops=names)


async def _demo(settings: Settings, *, keep: str | None, no_start: bool = False) -> None:
    """A terminal chat on a fresh demo territory, as the customer first, with the
    territory's shop window served on 127.0.0.1 meanwhile."""
    with tempfile.TemporaryDirectory(prefix="chatshop-demo-") as folder:
        store, services, shops, _loaded = await _open_demo(keep or f"{folder}/demo.db",
                                                           settings)
        window_server = None
        try:
            links = Links(telegram_bot=settings.telegram_username or DEMO_BOT,
                          whatsapp_number=settings.whatsapp_number or DEMO_WHATSAPP)
            window_server = await _demo_window(services, settings, links)
            conversation = Conversation(services, territory=DEMO_TERRITORY,
                                        tz=settings.tz, links=links)
            identities = {"client": Identity(DEMO_CUSTOMER[1], DEMO_CUSTOMER_NAME),
                          "operateur": Identity(DEMO_OPERATOR[1], DEMO_OPERATOR_NAME)}
            for shop in shops:
                owner = await store.users.find(*shop.owner)
                identities[shop.owner[1]] = Identity(
                    shop.owner[1], owner.display_name if owner else shop.name)
            chat = ConsoleChat(handle=conversation.handle, out=sys.stdout,
                               identities=identities, current="client",
                               # Kept beside a database the demo keeps; else gone
                               # with the demo's temporary folder.
                               files_dir=(Path(keep).parent if keep else Path(folder))
                               / "fichiers",
                               tick=runtime_tick(Delivery(
                                   services, conversation,
                                   digest_pace=lambda: SlidingWindow(None))),
                               echo=not sys.stdin.isatty())
            print(_("chatshop demo — {territory}. You are Jeanne, a customer.").format(
                territory=DEMO_TERRITORY))
            print(_("Become a shopkeeper with « !etre espace-coiffure » (or {others}), the "
                    "operator with « !etre operateur », and come back with « !etre client ». "
                    "!aide lists the console commands; Ctrl-D quits.").format(
                others=", ".join(s.owner[1] for s in shops[1:])))
            if window_server is not None:
                print(_("🌐 The territory's shop window, while the demo runs: {address}/")
                      .format(address=window_server.address))
            print()
            if not no_start:
                await chat.line("/start")
            await run_console(chat, sys.stdin)
        finally:
            if window_server is not None:
                await window_server.stop()
                window_server.site.close()
            await store.close()


# The demo's links to the bot lead nowhere real: the demo has no bot. The WhatsApp
# number is in a range France keeps for fiction (06 39 98 xx xx).
DEMO_BOT = "ChatshopDemoBot"
DEMO_WHATSAPP = "33639980000"


async def _demo_window(services: Services, settings: Settings, links: Links) -> Server | None:
    """The demo's shop window on 127.0.0.1 (CHATSHOP_WEB_PORT, or any free port when it
    is taken); None, said in one line, when it cannot be served."""
    from chatshop.web.app import window_app

    for port in (settings.web_port, 0):
        try:
            (site,) = bind_sites(settings.model_copy(update={"web_host": "127.0.0.1",
                                                             "web_port": port}),
                                 {}, window=True)
            break
        except ConfigError as problem:
            failure = problem
    else:
        print(_("(The shop window is not served: {why})").format(why=failure))
        return None
    links.public_url = site.address
    window = Window(territory=DEMO_TERRITORY, tz=settings.tz, links=links)
    try:
        return await start_server(site, window_app(services, window))
    except BaseException:
        site.close()
        raise


def _unknown(variable: UnknownVariable) -> str:
    """The warning for a ``CHATSHOP_`` variable that is no setting (a typo, usually)."""
    if variable.file is None and variable.suggestion is not None:
        text = _("Unknown variable {name}: did you mean {suggestion}?")
    elif variable.file is None:
        text = _("Unknown variable {name}: it is ignored.")
    elif variable.suggestion is not None:
        text = _("Unknown variable {name} in {file}: did you mean {suggestion}?")
    else:
        text = _("Unknown variable {name} in {file}: it is ignored.")
    return text.format(name=variable.name, file=variable.file,
                       suggestion=variable.suggestion)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chatshop`` console script."""
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 0
    for line in unreadable_lines():  # and go on, as for a variable nobody reads
        print("chatshop: " + _("{file}, line {line}: cannot be read, ignored (a line is "
                               "written NAME=value).").format(file=ENV_FILE, line=line),
              file=sys.stderr)
    for variable in unknown_variables():
        print(f"chatshop: {_unknown(variable)}", file=sys.stderr)
    try:
        return _command(args)
    except KeyboardInterrupt:  # Ctrl-C: what was started has been closed
        return 130


def _command(args: argparse.Namespace) -> int:
    """Run the command of ``args``; a bad start is one line on stderr and status 2."""
    if args.command == "db":  # (its databases are on its command line, not in settings)
        return db_copy.run(args)
    try:
        # « --database "" » is refused like an empty CHATSHOP_DATABASE, not ignored.
        database = getattr(args, "database", None)
        overrides = {"database": database} if database is not None else {}
        settings = load_settings(**overrides, **window_commands.overrides(args))
    except ConfigError as exc:
        print(f"chatshop: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "migrate":
            print(asyncio.run(_migrate(settings)))
        elif args.command == "demo":
            asyncio.run(_demo(settings, keep=getattr(args, "database", None),
                              no_start=args.no_start))
        elif args.command == "seed-demo":
            print(asyncio.run(_seed_demo(settings)))
        elif args.command == "run":
            asyncio.run(_run(settings))
        elif args.command == "digest" and args.action == "preview":
            print(asyncio.run(_digest_preview(settings)))
        elif args.command == "digest":
            report, waiting = asyncio.run(_digest_send(settings, force=args.force))
            print(report)
            if waiting:
                print(f"chatshop: {still_waiting(waiting)}", file=sys.stderr)
                return 1
        elif args.command == "links":
            print(asyncio.run(_links(settings, args.bot)))
        elif args.command in ("web", "poster", "photos"):
            return window_commands.run(args, settings)
        elif args.command in ("backup", "restore"):
            print(backup_commands.run(args, settings))
    except (ConfigError, MigrationError, DemoIncomplete) as exc:
        print(f"chatshop: {exc}", file=sys.stderr)
        return 2
    except InvalidToken:
        print("chatshop: Telegram refuse le jeton CHATSHOP_TELEGRAM_TOKEN / Telegram rejected "
              "the token", file=sys.stderr)
        return 2
    except BadRequest as exc:  # (a NetworkError for python-telegram-bot) e.g. a bad webhook
        print(f"chatshop: Telegram refuse la demande / Telegram refused the request: {exc}",
              file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(f"chatshop: Telegram injoignable / cannot reach Telegram: {exc}",
              file=sys.stderr)
        return 2
    except TelegramError as exc:
        print(f"chatshop: Telegram refuse / Telegram refused: {exc}", file=sys.stderr)
        return 2
    except (sqlite3.Error, psycopg.Error, OSError) as exc:
        print(f"chatshop: base de données inutilisable / cannot use the database "
              f"{shown(settings.database)}: {exc}", file=sys.stderr)
        return 2
    return 0
