"""`chatshop migrate` creates or upgrades the database and says so; bad settings end in one line."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from chatshop.cli import main
from chatshop.resources import migrations_dir

NEWEST = len(list(migrations_dir().glob("*.sql")))


pytestmark = pytest.mark.usefixtures("clean_environment")


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_migrate_creates_the_database_and_prints_its_schema_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "shop.db"
    assert main(["migrate", "--database", str(database)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert str(database) in out
    assert f"version {NEWEST}" in out
    assert f"{NEWEST} migrations" in out
    assert user_version(database) == NEWEST


def test_migrate_a_second_time_applies_no_migration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "shop.db"
    assert main(["migrate", "--database", str(database)]) == 0
    capsys.readouterr()
    assert main(["migrate", "--database", str(database)]) == 0
    out, _ = capsys.readouterr()
    assert f"version {NEWEST}" in out
    assert "0 migration" in out
    assert user_version(database) == NEWEST


def test_migrate_uses_chatshop_database_when_no_option_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "from-env.db"
    monkeypatch.setenv("CHATSHOP_DATABASE", str(database))
    assert main(["migrate"]) == 0
    assert str(database) in capsys.readouterr().out
    assert user_version(database) == NEWEST


def test_the_summary_counts_what_the_territory_holds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CHATSHOP_TERRITORY", "Pays de la Châtaigneraie")
    assert main(["migrate", "--database", str(tmp_path / "shop.db")]) == 0
    out = capsys.readouterr().out
    assert "Pays de la Châtaigneraie" in out
    with sqlite3.connect(tmp_path / "shop.db") as conn:
        categories = conn.execute("SELECT count(*) FROM categories").fetchone()[0]
    assert f"{categories} catégories" in out


def test_a_bad_timezone_ends_with_status_2_and_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CHATSHOP_TIMEZONE", "Mars/Olympus")
    assert main(["migrate", "--database", str(tmp_path / "shop.db")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "CHATSHOP_TIMEZONE" in err
    assert "Traceback" not in err
    assert not (tmp_path / "shop.db").exists()


def test_a_database_in_a_missing_folder_ends_with_status_2_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["migrate", "--database", str(tmp_path / "missing" / "shop.db")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "CHATSHOP_DATABASE" in err


def test_a_database_newer_than_the_code_is_refused_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as conn:
        conn.execute(f"PRAGMA user_version = {NEWEST + 1}")
    assert main(["migrate", "--database", str(database)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "newer" in err
    assert user_version(database) == NEWEST + 1


def test_without_a_command_the_help_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "migrate" in capsys.readouterr().out


def test_the_chatshop_console_script_points_at_main() -> None:
    (script,) = entry_points(group="console_scripts", name="chatshop")
    assert script.load() is main


def test_python_dash_m_chatshop_migrates_a_database(tmp_path: Path) -> None:
    database = tmp_path / "shop.db"
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHATSHOP_")}
    done = subprocess.run(
        [sys.executable, "-m", "chatshop", "migrate", "--database", str(database)],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"version {NEWEST}" in done.stdout
    assert user_version(database) == NEWEST


def test_a_file_that_is_not_a_database_ends_with_status_2_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    impostor = tmp_path / "notes.db"
    impostor.write_text("Liste de courses : pain, miel, savon.\n" * 100)
    assert main(["migrate", "--database", str(impostor)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "notes.db" in err
