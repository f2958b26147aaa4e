"""The Monday figures (#12 §6): on Monday from 8 h (territory time), each active shop that
asked for them (``Shop.weekly_figures``, G's « 🗓 Retraits et règles » screen) gets its 8
finished weeks, once per ISO week, as text to each of its staff with « 📊 Voir le
graphique » (the outbox carries text, not a PNG).

Each shop is claimed (``shop_messages`` kind « figures ») and its messages written in one
unit of work (``FiguresService.send_weekly``): two sweeps at once, or a stop between the
two, tell once; the outbox then sends at its platform's pace."""

from __future__ import annotations

from collections.abc import Sequence

from chatshop.conversation.figures import weekly_message
from chatshop.delivery.outbox import Outbox, Row
from chatshop.domain.models import Shop
from chatshop.services import Services
from chatshop.services.figures import Figures

EVERY = 600.0  # seconds between looks (on Monday) for shops to tell


async def send(services: Services, outbox: Outbox) -> list[int]:
    """Tell this week's shops; returns the ids of the shops told."""
    async def compose(shop: Shop, figures: Figures) -> Sequence[Row]:
        return outbox.rows(await weekly_message(services, shop, figures))

    told = await services.figures.send_weekly(services.clock(), compose)
    if told:
        for channel in outbox.platforms:
            outbox.kick(channel)
    return told
