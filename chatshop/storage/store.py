"""The SQLite ``Store``: every repository over one database, and how to open it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from chatshop.storage.alerts import SqliteAlertRepository
from chatshop.storage.catalogue import SqliteCatalogueRepository
from chatshop.storage.channel_posts import SqliteChannelPostRepository
from chatshop.storage.conversations import SqliteConversationRepository
from chatshop.storage.database import Database
from chatshop.storage.day import SqliteDayRepository
from chatshop.storage.delivery import SqliteInboxRepository, SqliteOutboxRepository
from chatshop.storage.digest import SqliteDigestRepository
from chatshop.storage.figures import SqliteFiguresRepository
from chatshop.storage.interface import Store
from chatshop.storage.leases import leases_beside
from chatshop.storage.media import SqliteMediaRepository
from chatshop.storage.migrations import MigrationReport, migrate
from chatshop.storage.orders import SqliteOrderRepository
from chatshop.storage.pickups import SqlitePickupRepository
from chatshop.storage.search_index import SearchVocabulary, reindex
from chatshop.storage.shops import SqliteShopRepository
from chatshop.storage.sitemap import SqliteSitemapRepository
from chatshop.storage.unit_of_work import SqliteUnitOfWork
from chatshop.storage.users import SqliteUserRepository
from chatshop.storage.window import SqliteWindowRepository


class SqliteStore:
    """The ``Store`` protocol on one SQLite file."""

    def __init__(self, db: Database, migration: MigrationReport) -> None:
        self.db = db
        self.migration = migration
        # Shared with the units of work: what they remember of this database (who
        # writes, their teams and conversation, shops: ``db.caches``) and hold (the
        # search words, the digest senders' leases).
        self._vocabulary = SearchVocabulary(db)
        self._leases = leases_beside(db.path)
        self.users = SqliteUserRepository(db)
        self.shops = SqliteShopRepository(db)
        self.catalogue = SqliteCatalogueRepository(db, self._vocabulary)
        self.orders = SqliteOrderRepository(db)
        self.conversations = SqliteConversationRepository(db)
        self.inbox = SqliteInboxRepository(db)
        self.digest = SqliteDigestRepository(db, self._leases)
        self.outbox = SqliteOutboxRepository(db)
        self.channel_posts = SqliteChannelPostRepository(db)
        self.sitemap = SqliteSitemapRepository(db)
        self.media = SqliteMediaRepository(db)
        self.alerts = SqliteAlertRepository(db)
        self.pickups = SqlitePickupRepository(db)
        self.day = SqliteDayRepository(db)
        self.figures = SqliteFiguresRepository(db)
        self.window = SqliteWindowRepository(db)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqliteUnitOfWork]:
        """Every repository on one transaction, rolled back unless committed."""
        async with self.db.transaction() as transaction:
            yield SqliteUnitOfWork(transaction, self._vocabulary, self._leases)

    def change_stamp(self) -> str:
        """See ``Database.change_stamp``."""
        return self.db.change_stamp()

    async def close(self) -> None:
        await self.db.close()


async def open_store(path: str | Path, migrations: Path | None = None) -> SqliteStore:
    """Open the database, bring its schema up to date, and return the store."""
    db = await Database.open(path)
    try:
        report = await migrate(db.writer, migrations)
        await reindex(db)  # the search terms SQL cannot compute (see search_index.py)
    except BaseException:
        await db.close()
        raise
    store = SqliteStore(db, report)
    _conforms: Store = store  # mypy checks here that SqliteStore is a Store
    return store
