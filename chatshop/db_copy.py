"""``chatshop db copy --from SOURCE --to TARGET [--force]``: a territory moved from one
database to another, SQLite or PostgreSQL either side (issue #14, « Moving a territory »).

Nothing is done, and one line says why (exit status 1), when the source is missing or no
chatshop database, when both name the same database, when the source's schema is not
this chatshop's newest, when ``chatshop run`` runs on either (``chatshop.running``), or
when the target holds data (any row but the categories a new database starts with)
without ``--force``, which empties it first: a copy stopped halfway is run again with
``--force``.

The target is migrated to the newest schema, then filled in one transaction: every
table in the order of its foreign keys (read from the target's schema), in batches, ids
kept (PostgreSQL's identity sequences set past the largest id afterwards), BLOBs as
bytes, with a progress line per table. SQLite's implicit ``rowid`` of a table without an
``INTEGER PRIMARY KEY`` travels as PostgreSQL's ``rowid`` column where the schema has one
(``reservation_lines``: the order of a reservation's lines). The search index is not
copied: the target's is emptied and marked stale (``terms_version = 0``), and rebuilt by
opening the target. Before the commit the row counts of every table are compared, and
the stock ledger checked on the target (each product's ``on_hand`` is the sum of its
``stock_movements``, as ``record_movement`` keeps it); a difference cancels the copy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from chatshop.errors import MigrationError
from chatshop.i18n import _, format_number, ngettext
from chatshop.running import BotRunning, bot_is_running, copying
from chatshop.storage import open_store
from chatshop.storage.migrations import discover
from chatshop.storage.postgres import is_postgresql, shown
from chatshop.storage.postgres_migrations import schema_version

BATCH = 1000
SEEDED = frozenset({"categories"})
"""Tables a new database starts with rows in: they do not make a target « not empty »."""

Progress = Callable[[str, int, int], None]
"""Told (table, rows copied, rows in all) after each batch."""


class Refused(Exception):
    """Why the copy was not done (or was cancelled): one French line."""


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

    def problems(self) -> str | None:
        broken = self.conn.execute("PRAGMA foreign_key_check").fetchall()
        return None if not broken else ", ".join(sorted({str(r[0]) for r in broken}))

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
            raise Refused(_("cannot open the database {database}: {why}").format(
                database=shown(database), why=" ".join(str(why).split()))) from why

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

    def problems(self) -> str | None:
        return None  # PostgreSQL checked each foreign key as the rows came

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


Side = SqliteSide | PostgresSide


def open_side(database: str) -> Side:
    return PostgresSide(database) if is_postgresql(database) else SqliteSide(database)


def foreign_key_order(references: dict[str, set[str]]) -> list[str]:
    """The tables, each after those it references (alphabetical among equals)."""
    order: list[str] = []
    placed: set[str] = set()
    waiting = dict(references)
    while waiting:
        ready = sorted(t for t, refs in waiting.items() if refs - {t} <= placed)
        if not ready:
            raise ValueError(f"foreign keys in a circle: {', '.join(sorted(waiting))}")
        for table in ready:
            order.append(table)
            placed.add(table)
            del waiting[table]
    return order


@dataclass
class Report:
    """What a copy did: the rows of each table copied, the products whose stock is what
    their ledger says, and those whose stock was already not so at the source (copied
    as they were)."""

    counts: dict[str, int] = field(default_factory=dict)
    products: int = 0
    ledger_off_at_source: int = 0


def newest_version() -> int:
    return len(discover())


def check(source: Side, target: Side, *, force: bool) -> None:
    """Raise ``Refused`` unless the copy may go ahead (nothing is written here)."""
    if not source.exists:
        raise Refused(_("the source database {database} does not exist").format(
            database=shown(source.name)))
    if source.identity() == target.identity():
        raise Refused(_("the source and the target are the same database ({database})")
                      .format(database=shown(source.name)))
    newest = newest_version()
    try:
        version = source.version()
        tables = source.tables()
    except (sqlite3.Error, psycopg.Error) as why:
        raise Refused(_("{database} is not a chatshop database").format(
            database=shown(source.name))) from why
    if version == 0 or "shops" not in tables:
        raise Refused(_("{database} is not a chatshop database").format(
            database=shown(source.name)))
    if version > newest:
        raise Refused(_newer(source, version, newest))
    if version < newest:
        raise Refused(_(
            "the source {database} is at schema version {version}, this chatshop's is "
            "{newest}: run « chatshop migrate --database {database} » on it first").format(
            database=shown(source.name), version=version, newest=newest))
    for side in (source, target):
        if side.exists and bot_is_running(side.name):
            raise Refused(_running(side.name))
    try:
        version = target.version()
        tables = target.tables()
    except (sqlite3.Error, psycopg.Error) as why:
        raise Refused(_("{database} is not a chatshop database").format(
            database=shown(target.name))) from why
    if version > newest:
        raise Refused(_newer(target, version, newest))
    if version == 0 and tables:
        raise Refused(_("{database} is not a chatshop database").format(
            database=shown(target.name)))
    if version and not force and target.holds_data():
        raise Refused(_("the target {database} is not empty: --force empties it before "
                        "the copy").format(database=shown(target.name)))
    if isinstance(target, SqliteSide) and not target.path.parent.is_dir():
        raise Refused(_("cannot open the database {database}: {why}").format(
            database=shown(target.name), why=_("no folder {folder}").format(
                folder=target.path.parent)))


def _running(database: str) -> str:
    return _("the bot is running on {database}: stop « chatshop run » there first"
             ).format(database=shown(database))


def _newer(side: Side, version: int, newest: int) -> str:
    return _("{database} is at schema version {version}, newer than this chatshop (which "
             "knows up to {newest}): upgrade chatshop first").format(
        database=shown(side.name), version=version, newest=newest)


def copy_rows(source: Side, target: Side, progress: Progress) -> Report:
    """Every table from ``source`` into ``target`` (migrated) in one transaction, with
    the checks before the commit; ``Refused`` (and nothing written) when one fails."""
    order = foreign_key_order(target.references())
    missing = sorted(set(source.copied_tables()) - set(order))
    if missing:
        raise Refused(_("the tables of the two databases differ ({tables}): both must be "
                        "at the same schema version").format(tables=", ".join(missing)))
    report = Report()
    source.begin_read()
    target.begin_write()
    try:
        target.empty(order)
        for table in order:
            wanted = target.columns(table)
            available = source.columns(table)
            absent = [c for c in wanted if c not in available and c != "rowid"]
            if absent:
                raise Refused(_("the tables of the two databases differ ({tables}): both "
                                "must be at the same schema version").format(
                    tables=f"{table}.{', '.join(absent)}"))
            columns = [c for c in wanted if c in available]
            total = source.count(table)
            copied = 0
            progress(table, copied, total)
            for batch in source.rows(table, columns):
                target.insert(table, columns, batch)
                copied += len(batch)
                progress(table, copied, total)
            report.counts[table] = total
        target.identities()
        target.stale_search()
        _verify(source, target, report)
        target.commit()
    except (sqlite3.Error, psycopg.Error) as why:
        target.rollback()
        raise Refused(_("the copy failed and was cancelled, the target is as it was: "
                        "{why}").format(why=" ".join(str(why).split()))) from why
    except BaseException:
        target.rollback()
        raise
    finally:
        source.rollback()
    return report


def _verify(source: Side, target: Side, report: Report) -> None:
    """The row counts of both sides, the foreign keys and the ledger on the target."""
    differ = [t for t, n in report.counts.items() if target.count(t) != n]
    broken = target.problems()
    if differ or broken:
        raise Refused(_("the copy was cancelled, the target is as it was: the rows differ "
                        "in {tables}").format(tables=", ".join(differ or [broken or ""])))
    off = target.ledger_mismatches()
    report.products = report.counts.get("products", 0) - off
    if off:
        report.ledger_off_at_source = source.ledger_mismatches()
        if report.ledger_off_at_source != off:
            raise Refused(ngettext(
                "the copy was cancelled, the target is as it was: the stock of {n} product "
                "is not what its ledger says",
                "the copy was cancelled, the target is as it was: the stock of {n} products "
                "is not what their ledger says", off).format(n=format_number(off)))


async def copy_database(source_name: str, target_name: str, *, force: bool = False,
                        progress: Progress | None = None) -> Report:
    """Copy the territory of ``source_name`` into ``target_name`` (see the module)."""
    tell = progress or (lambda table, copied, total: None)
    source = await asyncio.to_thread(open_side, source_name)
    try:
        target = await asyncio.to_thread(open_side, target_name)
        try:
            await asyncio.to_thread(check, source, target, force=force)
            held = [side.name for side in (source, target) if side.exists]
            target.close()
            try:
                with copying(*held):  # no bot starts on either meanwhile
                    store = await open_store(target_name)  # migrated by chatshop itself
                    await store.close()
                    target = await asyncio.to_thread(open_side, target_name)
                    report = await asyncio.to_thread(copy_rows, source, target, tell)
            except BotRunning as why:  # started since the test
                raise Refused(_running(str(why.args[0]))) from why
        finally:
            target.close()
    finally:
        source.close()
    await (await open_store(target_name)).close()  # which rebuilds the search index
    return report


def summary(source: str, target: str, report: Report) -> str:
    rows = sum(report.counts.values())
    lines = [_("Copied from {source} to {target}: {tables}, {rows}; the same number of "
               "rows on both sides, and the stock ledger adds up for {products}.").format(
        source=shown(source), target=shown(target),
        tables=ngettext("{n} table", "{n} tables", len(report.counts)).format(
            n=format_number(len(report.counts))),
        rows=ngettext("{n} row", "{n} rows", rows).format(n=format_number(rows)),
        products=ngettext("{n} product", "{n} products", report.products).format(
            n=format_number(report.products)))]
    if report.ledger_off_at_source:
        lines.append(ngettext(
            "Warning: the stock of {n} product was already not what its ledger says on "
            "the source; it is copied as it was.",
            "Warning: the stock of {n} products was already not what their ledger says "
            "on the source; they are copied as they were.",
            report.ledger_off_at_source).format(n=format_number(report.ledger_off_at_source)))
    lines.append(_("The search index of {target} was rebuilt.").format(target=shown(target)))
    return "\n".join(lines)


def _progress_line(table: str, copied: int, total: int) -> None:
    done = copied >= total
    if not done and not sys.stderr.isatty():
        return  # a line per table in a log; updated in place on a terminal
    line = _("{table}: {copied} / {total} rows copied").format(
        table=table, copied=format_number(copied), total=format_number(total))
    print(f"\r{line}" if sys.stderr.isatty() else line, end="\n" if done else "",
          file=sys.stderr, flush=True)


Command = Callable[[str, str, str], argparse.ArgumentParser]


def add_command(command: Command) -> None:
    """``db copy`` on the ``chatshop`` command line."""
    db = command("db", _("the database itself: copy a territory into another one"), _(
        "The territory's database: « copy » copies it into another database, SQLite or "
        "PostgreSQL, with the bot stopped."))
    actions = db.add_subparsers(dest="action", required=True, title=_("actions"),
                                metavar=_("ACTION"))
    copy = actions.add_parser("copy", help=_("copy a territory into another database"),
                              description=_(
        "Copy every table of the territory, ids included, from one database into another "
        "(a SQLite file, sqlite:///path or postgresql://…), with the bot stopped on both; "
        "then check the row counts and the stock ledger. A target holding data is "
        "refused unless --force, which empties it first (a copy stopped halfway is run "
        "again with --force)."))
    copy.add_argument("--from", dest="source", required=True, metavar=_("DATABASE"),
                      help=_("the database to copy"))
    copy.add_argument("--to", dest="target", required=True, metavar=_("DATABASE"),
                      help=_("the database to copy into"))
    copy.add_argument("--force", action="store_true",
                      help=_("empty the target first when it holds data"))


def run(args: argparse.Namespace) -> int:
    """``chatshop db copy``: 0 when copied, 1 (one line on stderr) when not."""
    try:
        report = asyncio.run(copy_database(args.source, args.target, force=args.force,
                                           progress=_progress_line))
    except Refused as why:
        print(f"chatshop: {why}", file=sys.stderr)
        return 1
    except (MigrationError, sqlite3.Error, psycopg.Error, OSError) as why:
        print("chatshop: " + _("the copy failed: {why}").format(
            why=" ".join(str(why).split())), file=sys.stderr)
        return 1
    print(summary(args.source, args.target, report))
    return 0
