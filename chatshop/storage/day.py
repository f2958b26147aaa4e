"""SQLite storage for the shop's day (#12 §2): its live reservations for the day's list, and
the messages told to its staff once a period (the morning message, the Monday figures).

SQLite; the contract is ``day_protocol.DayRepository``."""

from __future__ import annotations

from chatshop.storage.database import Connections


class SqliteDayRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db
