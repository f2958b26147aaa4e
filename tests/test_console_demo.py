"""The demo, driven as a newcomer would drive it from a script: lines piped on stdin,
every reply (and every notification, with its addressee) printed on stdout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = """\
creme
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
    assert "» [client] creme" in out
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

