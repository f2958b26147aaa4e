"""The demo, driven as a newcomer would drive it from a script: lines piped on stdin,
every reply (and every notification, with its addressee) printed on stdout."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = """\
creme coiffante
1
1
!etre espace-coiffure
/boutique
1
1
1
!etre client
/reservations
!etre operateur
/territoire
!qui
"""


def run_demo(stdin: str, tmp_path: Path, *options: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATSHOP_")}
    done = subprocess.run([sys.executable, "-m", "chatshop", "demo", *options], input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
                          check=True)
    assert "Traceback" not in done.stderr
    return done.stdout


def test_a_piped_demo_reads_as_a_transcript(tmp_path: Path) -> None:
    out = run_demo(SCRIPT, tmp_path)
    assert "» [client] creme coiffante" in out
    code = re.search(r"Code\s:\s([A-Z0-9]{5})", out)
    assert code is not None, out
    # The shop was told, addressed to its owner, and marked the reservation ready...
    assert "📨 À Sandrine (espace-coiffure)" in out
    assert f"La réservation {code[1]} est prête" in out
    # ...which the customer read.
    assert "📨 À Jeanne (client)" in out
    assert "boutiques actives" in out.split("» [operateur] /territoire")[1]
    assert "incident" not in out


def test_the_demo_without_input_just_greets_and_ends(tmp_path: Path) -> None:
    out = run_demo("", tmp_path)
    assert "Porte Océane du Limousin" in out
    assert "[1]" in out
    assert not list(tmp_path.glob("*.db"))  # a temporary database, gone with the demo


def test_the_demo_can_begin_as_whatsapp_does_with_a_first_bonjour(tmp_path: Path) -> None:
    """WhatsApp has no /start: the first message is whatever is typed, often « bonjour »."""
    out = run_demo("bonjour\nmiel\n", tmp_path, "--no-start")
    first = out.split("» [client] bonjour")[1].split("» [client] miel")[0]
    assert first.lstrip().startswith("Bienvenue dans les boutiques du territoire")
    assert "Aucun résultat" not in first
    assert "[1] 🔎 Rechercher" in first
    assert out.count("Bienvenue dans les boutiques") == 1  # welcomed once
    assert "résultats pour «\u00a0miel\u00a0»" in out.split("» [client] miel")[1]



def test_the_demo_help_lists_the_console_commands_and_piped_mode(tmp_path: Path) -> None:
    out = run_demo("", tmp_path, "--help")
    for command in ("!etre", "!photo", "!fichier", "!qui", "!aide"):
        assert command in out
    assert "Mode tube" in out
    assert "chatshop demo" in out.split("Mode tube")[1]


class Terminal:
    """``chatshop demo`` at a terminal (a pseudo-terminal), typed into key by key."""

    def __init__(self, tmp_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATSHOP_")}
        env["TERM"] = "xterm"
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the demo, its stdin and stdout the terminal
            os.chdir(tmp_path)
            os.execve(sys.executable, [sys.executable, "-m", "chatshop", "demo"], env)
        self.seen = b""
        self.status: int | None = None

    def wait_for(self, text: str, count: int = 1, timeout: float = 60.0) -> bool:
        end = time.monotonic() + timeout
        while self.seen.decode(errors="replace").count(text) < count:
            if time.monotonic() > end:
                return False
            ready, _w, _x = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.fd, 65_536)
                except OSError:  # the demo ended
                    return self.seen.decode(errors="replace").count(text) >= count
        return True

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def ended(self, timeout: float) -> int | None:
        """The exit status, if the demo ended within ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.wait_for("\0", timeout=0.2)  # keep reading what it prints
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
        return None

    def close(self) -> None:
        if self.status is None:  # still running: stopped here
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    if sys.platform == "win32":
        pytest.skip("pseudo-terminals are POSIX")
    opened = Terminal(tmp_path)
    yield opened
    opened.close()


def test_at_a_terminal_the_up_arrow_recalls_the_last_line(terminal: Terminal) -> None:
    assert terminal.wait_for("[client] > ")
    terminal.type("creme\r")
    assert terminal.wait_for("[client] > ", 2)
    terminal.type("\x1b[A\r")  # ↑ then Enter: « creme » again
    assert terminal.wait_for("[client] > ", 3)
    seen = terminal.seen.decode(errors="replace")
    assert seen.count("résultats pour «\u00a0creme\u00a0»") == 2
    assert "[A" not in seen
    terminal.type("\x04")  # Ctrl-D quits
    assert terminal.ended(timeout=30) == 0


def test_at_a_terminal_ctrl_c_quits_at_once(terminal: Terminal) -> None:
    assert terminal.wait_for("[client] > ")
    terminal.type("\x03")
    assert terminal.ended(timeout=30) is not None
