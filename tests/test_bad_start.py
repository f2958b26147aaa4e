"""A bad start of the real ``chatshop`` command ends with one French line on stderr and
exit status 2: a port already in use, a database that is a folder, a demo loaded only in
part, a misspelt command; a misspelt variable is warned about, and the command goes on;
Ctrl-C ends a command quietly."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatshop.cli import main

pytestmark = pytest.mark.usefixtures("clean_environment")

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WHATSAPP = {"CHATSHOP_WHATSAPP_TOKEN": "EAAG-test", "CHATSHOP_WHATSAPP_PHONE_NUMBER_ID": "1",
            "CHATSHOP_WHATSAPP_APP_SECRET": "s3cret",
            "CHATSHOP_WHATSAPP_VERIFY_TOKEN": "verify-me"}


def chatshop(folder: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``python -m chatshop args`` in ``folder``, with only these ``CHATSHOP_`` variables;
    every address it is given is on the loopback (nothing listens on port 9)."""
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHATSHOP_")}
    environment.update({"CHATSHOP_TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
                        "CHATSHOP_TELEGRAM_BASE_FILE_URL": "http://127.0.0.1:9/file/bot",
                        "CHATSHOP_WHATSAPP_BASE_URL": "http://127.0.0.1:9",
                        "CHATSHOP_WEB_PORT": "0"})  # the shop window: on any free port
    environment.update(variables)
    return subprocess.run([sys.executable, "-m", "chatshop", *args], cwd=folder,
                          env=environment, capture_output=True, text=True, timeout=60,
                          check=False)


def assert_one_french_line(done: subprocess.CompletedProcess[str]) -> str:
    """Exit status 2 and a single line on stderr, no traceback; returns that line."""
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr.strip()


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port of the loopback that someone else is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_the_whatsapp_port_in_use_is_named_with_its_setting(tmp_path: Path,
                                                             taken_port: int) -> None:
    done = chatshop(tmp_path, "run", "--database", str(tmp_path / "bot.db"),
                    CHATSHOP_WHATSAPP_PORT=str(taken_port), **WHATSAPP)
    line = assert_one_french_line(done)
    assert line.startswith(f"chatshop: Le port {taken_port} (CHATSHOP_WHATSAPP_PORT) est "
                           "déjà utilisé : libérez-le ou choisissez-en un autre")
    assert "Task exception" not in done.stderr


def test_the_telegram_webhook_port_in_use_is_named_with_its_setting(tmp_path: Path,
                                                                    taken_port: int) -> None:
    done = chatshop(tmp_path, "run", "--database", str(tmp_path / "bot.db"),
                    CHATSHOP_TELEGRAM_TOKEN=TOKEN,
                    CHATSHOP_TELEGRAM_WEBHOOK_URL="https://bot.example.fr/telegram",
                    CHATSHOP_TELEGRAM_PORT=str(taken_port))
    line = assert_one_french_line(done)
    assert line.startswith(f"chatshop: Le port {taken_port} (CHATSHOP_TELEGRAM_PORT) est "
                           "déjà utilisé")


def test_the_shop_window_port_in_use_is_named_with_its_setting(tmp_path: Path,
                                                               taken_port: int) -> None:
    assert chatshop(tmp_path, "migrate", "--database", str(tmp_path / "bot.db")).returncode == 0
    for command in (["run"], ["web"]):
        done = chatshop(tmp_path, *command, "--database", str(tmp_path / "bot.db"),
                        CHATSHOP_WEB_PORT=str(taken_port), **WHATSAPP)
        line = assert_one_french_line(done)
        assert line.startswith(f"chatshop: Le port {taken_port} (CHATSHOP_WEB_PORT) est "
                               "déjà utilisé : libérez-le ou choisissez-en un autre"), command


def test_an_address_that_cannot_be_listened_on_is_named_with_its_setting(
        tmp_path: Path) -> None:
    done = chatshop(tmp_path, "run", "--database", str(tmp_path / "bot.db"),
                    CHATSHOP_WHATSAPP_LISTEN="192.0.2.1", **WHATSAPP)  # not this machine's
    line = assert_one_french_line(done)
    assert line.startswith("chatshop: CHATSHOP_WHATSAPP_LISTEN : impossible d'écouter sur "
                           "192.0.2.1:8081")


def test_a_database_that_is_a_folder_is_said_in_one_line_every_time(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The connections' threads once outlived the event loop about one run in two, and
    # printed « RuntimeError: Event loop is closed » after the right line. Their
    # exceptions are printed here, not collected by pytest, to be seen in stderr.
    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    for _ in range(30):
        assert main(["migrate", "--database", str(folder)]) == 2
        for thread in threading.enumerate():
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        out, err = capsys.readouterr()
        assert out == ""
        assert len(err.splitlines()) == 1, err
        assert err.startswith("chatshop: base de données inutilisable")


def test_a_database_that_is_a_folder_ends_the_real_command_in_one_line(
        tmp_path: Path) -> None:
    (tmp_path / "a-folder").mkdir()
    for _ in range(5):
        assert_one_french_line(chatshop(tmp_path, "migrate", "--database", "a-folder"))


def test_a_demo_loaded_in_part_is_said_in_one_line_and_the_command_ends(
        tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    assert chatshop(tmp_path, "seed-demo", "--database", str(database)).returncode == 0
    with sqlite3.connect(database) as conn:  # as if the load had stopped before this shop
        conn.execute("UPDATE shops SET slug = 'autre' WHERE slug = 'espace-coiffure'")
    for command in ("seed-demo", "demo"):
        line = assert_one_french_line(chatshop(tmp_path, command, "--database",
                                               str(database)))
        assert "chargé qu'en partie" in line


def test_a_misspelt_variable_is_warned_about_before_what_it_causes(tmp_path: Path) -> None:
    done = chatshop(tmp_path, "run", "--database", str(tmp_path / "bot.db"),
                    CHATSHOP_TELEGRAM_TOKN=TOKEN)
    assert done.returncode == 2
    warning, error = done.stderr.splitlines()
    assert warning == ("chatshop: Variable inconnue CHATSHOP_TELEGRAM_TOKN : vouliez-vous "
                       "dire CHATSHOP_TELEGRAM_TOKEN ?")
    assert "CHATSHOP_TELEGRAM_TOKEN : manquant" in error


def test_a_misspelt_variable_in_the_dotenv_file_is_warned_about_and_the_command_goes_on(
        tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CHATSHOP_TERRITORRY=Vallée de la Vienne\n"
                                   "CHATSHOP_SOMETHING_ELSE_ENTIRELY=1\n"
                                   "OTHER_TOOL_SETTING=1\n", encoding="utf-8")
    done = chatshop(tmp_path, "migrate", "--database", "shop.db")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "chatshop: Variable inconnue CHATSHOP_SOMETHING_ELSE_ENTIRELY dans .env : elle est "
        "ignorée.",
        "chatshop: Variable inconnue CHATSHOP_TERRITORRY dans .env : vouliez-vous dire "
        "CHATSHOP_TERRITORY ?",
    ]
    assert "Territoire Mon territoire" in done.stdout


def test_a_dotenv_line_that_cannot_be_read_is_warned_about_in_french(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CHATSHOP_TERRITORY=Vallée de la Vienne\n"
                                   "CHATSHOP_TIMEZONE Europe/Paris\n", encoding="utf-8")
    done = chatshop(tmp_path, "migrate", "--database", "shop.db")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "chatshop: .env, ligne 2 : illisible, ignorée (une ligne s’écrit NOM=valeur)."]
    assert "Territoire Vallée de la Vienne" in done.stdout


@pytest.mark.parametrize("args", [["frobnicate"], ["digest"], ["digest", "forward"],
                                  ["migrate", "--databse", "x.db"], ["run", "extra"]])
def test_a_wrong_command_line_is_one_french_line(tmp_path: Path, args: list[str]) -> None:
    line = assert_one_french_line(chatshop(tmp_path, *args))
    assert line.startswith("chatshop: ligne de commande invalide")
    assert "--help" in line


def test_ctrl_c_ends_a_command_with_status_130_and_no_traceback(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHATSHOP_")}
    with subprocess.Popen([sys.executable, "-m", "chatshop", "demo"], cwd=tmp_path,
                          env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as demo:
        assert demo.stdout is not None
        assert demo.stdout.readline().startswith("Démo chatshop")  # up, and chatting
        demo.send_signal(signal.SIGINT)
        _out, err = demo.communicate(timeout=30)
    assert demo.returncode == 130
    assert err == ""
