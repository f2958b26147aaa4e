"""The storage engine a benchmark runs on (issue #14): ``--engine sqlite|postgresql|both``
and ``--dsn``, shared by ``reservations.py``, ``search.py`` and ``telegram_stack.py``.

On SQLite a benchmark's database is a file in its temporary folder, as always. On
PostgreSQL it is a database created for the run (``CREATE DATABASE`` on an autocommit
connection) and dropped at the end, on the server ``--dsn`` names, or else on a
throw-away cluster started here for the whole run (``tests/postgres_cluster.py``:
``initdb`` in a temporary folder, 127.0.0.1, a free port, ``fsync=off``, stopped at the
end). Either way chatshop opens it with ``open_store(dsn)``: its migrations, its reindex,
the same services.

A figure measured on PostgreSQL has `` [postgresql]`` at the end of its name
(``labelled``), so that one JSON or one table can hold both engines' figures;
``bench/run.py`` pairs them by the name without it (``engine_of``).
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.postgres_cluster

from _common import Figure, Result

ENGINES = ("sqlite", "postgresql")
SUFFIX = " [postgresql]"


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=(*ENGINES, "both"), default="sqlite",
                        help="the storage engine: sqlite (default, a file in a temporary "
                             "folder), postgresql (a database created on --dsn's server or "
                             "on a throw-away cluster started here), or both, one after "
                             "the other")
    parser.add_argument("--dsn", metavar="DSN", default=None,
                        help="with --engine postgresql: a server to create the benchmark's "
                             "database on (e.g. postgresql://user@127.0.0.1:5432/postgres; "
                             "the user may CREATE DATABASE), instead of starting a cluster")


def engines_of(args: argparse.Namespace) -> list[str]:
    return list(ENGINES) if args.engine == "both" else [args.engine]


def labelled(name: str, engine: str) -> str:
    """A figure's name as measured on ``engine``."""
    return name if engine == "sqlite" else name + SUFFIX


def engine_of(name: str) -> tuple[str, str]:
    """(engine, name without the engine) of a figure's name."""
    if name.endswith(SUFFIX):
        return "postgresql", name.removesuffix(SUFFIX)
    return "sqlite", name


def label_result(result: Result, engine: str) -> Result:
    for figure in result.figures:
        figure.name = labelled(figure.name, engine)
    result.failures = [f"[{engine}] {text}" if engine != "sqlite" else text
                       for text in result.failures]
    return result


def merge(results: Sequence[Result]) -> Result:
    """Several engines' results as one (their figures labelled already)."""
    first = results[0]
    figures: list[Figure] = [f for r in results for f in r.figures]
    failures = [text for r in results for text in r.failures]
    return Result(first.benchmark, figures, failures, first.all_passed, first.settings)


@contextlib.contextmanager
def server(args: argparse.Namespace) -> Iterator[str | None]:
    """The PostgreSQL server of the run, as the DSN of its ``postgres`` database (None
    when the run does not use PostgreSQL): ``--dsn``, or a cluster started here."""
    if "postgresql" not in engines_of(args):
        yield None
        return
    if args.dsn:
        yield args.dsn
        return
    from tests.postgres_cluster import cluster

    print("server  : starting a throw-away PostgreSQL cluster (tests/postgres_cluster.py)",
          flush=True)
    with cluster() as dsn:
        print(f"server  : {dsn} ({server_version(dsn)})", flush=True)
        yield dsn


def server_version(dsn: str) -> str:
    import psycopg

    with psycopg.Connection.connect(dsn, autocommit=True) as conn:
        found = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {found[0] if found else '?'}"


@contextlib.contextmanager
def database(engine: str, folder: Path, server_dsn: str | None,
             name: str = "bench") -> Iterator[str]:
    """What ``open_store`` is given for a fresh database: a file in ``folder`` on SQLite;
    on PostgreSQL the DSN of a database created on ``server_dsn`` (dropped at the end)."""
    if engine == "sqlite":
        yield str(folder / f"{name}.db")
        return
    if server_dsn is None:
        raise RuntimeError("PostgreSQL asked for without a server")
    import psycopg

    db_name = f"chatshop_{name}_{secrets.token_hex(3)}"
    with psycopg.Connection.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    base, _, query = server_dsn.partition("?")
    dsn = base.rsplit("/", 1)[0] + f"/{db_name}" + (f"?{query}" if query else "")
    try:
        yield dsn
    finally:
        with psycopg.Connection.connect(server_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
