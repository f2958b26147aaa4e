"""The SQLite ``Store``: every repository over one database, and how to open it."""

from __future__ import annotations

from pathlib import Path

from chatshop.storage.catalogue import SqliteCatalogueRepository
from chatshop.storage.conversations import RecentSessions, SqliteConversationRepository
from chatshop.storage.database import Database
from chatshop.storage.delivery import SqliteInboxRepository, SqliteOutboxRepository
from chatshop.storage.digest import SqliteDigestRepository
from chatshop.storage.interface import Store
from chatshop.storage.migrations import MigrationReport, migrate
from chatshop.storage.orders import SqliteOrderRepository
from chatshop.storage.search_index import reindex
from chatshop.storage.shops import SqliteShopRepository
from chatshop.storage.users import SqliteUserRepository


class SqliteStore:
    """The ``Store`` protocol on one SQLite file."""

    def __init__(self, db: Database, migration: MigrationReport) -> None:
        self.db = db
        self.migration = migration
        # Who writes, their teams and conversation: read on every event, remembered a
        # few seconds, forgotten by every write to them (see RecentSessions).
        sessions = RecentSessions()
        self.users = SqliteUserRepository(db, sessions)
        self.shops = SqliteShopRepository(db, sessions)
        self.catalogue = SqliteCatalogueRepository(db)
        self.orders = SqliteOrderRepository(db)
        self.conversations = SqliteConversationRepository(db, sessions)
        self.inbox = SqliteInboxRepository(db)
        self.digest = SqliteDigestRepository(db)
        self.outbox = SqliteOutboxRepository(db)

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
