"""`chatshop migrate` creates or upgrades the database and says so; bad settings end in one line;
`chatshop digest send` reports each run and says what to do while subscribers still wait."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from chatshop.cli import digest_report, main, still_waiting
from chatshop.domain.models import DigestReport
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
    assert err.startswith(f"chatshop: la base de données est en version {NEWEST + 1}, plus "
                          "récente que ce chatshop")  # French first
    assert "newer" in err
    assert user_version(database) == NEWEST + 1


# What each command's own help says it does (a word of its description).
DOES = {("run",): "SIGINT", ("links",): "lien Telegram", ("digest",): "« preview »",
        ("digest", "preview"): "Rien n’est envoyé", ("digest", "send"): "--force",
        ("demo",): "hors ligne", ("seed-demo",): "rien n’est changé",
        ("migrate",): "migrations", ("web",): "sans le bot",
        ("poster",): "étiquettes", ("photos",): "« fetch »",
        ("photos", "fetch"): "Telegram"}


@pytest.mark.parametrize("command", list(DOES))
def test_each_command_has_its_own_help_saying_what_it_does(
        command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert out.startswith(f"usage : chatshop {' '.join(command)} [-h]")
    description = out.split("] ", 1)[1] if "] " in out else out
    assert DOES[command] in description
    assert "afficher cette aide et quitter" in out


def test_only_digest_send_offers_force(capsys: pytest.CaptureFixture[str]) -> None:
    helps = {}
    for action in ("preview", "send"):
        with pytest.raises(SystemExit):
            main(["digest", action, "--help"])
        helps[action] = capsys.readouterr().out
    assert "--force" not in helps["preview"]
    assert "--force" in helps["send"]
    with pytest.raises(SystemExit) as refused:
        main(["digest", "preview", "--force"])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("chatshop: ligne de commande invalide")
    assert "--force" in err


def test_the_main_help_is_in_french_and_lists_every_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage : chatshop")
    assert "commandes:" in out
    for command in ("run", "links", "digest", "demo", "seed-demo", "migrate", "web",
                    "poster", "photos"):
        assert f"    {command}" in out


def test_seed_demo_a_second_time_says_the_demo_was_already_there(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = str(tmp_path / "demo.db")
    assert main(["seed-demo", "--database", database]) == 0
    assert capsys.readouterr().out.startswith("Territoire de démonstration chargé dans")
    assert main(["seed-demo", "--database", database]) == 0
    again = capsys.readouterr().out
    assert again.startswith(f"Le territoire de démonstration est déjà dans {database} (")
    assert again.rstrip().endswith(": rien n’a été changé.")
    assert "chargé" not in again


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


def test_an_empty_database_option_is_refused_not_replaced_by_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["migrate", "--database", ""]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("chatshop: CHATSHOP_DATABASE : valeur invalide")
    assert "ne doit pas être vide" in err
    assert list(tmp_path.iterdir()) == []  # no chatshop.db made in the working folder


def test_the_digest_report_says_what_was_sent_refused_failed_and_still_waits() -> None:
    report = DigestReport(run_id=1, week="2026-W48", sent=1200, no_news=3, unsubscribed=1,
                          blocked=2, outside_window=1, failed=3,
                          failures=(("Bad Request: chat not found", 2), ("", 1)), pending=12)
    line = digest_report("whatsapp", report).replace("\u00a0", " ").replace("\u202f", " ")
    assert line == (
        "WhatsApp, nouvelles de la semaine 48 : envoyées 1 200 ; refusées 3 (bot bloqué : "
        "2, hors de la fenêtre de 24 h : 1) ; sans nouvelles (non envoyées) 3 ; "
        "désabonnés entre-temps 1 ; en échec 3 (2 × « Bad Request: chat not found », "
        "1 × « sans raison donnée ») ; encore en attente 12.")


@pytest.mark.parametrize(("count", "sentence"), [
    (1, "1 abonné attend encore les nouvelles de la semaine : relancez « chatshop digest "
        "send » pour les lui envoyer."),
    (1200, "1 200 abonnés attendent encore les nouvelles de la semaine : relancez "
           "« chatshop digest send » pour les leur envoyer."),
])
def test_subscribers_still_waiting_are_told_in_one_sentence_what_to_do(
        count: int, sentence: str) -> None:
    assert still_waiting(count).replace("\u00a0", " ").replace("\u202f", " ") == sentence


def test_a_long_failure_reason_is_cut_to_one_short_line() -> None:
    why = "Bad Request:\n" + "x" * 300
    report = DigestReport(run_id=1, week="2026-W48", failed=1, failures=((why, 1),))
    line = digest_report("telegram", report)
    assert "\n" not in line
    assert "« Bad Request: xxx" in line.replace("\u00a0", " ")
    assert "x" * 100 not in line
    assert "…" in line
