"""Persistence: the only package that writes SQL.

Services see the protocols of ``chatshop.storage.interface`` (``Store`` and its
repositories), which take and return domain models and raise domain errors. The other
modules implement them on SQLite with aiosqlite (``open_store`` returns a
``SqliteStore``); another engine could implement the same protocols without touching
services. Writes that go together take one ``store.unit_of_work()``: the same
repositories on one transaction (``unit_of_work.py``, ``database.Transaction``), kept
only if committed; what this process caches (``caches.py``) forgets what a transaction
changed once it has committed.
"""

from chatshop.storage.database import Database
from chatshop.storage.interface import Store
from chatshop.storage.migrations import MigrationReport, migrate
from chatshop.storage.store import SqliteStore, open_store

__all__ = ["Database", "MigrationReport", "SqliteStore", "Store", "migrate", "open_store"]
