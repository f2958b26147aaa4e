"""A first end-to-end pass through the core, from shop to collected reservation."""

from chatshop.domain.models import ReservationStatus
from tests.conftest import Territory


async def test_a_customer_reserves_and_collects_a_product(territory: Territory) -> None:
    services = territory.services
    honey = await territory.product(on_hand=3)
    await services.baskets.add(territory.customer.id, honey.id, 2)
    (reservation,) = await services.reservations.confirm_basket(territory.customer.id, "k1")
    assert reservation.status is ReservationStatus.PENDING
    assert (await services.catalogue.product(honey.id)).available == 1
    collected = await services.reservations.mark_collected(territory.owner, reservation.id)
    assert collected.status is ReservationStatus.COLLECTED
    after = await services.catalogue.product(honey.id)
    assert (after.on_hand, after.reserved) == (1, 0)
