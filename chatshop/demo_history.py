"""The demo's past: eight weeks of reservations at the farm shop, so that its
shopkeeper's `/chiffres` draws a chart with something in it.

Played through the public services as the weeks went: customers reserved in the chat
or phoned, and each reservation was picked up, let expire or cancelled. The services
run on a ``DemoClock`` set to those past moments, then given back to the real time.
The stock each product had at the start is set again at the end (the shop restocked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatshop.clock import utc_now
from chatshop.domain.models import Actor, Contact, Product
from chatshop.services import Services

WEEKS = 8
# Invented customers of the farm shop (console identities) and people who phoned.
REGULARS = (("odette", "Odette"), ("marcel", "Marcel"), ("yvette", "Yvette"),
            ("rene", "René"))
CALLERS = (Contact(name="Mme Lacroix", phone="+33555031142"),
           Contact(name="M. Faure", phone="+33612457890"))
# Each week, from the oldest: (picked up, expired, cancelled); every third by phone.
OUTCOMES = ((3, 1, 0), (4, 0, 1), (2, 1, 0), (5, 0, 1), (4, 2, 0), (6, 0, 0), (3, 1, 1),
            (5, 0, 1))
# What they reserve, most often first (names of the farm shop's products).
FAVOURITES = ("Miel de châtaignier 500 g", "Confiture de fraises 350 g",
              "Jus de pomme du Limousin 1 L", "Miel de châtaignier 500 g",
              "Terrine de porc cul noir 180 g", "Crème de marrons 350 g",
              "Jus de pomme du Limousin 1 L", "Farine de blé T80 1 kg")


@dataclass
class DemoClock:
    """The real time, unless the demo's past is being played (``at``)."""

    at: datetime | None = field(default=None)

    def __call__(self) -> datetime:
        return self.at if self.at is not None else utc_now()


async def play_history(services: Services, clock: DemoClock, owner: Actor,
                       products: dict[str, Product], tz: ZoneInfo) -> int:
    """Eight past weeks of the shop whose ``owner`` and ``products`` are given; returns
    how many reservations were made. ``clock`` must be the services' own."""
    people = [await services.customers.seen("console", key, name) for key, name in REGULARS]
    today = clock().astimezone(tz).date()
    this_monday = datetime.combine(today - timedelta(days=today.weekday()), time(), tz)
    made = 0
    for week, (collected, expired, cancelled) in enumerate(OUTCOMES):
        monday = this_monday - timedelta(weeks=WEEKS - week)
        outcomes = ["collected"] * collected + ["expired"] * expired + \
                   ["cancelled"] * cancelled
        for n, outcome in enumerate(outcomes):
            # Tuesday to Friday mornings, when the farm shop is open.
            clock.at = monday + timedelta(days=1 + n % 4, hours=9, minutes=40 + 2 * n)
            product = products[FAVOURITES[(week + n) % len(FAVOURITES)]]
            key = f"demo-history-{week}-{n}"
            if made % 3 == 2:
                placed = await services.counter.reserve(
                    owner, product.id, 1 + n % 2, CALLERS[n % len(CALLERS)], key)
                reservation = placed.reservations[0]
            else:
                person = people[(week + n) % len(people)]
                reservation = await services.reservations.reserve_now(
                    person.id, product.id, 1 + n % 2, key)
            made += 1
            if outcome == "collected":
                clock.at += timedelta(hours=5)
                await services.reservations.mark_collected(owner, reservation.id)
            elif outcome == "cancelled":
                clock.at += timedelta(hours=2)
                await services.reservations.cancel_by_shop(
                    owner, reservation.id, "Produit abîmé, désolés.")
            else:
                clock.at = reservation.deadline_at + timedelta(minutes=1)
                await services.reservations.expire_overdue()
    clock.at = None
    for name in set(FAVOURITES):  # the shop restocked since
        await services.catalogue.set_stock(owner, products[name].id, products[name].on_hand)
    return made
