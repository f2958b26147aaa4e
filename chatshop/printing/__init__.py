"""Printed matter that brings people from a shop window into the bot: a shop's A4 poster,
its shelf labels, the territory's poster (PDF, fpdf2 and segno, DejaVu Sans embedded).

Asked for from the chat (« 🖨 Affiche ») and the command line (``chatshop poster``), so
it is a room of its own beside the conversation and the web pages, over the services:
it must not import the channels, the conversation or the web pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatshop.clock import Clock, utc_now
from chatshop.services.links import Links


@dataclass(frozen=True)
class Imprint:
    """Whom a sheet speaks for: the territory's name (in its footer), the addresses its
    QR codes open, and the clock that dates the PDF."""

    territory: str
    links: Links
    clock: Clock = utc_now
