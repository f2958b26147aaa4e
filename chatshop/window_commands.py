"""The command line of the shop window and its printed matter: ``chatshop web`` (the
public pages alone, no token needed), ``chatshop poster`` (a shop's A4 poster, its shelf
labels, or the territory's poster, as PDF) and ``chatshop photos fetch`` (keep as images
the product photos that Telegram alone holds, so the window can show them).

The command line speaks English like the other commands; what it prints goes through
the same catalogue (French), and the PDFs are in French.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from chatshop.app import App, learn_bot_username, serve_window, start, telegram_channel
from chatshop.config import Settings
from chatshop.domain.codes import slugify
from chatshop.errors import ConfigError, DomainError, NotFound
from chatshop.i18n import _, ngettext
from chatshop.printing import Imprint
from chatshop.storage.postgres import is_postgresql
from chatshop.storage.store import sqlite_path

Command = Callable[[str, str, str], argparse.ArgumentParser]


def add_commands(command: Command,
                 database_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """``web``, ``poster`` and ``photos`` on the ``chatshop`` command line."""
    web = command("web", _("serve the public shop window alone (no bot token needed)"), _(
        "Serve the territory's public pages (shops, products, search, legal notice) on "
        "CHATSHOP_WEB_HOST:CHATSHOP_WEB_PORT until SIGINT or SIGTERM, without the bot. "
        "Links to the bot use CHATSHOP_TELEGRAM_USERNAME (or ask Telegram when "
        "CHATSHOP_TELEGRAM_TOKEN is set) and CHATSHOP_WHATSAPP_NUMBER; absolute "
        "addresses use CHATSHOP_PUBLIC_URL."))
    database_option(web)
    web.add_argument("--host", metavar=_("ADDRESS"),
                     help=_("address to listen on (default: CHATSHOP_WEB_HOST)"))
    web.add_argument("--port", metavar=_("PORT"), type=int,
                     help=_("port to listen on (default: CHATSHOP_WEB_PORT)"))
    poster = command("poster", _("write a shop's poster or shelf labels as a PDF"), _(
        "Write a shop's A4 poster for its window (its name, QR codes to reserve on "
        "Telegram, WhatsApp and the web, its opening hours), or with --labels an A4 sheet "
        "of shelf labels (each product's name, price and a QR code to it). Without a "
        "shop, the poster of the whole territory."))
    database_option(poster)
    poster.add_argument("shop", nargs="?", metavar=_("SHOP"), help=_(
        "the shop's slug, as in its link (e.g. espace-coiffure); none: the territory"))
    poster.add_argument("--labels", action="store_true",
                        help=_("the shelf labels of the shop's products instead"))
    poster.add_argument("--output", metavar=_("FILE"), help=_(
        "the PDF to write (default: affiche-<shop>.pdf or etiquettes-<shop>.pdf here)"))
    photos = command("photos", _("keep the products' photos as images for the window"), _(
        "« fetch »: clean the photos kept before this version (their metadata, GPS "
        "included, removed) and make their sizes for the window; with "
        "CHATSHOP_TELEGRAM_TOKEN, also download and keep the photos of products and "
        "shops that only Telegram holds."))
    actions = photos.add_subparsers(dest="action", required=True, title=_("actions"),
                                    metavar=_("ACTION"))
    database_option(actions.add_parser(
        "fetch", help=_("clean the photos kept before, and fetch those Telegram alone "
                        "holds"),
        description=_("Clean the photos kept before this version (their metadata, GPS "
                      "included, removed), and with CHATSHOP_TELEGRAM_TOKEN download "
                      "from Telegram the photos of products and shops that only "
                      "Telegram holds; keep them with their sizes for the window, and "
                      "print what was done.")))


def overrides(args: argparse.Namespace) -> dict[str, object]:
    """The settings a window command's options replace."""
    given: dict[str, object] = {}
    if getattr(args, "host", None) is not None:
        given["web_host"] = args.host
    if getattr(args, "port", None) is not None:
        given["web_port"] = args.port
    return given


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a window command; its output on stdout; a refusal raises ``ConfigError``."""
    try:
        return _run(args, settings)
    except DomainError as refusal:  # (an inactive shop has no poster...)
        raise ConfigError(refusal.message()) from None


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if (args.command in ("web", "poster") and not is_postgresql(settings.database)
            and not Path(sqlite_path(settings.database)).is_file()):
        # A mistyped --database would otherwise be created empty, and served as an
        # empty window.
        raise ConfigError(_("CHATSHOP_DATABASE: there is no database {path} (« chatshop "
                            "migrate » creates one, « chatshop seed-demo » loads the "
                            "demo).").format(path=settings.database))
    if args.command == "web" and not settings.web_enabled:
        raise ConfigError(_("CHATSHOP_WEB_ENABLED is false: the shop window is turned "
                            "off."))
    if args.command == "web":
        asyncio.run(_web(settings))
    elif args.command == "poster":
        print(asyncio.run(_poster(settings, args.shop, labels=args.labels,
                                  output=args.output)))
    elif args.command == "photos":
        print(asyncio.run(_photos_fetch(settings)))
    return 0


async def _web(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = await start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        await learn_bot_username(app)

        def started(address: str) -> None:
            print(_("The shop window is served on {address}/ (Ctrl-C stops it).").format(
                address=address), flush=True)
        await serve_window(app, stop, started=started)
    finally:
        await app.close()


async def _poster(settings: Settings, slug: str | None, *, labels: bool,
                  output: str | None) -> str:
    from chatshop.printing.posters import shelf_labels, shop_poster, territory_poster

    if labels and slug is None:
        raise ConfigError(_("--labels needs a shop: chatshop poster <shop> --labels"))
    app = await start(settings)
    try:
        await learn_bot_username(app)
        imprint = Imprint(territory=settings.territory, links=app.links,
                          clock=app.services.clock)
        if slug is None:
            data = await territory_poster(app.services, imprint)
            path = Path(output or f"affiche-{slugify(settings.territory)}.pdf")
            done = _("The territory's poster is written to {path}.").format(path=path)
        else:
            try:
                shop = await app.services.shops.by_slug(slug.strip().lower())
            except NotFound:
                raise ConfigError(_("No shop « {slug} »: `chatshop links` lists the shops "
                                    "with their slugs.").format(slug=slug)) from None
            if labels:
                data = await shelf_labels(app.services, imprint, shop.id)
                path = Path(output or f"etiquettes-{shop.slug}.pdf")
                done = _("The shelf labels of {shop} are written to {path}.").format(
                    shop=shop.name, path=path)
            else:
                data = await shop_poster(app.services, imprint, shop.id)
                path = Path(output or f"affiche-{shop.slug}.pdf")
                done = _("The poster of {shop} is written to {path}.").format(
                    shop=shop.name, path=path)
        try:
            path.write_bytes(data)
        except OSError as problem:
            why = {errno.ENOENT: _("its folder does not exist"),
                   errno.EACCES: _("permission denied"),
                   errno.EISDIR: _("it is a folder")}.get(problem.errno or 0,
                                                          str(problem.strerror or problem))
            raise ConfigError(_("Cannot write {path}: {why}").format(path=path, why=why)
                              ) from None
    finally:
        await app.close()
    missing = _missing_links(app)
    return "\n".join([done, *missing])


def _missing_links(app: App) -> list[str]:
    """What the printed codes lack, and which setting gives it."""
    lines = []
    if app.links.telegram_bot is None:
        lines.append(_("No Telegram code: set CHATSHOP_TELEGRAM_USERNAME (or "
                       "CHATSHOP_TELEGRAM_TOKEN)."))
    if app.links.whatsapp_number is None:
        lines.append(_("No WhatsApp code: set CHATSHOP_WHATSAPP_NUMBER."))
    if app.links.public_url is None:
        lines.append(_("No code to the web page: set CHATSHOP_PUBLIC_URL."))
    return lines


async def _photos_fetch(settings: Settings) -> str:
    """Clean the images kept before this version (no token needed), and with the token
    download and keep the photos only Telegram holds."""
    app = await start(settings)
    try:
        if settings.telegram_token is None:
            report = await app.services.images.backfill(None)
        else:
            channel = telegram_channel(app)
            await channel.application.initialize()
            try:
                bot = channel.bot

                async def download(file_id: str) -> bytes:
                    return bytes(await (await bot.get_file(file_id)).download_as_bytearray())

                report = await app.services.images.backfill(download)
            finally:
                await channel.application.shutdown()
    finally:
        await app.close()
    lines = []
    if report.fetched:
        lines.append(ngettext("{n} photo downloaded and kept.",
                              "{n} photos downloaded and kept.",
                              report.fetched).format(n=report.fetched))
    if report.sized:
        lines.append(ngettext("{n} photo kept before this version cleaned (its metadata, "
                              "GPS included, removed) and sized.",
                              "{n} photos kept before this version cleaned (their "
                              "metadata, GPS included, removed) and sized.",
                              report.sized).format(n=report.sized))
    if report.failed:
        lines.append(ngettext("{n} photo could not be fetched:",
                              "{n} photos could not be fetched:",
                              len(report.failed)).format(n=len(report.failed)))
        lines += [f"  {what}: {why}" for what, why in report.failed[:20]]
    if report.left:
        lines.append(ngettext("{n} photo only Telegram holds is left: set "
                              "CHATSHOP_TELEGRAM_TOKEN to download it.",
                              "{n} photos only Telegram holds are left: set "
                              "CHATSHOP_TELEGRAM_TOKEN to download them.",
                              report.left).format(n=report.left))
    if not lines:
        lines = [_("Every photo is kept already: nothing to do.")]
    return "\n".join(lines)
