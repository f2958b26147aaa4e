"""SQLite storage for the week's figures (#12 §6): reservations by week, outcome and source,
the most reserved products; one query per figure.

SQLite; the contract is ``figures_protocol.FiguresRepository``."""

from __future__ import annotations

from chatshop.storage.database import Connections


class SqliteFiguresRepository:
    def __init__(self, db: Connections) -> None:
        self._db = db
