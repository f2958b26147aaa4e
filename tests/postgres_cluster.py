"""A throw-away PostgreSQL cluster for the tests (issue #14): ``initdb`` in a temporary
folder, the server listening on 127.0.0.1 only, on a free port, stopped at the end.

Debian's server programs live in ``/usr/lib/postgresql/<version>/bin`` (not on PATH);
the server refuses to run as root, so as root the cluster is made and run as the
``postgres`` user (``runuser``), in a folder that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SUPERUSER = "chatshop"


class NoServer(Exception):
    """No PostgreSQL server programs here, or the cluster did not start (why in the text)."""


def server_programs() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: on PATH, else Debian's
    newest ``/usr/lib/postgresql/*/bin``."""
    found = shutil.which("pg_ctl")
    if found is not None:
        folder = Path(os.path.realpath(found)).parent
        if (folder / "initdb").exists():
            return folder
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name)
                      if Path(p).parent.parent.name.isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """A running cluster for the time of the block: its DSN
    (``postgresql://chatshop@127.0.0.1:<port>/postgres``, trust authentication on the
    loopback address only). Raises ``NoServer`` when none can be started."""
    programs = server_programs()
    if programs is None:
        raise NoServer("no PostgreSQL server programs (initdb, pg_ctl): "
                       "apt-get install postgresql")
    as_root = os.geteuid() == 0
    run_as: list[str] = []
    if as_root:
        runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
        if runuser is None:
            raise NoServer("running as root without runuser: the server refuses root")
        run_as = [runuser, "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="chatshop-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if as_root:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*run_as, *command], capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise NoServer(f"{Path(command[0]).name} failed: "
                           f"{(done.stderr or done.stdout).strip()[-500:]}")

    try:
        run(str(programs / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync")
        options = (f"-h 127.0.0.1 -p {port} -k {sockets} -F -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off")
        run(str(programs / "pg_ctl"), "-D", str(data), "-o", options, "-l",
            str(folder / "server.log"), "-w", "-t", "60", "start")
        try:
            yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        finally:
            with contextlib.suppress(NoServer):
                run(str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                    "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
