"""« 🔔 Prévenez-moi quand il revient », the telling (#12 §3): every minute or so, the
people whose product is back (listed again, its shop taking reservations, units
available) are told once, through the outbox and at its pace.

Each sweep claims the alerts and writes their messages in one unit of work
(``AlertService.tell``): two sweeps at once, or a stop between the two, tell once, and
what was claimed waits in the outbox until its platform takes it."""

from __future__ import annotations

from collections.abc import Sequence

from chatshop.conversation.alerts import back_in_stock
from chatshop.delivery.outbox import Outbox, Row
from chatshop.services import Services
from chatshop.storage.alerts_protocol import AlertLine

EVERY = 60.0  # seconds between looks for products back in stock


async def tell(services: Services, outbox: Outbox) -> list[AlertLine]:
    """Tell whoever waits for a product that is back; returns the alerts told."""
    async def compose(line: AlertLine) -> Sequence[Row]:
        return outbox.rows(await back_in_stock(services, line))

    told = await services.alerts.tell(compose)
    if told:
        for channel in outbox.platforms:
            outbox.kick(channel)
    return told
