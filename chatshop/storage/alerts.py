"""SQLite storage for « Prévenez-moi quand il revient » (#12 §3): who waits for which sold-
out product, told once when it is back, lapsed after 60 days.

SQLite; the contract is ``alerts_protocol.AlertRepository``."""

from __future__ import annotations

from chatshop.storage.database import Connections


class SqliteAlertRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db
