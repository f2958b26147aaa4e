"""Small writes that many tasks make at once, gathered into as few transactions as
possible (a "group commit"), on either engine."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Generic, TypeVar

from chatshop.storage.database import Connections

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupedWrites(Generic[Item, Result]):
    """Small writes that many tasks make at once (marking updates handled, writing
    webhook events down), gathered into as few transactions as possible: while one
    transaction runs, the items that arrive wait and then go together in the next (a
    "group commit"). Each caller returns only once its item is committed, with its own
    result, so nothing is less durable than one transaction per item; under load, the
    writer's thread does one transaction for dozens of items instead of one each. An
    item that fails (a payload SQLite cannot store) fails only its own caller: its group
    is then written again item by item.

    ``write`` gets the items in order and returns one result per item.
    """

    def __init__(self, db: Connections,
                 write: Callable[[sqlite3.Connection, list[Item]], list[Result]]) -> None:
        self._db = db
        self._write = write
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def add(self, item: Item) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await asyncio.shield(done)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            if not await self._commit(batch):
                # One item that fails makes its whole group fail: each goes again in a
                # transaction of its own, so that only its own caller hears of it.
                for one in batch:
                    await self._commit([one])

    async def _commit(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> bool:
        """Write ``batch`` in one transaction and give each caller its result; False,
        telling nobody, if a group of several failed."""
        items = [item for item, _done in batch]

        def transaction(conn: sqlite3.Connection) -> list[Result]:
            return self._write(conn, items)
        try:
            results = await self._db.run_write(transaction)
        except BaseException as problem:
            if isinstance(problem, Exception) and len(batch) > 1:
                return False
            for _item, done in batch:
                if not done.done():
                    done.set_exception(problem)
            if not isinstance(problem, Exception):
                raise
            return True
        for (_item, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)
        return True
