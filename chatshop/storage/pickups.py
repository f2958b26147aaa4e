"""SQLite storage for pickup times and fairness (#12 §4-5): the slot a customer chose, the
reminders of the day, the reservations not picked up.

SQLite; the contract is ``pickups_protocol.PickupRepository``."""

from __future__ import annotations

from chatshop.storage.database import Connections


class SqlitePickupRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db
