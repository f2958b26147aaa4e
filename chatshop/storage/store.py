"""The ``Store``: every repository over one database, SQLite or PostgreSQL, and how to
open it (``CHATSHOP_DATABASE``: a file's path or ``sqlite:///path``, else
``postgresql://…``).

The repositories are the same classes on both engines: they talk to ``Connections``
(SQLite's ``Database``, or ``postgres.PostgresDatabase``), whose SQL the PostgreSQL side
translates (``postgres_sql``). What each engine does its own way is chosen here: the
digest senders' leases, the search and its vocabulary.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from chatshop.storage.alerts import SqliteAlertRepository
from chatshop.storage.catalogue import PostgresCatalogueRepository, SqliteCatalogueRepository
from chatshop.storage.channel_posts import SqliteChannelPostRepository
from chatshop.storage.conversations import SqliteConversationRepository
from chatshop.storage.database import Database
from chatshop.storage.day import SqliteDayRepository
from chatshop.storage.delivery import SqliteInboxRepository, SqliteOutboxRepository
from chatshop.storage.digest import SqliteDigestRepository
from chatshop.storage.figures import SqliteFiguresRepository
from chatshop.storage.interface import Store
from chatshop.storage.leases import (
    ChatLocks,
    Holder,
    InProcessChatLocks,
    Leases,
    OneProcessRoles,
    OwnSendBudget,
    Roles,
    SendBudget,
    leases_beside,
)
from chatshop.storage.media import SqliteMediaRepository
from chatshop.storage.migrations import MigrationReport, migrate
from chatshop.storage.orders import SqliteOrderRepository
from chatshop.storage.pickups import SqlitePickupRepository
from chatshop.storage.postgres import PostgresDatabase, is_postgresql
from chatshop.storage.postgres_leases import (
    PostgresChatLocks,
    PostgresLeases,
    PostgresRoles,
    PostgresSendBudget,
)
from chatshop.storage.postgres_migrations import migrate as migrate_postgresql
from chatshop.storage.postgres_search import PostgresSearchVocabulary
from chatshop.storage.search_index import IndexWords, SearchVocabulary, reindex
from chatshop.storage.shops import SqliteShopRepository
from chatshop.storage.sitemap import SqliteSitemapRepository
from chatshop.storage.unit_of_work import SqliteUnitOfWork
from chatshop.storage.users import SqliteUserRepository
from chatshop.storage.window import SqliteWindowRepository


class SqlStore:
    """The ``Store`` protocol on one database (``SqliteStore``, ``PostgresStore``)."""

    engine = "sqlite"

    def __init__(self, db: Any, migration: MigrationReport, leases: Leases) -> None:
        self.db = db
        self.migration = migration
        # Shared with the units of work: what they remember of this database (who
        # writes, their teams and conversation, shops: ``db.caches``) and hold (the
        # search words, the digest senders' leases).
        postgresql = db.engine == "postgresql"
        self._vocabulary: IndexWords = (PostgresSearchVocabulary(db) if postgresql
                                        else SearchVocabulary(db))
        self._leases = leases
        # This process, as the outbox's and the inbox's rows it holds name it.
        self._holder = Holder(leases)
        self.chat_locks: ChatLocks = InProcessChatLocks()
        self.roles: Roles = OneProcessRoles()
        self.send_budget: SendBudget = OwnSendBudget()
        self.users = SqliteUserRepository(db)
        self.shops = SqliteShopRepository(db)
        self.catalogue = (PostgresCatalogueRepository if postgresql
                          else SqliteCatalogueRepository)(db, self._vocabulary)
        self.orders = SqliteOrderRepository(db)
        self.conversations = SqliteConversationRepository(db)
        self.inbox = SqliteInboxRepository(db, self._holder)
        self.digest = SqliteDigestRepository(db, self._leases)
        self.outbox = SqliteOutboxRepository(db, self._holder)
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
            yield SqliteUnitOfWork(transaction, self._vocabulary, self._holder)

    def change_stamp(self) -> str:
        """See ``Database.change_stamp``."""
        stamp: str = self.db.change_stamp()
        return stamp

    async def close(self) -> None:
        try:
            await self.db.close()
        finally:
            self._holder.release()


class SqliteStore(SqlStore):
    """The ``Store`` protocol on one SQLite file."""

    db: Database

    def __init__(self, db: Database, migration: MigrationReport) -> None:
        super().__init__(db, migration, leases_beside(db.path))


class PostgresStore(SqlStore):
    """The ``Store`` protocol on one PostgreSQL database (one territory); the digest
    senders' leases are advisory locks, seen by every process on the database."""

    engine = "postgresql"
    db: PostgresDatabase

    def __init__(self, db: PostgresDatabase, migration: MigrationReport) -> None:
        self._postgres_leases = PostgresLeases(db.dsn)
        super().__init__(db, migration, self._postgres_leases)
        self._chat_locks = self.chat_locks = PostgresChatLocks(db.dsn)
        self._roles = self.roles = PostgresRoles(db.dsn)
        self._budget = self.send_budget = PostgresSendBudget(db.dsn)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._chat_locks.close()
            self._roles.close()
            self._budget.close()
            self._postgres_leases.close()


def sqlite_path(database: str | Path) -> Path:
    """The file of ``CHATSHOP_DATABASE`` when it names SQLite (a path, or
    ``sqlite:///path``)."""
    text = str(database)
    return Path(text.removeprefix("sqlite://")) if text.startswith("sqlite:///") else Path(text)


async def open_store(database: str | Path, migrations: Path | None = None) -> SqlStore:
    """Open the database, bring its schema up to date, and return the store."""
    if is_postgresql(str(database)):
        return await _open_postgresql(str(database), migrations)
    db = await Database.open(sqlite_path(database))
    try:
        report = await migrate(db.writer, migrations)
        await reindex(db)  # the search terms SQL cannot compute (see search_index.py)
    except BaseException:
        await db.close()
        raise
    store = SqliteStore(db, report)
    _conforms: Store = store  # mypy checks here that SqliteStore is a Store
    return store


async def _open_postgresql(dsn: str, migrations: Path | None) -> PostgresStore:
    report = await asyncio.to_thread(migrate_postgresql, dsn, migrations)
    db = await PostgresDatabase.open(dsn)
    try:
        await reindex(db)
    except BaseException:
        await db.close()
        raise
    store = PostgresStore(db, report)
    _conforms: Store = store
    return store
