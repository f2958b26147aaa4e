"""Numbered SQL migrations bring any older database to the same schema, atomically, or refuse."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from chatshop.errors import MigrationError
from chatshop.resources import migrations_dir
from chatshop.storage import open_store
from chatshop.storage.database import connect
from chatshop.storage.migrations import discover, migrate, schema_version

REAL = sorted(migrations_dir().glob("*.sql"))
NEWEST = len(REAL)

EXPECTED_TABLES = {
    "communes", "shops", "shop_hours", "shop_photos", "users", "staff", "invites",
    "categories", "hostings", "products", "product_photos", "product_search",
    "stock_movements", "basket_lines", "reservations", "reservation_lines",
}


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await connect(tmp_path / "chatshop.db")
    yield connection
    await connection.close()


async def schema(connection: aiosqlite.Connection) -> list[tuple[str, str, str, str | None]]:
    """Every table, index, trigger and view as SQLite stores its definition."""
    async with connection.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ) as cursor:
        return [(row[0], row[1], row[2], row[3]) for row in await cursor.fetchall()]


async def table_names(connection: aiosqlite.Connection) -> set[str]:
    async with connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def scalar(connection: aiosqlite.Connection, sql: str) -> object:
    async with connection.execute(sql) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return row[0]


def folder_with(tmp_path: Path, **extra: str) -> Path:
    """A copy of the real migrations plus ``extra`` files (name without ``.sql`` -> SQL)."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in REAL:
        shutil.copy(path, folder)
    for stem, sql in extra.items():
        (folder / f"{stem}.sql").write_text(sql, encoding="utf-8")
    return folder


def folder_of(tmp_path: Path, *names: str) -> Path:
    """A folder holding empty migration files with these names."""
    folder = tmp_path / "odd"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("SELECT 1;\n", encoding="utf-8")
    return folder


def test_the_shipped_migrations_are_numbered_from_1_without_gaps() -> None:
    assert NEWEST >= 1
    assert [m.version for m in discover()] == list(range(1, NEWEST + 1))
    assert [m.path.name for m in discover()] == [path.name for path in REAL]


async def test_a_fresh_database_reaches_the_newest_version_with_every_table(
    conn: aiosqlite.Connection,
) -> None:
    assert await schema_version(conn) == 0
    report = await migrate(conn)
    assert (report.before, report.after) == (0, NEWEST)
    assert [m.version for m in report.applied] == list(range(1, NEWEST + 1))
    assert await schema_version(conn) == NEWEST
    assert await table_names(conn) >= EXPECTED_TABLES
    assert not conn.in_transaction


async def test_the_categories_migration_seeds_the_territory_categories(
    conn: aiosqlite.Connection,
) -> None:
    await migrate(conn)
    assert await scalar(conn, "SELECT count(*) FROM categories WHERE active = 1") == 8
    assert await scalar(conn, "SELECT name FROM categories ORDER BY position LIMIT 1") == (
        "Alimentation")


async def test_migrating_an_up_to_date_database_applies_nothing(
    conn: aiosqlite.Connection,
) -> None:
    await migrate(conn)
    before = await schema(conn)
    report = await migrate(conn)
    assert (report.before, report.after, report.applied) == (NEWEST, NEWEST, [])
    assert await schema(conn) == before


@pytest.mark.parametrize("start", range(NEWEST))
async def test_upgrading_from_each_older_version_gives_the_schema_of_a_fresh_database(
    tmp_path: Path, start: int,
) -> None:
    fresh = await connect(tmp_path / "fresh.db")
    old = await connect(tmp_path / "old.db")
    try:
        await migrate(fresh)
        stopped = await migrate(old, target=start)
        assert stopped.after == start
        assert await schema_version(old) == start
        report = await migrate(old)
        assert (report.before, report.after) == (start, NEWEST)
        assert [m.version for m in report.applied] == list(range(start + 1, NEWEST + 1))
        assert await schema(old) == await schema(fresh)
        assert await schema_version(old) == NEWEST
    finally:
        await fresh.close()
        await old.close()


async def test_upgrading_keeps_the_data_already_stored(conn: aiosqlite.Connection) -> None:
    await migrate(conn, target=1)
    await conn.execute("INSERT INTO communes (name, postcode) VALUES ('Rochechouart', '87600')")
    await migrate(conn)
    assert await scalar(conn, "SELECT postcode FROM communes WHERE name = 'Rochechouart'") == (
        "87600")


async def test_a_migration_that_fails_is_rolled_back_and_the_version_stays(
    tmp_path: Path, conn: aiosqlite.Connection,
) -> None:
    broken = f"{NEWEST + 1:04d}_broken"
    folder = folder_with(tmp_path, **{broken: (
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\n"
        "INSERT INTO categories (name, position) VALUES ('Brocante', 90);\n"
        "CREATE TABLE communes (id INTEGER);  -- already exists: fails here\n"
    )})
    with pytest.raises(MigrationError) as caught:
        await migrate(conn, folder)
    assert f"{broken}.sql" in str(caught.value)
    assert f"version {NEWEST}" in str(caught.value)
    assert await schema_version(conn) == NEWEST
    assert "half_done" not in await table_names(conn)
    assert await scalar(conn, "SELECT count(*) FROM categories WHERE name = 'Brocante'") == 0
    assert not conn.in_transaction


async def test_a_failed_migration_can_be_fixed_and_applied_afterwards(
    tmp_path: Path, conn: aiosqlite.Connection,
) -> None:
    broken = tmp_path / "migrations" / f"{NEWEST + 1:04d}_notes.sql"
    folder = folder_with(tmp_path, **{broken.stem: "CREATE TABLE notes (id);\nNOT SQL AT ALL;\n"})
    with pytest.raises(MigrationError):
        await migrate(conn, folder)
    broken.write_text("CREATE TABLE notes (id INTEGER PRIMARY KEY);\n", encoding="utf-8")
    report = await migrate(conn, folder)
    assert (report.before, report.after) == (NEWEST, NEWEST + 1)
    assert "notes" in await table_names(conn)


async def test_a_failure_in_the_first_migration_leaves_an_empty_database(
    tmp_path: Path, conn: aiosqlite.Connection,
) -> None:
    folder = folder_of(tmp_path)
    (folder / "0001_initial.sql").write_text("CREATE TABLE t (x);\nCREATE TABLE t (x);\n")
    with pytest.raises(MigrationError, match="version 0"):
        await migrate(conn, folder)
    assert await schema_version(conn) == 0
    assert await table_names(conn) == set()


@pytest.mark.parametrize(
    ("names", "named"),
    [
        (["0001_a.sql", "0003_c.sql"], "0002"),
        (["0002_b.sql"], "0001"),
        (["0001_a.sql", "0002_a.sql", "0002_b.sql"], "0002_b.sql"),
        (["0001_a.sql", "2_b.sql"], "2_b.sql"),
        (["0001_a.sql", "0002-b.sql"], "0002-b.sql"),
        (["0001_a.sql", "0002_B.sql"], "0002_B.sql"),
        (["0001_a.sql", "0002_b.SQL"], "0002_b.SQL"),
        (["0001_a.sql", "00002_b.sql"], "00002_b.sql"),
        (["0001_a.sql", "0002_.sql"], "0002_.sql"),
        (["0000_zero.sql", "0001_a.sql"], "0000_zero.sql"),
    ],
)
def test_badly_numbered_or_badly_named_migrations_are_refused(
    tmp_path: Path, names: list[str], named: str,
) -> None:
    with pytest.raises(MigrationError) as caught:
        discover(folder_of(tmp_path, *names))
    assert named in str(caught.value)


def test_files_that_are_not_sql_are_ignored(tmp_path: Path) -> None:
    folder = folder_of(tmp_path, "0001_a.sql", "README.md", "0002_b.sql.orig")
    assert [m.name for m in discover(folder)] == ["a"]


def test_a_missing_migrations_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="not found"):
        discover(tmp_path / "nowhere")


async def test_refused_migrations_leave_the_database_untouched(
    tmp_path: Path, conn: aiosqlite.Connection,
) -> None:
    with pytest.raises(MigrationError):
        await migrate(conn, folder_of(tmp_path, "0001_a.sql", "0003_c.sql"))
    assert await schema_version(conn) == 0
    assert await table_names(conn) == set()


async def test_a_database_newer_than_the_code_is_refused(conn: aiosqlite.Connection) -> None:
    await migrate(conn)
    await conn.execute(f"PRAGMA user_version = {NEWEST + 1}")
    with pytest.raises(MigrationError) as caught:
        await migrate(conn)
    message = str(caught.value)
    assert f"version {NEWEST + 1}" in message
    assert str(NEWEST) in message
    assert "newer" in message
    assert "\n" not in message
    assert await schema_version(conn) == NEWEST + 1


async def test_open_store_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    path = tmp_path / "chatshop.db"
    conn = await connect(path)
    await conn.execute(f"PRAGMA user_version = {NEWEST + 5}")
    await conn.close()
    with pytest.raises(MigrationError, match="newer"):
        await open_store(path)
    conn = await connect(path)
    try:
        assert await schema_version(conn) == NEWEST + 5
        assert await table_names(conn) == set()
    finally:
        await conn.close()


async def test_open_store_migrates_a_fresh_database(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "chatshop.db")
    try:
        assert (store.migration.before, store.migration.after) == (0, NEWEST)
        assert await schema_version(store.db.writer) == NEWEST
    finally:
        await store.close()


@pytest.mark.parametrize("statement", ["COMMIT;", "BEGIN;", "begin immediate;", "ROLLBACK;",
                                       "END TRANSACTION;", "SAVEPOINT a;"])
async def test_a_migration_that_controls_the_transaction_itself_is_refused(
        conn: aiosqlite.Connection, tmp_path: Path, statement: str) -> None:
    folder = folder_with(tmp_path, **{f"{NEWEST + 1:04d}_sneaky": (
        f"CREATE TABLE early (id INTEGER);\n{statement}\nCREATE TABLE late (id INTEGER);")})
    with pytest.raises(MigrationError, match="must not BEGIN"):
        await migrate(conn, folder)
    assert await schema_version(conn) == NEWEST
    assert "early" not in await table_names(conn)


async def test_trigger_bodies_are_not_mistaken_for_transaction_control(
        conn: aiosqlite.Connection, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, **{f"{NEWEST + 1:04d}_trigger": (
        "CREATE TABLE log (id INTEGER);\n"
        "CREATE TRIGGER log_users AFTER INSERT ON users BEGIN\n"
        "    INSERT INTO log VALUES (new.id);\nEND;\n")})
    report = await migrate(conn, folder)
    assert report.after == NEWEST + 1


@pytest.mark.parametrize("target", [-1, NEWEST + 1])
async def test_a_target_version_outside_the_known_range_is_refused(
        conn: aiosqlite.Connection, target: int) -> None:
    with pytest.raises(MigrationError):
        await migrate(conn, target=target)
    assert await schema_version(conn) == 0


async def test_a_migration_that_swallows_its_own_end_is_rolled_back(
        conn: aiosqlite.Connection, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, **{f"{NEWEST + 1:04d}_open_comment": (
        "CREATE TABLE notes (id INTEGER);\n/* a comment that never ends\n")})
    with pytest.raises(MigrationError):
        await migrate(conn, folder)
    assert await schema_version(conn) == NEWEST
    assert not conn.in_transaction
    assert "notes" not in await table_names(conn)


async def test_columns_named_like_transaction_words_are_accepted(
        conn: aiosqlite.Connection, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, **{f"{NEWEST + 1:04d}_releases": (
        "CREATE TABLE releases (\n    release_date TEXT,\n    commit_hash TEXT,\n"
        "    rollback_note TEXT\n);\n")})
    assert (await migrate(conn, folder)).after == NEWEST + 1
