"""``chatshop db copy`` (issue #14, « Moving a territory »): the demo territory, with
reservations and stock changes, copied SQLite → PostgreSQL → SQLite row for row, ids
included; the refusals (a target holding data, the bot running, the wrong schema, the
same database); ``--force``; the command itself, in French."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from chatshop.db_copy import (
    Refused,
    SqliteSide,
    copy_database,
    foreign_key_order,
    open_side,
    summary,
)
from chatshop.demo import (
    DEMO_CUSTOMER,
    DEMO_CUSTOMER_NAME,
    DEMO_OPERATOR,
    DEMO_OPERATOR_NAME,
    seed_demo,
)
from chatshop.demo_history import DemoClock
from chatshop.running import BotRunning, bot_is_running, bot_running_on, copying
from chatshop.services import build_services
from chatshop.storage import open_store
from chatshop.storage.migrations import discover

ROOT = Path(__file__).resolve().parent.parent
PARIS = ZoneInfo("Europe/Paris")
NEWEST = len(discover())


async def _make_demo(path: Path) -> None:
    """The demo territory (its past weeks of reservations too), then one more
    reservation and a restock."""
    store = await open_store(path)
    try:
        clock = DemoClock()
        services = build_services(store, operators={DEMO_OPERATOR}, clock=clock, tz=PARIS)
        operator = await services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME)
        actor = services.customers.actor(operator)
        await seed_demo(services, operator=actor, history=clock, tz=PARIS)
        customer = await services.customers.seen(*DEMO_CUSTOMER, DEMO_CUSTOMER_NAME)
        honey = (await services.search.search("miel")).items[0]
        await services.catalogue.add_stock(actor, honey.product.id, 5)
        await services.reservations.reserve_now(customer.id, honey.product.id, 2, "copy-1")
    finally:
        await store.close()


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    asyncio.run(_make_demo(path))
    return path


@pytest.fixture
def demo(demo_file: Path, tmp_path: Path) -> Path:
    """A copy of the demo territory of its own for the test."""
    path = tmp_path / "source.db"
    shutil.copyfile(demo_file, path)
    return path


@pytest.fixture
def new_postgres(postgres_dsn: str) -> Iterator[Callable[[], str]]:
    """Makes empty PostgreSQL databases (dropped at the end); gives each one's DSN."""
    made: list[str] = []

    def make() -> str:
        name = f"copy_{uuid.uuid4().hex[:10]}"
        with psycopg.Connection.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return postgres_dsn.rsplit("/", 1)[0] + f"/{name}"

    yield make
    with psycopg.Connection.connect(postgres_dsn, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table but the search index's, sorted (with its rowid where
    the order of the rows is kept by it)."""
    conn = sqlite3.connect(path)
    try:
        found = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                     " AND name NOT LIKE 'product_search%'"):
            columns = [str(r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")')]
            if table == "reservation_lines":
                columns.append("rowid")
            found[table] = sorted(conn.execute(
                f'SELECT {", ".join(columns)} FROM "{table}"').fetchall(), key=repr)
        return found
    finally:
        conn.close()


async def migrated(database: str) -> None:
    """The database migrated, empty."""
    await (await open_store(database)).close()


async def search_ids(database: str | Path, text: str = "miel") -> list[int]:
    store = await open_store(database)
    try:
        page = await build_services(store).search.search(text)
        return [hit.product.id for hit in page.items]
    finally:
        await store.close()


async def test_sqlite_to_postgresql_and_back_keeps_every_row_and_id(
        demo: Path, tmp_path: Path, new_postgres: Callable[[], str]) -> None:
    postgresql, back = new_postgres(), tmp_path / "back.db"
    told: list[tuple[str, int, int]] = []
    there = await copy_database(str(demo), postgresql,
                                progress=lambda *line: told.append(line))
    again = await copy_database(postgresql, f"sqlite:///{back}")
    before, after = sqlite_rows(demo), sqlite_rows(back)
    assert set(before) == set(after)
    for table in before:
        assert after[table] == before[table], table
    assert there.counts == again.counts
    assert there.counts["products"] == 41
    assert there.counts["media"] > 0
    assert (table := "stock_movements", there.counts[table], there.counts[table]) in told
    # The search index is rebuilt on each copy: the same hits, in the same order.
    hits = await search_ids(demo)
    assert hits
    assert await search_ids(postgresql) == hits
    assert await search_ids(back) == hits


async def test_new_rows_on_the_postgresql_copy_get_ids_past_the_copied_ones(
        demo: Path, new_postgres: Callable[[], str]) -> None:
    postgresql = new_postgres()
    report = await copy_database(str(demo), postgresql)
    store = await open_store(postgresql)
    try:
        user = await build_services(store).customers.seen("telegram", "newcomer", "Nina")
    finally:
        await store.close()
    assert user.id > report.counts["users"]
    with psycopg.Connection.connect(postgresql) as conn:
        row = conn.execute("SELECT max(id) FROM users WHERE external_id <> 'newcomer'"
                           ).fetchone()
    assert row is not None
    assert user.id > row[0]


async def test_a_target_holding_data_is_refused_and_left_as_it_was(
        demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    store = await open_store(target)
    try:
        await build_services(store).customers.seen("telegram", "already-here", "Ada")
    finally:
        await store.close()
    kept = sqlite_rows(target)
    with pytest.raises(Refused, match=r"n’est pas vide.*--force"):
        await copy_database(str(demo), str(target))
    assert sqlite_rows(target) == kept
    await copy_database(str(demo), str(target), force=True)
    assert sqlite_rows(target) == sqlite_rows(demo)


async def test_force_empties_a_postgresql_target_and_copies_again(
        demo: Path, new_postgres: Callable[[], str]) -> None:
    postgresql = new_postgres()
    await copy_database(str(demo), postgresql)
    with pytest.raises(Refused, match="n’est pas vide"):
        await copy_database(str(demo), postgresql)
    report = await copy_database(str(demo), postgresql, force=True)
    with psycopg.Connection.connect(postgresql) as conn:
        for table, count in report.counts.items():
            row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            assert row is not None
            assert row[0] == count, table


async def test_a_copy_is_refused_while_the_bot_runs_on_either_database(
        demo: Path, tmp_path: Path, new_postgres: Callable[[], str]) -> None:
    postgresql = new_postgres()
    await migrated(postgresql)
    async with bot_running_on(str(demo)):
        assert bot_is_running(str(demo))
        with pytest.raises(Refused, match="le bot tourne sur"):
            await copy_database(str(demo), postgresql)
    assert not bot_is_running(str(demo))
    # Several processes on one PostgreSQL database: all hold the lock, shared.
    async with bot_running_on(postgresql), bot_running_on(postgresql):
        assert bot_is_running(postgresql)
        with pytest.raises(Refused, match="le bot tourne sur"):
            await copy_database(str(demo), postgresql)
    assert not bot_is_running(postgresql)
    await copy_database(str(demo), postgresql)


async def test_the_wrong_sources_are_refused(demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    with pytest.raises(Refused, match="n’existe pas"):
        await copy_database(str(tmp_path / "nowhere.db"), str(target))
    with pytest.raises(Refused, match="la même base"):
        await copy_database(str(demo), f"sqlite:///{demo}")
    stranger = tmp_path / "stranger.db"
    with sqlite3.connect(stranger) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(Refused, match="pas une base chatshop"):
        await copy_database(str(stranger), str(target))
    with pytest.raises(Refused, match="pas une base chatshop"):
        await copy_database(str(demo), str(stranger))
    for version, said in ((NEWEST - 1, "chatshop migrate"), (NEWEST + 1, "plus récente")):
        with sqlite3.connect(demo) as conn:
            conn.execute(f"PRAGMA user_version = {version}")
        with pytest.raises(Refused, match=said):
            await copy_database(str(demo), str(target))
    assert not target.exists()  # nothing made


async def test_sqlite_to_sqlite_and_postgresql_to_postgresql(
        demo: Path, tmp_path: Path, new_postgres: Callable[[], str]) -> None:
    copied = tmp_path / "copied.db"
    await copy_database(str(demo), str(copied))
    assert sqlite_rows(copied) == sqlite_rows(demo)
    first, second = new_postgres(), new_postgres()
    await copy_database(str(copied), first)
    with pytest.raises(Refused, match="la même base"):
        await copy_database(first, first)
    report = await copy_database(first, second)
    assert report.counts["reservation_lines"] > 0
    assert await search_ids(second) == await search_ids(demo)


async def test_the_tables_go_in_the_order_of_their_foreign_keys(
        demo: Path, new_postgres: Callable[[], str]) -> None:
    postgresql = new_postgres()
    await migrated(postgresql)
    for side in (SqliteSide(str(demo)), open_side(postgresql)):
        try:
            references = side.references()
            order = foreign_key_order(references)
        finally:
            side.close()
        assert set(order) == set(references)
        for table, referenced in references.items():
            assert all(order.index(r) < order.index(table) for r in referenced - {table})
        assert order.index("shops") < order.index("products") < order.index(
            "reservation_lines")
        assert not any(t.startswith("product_search") for t in order)


def test_the_command_copies_with_french_progress(demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    environment = {name: value for name, value in os.environ.items()
                   if not name.upper().startswith("CHATSHOP_")}
    done = subprocess.run([sys.executable, "-m", "chatshop", "db", "copy", "--from",
                           str(demo), "--to", str(target)], capture_output=True, text=True,
                          cwd=tmp_path, env=environment, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "products\u00a0: 41 / 41 lignes copiées" in done.stderr
    assert done.stdout.startswith("Copié de ")
    assert "registre des stocks" in done.stdout
    again = subprocess.run([sys.executable, "-m", "chatshop", "db", "copy", "--from",
                            str(demo), "--to", str(target)], capture_output=True, text=True,
                           cwd=tmp_path, env=environment, timeout=60, check=False)
    assert again.returncode == 1
    assert len(again.stderr.splitlines()) == 1
    assert again.stderr.startswith("chatshop: la base cible")


async def test_chatshop_run_holds_the_running_lock_while_it_serves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_environment: Path) -> None:
    from chatshop import cli
    from chatshop.config import load_settings

    database = tmp_path / "bot.db"
    seen: list[bool] = []

    async def serving(*args: object, **kwargs: object) -> None:
        seen.append(await asyncio.to_thread(bot_is_running, str(database)))

    monkeypatch.setattr(cli, "serve", serving)
    await cli._run(load_settings(database=str(database)))
    assert seen == [True]
    assert not bot_is_running(str(database))


HOLDER = """
import asyncio, sys
from chatshop.running import bot_running_on

async def hold() -> None:
    async with bot_running_on(sys.argv[1]):
        print("held", flush=True)
        await asyncio.sleep(60)

asyncio.run(hold())
"""


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_running_lock_dies_with_its_process(
        engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if engine == "postgresql":
        database = request.getfixturevalue("new_postgres")()
    else:
        database = str(tmp_path / "bot.db")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, database], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert bot_is_running(database)
    finally:
        holder.kill()  # SIGKILL: no clean-up of its own
        holder.wait(timeout=10)
    for _ in range(50):  # PostgreSQL sees the connection gone a moment later
        if not bot_is_running(database):
            break
        time.sleep(0.05)
    assert not bot_is_running(database)


def test_db_copy_has_its_own_help_in_french(capsys: pytest.CaptureFixture[str],
                                            clean_environment: Path) -> None:
    from chatshop.cli import main

    with pytest.raises(SystemExit) as done:
        main(["db", "copy", "--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage : chatshop db copy [-h] --from BASE --to BASE [--force]")
    assert "identifiants compris" in out
    assert main(["db", "copy", "--from", "nowhere.db", "--to", "there.db"]) == 1
    err = capsys.readouterr().err
    assert err == "chatshop: la base source nowhere.db n’existe pas\n"


def test_a_postgresql_database_is_named_without_its_password() -> None:
    from chatshop.db_copy import shown

    assert shown("postgresql://shop:s3cret@db.example:5433/territoire") == (
        "postgresql://shop@db.example:5433/territoire")
    assert shown("chatshop.db") == "chatshop.db"


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_a_bot_started_during_a_copy_waits_for_its_end(
        engine: str, demo: Path, request: pytest.FixtureRequest) -> None:
    database = (request.getfixturevalue("new_postgres")() if engine == "postgresql"
                else str(demo))
    started = asyncio.Event()

    async def bot() -> None:
        async with bot_running_on(database):
            started.set()

    with copying(database):
        task = asyncio.create_task(bot())
        await asyncio.sleep(0.3)
        assert not started.is_set()
        # (On PostgreSQL a copy is no bot; on SQLite the file lock tells no difference.)
        assert bot_is_running(database) == (engine == "sqlite")
    await asyncio.wait_for(task, timeout=10)
    async with bot_running_on(database):
        with pytest.raises(BotRunning), copying(database):
            pass


async def test_a_ledger_already_off_at_the_source_is_copied_and_said(
        demo: Path, tmp_path: Path) -> None:
    with sqlite3.connect(demo) as conn:
        conn.execute("UPDATE products SET on_hand = on_hand + 1 WHERE id = 1")
    report = await copy_database(str(demo), str(tmp_path / "copy.db"))
    assert report.ledger_off_at_source == 1
    assert report.products == report.counts["products"] - 1
    assert "ne correspondait déjà pas à son registre" in summary(str(demo), "copy.db", report)


@pytest.mark.parametrize(("spoil", "said"), [  # a row lost; every move one more
    (lambda rows: rows[1:], "les lignes diffèrent dans stock_movements"),
    (lambda rows: [(*row[:3], row[3] + 1, *row[4:]) for row in rows],
     "ne correspond pas à leur registre"),
])
async def test_a_copy_that_does_not_add_up_is_cancelled(
        demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        spoil: Callable[[list[tuple[object, ...]]], list[tuple[object, ...]]],
        said: str) -> None:
    target = tmp_path / "target.db"
    await migrated(str(target))
    kept = sqlite_rows(target)
    insert = SqliteSide.insert

    def spoiled(self: SqliteSide, table: str, columns: Sequence[str],
                rows: Sequence[tuple[object, ...]]) -> None:
        insert(self, table, columns, spoil(list(rows)) if table == "stock_movements"
               else rows)

    monkeypatch.setattr(SqliteSide, "insert", spoiled)
    with pytest.raises(Refused, match=said):
        await copy_database(str(demo), str(target))
    assert sqlite_rows(target) == kept


async def test_the_demo_copied_to_postgresql_and_served_by_two_processes_answers_the_same(
        demo: Path, new_postgres: Callable[[], str]) -> None:
    """The demo territory on SQLite, then copied to PostgreSQL and served by two stores
    on it (two processes): a customer's visit (the menu, a search, a product, a shop)
    reads the same on all three, and a reservation made through one process is the
    stock the other one shows."""
    from chatshop.conversation.router import Conversation
    from tests.chat import Chat, Postbox

    postgresql = new_postgres()
    await copy_database(str(demo), postgresql)
    stores = [await open_store(demo), await open_store(postgresql),
              await open_store(postgresql)]
    try:
        visits: list[list[str]] = []
        for n, store in enumerate(stores):
            services = build_services(store, operators={DEMO_OPERATOR}, clock=DemoClock(),
                                      tz=PARIS)
            conversation = Conversation(services, territory="Porte Océane", tz=PARIS)
            customer = Chat(conversation, f"77{n}", "Jeanne", Postbox())
            seen = [await customer.send("/start"), await customer.send("miel"),
                    await customer.press("Miel"), await customer.send("creme")]
            visits.append(["\n".join([r.text, *(b.label for b in r.all_buttons)])
                           for replies in seen for r in replies])
        assert visits[1] == visits[0]
        assert visits[2] == visits[0]
        assert "3 résultats pour" in visits[0][1]
        assert "Miel" in visits[0][1]
        # One database behind the two processes: what one reserves, the other sees.
        first = build_services(stores[1], operators={DEMO_OPERATOR}, clock=DemoClock(),
                               tz=PARIS)
        second = build_services(stores[2], operators={DEMO_OPERATOR}, clock=DemoClock(),
                                tz=PARIS)
        honey = (await first.search.search("miel")).items[0].product
        buyer = await first.customers.seen("telegram", "7799", "Paul")
        await first.reservations.reserve_now(buyer.id, honey.id, 1, "two-processes")
        seen_there = await second.catalogue.product(honey.id)
        assert seen_there.reserved == honey.reserved + 1
    finally:
        for store in stores:
            await store.close()
