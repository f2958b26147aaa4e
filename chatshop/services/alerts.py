"""« Prévenez-moi quand il revient » (#12 §3): a customer asks to be told once when a
sold-out product is back; alerts are listed, cancelled, lapse after 60 days, and go
through the outbox.

Telling is one unit of work per sweep: the alerts are claimed (``told_at``) and their
messages written to the outbox together, so two sweeps at once, or a stop between the
two, tell each person once. The outbox then sends them at the platform's pace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import NamedTuple

from chatshop.clock import Clock
from chatshop.domain.models import Actor, ListedProduct
from chatshop.domain.parsing import check_id
from chatshop.errors import NotAllowed, NotFound
from chatshop.services.access import Access
from chatshop.services.delivery import Outgoing, queue_claimed
from chatshop.storage.alerts_protocol import AlertLine, ProductAlert
from chatshop.storage.interface import Store

ALERT_LIFETIME = timedelta(days=60)
TELL_AT_ONCE = 200  # alerts told per sweep; the next sweep takes the rest

# A message for the outbox: (channel, recipient, reply JSON, the reservation it is about).


class Asked(NamedTuple):
    """What « Prévenez-moi » did: the alert (None when the product is back already,
    and nothing was stored), whether this call made it, and whether it is this person's
    first alert ever (the answer then says how they will be told)."""

    alert: ProductAlert | None
    new: bool
    first: bool
    product: ListedProduct


class AlertService:
    def __init__(self, store: Store, access: Access, clock: Clock) -> None:
        self._store = store
        self._access = access
        self._clock = clock

    async def waiting_count(self, actor: Actor, product_id: int) -> int:
        """How many people wait for this product (for its maker's or its host's staff,
        or the operator; anyone else: ``NotAllowed``; no such product: ``NotFound``)."""
        product = await self._store.catalogue.get(check_id(product_id, "product"))
        if product is None:
            raise NotFound("product", product_id)
        if not actor.is_operator:
            shops = {m.shop_id for m in await self._store.shops.memberships(actor.user_id)}
            if not shops & {product.shop_id, product.pickup_shop_id}:
                raise NotAllowed(f"user {actor.user_id} on product {product_id}",
                                 needs="staff")
        return await self._store.alerts.waiting(product.id, self._clock())

    async def ask(self, user_id: int, product_id: int) -> Asked:
        """« 🔔 Prévenez-moi quand il revient » on a listed product: stored once per
        person and product, until told or 60 days later. A product back in stock
        already (a cancellation or a delivery came first) stores nothing: ``alert`` is
        None, and the answer offers to reserve it."""
        listed = await self._store.catalogue.listed(check_id(product_id, "product"))
        if listed is None:
            raise NotFound("product", product_id)
        first = not await self._store.alerts.has_asked_before(user_id)
        now = self._clock()
        alert, new = await self._store.alerts.ask(user_id, listed.product.id, now,
                                                  now + ALERT_LIFETIME)
        return Asked(alert, new, first, listed)

    async def waiting_for(self, user_id: int, product_id: int) -> ProductAlert | None:
        """One's own alert still waiting for this product (the card then says so)."""
        return await self._store.alerts.open_for(user_id, product_id, self._clock())

    async def of_customer(self, user_id: int) -> list[AlertLine]:
        """« Mes alertes »: the ones still waiting, soonest to lapse first."""
        return await self._store.alerts.open_of_user(user_id, self._clock())

    async def cancel(self, user_id: int, alert_id: int) -> None:
        """Cancel one of one's own alerts (someone else's, or one told or gone:
        ``NotFound``, and nothing changes)."""
        if not await self._store.alerts.cancel(user_id, check_id(alert_id, "alert")):
            raise NotFound("alert", alert_id)

    async def export(self, user_id: int) -> list[AlertLine]:
        """Every alert of this person's the database holds, for their data export."""
        return await self._store.alerts.of_user(user_id)

    async def tell(self, compose: Callable[[AlertLine], Awaitable[Sequence[Outgoing]]]
                   ) -> list[AlertLine]:
        """Tell the people whose product is back: ``compose`` writes each one's messages,
        then, in one unit of work, the alerts are claimed and the messages of those this
        call claimed are queued in the outbox. Returns the alerts told."""
        now = self._clock()
        due = await self._store.alerts.due(now, TELL_AT_ONCE)
        if not due:
            return []
        messages = {each.alert.id: list(await compose(each)) for each in due}
        claimed = await queue_claimed(
            self._store, messages, lambda uow, ids: uow.alerts.claim(ids, now), now)
        return [each for each in due if each.alert.id in claimed]

    async def clean_up(self) -> int:
        """The daily clean-up: alerts done with go (told, 60 days old, or whose product
        was deleted); how many went."""
        return await self._store.alerts.drop_finished(self._clock())
