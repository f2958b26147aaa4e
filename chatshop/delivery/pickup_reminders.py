"""The morning reminder of a chosen pickup time (#12 §4): on the day of the slot, at the
shop's first opening or at 8 h if that is earlier, one message to the customer
« Rappel : vous passez aujourd'hui chez X, 14 h – 18 h, code ABC123 » (never for a phone
reservation: nobody in the chat is its customer).

Each sweep claims the reservations (``pickup_reminded_at``) and writes their messages in
one unit of work (``PickupService.send_reminders``): two sweeps at once, or a stop
between the two, remind once; the outbox then sends at its platform's pace."""

from __future__ import annotations

from collections.abc import Sequence

from chatshop.conversation.pickups import pickup_reminder
from chatshop.delivery.outbox import Outbox, Row
from chatshop.domain.models import Reservation
from chatshop.services import Services

EVERY = 60.0  # seconds between looks for today's pickups to remind of


async def remind(services: Services, outbox: Outbox) -> list[Reservation]:
    """Remind the customers who come today; returns the reservations reminded."""
    async def compose(reservation: Reservation) -> Sequence[Row]:
        return outbox.rows(await pickup_reminder(services, services.pickups.tz, reservation))

    reminded = await services.pickups.send_reminders(compose)
    if reminded:
        for channel in outbox.platforms:
            outbox.kick(channel)
    return reminded
