"""The staff's morning message (#12 §2): every few minutes, each shop that asked for it
and whose first opening of the day has begun (an opening day: not a public holiday it
keeps closed, not its own holidays) gets « Aujourd'hui : 4 retraits, 2 réservations à
préparer, 1 en retard », once a day, for each person of its team.

The day is claimed and the messages written in one unit of work
(``DayService.send_mornings``): two sweeps at once, or a stop between the two, tell
once; the outbox then sends at its platform's pace."""

from __future__ import annotations

from collections.abc import Sequence

from chatshop.conversation.today import morning_message
from chatshop.delivery.outbox import Outbox, Row
from chatshop.domain.day import DayList
from chatshop.domain.models import Shop
from chatshop.services import Services

EVERY = 300.0  # seconds between looks for shops that open now


async def send(services: Services, outbox: Outbox) -> list[int]:
    """Tell the teams of the shops that open now; returns the shops told."""
    async def compose(shop: Shop, day: DayList) -> Sequence[Row]:
        return outbox.rows(await morning_message(services, shop, day))

    told = await services.day.send_mornings(compose)
    if told:
        for channel in outbox.platforms:
            outbox.kick(channel)
    return told
