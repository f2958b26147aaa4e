"""The two sides of a copy of a territory (``chatshop db copy``), one per engine: a
database seen through a synchronous connection of its own (the copy runs in a thread),
that lists its tables and the tables each references, counts, reads and writes their
rows in batches, and checks its stock ledger and foreign keys. Every statement of a copy
is here; what a copy does with them is ``chatshop.storage.copying``.

SQLite's implicit ``rowid`` of a table without an ``INTEGER PRIMARY KEY`` is one of its
columns (PostgreSQL's ``rowid`` column where the schema has one).
"""

from __future__ import annotations

import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg

from chatshop.storage.copy_errors import CannotOpen
from chatshop.storage.postgres import is_postgresql
from chatshop.storage.postgres_migrations import schema_version

BATCH = 1000
SEEDED = frozenset({"categories"})
"""Tables a new database starts with rows in: they do not make a target « not empty »."""


def _skipped(table: str) -> bool:
    """Tables not copied: the search index (SQLite's FTS5 tables, PostgreSQL's table and
    its state, rebuilt on the target), the schema's version, SQLite's own tables."""
    return table.startswith(("product_search", "sqlite_")) or table == "chatshop_schema"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Side(ABC):
    """What both engines' sides share (``Side``: one database, through a synchronous
    connection; the copy runs in a thread)."""

    name = ""
    exists = True

    @abstractmethod
    def value(self, sql: str) -> Any: ...

    @abstractmethod
    def execute(self, sql: str) -> None: ...

    @abstractmethod
    def tables(self) -> list[str]: ...

    def count(self, table: str) -> int:
        return int(self.value(f"SELECT count(*) FROM {_quoted(table)}"))

    def copied_tables(self) -> list[str]:
        return [t for t in self.tables() if not _skipped(t)]

    def holds_data(self) -> bool:
        return any(self.count(t) for t in self.copied_tables() if t not in SEEDED)

    def ledger_mismatches(self) -> int:
        """Products whose stock on hand is not the sum of their ledger's moves."""
        return int(self.value(
            "SELECT count(*) FROM products p WHERE p.on_hand <> (SELECT COALESCE(SUM("
            "m.delta), 0) FROM stock_movements m WHERE m.product_id = p.id)"))

    def stale_search(self) -> None:
        """Empty the search index and mark it stale: opening the database rebuilds it."""
        self.execute("DELETE FROM product_search")
        self.execute("UPDATE product_search_state SET terms_version = 0,"
                     " changes = changes + 1")


class SqliteSide(_Side):
    engine = "sqlite"

    def __init__(self, database: str) -> None:
        text = database.removeprefix("sqlite://") if database.startswith("sqlite:///") \
            else database
        self.path = Path(text)
        self.name = database
        self.exists = self.path.is_file()
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, isolation_level=None,
                                         check_same_thread=False)  # (threads in turn)
            self._conn.execute("PRAGMA busy_timeout = 5000")
        return self._conn

    def identity(self) -> tuple[Any, ...]:
        return ("sqlite", os.path.realpath(self.path))

    def value(self, sql: str) -> Any:
        row = self.conn.execute(sql).fetchone()
        return row[0] if row else None

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def version(self) -> int:
        return int(self.value("PRAGMA user_version")) if self.exists else 0

    def tables(self) -> list[str]:
        if not self.exists:
            return []
        return [str(r[0]) for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]

    def references(self) -> dict[str, set[str]]:
        return {t: {str(r[2]) for r in self.conn.execute(
            f"PRAGMA foreign_key_list({_quoted(t)})")} for t in self.copied_tables()}

    def columns(self, table: str) -> list[str]:
        info = list(self.conn.execute(f"PRAGMA table_info({_quoted(table)})"))
        names = [str(r[1]) for r in info]
        keys = [r for r in info if r[5]]
        aliased = len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER"
        if not aliased and "rowid" not in names:
            try:  # a rowid table: its row numbers travel too (WITHOUT ROWID has none)
                self.conn.execute(f"SELECT rowid FROM {_quoted(table)} LIMIT 0")
                names.append("rowid")
            except sqlite3.OperationalError:
                pass
        return names

    def begin_read(self) -> None:
        self.conn.execute("BEGIN")  # one snapshot for every table (WAL)

    def begin_write(self) -> None:
        self.conn.execute("PRAGMA foreign_keys = OFF")  # checked at the end instead
        self.conn.execute("BEGIN IMMEDIATE")

    def rows(self, table: str, columns: Sequence[str]) -> Iterator[list[tuple[Any, ...]]]:
        cursor = self.conn.execute(
            f"SELECT {', '.join(map(_quoted, columns))} FROM {_quoted(table)}")
        while batch := cursor.fetchmany(BATCH):
            yield batch

    def insert(self, table: str, columns: Sequence[str],
               rows: Sequence[tuple[Any, ...]]) -> None:
        self.conn.executemany(
            f"INSERT INTO {_quoted(table)} ({', '.join(map(_quoted, columns))})"
            f" VALUES ({', '.join('?' * len(columns))})", rows)

    def empty(self, tables: Sequence[str]) -> None:
        for table in reversed(tables):
            self.conn.execute(f"DELETE FROM {_quoted(table)}")

    def identities(self) -> None:
        pass  # SQLite's next id is past the largest by itself

    def problems(self) -> list[str]:
        """The tables with a row whose foreign key finds no row."""
        broken = self.conn.execute("PRAGMA foreign_key_check").fetchall()
        return sorted({str(r[0]) for r in broken})

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PostgresSide(_Side):
    engine = "postgresql"

    def __init__(self, database: str) -> None:
        self.name = database
        self.exists = True
        try:
            self.conn: psycopg.Connection[Any] = psycopg.Connection.connect(
                database, autocommit=True)
        except psycopg.Error as why:
            raise CannotOpen(database, " ".join(str(why).split())) from why

    def identity(self) -> tuple[Any, ...]:
        row = self.conn.execute("SELECT inet_server_addr()::text, inet_server_port(),"
                                " current_database()").fetchone()
        return ("postgresql", *(row or ()))

    def value(self, sql: str) -> Any:
        row = self.conn.execute(sql.encode()).fetchone()
        return row[0] if row else None

    def execute(self, sql: str) -> None:
        self.conn.execute(sql.encode())

    def version(self) -> int:
        return schema_version(self.conn)

    def tables(self) -> list[str]:
        return [str(r[0]) for r in self.conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " ORDER BY 1")]

    def references(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {t: set() for t in self.copied_tables()}
        for table, referenced in self.conn.execute(
                "SELECT c.relname, r.relname FROM pg_constraint k"
                " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid"
                " WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace"):
            found.setdefault(str(table), set()).add(str(referenced))
        return found

    def columns(self, table: str) -> list[str]:
        return [str(r[0]) for r in self.conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", (_quoted(table),))]

    def begin_read(self) -> None:
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def begin_write(self) -> None:
        self.conn.execute("BEGIN")

    def rows(self, table: str, columns: Sequence[str]) -> Iterator[list[tuple[Any, ...]]]:
        with self.conn.cursor(name=f"copy_{table}") as cursor:
            cursor.execute(
                f"SELECT {', '.join(map(_quoted, columns))} FROM {_quoted(table)}".encode())
            while batch := cursor.fetchmany(BATCH):
                yield batch

    def insert(self, table: str, columns: Sequence[str],
               rows: Sequence[tuple[Any, ...]]) -> None:
        # COPY writes the ids given into identity columns, even GENERATED ALWAYS ones
        # (no OVERRIDING SYSTEM VALUE needed), and is PostgreSQL's quickest way in.
        statement = f"COPY {_quoted(table)} ({', '.join(map(_quoted, columns))}) FROM STDIN"
        with self.conn.cursor() as cursor, cursor.copy(statement.encode()) as copy:
            for row in rows:
                copy.write_row(row)

    def empty(self, tables: Sequence[str]) -> None:
        self.conn.execute(f"TRUNCATE {', '.join(map(_quoted, tables))}".encode())

    def identities(self) -> None:
        """Each identity's next value past the largest id copied."""
        for table, column in self.conn.execute(
                "SELECT c.relname, a.attname FROM pg_attribute a"
                " JOIN pg_class c ON c.oid = a.attrelid WHERE a.attidentity <> ''"
                " AND c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace"
        ).fetchall():
            if _skipped(str(table)):
                continue
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), (SELECT COALESCE(max("
                f"{_quoted(column)}), 0) + 1 FROM {_quoted(table)}), false)".encode(),
                (_quoted(table), column))

    def problems(self) -> list[str]:
        return []  # PostgreSQL checked each foreign key as the rows came

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


Side = SqliteSide | PostgresSide


def open_side(database: str) -> Side:
    """The side of ``database`` (``CannotOpen`` when PostgreSQL's cannot be reached)."""
    return PostgresSide(database) if is_postgresql(database) else SqliteSide(database)
