"""The SQLite unit of work: every repository on one transaction of the writer.

``async with store.unit_of_work() as uow:`` lends the same repository classes as the
store, bound to a ``Transaction`` (``storage/database.py``) instead of the ``Database``:
what they write is one ``BEGIN IMMEDIATE`` transaction, rolled back unless
``await uow.commit()`` is reached (and on any exception), and what they read sees what
the unit wrote. The caches forget what the unit changed once it has committed.
"""

from __future__ import annotations

from chatshop.storage.alerts import SqliteAlertRepository
from chatshop.storage.catalogue import PostgresCatalogueRepository, SqliteCatalogueRepository
from chatshop.storage.channel_posts import SqliteChannelPostRepository
from chatshop.storage.conversations import SqliteConversationRepository
from chatshop.storage.database import Transaction
from chatshop.storage.day import SqliteDayRepository
from chatshop.storage.delivery import SqliteInboxRepository, SqliteOutboxRepository
from chatshop.storage.digest import SqliteDigestRepository
from chatshop.storage.figures import SqliteFiguresRepository
from chatshop.storage.leases import Holder
from chatshop.storage.media import SqliteMediaRepository
from chatshop.storage.orders import SqliteOrderRepository
from chatshop.storage.pickups import SqlitePickupRepository
from chatshop.storage.search_index import IndexWords
from chatshop.storage.shops import SqliteShopRepository
from chatshop.storage.users import SqliteUserRepository


class SqliteUnitOfWork:
    """The ``UnitOfWork`` protocol on one SQLite transaction."""

    def __init__(self, db: Transaction, vocabulary: IndexWords, holder: Holder) -> None:
        postgresql = db.engine == "postgresql"
        self.db = db
        self.users = SqliteUserRepository(db)
        self.shops = SqliteShopRepository(db)
        self.catalogue = (PostgresCatalogueRepository if postgresql
                          else SqliteCatalogueRepository)(db, vocabulary)
        self.orders = SqliteOrderRepository(db)
        self.conversations = SqliteConversationRepository(db)
        self.inbox = SqliteInboxRepository(db, holder)
        self.outbox = SqliteOutboxRepository(db, holder)
        self.channel_posts = SqliteChannelPostRepository(db)
        self.media = SqliteMediaRepository(db)
        self.alerts = SqliteAlertRepository(db)
        self.pickups = SqlitePickupRepository(db)
        self.day = SqliteDayRepository(db)
        self.figures = SqliteFiguresRepository(db)
        self.digest = SqliteDigestRepository(db, holder.leases)

    async def commit(self) -> None:
        """Keep everything the unit did; the caches then forget what it changed."""
        await self.db.commit()

    async def rollback(self) -> None:
        """Undo everything the unit did (also what leaving the block uncommitted does)."""
        await self.db.rollback()

    def touched(self, *user_ids: int | None) -> None:
        """These people's rows or teams changed: forgotten by the caches on commit."""
        self.db.touched(*user_ids)
