"""The repositories' SQL on PostgreSQL: one text for both engines, translated here.

The repositories write their SQL once, in the dialect SQLite and PostgreSQL share, with
SQLite's placeholders (``?``, ``:name``). ``translate`` turns a statement into what
psycopg runs on PostgreSQL, once per distinct text (cached):

- the placeholders become psycopg's (``%s``, ``%(name)s``), and a ``%`` of the text
  ``%%`` (outside string literals, quoted names and comments, which are kept as they
  are; ``::`` casts are not placeholders);
- the few SQLite functions that PostgreSQL spells differently: ``json_group_array(
  json_array(…))`` and ``json_group_object(…)`` (as JSON text, ``[]``/``{}`` when there
  is no row, as SQLite answers), ``json_each(ids)`` (the ids of a JSON array),
  ``group_concat``, the two-argument scalar ``max``/``min`` (``GREATEST``/``LEAST``),
  ``IN ()`` (an empty list of ids), and SQLite's planner hints (``INDEXED BY``,
  dropped; ``CROSS JOIN … ON``, a join).

What SQL says differently on the two engines beyond this (the full-text search) lives
per engine (``storage/postgres_search.py``). The values are sent apart from the
statement (server-side binding), so that psycopg has the server prepare a statement a
connection runs often (from its fifth run: no parsing and planning each time; measured,
reservations/s +30 % in ``bench/run.py --engine postgresql``). A statement with a
parameter the server cannot type from where it stands (``? IS NULL``, as SQLite's
dynamic typing let the repositories write) has its values written into it as literals
instead (``ClientCursor``), typed as a literal is. Python's ``True``/``False`` are sent
1/0, the way SQLite stores them: the flags are INTEGER columns on both engines.

The adapters give the repositories the parts of sqlite3's and aiosqlite's connections
they use (``execute`` … ``fetchone``/``fetchall``/``rowcount``, ``executemany``,
``execute_fetchall``), over a psycopg connection: ``SyncConnection`` inside a
transaction run whole in a worker thread (``run_write``), ``AsyncConnection`` one hop
to a worker thread per statement. Rows are ``PgRow``: by position and by column name,
like ``sqlite3.Row``.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from concurrent.futures import Executor
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import psycopg
from psycopg.adapt import Dumper, Loader

T = TypeVar("T")

# What the tokenizer skips (literals, quoted names, comments) or rewrites.
_TOKEN = re.compile(
    r"""'(?:[^']|'')*'      # a string literal
      | "(?:[^"]|"")*"      # a quoted name
      | --[^\n]*            # a comment to the end of the line
      | ::                  # a PostgreSQL cast, not a named placeholder
      | \?                  # a positional placeholder
      | (?<![\w:]):(?P<name>[A-Za-z_]\w*)  # a named placeholder
      | %                   # psycopg's escape character
    """, re.VERBOSE)
_JSON_ARRAYS = re.compile(r"json_group_array\(\s*json_array\(([^()]*)\)\s*\)", re.IGNORECASE)
_JSON_OBJECT = re.compile(r"json_group_object\(([^()]*)\)", re.IGNORECASE)
_JSON_IDS = re.compile(r"SELECT\s+value\s+FROM\s+json_each\(([^()]*)\)", re.IGNORECASE)
_GROUP_CONCAT = re.compile(r"group_concat\(([^(),]*)\)", re.IGNORECASE)
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)
# SQLite's join order hint: a CROSS JOIN with ON is an inner join that keeps its order.
_CROSS_JOIN_ON = re.compile(r"\bCROSS\s+JOIN(\s+\w+(?:\s+(?:AS\s+)?\w+)?\s+ON)\b",
                            re.IGNORECASE)
_EMPTY_LIST = re.compile(r"\bIN\s*\(\s*\)", re.IGNORECASE)
_SCALAR_EXTREMES = re.compile(r"\b(max|min)\(", re.IGNORECASE)


class Translated:
    """A statement for psycopg: ``text``, whether it takes parameters (without, psycopg
    runs the text as it is: no ``%%``), and whether they are sent apart from it
    (``server_bound``: the server prepares a statement run often, once per connection),
    or written into it as literals, for a statement whose parameters the server could
    not type alone (``? IS NULL``)."""

    __slots__ = ("server_bound", "takes_parameters", "text")

    def __init__(self, text: str, takes_parameters: bool, server_bound: bool = False) -> None:
        self.text = text
        self.takes_parameters = takes_parameters
        self.server_bound = server_bound


# A parameter the server cannot type from where it stands: bound client side.
_UNTYPED = re.compile(r"(\?|:\w+)\s+IS\s+(NOT\s+)?NULL", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> Translated:
    """``sql`` as written for both engines -> what psycopg runs on PostgreSQL."""
    sql = _functions(sql)
    pieces: list[str] = []
    at = 0
    placeholders = False
    for token in _TOKEN.finditer(sql):
        text = token.group(0)
        if text == "?":
            replacement, placeholders = "%s", True
        elif token.group("name"):
            replacement, placeholders = f"%({token.group('name')})s", True
        elif "%" in text:
            replacement = text.replace("%", "%%")  # psycopg reads % in literals too
        else:
            continue
        pieces.append(sql[at:token.start()])
        pieces.append(replacement)
        at = token.end()
    pieces.append(sql[at:])
    if not placeholders:
        return Translated(sql, False)
    return Translated("".join(pieces), True, server_bound=not _UNTYPED.search(sql))


def _functions(sql: str) -> str:
    sql = _JSON_ARRAYS.sub(
        r"CAST(COALESCE(json_agg(json_build_array(\1)), CAST('[]' AS json)) AS text)", sql)
    sql = _JSON_OBJECT.sub(
        r"CAST(COALESCE(json_object_agg(\1), CAST('{}' AS json)) AS text)", sql)
    sql = _JSON_IDS.sub(
        r"SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(\1 AS json))", sql)
    sql = _GROUP_CONCAT.sub(r"string_agg(CAST(\1 AS text), ',')", sql)
    sql = _INDEXED_BY.sub("", sql)
    sql = _CROSS_JOIN_ON.sub(r"JOIN\1", sql)
    # SQLite's ``x IN ()`` (a list of no ids): false, and NOT IN true, as in SQLite.
    sql = _EMPTY_LIST.sub("IN (SELECT NULL WHERE FALSE)", sql)
    return _greatest_least(sql)


def _greatest_least(sql: str) -> str:
    """SQLite's scalar ``max(a, b)``/``min(a, b)`` (two arguments or more; with one it
    is the aggregate) -> ``GREATEST``/``LEAST``."""
    out: list[str] = []
    at = 0
    for call in _SCALAR_EXTREMES.finditer(sql):
        if call.start() < at:
            continue
        depth, commas, end = 0, 0, call.end()
        while end < len(sql):
            char = sql[end]
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                commas += 1
            end += 1
        if commas:
            name = "GREATEST" if call.group(1).lower() == "max" else "LEAST"
            out.append(sql[at:call.start()])
            out.append(f"{name}(")
            at = call.end()
    out.append(sql[at:])
    return "".join(out)


def parameters(params: Iterable[Any] | Mapping[str, Any] | None) -> Any:
    """sqlite3's parameters as psycopg takes them (a tuple, or the mapping)."""
    if params is None:
        return ()
    if isinstance(params, Mapping):
        return params
    return tuple(params)


class PgRow(tuple[Any, ...]):
    """A row by position or by column name (any case), as ``sqlite3.Row``."""

    __slots__ = ()
    _names: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key.lower()])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@functools.lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[PgRow]:
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        index.setdefault(name.lower(), position)  # the first of two same names, as SQLite
    return type("PgRow", (PgRow,), {"__slots__": (), "_names": index})


def row_factory(cursor: Any) -> Callable[[Any], PgRow]:
    """psycopg's row factory: each row a ``PgRow`` of the cursor's columns."""
    description = cursor.description
    if description is None:
        return PgRow
    made = _row_class(tuple(column.name for column in description))
    return made


class _FlagDumper(Dumper):
    """``True``/``False`` as 1/0: the flags are INTEGER columns, as on SQLite."""

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"

    def quote(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class _NumberLoader(Loader):
    """A ``numeric`` (what ``sum`` of integers gives) as an int when it is whole, else a
    float: the repositories read SQLite's integers and reals."""

    def load(self, data: Any) -> Any:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


def adapt(conn: psycopg.Connection[Any]) -> None:
    """chatshop's adaptations on a new connection."""
    conn.adapters.register_dumper(bool, _FlagDumper)
    conn.adapters.register_loader("numeric", _NumberLoader)


class Cursor:
    """What a statement gave: its rows (all read already) and how many rows it changed."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, found: list[PgRow], rowcount: int) -> None:
        self._rows = found
        self.rowcount = rowcount

    def fetchone(self) -> PgRow | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[PgRow]:
        found, self._rows = self._rows, []
        return found

    def __iter__(self) -> Iterator[PgRow]:
        return iter(self.fetchall())

    @property
    def lastrowid(self) -> int:
        raise NotImplementedError("PostgreSQL: write INSERT ... RETURNING id")


def _cursor(conn: psycopg.Connection[Any], statement: Translated) -> psycopg.Cursor[Any]:
    if statement.server_bound:
        return psycopg.Cursor(conn)
    return psycopg.ClientCursor(conn)


def run(conn: psycopg.Connection[Any], sql: str,
        params: Iterable[Any] | Mapping[str, Any] | None = None) -> Cursor:
    """One statement on ``conn``, in the calling thread."""
    statement = translate(sql)
    with _cursor(conn, statement) as cursor:
        try:
            if statement.takes_parameters:
                cursor.execute(statement.text, parameters(params))
            else:
                cursor.execute(statement.text)
        except psycopg.IntegrityError as problem:
            raise IntegrityError(str(problem)) from problem
        found = cursor.fetchall() if cursor.description is not None else []
        return Cursor(found, cursor.rowcount)


def run_many(conn: psycopg.Connection[Any], sql: str,
             seq: Iterable[Iterable[Any] | Mapping[str, Any]]) -> Cursor:
    statement = translate(sql)
    with _cursor(conn, statement) as cursor:
        try:
            cursor.executemany(statement.text, [parameters(p) for p in seq])
        except psycopg.IntegrityError as problem:
            raise IntegrityError(str(problem)) from problem
        return Cursor([], cursor.rowcount)


def roll_back(conn: psycopg.Connection[Any], command: str = "ROLLBACK") -> None:
    """``ROLLBACK`` (or ``ROLLBACK TO part; RELEASE part``) sent past psycopg's cache of
    prepared statements: psycopg forgets them all at every ROLLBACK it runs itself (and
    has the server deallocate them), in case the transaction had dropped or created what
    they name. chatshop's transactions change rows, never the schema, and a statement
    the server prepared outlives a rollback: a refused reservation (sold out, a cap)
    would otherwise cost every statement of the connection its preparation."""
    result = conn.pgconn.exec_(command.encode())
    if result.status != psycopg.pq.ExecStatus.COMMAND_OK:
        raise psycopg.OperationalError(
            (result.error_message or conn.pgconn.error_message).decode(errors="replace"))


class IntegrityError(Exception):
    """A constraint refused a write on PostgreSQL (``sqlite3.IntegrityError`` on SQLite;
    ``storage.sql.INTEGRITY_ERRORS`` catches both)."""


class SyncConnection:
    """sqlite3's connection as a ``run_write`` transaction uses it, in a worker thread."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str,
                params: Iterable[Any] | Mapping[str, Any] | None = None) -> Cursor:
        return run(self._conn, sql, params)

    def executemany(self, sql: str,
                    seq: Iterable[Iterable[Any] | Mapping[str, Any]]) -> Cursor:
        return run_many(self._conn, sql, seq)


class AsyncCursor:
    """aiosqlite's cursor over what a statement gave (read already)."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> PgRow | None:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[PgRow]:
        return self._cursor.fetchall()

    def __aiter__(self) -> AsyncIterator[PgRow]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[PgRow]:
        for row in self._cursor.fetchall():
            yield row


class _Pending:
    """``await conn.execute(…)`` or ``async with conn.execute(…) as cursor``."""

    def __init__(self, result: Awaitable[Cursor]) -> None:
        self._result = result

    def __await__(self) -> Generator[Any, None, AsyncCursor]:
        return self._wrapped().__await__()

    async def _wrapped(self) -> AsyncCursor:
        return AsyncCursor(await self._result)

    async def __aenter__(self) -> AsyncCursor:
        return await self._wrapped()

    async def __aexit__(self, *exc: object) -> None:
        return None


class AsyncConnection:
    """aiosqlite's connection as the repositories use it: each statement one hop to a
    worker thread (``executor``), where it runs on ``conn``."""

    def __init__(self, conn: psycopg.Connection[Any], executor: Executor) -> None:
        self._conn = conn
        self._executor = executor

    def _hop(self, function: Callable[[], T]) -> Awaitable[T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, function)

    def execute(self, sql: str,
                params: Iterable[Any] | Mapping[str, Any] | None = None) -> _Pending:
        return _Pending(self._hop(functools.partial(run, self._conn, sql, params)))

    async def execute_fetchall(self, sql: str,
                               params: Iterable[Any] | Mapping[str, Any] | None = None,
                               ) -> list[PgRow]:
        cursor = await self._hop(functools.partial(run, self._conn, sql, params))
        return cursor.fetchall()

    async def executemany(self, sql: str,
                          seq: Iterable[Iterable[Any] | Mapping[str, Any]]) -> AsyncCursor:
        rows = list(seq)
        return AsyncCursor(await self._hop(functools.partial(run_many, self._conn, sql, rows)))

    async def in_thread(self, function: Callable[[SyncConnection], T]) -> T:
        """``function`` on this connection, in the worker thread, in one hop."""
        return await self._hop(lambda: function(SyncConnection(self._conn)))
