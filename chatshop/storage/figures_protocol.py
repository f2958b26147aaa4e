"""What the services need from storage for the week's figures (#12 §6): reservations by
week, outcome and source, the most reserved products; one query per figure.

The ``FiguresRepository`` protocol (part of ``storage/interface.py``'s contract, in a module of
its own for length) and the values it takes and returns. No SQL here."""

from __future__ import annotations

from typing import Protocol


class FiguresRepository(Protocol):
    """The week's figures."""
