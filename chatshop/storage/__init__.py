"""Persistence: the only package that writes SQL.

Services see the protocols of ``chatshop.storage.interface`` (``Store`` and its
repositories), which take and return domain models and raise domain errors. The other
modules implement them on SQLite with aiosqlite (``open_store`` returns a
``SqliteStore``); another engine could implement the same protocols without touching
services.
"""

from chatshop.storage.database import Database
from chatshop.storage.interface import Store
from chatshop.storage.migrations import MigrationReport, migrate
from chatshop.storage.store import SqliteStore, open_store

__all__ = ["Database", "MigrationReport", "SqliteStore", "Store", "migrate", "open_store"]
