"""``chatshop backup`` and ``chatshop restore`` on SQLite (issue #15, « Backups that
restore »): a backup restored serves the demo as before; one taken during a burst of
reservations holds every reservation confirmed before it began, with a stock ledger
that adds up; one killed halfway leaves the earlier backup intact and nothing under its
own name; a restore refuses, in French and changing nothing, a bot running, a database
there without --force, a file that is no sound chatshop database or a newer one."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatshop.cli import main
from chatshop.errors import DomainError
from chatshop.running import bot_running_on
from chatshop.storage import open_store
from chatshop.storage.backup import check_backup, partial_name, take_backup
from tests.test_db_copy import _make_demo

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    asyncio.run(_make_demo(path))
    return path


@pytest.fixture
def demo(demo_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "chatshop.db"
    shutil.copyfile(demo_file, path)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'product_search%' ORDER BY name")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables}


async def _honey_search(database: Path) -> list[str]:
    from chatshop.services import build_services

    store = await open_store(database)
    try:
        found = await build_services(store).search.search("miel")
        return [f"{hit.product.name} {hit.product.price_cents}" for hit in found.items]
    finally:
        await store.close()


async def test_a_backup_restored_serves_the_demo_as_before(
        demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backup = tmp_path / "sauvegarde.db"
    assert main(["backup", "--database", str(demo), str(backup)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"Sauvegarde écrite dans {backup} et vérifiée\u00a0: schéma en version")
    restored = tmp_path / "restauree.db"
    assert main(["restore", "--database", str(restored), str(backup)]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith(f"{restored} restaurée depuis {backup}")
    assert _rows(restored) == _rows(demo)
    before = await _honey_search(demo)
    assert len(before) == 3
    assert await _honey_search(restored) == before


async def test_a_backup_taken_during_a_burst_of_reservations_holds_every_confirmed_one(
        demo: Path, tmp_path: Path) -> None:
    """Reservations go on in this process while the backup runs in a thread; every one
    confirmed before the backup began is in it, and its ledger adds up (the check)."""
    from chatshop.demo import DEMO_OPERATOR, DEMO_OPERATOR_NAME
    from chatshop.services import build_services

    store = await open_store(demo)
    try:
        services = build_services(store, operators={DEMO_OPERATOR})
        operator = services.customers.actor(
            await services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME))
        products = [hit.product for hit in (await services.search.search("miel")).items]
        for product in products:  # enough for the burst: its reservations are confirmed
            await services.catalogue.add_stock(operator, product.id, 500)
        customers = [await services.customers.seen("telegram", str(9000 + n), f"Client {n}")
                     for n in range(40)]
        confirmed: list[str] = []
        stop = asyncio.Event()

        async def reserve(n: int) -> None:
            i = 0
            while not stop.is_set() and i < 30:
                product = products[(n + i) % len(products)]
                try:
                    made = await services.reservations.reserve_now(
                        customers[n].id, product.id, 1, f"burst-{n}-{i}")
                    confirmed.append(made.code)
                except DomainError:  # sold out, a cap: refused, not confirmed
                    pass
                i += 1
                await asyncio.sleep(0)

        burst = [asyncio.create_task(reserve(n)) for n in range(len(customers))]
        await asyncio.sleep(0.3)
        before = list(confirmed)
        check = await asyncio.to_thread(take_backup, demo, tmp_path / "pendant.db")
        stop.set()
        await asyncio.gather(*burst)
    finally:
        await store.close()
    assert before, "no reservation was confirmed before the backup began"
    with sqlite3.connect(tmp_path / "pendant.db") as conn:
        kept = {r[0] for r in conn.execute("SELECT code FROM reservations")}
    assert set(before) <= kept
    assert check.rows["reservations"] == len(kept)


def test_a_backup_killed_halfway_leaves_the_last_one_intact_and_no_half_file(
        demo: Path, tmp_path: Path) -> None:
    with sqlite3.connect(demo) as conn:  # images are rows: 160 MB of them
        blob = os.urandom(1 << 20)
        conn.executemany("INSERT INTO media (sha256, mime_type, data, created_at)"
                         " VALUES (?, 'image/jpeg', ?, '2026-12-07T00:00:00Z')",
                         [(f"{n:064x}", blob[n:] + blob[:n]) for n in range(160)])
    last = tmp_path / "hier.db"
    take_backup(demo, last)
    kept = _digest(last)
    today = tmp_path / "aujourdhui.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATSHOP_")}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, "-m", "chatshop", "backup", "--database", str(demo), str(today)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = partial_name(today)
    deadline = time.monotonic() + 30
    while not (partial.exists() and partial.stat().st_size > (8 << 20)):
        assert process.poll() is None, "the backup ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not today.exists()
    assert _digest(last) == kept
    assert check_backup(last).rows["media"] >= 160
    # The next backup removes the partial file and is whole.
    assert main(["backup", "--database", str(demo), str(today)]) == 0
    assert not partial.exists()
    assert check_backup(today).rows == check_backup(last).rows


@pytest.mark.parametrize("case", ["running", "there", "junk", "newer", "missing"])
async def test_a_restore_is_refused_in_french_and_changes_nothing(
        case: str, demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backup = tmp_path / "sauvegarde.db"
    take_backup(demo, backup)
    target = tmp_path / "cible.db"
    shutil.copyfile(demo, target)
    args = ["restore", "--database", str(target), str(backup), "--force"]
    said = {"running": f"le bot tourne sur {target}\u00a0: arrêtez-le avant de restaurer.",
            "there": f"{target} existe\u00a0: --force la remplace",
            "junk": "ce n’est pas une base SQLite\u00a0; rien n’a été modifié.",
            "newer": "a été écrit par un chatshop plus récent (schéma en version 999)",
            "missing": "ce fichier n’existe pas\u00a0; rien n’a été modifié."}[case]
    if case == "there":
        args.remove("--force")
    elif case == "junk":
        backup.write_bytes(os.urandom(8192))
    elif case == "newer":
        with sqlite3.connect(backup) as conn:
            conn.execute("PRAGMA user_version = 999")
    elif case == "missing":
        backup.unlink()
    before = _digest(target)
    if case == "running":
        async with bot_running_on(target):
            code = await asyncio.to_thread(main, args)
    else:
        code = main(args)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert said in err
    assert _digest(target) == before
    assert _set_aside(tmp_path) == []


def _set_aside(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "before-restore" in p.name)
