"""Persistence on SQLite: the only package that writes SQL.

Services see ``Store`` and its repositories, which take and return domain models and
raise domain errors; no SQL or sqlite type crosses this boundary, so another engine
(PostgreSQL) could implement the same repositories without touching services.
"""

from chatshop.storage.database import Database
from chatshop.storage.migrations import MigrationReport, migrate
from chatshop.storage.store import Store, open_store

__all__ = ["Database", "MigrationReport", "Store", "migrate", "open_store"]
