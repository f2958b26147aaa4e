"""Why a copy of a territory (``chatshop db copy``) was not done, or was cancelled with
the target as it was: the facts, each as an exception of its own, that the command words
in French (``chatshop.db_copy``). Nothing here is said to a user as it is.

::

    CopyRefused
    ├── CannotOpen          a database cannot be opened (its driver's words)
    ├── TargetFolderMissing the folder of a SQLite target does not exist
    ├── SourceMissing       the source database does not exist
    ├── SameDatabase        the source and the target are one database
    ├── NotChatshop         a database is no chatshop database
    ├── NewerSchema         a database's schema is newer than this chatshop's
    ├── OlderSource         the source's schema is older than this chatshop's
    ├── TargetNotEmpty      the target holds data, and no ``--force``
    ├── TablesDiffer        tables (or a table's columns) of one side not on the other
    ├── CopyFailed          the database refused a statement during the copy
    ├── RowsDiffer          the row counts (or the foreign keys) differ after the copy
    └── LedgerOff           products' stock is not what their ledger says on the target
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import psycopg

DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
"""What either engine's driver raises (for a command to catch without naming them)."""


class CopyRefused(Exception):
    """A copy not done, or cancelled (nothing written): the facts in its attributes."""


class CannotOpen(CopyRefused):
    def __init__(self, database: str, why: str) -> None:
        super().__init__(database, why)
        self.database = database
        self.why = why


class TargetFolderMissing(CopyRefused):
    def __init__(self, database: str, folder: str) -> None:
        super().__init__(database, folder)
        self.database = database
        self.folder = folder


class SourceMissing(CopyRefused):
    def __init__(self, database: str) -> None:
        super().__init__(database)
        self.database = database


class SameDatabase(CopyRefused):
    def __init__(self, database: str) -> None:
        super().__init__(database)
        self.database = database


class NotChatshop(CopyRefused):
    def __init__(self, database: str) -> None:
        super().__init__(database)
        self.database = database


class NewerSchema(CopyRefused):
    def __init__(self, database: str, version: int, newest: int) -> None:
        super().__init__(database, version, newest)
        self.database = database
        self.version = version
        self.newest = newest


class OlderSource(CopyRefused):
    def __init__(self, database: str, version: int, newest: int) -> None:
        super().__init__(database, version, newest)
        self.database = database
        self.version = version
        self.newest = newest


class TargetNotEmpty(CopyRefused):
    def __init__(self, database: str) -> None:
        super().__init__(database)
        self.database = database


class TablesDiffer(CopyRefused):
    """``tables``: the source's tables the target lacks, or, with ``table``, that
    table's columns the source lacks."""

    def __init__(self, tables: Sequence[str], table: str | None = None) -> None:
        super().__init__(tuple(tables), table)
        self.tables = tuple(tables)
        self.table = table


class CopyFailed(CopyRefused):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class RowsDiffer(CopyRefused):
    """``tables``: those whose row counts differ, or those with a broken foreign key."""

    def __init__(self, tables: Sequence[str]) -> None:
        super().__init__(tuple(tables))
        self.tables = tuple(tables)


class LedgerOff(CopyRefused):
    """``products``: how many products' stock is off their ledger on the target (not as
    many as at the source)."""

    def __init__(self, products: int) -> None:
        super().__init__(products)
        self.products = products
