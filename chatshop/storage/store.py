"""The ``Store``: every repository over one database, and how to open it."""

from __future__ import annotations

from pathlib import Path

from chatshop.storage.catalogue import CatalogueRepository
from chatshop.storage.database import Database
from chatshop.storage.migrations import MigrationReport, migrate
from chatshop.storage.orders import OrderRepository
from chatshop.storage.shops import ShopRepository
from chatshop.storage.users import UserRepository


class Store:
    """The persistence services use: one repository per aggregate."""

    def __init__(self, db: Database, migration: MigrationReport) -> None:
        self.db = db
        self.migration = migration
        self.users = UserRepository(db)
        self.shops = ShopRepository(db)
        self.catalogue = CatalogueRepository(db)
        self.orders = OrderRepository(db)

    async def close(self) -> None:
        await self.db.close()


async def open_store(path: str | Path, migrations: Path | None = None) -> Store:
    """Open the database, bring its schema up to date, and return the store."""
    db = await Database.open(path)
    try:
        report = await migrate(db.writer, migrations)
    except BaseException:
        await db.close()
        raise
    return Store(db, report)
