"""The ``chatshop`` command: ``chatshop migrate`` brings the database up to date.

Configuration and migration problems end the command with one line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from collections.abc import Sequence

from chatshop import __version__
from chatshop.app import start
from chatshop.config import Settings, load_settings
from chatshop.errors import ConfigError, MigrationError
from chatshop.i18n import _, ngettext


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
    return parser


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
    except MigrationError as exc:
        print(f"chatshop: {exc}", file=sys.stderr)
        return 2
    except (sqlite3.Error, OSError) as exc:
        print(f"chatshop: base de données inutilisable / cannot use the database "
              f"{settings.database}: {exc}", file=sys.stderr)
        return 2
    return 0
