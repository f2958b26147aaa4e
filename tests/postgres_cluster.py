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


class EmptiedDatabase:
    """One migrated database for the tests, emptied before each test that asks for it:
    every table truncated (ids restarted), then the rows the migrations wrote put back
    (the categories, the search index's state, the schema's version). Far quicker than a
    database created and migrated per test."""

    def __init__(self, server_dsn: str, name: str = "chatshop_tests") -> None:
        import psycopg

        from chatshop.storage.postgres_migrations import migrate

        with psycopg.Connection.connect(server_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.dsn = server_dsn.rsplit("/", 1)[0] + f"/{name}"
        migrate(self.dsn)
        with psycopg.Connection.connect(self.dsn, autocommit=True) as conn:
            self._tables = [row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " ORDER BY tablename")]
            self._seeds: list[tuple[str, list[str], list[tuple[object, ...]]]] = []
            for table in self._tables:
                with conn.cursor() as cursor:
                    cursor.execute(f'SELECT * FROM "{table}"')
                    found = cursor.fetchall()
                    if found and cursor.description is not None:
                        columns = [column.name for column in cursor.description]
                        self._seeds.append((table, columns, found))

    def empty(self) -> str:
        """Empty the database as the migrations left it; its DSN."""
        import psycopg

        with psycopg.Connection.connect(self.dsn, autocommit=True) as conn, \
                conn.transaction():
            names = ", ".join(f'"{table}"' for table in self._tables)
            conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            for table, columns, found in self._seeds:
                marks = ", ".join(["%s"] * len(columns))
                listed = ", ".join(f'"{column}"' for column in columns)
                with conn.cursor() as cursor:
                    cursor.executemany(
                        f'INSERT INTO "{table}" ({listed}) OVERRIDING SYSTEM VALUE'
                        f" VALUES ({marks})", found)
            # The identities start after the seeded ids, as they did after migrating.
            for table, columns, _found in self._seeds:
                if "id" in columns:
                    conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'),"
                        f' (SELECT max(id) FROM "{table}"))')
        return self.dsn
