"""The PostgreSQL migrations (issue #14): ``migrations/postgresql/NNNN_name.sql`` bring a
PostgreSQL database to the schema the SQLite files bring SQLite to. Each test has its
own database on the session's cluster, created and dropped here; the files are applied
one by one, each in a transaction, as the runner does."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from chatshop.resources import migrations_dir
from chatshop.storage.database import sort_key

SQLITE_FOLDER = migrations_dir()
POSTGRES_FOLDER = SQLITE_FOLDER / "postgresql"

# Columns PostgreSQL has and SQLite does not: SQLite's implicit rowid, which the code
# names in its SQL, is a real column there.
ADDED_ROWID = {
    # orders.py reads a reservation's lines ORDER BY rowid (the order they were written).
    "reservation_lines": "rowid",
    # FTS5's rowid is the product's id; the plain table holds it as its primary key.
    "product_search": "rowid",
}

# SQLite's FTS5 internals: the shadow tables of product_search and the fts5vocab table
# product_search_terms (PostgreSQL's search is written over product_search itself).
FTS5_ONLY = {"product_search_terms"} | {
    f"product_search_{shadow}" for shadow in ("data", "idx", "content", "docsize", "config")}
# FTS5 tables declare neither types nor constraints: only their column names compare.
# What PostgreSQL searches with in their place (generated columns computed from the
# stored terms, and their indexes) is its own, as FTS5's internal index is SQLite's.
VIRTUAL = {"product_search"}


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".sql")


# -- the databases --------------------------------------------------------------------------


@pytest.fixture
def postgres_database(postgres_dsn: str) -> Iterator[str]:
    """An empty database of this test's own, dropped after it."""
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_conninfo(postgres_dsn, dbname=name)
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def apply_postgresql(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        for path in _files(POSTGRES_FOLDER):
            try:
                with conn.transaction():
                    conn.execute(path.read_text(encoding="utf-8"))
            except psycopg.Error as exc:
                raise AssertionError(f"{path.name}: {exc}") from exc


def sqlite_migrated(path: Path) -> sqlite3.Connection:
    """A SQLite database brought to the newest version as chatshop.storage.migrations
    does: each file in one BEGIN IMMEDIATE ... COMMIT with its user_version."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.create_function("sort_key", 1, sort_key, deterministic=True)
    for number, file in enumerate(_files(SQLITE_FOLDER), start=1):
        conn.executescript(f"BEGIN IMMEDIATE;\n{file.read_text(encoding='utf-8')}\n;\n"
                           f"PRAGMA user_version = {number};\nCOMMIT;")
    return conn


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite_migrated(tmp_path / "chatshop.db")
    yield conn
    conn.close()


@pytest.fixture
def postgres_db(postgres_database: str) -> Iterator[psycopg.Connection[Any]]:
    apply_postgresql(postgres_database)
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        yield conn


# -- the schema as each engine describes it --------------------------------------------------


def sqlite_schema(conn: sqlite3.Connection) -> dict[str, Any]:
    tables = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name") if name not in FTS5_ONLY]
    columns: dict[str, list[tuple[str, bool | None, bool | None]]] = {}
    keys: dict[str, tuple[str | None, ...]] = {}
    uniques: dict[str, list[tuple[str | None, ...]]] = {}
    foreign: dict[str, list[tuple[Any, ...]]] = {}
    types: dict[str, list[tuple[str, str]]] = {}
    checks: dict[str, int] = {}
    for table in tables:
        info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        if table in VIRTUAL:
            columns[table] = [(c[1], None, None) for c in info]
        else:
            # An INTEGER PRIMARY KEY (and any primary key column here) holds no NULL.
            columns[table] = [(c[1], bool(c[3] or c[5]), c[4] is not None) for c in info]
            types[table] = [(c[1], _SQLITE_TYPES[c[2].upper()]) for c in info]
            (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                                  (table,)).fetchone()
            checks[table] = len(re.findall(r"\bCHECK\s*\(", sql, re.IGNORECASE))
        keys[table] = tuple(c[1] for c in sorted((c for c in info if c[5]), key=lambda c: c[5]))
        uniques[table] = sorted(
            tuple(c[2] for c in conn.execute(f'PRAGMA index_info("{index[1]}")'))
            for index in conn.execute(f'PRAGMA index_list("{table}")') if index[3] == "u")
        found: dict[int, list[Any]] = {}
        for row in conn.execute(f'PRAGMA foreign_key_list("{table}")'):
            found.setdefault(row[0], []).append(row)
        foreign[table] = sorted(
            (tuple(r[3] for r in rows), rows[0][2], tuple(r[4] for r in rows), rows[0][6])
            for rows in found.values())
    indexes = {}
    for name, table in conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"):
        listed = {row[1]: row for row in conn.execute(f'PRAGMA index_list("{table}")')}
        indexes[name] = (table, tuple(
            row[2] for row in conn.execute(f'PRAGMA index_xinfo("{name}")') if row[5]),
            bool(listed[name][2]), bool(listed[name][4]))
    triggers = sorted(tuple(row) for row in conn.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"))
    views = sorted(name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'view'"))
    return {"tables": tables, "columns": columns, "primary keys": keys, "unique": uniques,
            "foreign keys": foreign, "indexes": indexes, "triggers": triggers,
            "views": views, "types": types, "checks": checks}


# SQLite's declared types and the PostgreSQL types that keep them in spirit (flags stay
# INTEGER 0/1, times and JSON TEXT).
_SQLITE_TYPES = {"INTEGER": "integer", "TEXT": "text", "REAL": "real", "BLOB": "blob"}
_POSTGRES_TYPES = {"integer": "integer", "bigint": "integer", "text": "text",
                   "double precision": "real", "bytea": "blob"}

_ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
              "d": "SET DEFAULT"}


def postgres_schema(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    def attnames(table: str, numbers: list[int]) -> tuple[str | None, ...]:
        names = dict(conn.execute(
            "SELECT attnum, attname FROM pg_attribute WHERE attrelid = %s::regclass"
            " AND attnum > 0", (table,)).fetchall())
        return tuple(names.get(n) for n in numbers)

    tables = [name for (name,) in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    columns: dict[str, list[tuple[str, bool | None, bool | None]]] = {}
    keys: dict[str, tuple[str | None, ...]] = {}
    uniques: dict[str, list[tuple[str | None, ...]]] = {}
    foreign: dict[str, list[tuple[Any, ...]]] = {}
    types: dict[str, list[tuple[str, str]]] = {}
    checks: dict[str, int] = {}
    for table in tables:
        info = conn.execute(
            "SELECT column_name, is_nullable = 'NO', column_default IS NOT NULL, data_type"
            " FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name = %s AND NOT (is_generated = 'ALWAYS' AND table_name = ANY(%s))"
            " ORDER BY ordinal_position", (table, sorted(VIRTUAL))).fetchall()
        added = ADDED_ROWID.get(table)
        columns[table] = [(name, None, None) if table in VIRTUAL else (name, notnull, default)
                          for name, notnull, default, _ in info if name != added]
        if table not in VIRTUAL:
            types[table] = [(name, _POSTGRES_TYPES[kind]) for name, _, _, kind in info
                            if name != added]
            checks[table] = conn.execute(
                "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass"
                " AND contype = 'c'", (table,)).fetchall()[0][0]
        constraints = conn.execute(
            "SELECT contype, conkey, confrelid::regclass::text, confkey, confdeltype"
            " FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')",
            (table,)).fetchall()
        keys[table] = ()
        uniques[table], foreign[table] = [], []
        for kind, key, target, target_key, on_delete in constraints:
            names = attnames(table, key)
            if kind == "p":
                keys[table] = names if names != (added,) else ()
            elif kind == "u" and names != (added,):
                uniques[table].append(names)
            elif kind == "f":
                foreign[table].append((names, target, attnames(target, target_key),
                                       _ON_DELETE[on_delete]))
        uniques[table].sort()
        foreign[table].sort()
    indexes = {}
    for name, table, key, unique, partial in conn.execute(
            "SELECT c.relname, t.relname, i.indkey::int2[]::int[], i.indisunique,"
            " i.indpred IS NOT NULL FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE n.nspname = 'public' AND NOT EXISTS"
            " (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid)"):
        if table not in VIRTUAL:
            indexes[name] = (table, attnames(table, key), unique, partial)
    triggers = sorted(tuple(row) for row in conn.execute(
        "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"))
    views = sorted(name for (name,) in conn.execute(
        "SELECT viewname FROM pg_views WHERE schemaname = 'public'"))
    return {"tables": tables, "columns": columns, "primary keys": keys, "unique": uniques,
            "foreign keys": foreign, "indexes": indexes, "triggers": triggers,
            "views": views, "types": types, "checks": checks}


# -- the tests --------------------------------------------------------------------------------


def test_both_engines_have_the_same_migrations() -> None:
    sqlite = [p.name for p in _files(SQLITE_FOLDER)]
    postgres = [p.name for p in _files(POSTGRES_FOLDER)]
    assert postgres == sqlite
    assert len(sqlite) >= 16


def test_the_postgresql_migrations_apply_in_order(postgres_database: str) -> None:
    apply_postgresql(postgres_database)
    with psycopg.connect(postgres_database) as conn:
        assert conn.execute("SELECT count(*) FROM categories").fetchone() == (8,)
        assert conn.execute(
            "SELECT id, terms_version, changes FROM product_search_state").fetchall() == [
                (1, 0, 1)]


def test_the_postgresql_schema_is_the_sqlite_one(
        sqlite_db: sqlite3.Connection, postgres_db: psycopg.Connection[Any]) -> None:
    sqlite, postgres = sqlite_schema(sqlite_db), postgres_schema(postgres_db)
    assert postgres["tables"] == sqlite["tables"]
    for part in ("columns", "primary keys", "unique", "foreign keys", "types", "checks"):
        for table in sqlite["tables"]:
            assert postgres[part].get(table) == sqlite[part].get(table), (part, table)
    assert sorted(postgres["indexes"]) == sorted(sqlite["indexes"])
    for name, index in sqlite["indexes"].items():
        assert postgres["indexes"][name] == index, name
    assert postgres["triggers"] == sqlite["triggers"]
    assert postgres["views"] == sqlite["views"]


def test_ids_are_bigint(postgres_db: psycopg.Connection[Any]) -> None:
    """Ids and the columns that point at them hold 64-bit integers, as SQLite's do."""
    narrow = postgres_db.execute(
        "SELECT table_name || '.' || column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type = 'integer'"
        " AND (column_name = 'id' OR column_name LIKE '%\\_id' OR column_name = 'regarding')"
        ).fetchall()
    assert narrow == []


def test_the_postgresql_schema_behaves_as_sqlite(postgres_db: psycopg.Connection[Any]) -> None:
    """What the schema comparison cannot see: the kept ids, the rowid order, the delete
    trigger, case-insensitive names, json_valid and the ledger's new reason."""
    db = postgres_db
    db.execute("INSERT INTO communes (id, name) VALUES (42, 'Rochechouart')")
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("INSERT INTO communes (name) VALUES ('ROCHECHOUART')")
    db.execute("INSERT INTO shops (id, slug, name, commune_id, created_at)"
                " VALUES (7, 'epicerie', 'Épicerie', 42, 'now')")
    db.execute("INSERT INTO users (id, channel, external_id, created_at, last_seen_at)"
                " VALUES (3, 'telegram', '3000', 'now', 'now')")
    for product in (11, 12):
        db.execute("INSERT INTO products (id, shop_id, name, price_cents, on_hand,"
                   " created_at, updated_at) VALUES (%s, 7, 'Miel', 850, 5, 'now', 'now')",
                   (product,))
        db.execute("INSERT INTO product_search (rowid, name) VALUES (%s, 'miel')", (product,))
    db.execute("INSERT INTO reservations (id, code, user_id, shop_id, status, total_cents,"
               " idempotency_key, created_at, deadline_at)"
               " VALUES (5, 'ABCDE', 3, 7, 'pending', 1700, 'k', 'now', 'later')")
    for product in (12, 11):
        db.execute("INSERT INTO reservation_lines (reservation_id, product_id, maker_shop_id,"
                   " name, unit_price_cents, quantity) VALUES (5, %s, 7, 'Miel', 850, 1)",
                   (product,))
    assert [row[0] for row in db.execute(
        "SELECT product_id FROM reservation_lines WHERE reservation_id = 5 ORDER BY rowid")
    ] == [12, 11]
    db.execute("INSERT INTO stock_movements (product_id, delta, on_hand_after, reason, at)"
               " VALUES (11, -1, 4, 'sold', 'now')")
    db.execute("DELETE FROM reservation_lines")
    db.execute("DELETE FROM products WHERE id = 11")
    assert db.execute("SELECT rowid FROM product_search").fetchall() == [(12,)]
    assert db.execute("SELECT changes FROM product_search_state").fetchone() == (2,)
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("INSERT INTO outbox (channel, recipient, message, created_at,"
                   " next_attempt_at) VALUES ('telegram', '3000', '{nope', 'now', 'now')")
    db.execute("INSERT INTO outbox (channel, recipient, message, created_at,"
               " next_attempt_at) VALUES ('telegram', '3000', '{}', 'now', 'now')")
