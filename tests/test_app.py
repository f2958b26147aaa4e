"""Start-up: the database is migrated, and reservations overdue while the bot was down
are expired, their stock given back."""

from pathlib import Path

import pytest

from chatshop.app import start
from chatshop.config import load_settings
from chatshop.domain.models import ReservationStatus, Role
from tests.conftest import FakeClock


@pytest.mark.usefixtures("clean_environment")
async def test_start_up_expires_what_fell_due_while_the_bot_was_stopped(
        tmp_path: Path, clock: FakeClock) -> None:
    settings = load_settings(database=str(tmp_path / "shop.db"), operators=["telegram:1"])
    app = await start(settings, clock=clock)
    services = app.services
    operator = services.customers.actor(await services.customers.seen("telegram", "1", "Op"))
    commune = await services.shops.add_commune(operator, "Rochechouart")
    shop = await services.shops.create_shop(operator, "Épicerie", commune.id)
    invite = await services.shops.invite(operator, shop.id, Role.OWNER)
    owner_user = await services.customers.seen("telegram", "2", "Léa")
    await services.shops.accept_invite(owner_user.id, invite.code)
    owner = services.customers.actor(owner_user)
    honey = await services.catalogue.add_product(owner, shop.id, name="Miel",
                                                 price_cents=850, on_hand=3)
    customer = await services.customers.seen("telegram", "3", "Jeanne")
    made = await services.reservations.reserve_now(customer.id, honey.id, 2, "k")
    await app.close()

    clock.advance(hours=49)
    app = await start(settings, clock=clock)
    try:
        (after,) = await app.services.reservations.of_customer(customer.id)
        assert after.id == made.id
        assert after.status is ReservationStatus.EXPIRED
        product = await app.services.catalogue.product(honey.id)
        assert (product.on_hand, product.reserved) == (3, 0)
        assert app.store.migration.applied == []
    finally:
        await app.close()
